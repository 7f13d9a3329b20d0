"""Research assistants grounded in the library: ask, summarize, explain, distill, brainstorm,
rubber duck and autocomplete.

Every claim an assistant makes cites an exact span of a library document (document, section,
character offsets). With the embedded base model the assistants select sentences from the library
(a base model cannot follow instructions); with a chat model configured they write, and every
sentence they write is checked against the passage it cites (``verify.py``). Every result is kept
in the workspace with the model and settings that made it, and exports to markdown.

>>> from autoalign.assist import Assistant
>>> assistant = Assistant.open("~/alignment")                  # doctest: +SKIP
>>> answer = assistant.ask("What is reward hacking?")          # doctest: +SKIP
>>> print(assistant.markdown(answer))                          # doctest: +SKIP
"""

from __future__ import annotations

import threading
from pathlib import Path

from autoalign.assist import store
from autoalign.assist.ask import ask
from autoalign.assist.brainstorm import IDEAS, MAX_IDEAS, brainstorm, grow
from autoalign.assist.complete import autocomplete
from autoalign.assist.context import MAX_DRAFT_CHARS, Context, validate_prompt
from autoalign.assist.distill import distill
from autoalign.assist.duck import respond
from autoalign.assist.explain import explain
from autoalign.assist.markdown import to_markdown
from autoalign.assist.records import KINDS, Item, Kind, Place, Result, Section, Span
from autoalign.assist.store import ResultInfo, Session
from autoalign.assist.summarize import summarize
from autoalign.capability import Capability
from autoalign.errors import NotFoundError
from autoalign.library import Library
from autoalign.loom import Loom, Tree
from autoalign.workspace import Workspace

__all__ = [
    "IDEAS",
    "KINDS",
    "MAX_DRAFT_CHARS",
    "MAX_IDEAS",
    "Assistant",
    "Item",
    "Place",
    "Kind",
    "Result",
    "ResultInfo",
    "Section",
    "Session",
    "Span",
]

#: Words of a draft that name its rubber-duck session.
SESSION_TITLE_WORDS = 12


class Assistant(Capability):
    """The assistants of one library, with one model profile (None: the configured default)."""

    def __init__(
        self, library: Library, *, model: str | None = None, max_tokens: int = 500, owns_library: bool = False
    ) -> None:
        """``max_tokens`` bounds what a chat model writes for one answer."""
        super().__init__(library.workspace)
        self.library = library
        self.context = Context(library, model, max_tokens)
        self._owns_library = owns_library

    @classmethod
    def open(
        cls, workspace: Workspace | str | Path | None = None, *, model: str | None = None, max_tokens: int = 500
    ) -> Assistant:
        """The assistants of a workspace's library; closing them closes the library opened here."""
        return cls(Library.open(workspace), model=model, max_tokens=max_tokens, owns_library=True)

    def close(self) -> None:
        if self._owns_library:
            self.library.close()

    # -- assistants ------------------------------------------------------------------------------
    def ask(self, question: str, *, cancel: threading.Event | None = None) -> Result:
        """An answer from the library with verified citations, or "the library does not cover this"."""
        return self._keep(ask(self.context, question, cancel=cancel))

    def summarize(
        self, uids: list[str], *, sentences: int | None = None, cancel: threading.Event | None = None
    ) -> Result:
        return self._keep(summarize(self.context, uids, sentences=sentences, cancel=cancel))

    def explain(self, uids: list[str], *, cancel: threading.Event | None = None) -> Result:
        return self._keep(explain(self.context, uids, cancel=cancel))

    def distill(self, uid: str, *, cancel: threading.Event | None = None) -> Result:
        return self._keep(distill(self.context, uid, cancel=cancel))

    def brainstorm(
        self, question: str, *, n: int = 6, seed: int | None = None, cancel: threading.Event | None = None
    ) -> Result:
        return self._keep(brainstorm(self.context, question, n=n, seed=seed, cancel=cancel))

    def duck(
        self, text: str, *, session: int | None = None, cancel: threading.Event | None = None
    ) -> tuple[int, Result]:
        """One turn of a rubber-duck conversation: the researcher's text is stored first, then the
        duck's reply; returns the session (new when ``session`` is None) and the reply."""
        text = validate_prompt(text, "draft", MAX_DRAFT_CHARS)
        if session is None:
            words = text.split()
            title = " ".join(words[:SESSION_TITLE_WORDS]) + ("…" if len(words) > SESSION_TITLE_WORDS else "")
            session = store.new_session(self.workspace, title)
        else:
            store.session(self.workspace, session)  # refuses an unknown session before storing anything
        store.add_turn(self.workspace, session, "researcher", text=text)
        reply = self._keep(respond(self.context, text, cancel=cancel), session=session)
        store.add_turn(self.workspace, session, "duck", result_id=reply.id)
        return session, reply

    def autocomplete(self, draft: str, *, max_tokens: int = 24, cancel: threading.Event | None = None) -> str:
        return autocomplete(self.context, draft, max_tokens=max_tokens, cancel=cancel)

    def grow(self, result_id: int, section: int, item: int) -> Tree:
        """A Loom tree from one brainstormed idea, to continue and branch it."""
        result = self.result(result_id)
        if result.kind != "brainstorm":
            raise _not_an_idea(result_id)
        try:
            return grow(Loom(self.workspace), result, section, item)
        except IndexError:
            raise _not_an_idea(result_id) from None

    # -- stored results --------------------------------------------------------------------------
    def result(self, result_id: int) -> Result:
        return store.load(self.workspace, result_id)

    def history(self, *, kind: Kind | None = None, limit: int = 50) -> list[ResultInfo]:
        return store.recent(self.workspace, kind=kind, limit=limit)

    def session(self, session_id: int) -> Session:
        return store.session(self.workspace, session_id)

    def sessions(self) -> list[tuple[int, str, float]]:
        return store.sessions(self.workspace)

    @staticmethod
    def markdown(result: Result) -> str:
        return to_markdown(result)

    def _keep(self, result: Result, *, session: int | None = None) -> Result:
        """Record what made the result (the embedder always; the model when it wrote), then store it."""
        result.settings["embedder"] = self.library.embedder.name
        if result.model != "extractive":
            result.settings["model"] = self.context.model_settings()
        if session is not None:
            result.settings["session"] = session
        return store.save(self.workspace, result)


def _not_an_idea(result_id: int) -> NotFoundError:
    return NotFoundError(f"result {result_id} has no such brainstormed idea")
