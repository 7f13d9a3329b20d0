"""The one interface every language model sits behind.

A backend implements :meth:`LanguageModel.stream`, which yields :class:`TokenEvent` and
:class:`DoneEvent` for ``n`` continuations of one prompt (interleaved when the backend runs them
side by side). :meth:`LanguageModel.complete` collects a stream into :class:`Continuation` objects.
Cancellation is cooperative: pass a :class:`threading.Event` and set it; the backend stops at the
next token and ends each unfinished continuation with ``finish_reason="cancelled"``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from autoalign.errors import ModelError

#: The longest continuation a request may ask for; subclasses of :class:`Sampling` keep the bound
#: and change only the default.
MaxTokens = Annotated[int, Field(ge=1, le=8192)]


class Sampling(BaseModel):
    """How to sample one continuation. The same fields mean the same thing for every backend."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: MaxTokens = 64
    temperature: float = Field(default=0.9, ge=0.0, le=5.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: tuple[str, ...] = ()
    #: Continuation ``i`` of a request uses ``seed + i``, so a request is reproducible as a whole.
    seed: int | None = None
    #: Alternatives reported per generated token (0: no logprobs at all).
    logprobs: int = Field(default=5, ge=0, le=20)

    def sampling(self) -> Sampling:
        """Just the sampling fields (a subclass, such as the Loom's settings, holds more)."""
        return Sampling.model_validate(self.model_dump(include=set(Sampling.model_fields)))


@dataclass(frozen=True, slots=True)
class Token:
    """One generated token: its text, log probability and the most likely alternatives."""

    text: str
    logprob: float | None
    #: ``(text, logprob)`` of the top alternatives, most likely first (may include ``text`` itself).
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class TokenEvent:
    index: int
    token: Token


@dataclass(frozen=True, slots=True)
class DoneEvent:
    index: int
    finish_reason: Literal["stop", "length", "cancelled"]


Event = TokenEvent | DoneEvent


@dataclass(slots=True)
class Continuation:
    """A finished continuation: its text is the concatenation of its tokens' texts."""

    index: int
    tokens: list[Token] = field(default_factory=list)
    finish_reason: str = "length"

    @property
    def text(self) -> str:
        return "".join(token.text for token in self.tokens)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


class LanguageModel(ABC):
    """A language model: base completion for every backend, chat where the model has it."""

    #: Recorded on every node and result the model makes, e.g. ``"llama.cpp:gemma-3-270m"``.
    name: str
    #: Whether :meth:`chat` is available (instruction-tuned models behind a chat endpoint).
    supports_chat: bool = False

    @abstractmethod
    def stream(
        self, prompt: str, sampling: Sampling, n: int = 1, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        """Yield tokens of ``n`` continuations of ``prompt`` as they are generated."""

    def chat(
        self, messages: list[ChatMessage], sampling: Sampling, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        """Yield the tokens of one assistant reply."""
        raise ModelError(f"{self.name} is a base model without chat; configure a chat model for this")

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` is to this model (used to cut prompts to a length)."""

    def tail(self, text: str, limit: int) -> str:
        """The end of ``text`` that fits in ``limit`` tokens, cut at a space: what a continuation
        of a long text needs to see."""
        count = self.count_tokens(text)
        while count > limit:
            # Cut by the measured characters per token, a little more each round, at a space.
            keep = int(len(text) * limit / count * 0.95)
            text = text[len(text) - keep :]
            space = text.find(" ")
            if 0 <= space < 40:
                text = text[space:]
            count = self.count_tokens(text)
        return text

    def complete(
        self, prompt: str, sampling: Sampling, n: int = 1, cancel: threading.Event | None = None
    ) -> list[Continuation]:
        """All ``n`` continuations, finished."""
        return collect(self.stream(prompt, sampling, n, cancel), n)

    def close(self) -> None:  # noqa: B027  # most backends have nothing to release
        """Release the model's memory or connections."""


def collect(events: Iterator[Event], n: int) -> list[Continuation]:
    """Gather a stream of events into ``n`` continuations."""
    continuations = [Continuation(index=i) for i in range(n)]
    for event in events:
        if isinstance(event, TokenEvent):
            continuations[event.index].tokens.append(event.token)
        else:
            continuations[event.index].finish_reason = event.finish_reason
    return continuations
