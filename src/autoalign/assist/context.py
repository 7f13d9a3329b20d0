"""What every assistant works with: the library, the verifier and the configured language model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autoalign.assist.verify import Verifier
from autoalign.errors import require_text
from autoalign.library import Library
from autoalign.library.search import MAX_QUERY_CHARS
from autoalign.models import LanguageModel, get_model

#: Longest draft an assistant takes (rubber duck, autocomplete): 200,000 characters, a long paper.
MAX_DRAFT_CHARS = 200_000


@dataclass
class Context:
    library: Library
    #: Model profile name (None: the configured default).
    profile: str | None = None
    #: Longest text a chat model may write for one answer, in tokens.
    max_tokens: int = 500
    _verifier: Verifier | None = field(default=None, repr=False)

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(self.library.embedder)
        return self._verifier

    @property
    def writes(self) -> bool:
        """Whether the model follows instructions (a chat model): then assistants write their
        answers and the verifier checks them; otherwise they select sentences from the library."""
        return self.library.settings.models.profile(self.profile)[1].chat

    @property
    def author(self) -> str:
        """What a result records as its maker: the writing model, or ``extractive``."""
        return self.model().name if self.writes else "extractive"

    def model(self) -> LanguageModel:
        return get_model(self.library.settings, self.profile)

    def model_settings(self) -> dict[str, Any]:
        """The profile that made a result, as stored with it (no key: only its variable's name)."""
        name, profile = self.library.settings.models.profile(self.profile)
        return {"profile": name, **profile.model_dump(include={"backend", "model", "path", "base_url", "chat"})}


def validate_prompt(text: str, what: str = "question", limit: int = MAX_QUERY_CHARS) -> str:
    return require_text(
        text,
        what,
        limit,
        empty="write something first",
        too_long="Add long texts to the library (`autoalign library add`) and summarize or distill them there.",
    )
