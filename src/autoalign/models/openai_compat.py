"""Language models behind an OpenAI-compatible server: ``/v1/completions`` and ``/v1/chat/completions``.

Works with vLLM, llama.cpp's server (``python -m llama_cpp.server``), Ollama, OpenAI and
OpenRouter. Each continuation is its own streamed request with ``n=1`` (llama.cpp's server
ignores ``n``); up to ``parallel`` of them run side by side, so batching servers such as vLLM
serve them together.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from autoalign.config import ModelProfile
from autoalign.models.base import (
    ChatMessage,
    DoneEvent,
    Event,
    LanguageModel,
    ModelError,
    Sampling,
    Token,
    TokenEvent,
)
from autoalign.openai_http import OpenAIClient

#: Characters per token assumed where the server cannot count (only used to cut long prompts).
CHARS_PER_TOKEN = 4
_FINISH = {"stop": "stop", "length": "length", "eos": "stop"}


class OpenAICompatModel(LanguageModel):
    def __init__(self, profile: ModelProfile, profile_name: str) -> None:
        if not profile.model:
            raise ModelError(f"models.profiles.{profile_name}.model must name the model the server should run")
        self.name = f"openai:{profile.model}"
        self.supports_chat = profile.chat
        self._model = profile.model
        self._parallel = profile.parallel
        self._http = OpenAIClient(
            profile.base_url,
            api_key_env=profile.api_key_env,
            timeout_s=profile.timeout_s,
            role="model server",
            section=f"models.profiles.{profile_name}",
            error=ModelError,
        )

    def count_tokens(self, text: str) -> int:
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def stream(
        self, prompt: str, sampling: Sampling, n: int = 1, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        def request(index: int) -> dict[str, Any]:
            return {"model": self._model, "prompt": prompt, **_sampling_fields(sampling, index, chat=False)}

        return self._run([("/completions", request(i)) for i in range(n)], cancel)

    def chat(
        self, messages: list[ChatMessage], sampling: Sampling, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        if not self.supports_chat:
            return super().chat(messages, sampling, cancel)
        payload = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            **_sampling_fields(sampling, 0, chat=True),
        }
        return self._run([("/chat/completions", payload)], cancel)

    def close(self) -> None:
        self._http.close()

    def _run(self, requests: list[tuple[str, dict[str, Any]]], cancel: threading.Event | None) -> Iterator[Event]:
        """Stream the requests, ``parallel`` at a time, yielding their events as they arrive."""
        stop_all = threading.Event()
        events: queue.Queue[Event | BaseException | None] = queue.Queue()

        def work(index: int, path: str, payload: dict[str, Any]) -> None:
            try:
                for event in self._events(index, path, payload, stop_all, cancel):
                    events.put(event)
            except BaseException as exc:  # handed to the consumer, which raises it
                events.put(exc)
            finally:
                events.put(None)

        with ThreadPoolExecutor(max_workers=min(self._parallel, len(requests))) as pool:
            for i, (path, payload) in enumerate(requests):
                pool.submit(work, i, path, payload)
            try:
                running = len(requests)
                while running:
                    item = events.get()
                    if item is None:
                        running -= 1
                    elif isinstance(item, BaseException):
                        raise item
                    else:
                        yield item
            finally:
                stop_all.set()

    def _events(
        self,
        index: int,
        path: str,
        payload: dict[str, Any],
        stop_all: threading.Event,
        cancel: threading.Event | None,
    ) -> Iterator[Event]:
        finish = "length"
        for chunk in self._http.stream(path, payload):
            if stop_all.is_set() or (cancel is not None and cancel.is_set()):
                yield DoneEvent(index, "cancelled")
                return
            choices = chunk.get("choices")
            if not isinstance(choices, list):
                raise ModelError(f"the model server at {self._http.base_url} sent an event without 'choices'")
            for choice in choices:
                if not isinstance(choice, dict):
                    continue
                for token in _tokens(choice):
                    yield TokenEvent(index, token)
                if choice.get("finish_reason"):
                    finish = _FINISH.get(choice["finish_reason"], "stop")
        yield DoneEvent(index, finish)  # type: ignore[arg-type]


def _sampling_fields(sampling: Sampling, index: int, *, chat: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "n": 1,
    }
    if sampling.stop:
        fields["stop"] = list(sampling.stop)
    if sampling.seed is not None:
        fields["seed"] = sampling.seed + index
    if sampling.logprobs:
        if chat:
            fields.update(logprobs=True, top_logprobs=sampling.logprobs)
        else:
            fields["logprobs"] = sampling.logprobs
    return fields


def _tokens(choice: dict[str, Any]) -> list[Token]:
    """The tokens of one streamed choice, with logprobs when the server sent them."""
    text = choice.get("text")
    if text is None:
        text = (choice.get("delta") or {}).get("content")
    logprobs = choice.get("logprobs")
    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):  # chat
        return [
            Token(
                item.get("token", ""),
                item.get("logprob"),
                tuple((alt.get("token", ""), alt.get("logprob", -math.inf)) for alt in item.get("top_logprobs") or ()),
            )
            for item in logprobs["content"]
        ]
    if isinstance(logprobs, dict) and isinstance(logprobs.get("tokens"), list):  # completions
        values = logprobs.get("token_logprobs") or [None] * len(logprobs["tokens"])
        tops = logprobs.get("top_logprobs") or [None] * len(logprobs["tokens"])
        return [
            Token(token, value, _top(top)) for token, value, top in zip(logprobs["tokens"], values, tops, strict=False)
        ]
    return [Token(text, None)] if text else []


def _top(top: dict[str, float] | None) -> tuple[tuple[str, float], ...]:
    if not isinstance(top, dict):
        return ()
    return tuple(sorted(top.items(), key=lambda item: -item[1]))
