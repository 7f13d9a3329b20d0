"""Generation into a tree: continuations of a node's text become its children as they finish.

Tokens are passed on as they arrive (for the interfaces to stream); each continuation is stored
in its own transaction the moment it ends, so ``kill -9`` loses only the ones still running. A
cancelled continuation keeps what it had generated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from autoalign.loom.records import Node, StoredToken
from autoalign.loom.settings import LoomSettings
from autoalign.loom.tree import Tree
from autoalign.models import DoneEvent, LanguageModel, Token, TokenEvent


@dataclass(frozen=True, slots=True)
class Started:
    parent_id: int
    n: int
    model: str
    prompt_chars: int


@dataclass(frozen=True, slots=True)
class ContinuationDone:
    """A continuation ended: ``node`` is the child that holds it (None when it was empty)."""

    index: int
    node: Node | None
    finish_reason: str


GenerationEvent = Started | TokenEvent | ContinuationDone


def generate(
    tree: Tree,
    node_id: int,
    model_for: Callable[[str | None], LanguageModel],
    *,
    overrides: dict[str, Any] | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[GenerationEvent]:
    """Generate children of ``node_id`` with the node's effective settings, plus ``overrides``."""
    settings = tree.effective_settings(node_id).merged(overrides)
    model = model_for(settings.model)
    prompt = build_prompt(tree.text(node_id), settings, model)
    sampling = settings.sampling()
    record = {**sampling.model_dump(mode="json"), "n": settings.n, "profile": settings.model}
    yield Started(node_id, settings.n, model.name, len(prompt))
    tokens: list[list[Token]] = [[] for _ in range(settings.n)]
    for event in model.stream(prompt, sampling, settings.n, cancel):
        if isinstance(event, TokenEvent):
            tokens[event.index].append(event.token)
            yield event
        elif isinstance(event, DoneEvent):
            yield _store(tree, node_id, model, record, tokens[event.index], event, keep_tokens=sampling.logprobs > 0)


def _store(
    tree: Tree,
    parent_id: int,
    model: LanguageModel,
    record: dict[str, Any],
    tokens: list[Token],
    done: DoneEvent,
    *,
    keep_tokens: bool,
) -> ContinuationDone:
    text = "".join(token.text for token in tokens)
    if not text:
        return ContinuationDone(done.index, None, done.finish_reason)
    stored: list[StoredToken] | None = (
        [[t.text, t.logprob, [[alt, lp] for alt, lp in t.top]] for t in tokens] if keep_tokens else None
    )
    node = tree.add_child(
        parent_id,
        text,
        source="AI",
        model=model.name,
        generation={**record, "finish_reason": done.finish_reason},
        tokens=stored,
    )
    return ContinuationDone(done.index, node, done.finish_reason)


def build_prompt(path_text: str, settings: LoomSettings, model: LanguageModel) -> str:
    """Memory, then the path's text cut from its start to at most ``prompt_length`` tokens."""
    text = path_text if settings.prompt_length is None else model.tail(path_text, settings.prompt_length)
    return settings.memory + text
