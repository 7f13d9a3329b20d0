"""Language-model backends through their real parts: the embedded Gemma and llama.cpp's own server."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse

from autoalign.config import ConfigError, ModelProfile, Settings, load_settings
from autoalign.errors import InputError
from autoalign.models import DoneEvent, ModelError, Sampling, Token, TokenEvent, get_model
from autoalign.models.base import ChatMessage
from autoalign.models.llama_cpp import LlamaCppModel
from autoalign.models.openai_compat import OpenAICompatModel
from autoalign.models.stops import StopScanner
from tests.servers import serving

PROMPT = "The central problem of AI alignment is"


def test_embedded_continuations_carry_logprobs_and_alternatives(gemma) -> None:
    continuations = gemma.complete(PROMPT, Sampling(max_tokens=12, seed=7, logprobs=4), n=2)
    assert [c.index for c in continuations] == [0, 1]
    for continuation in continuations:
        assert continuation.finish_reason == "length"
        assert len(continuation.tokens) == 12
        assert continuation.text == "".join(t.text for t in continuation.tokens)
        for token in continuation.tokens:
            assert token.logprob is not None and token.logprob <= 0
            assert len(token.top) == 4
            probs = [lp for _, lp in token.top]
            assert probs == sorted(probs, reverse=True)
            assert math.fsum(math.exp(lp) for lp in probs) <= 1.0001
            # The sampled token is either among the top alternatives or less likely than all of them.
            if token.text not in [alt for alt, _ in token.top]:
                assert token.logprob <= probs[-1] + 1e-4
    assert continuations[0].text != continuations[1].text


def test_embedded_seed_reproduces_and_greedy_is_deterministic(gemma) -> None:
    sampling = Sampling(max_tokens=10, seed=123, logprobs=0)
    first = gemma.complete(PROMPT, sampling, n=2)
    gemma.complete("Something else entirely, to move the cache", sampling)
    again = gemma.complete(PROMPT, sampling, n=2)
    assert [c.text for c in first] == [c.text for c in again]
    assert all(t.logprob is None for t in first[0].tokens)
    greedy = Sampling(max_tokens=10, temperature=0.0, logprobs=0)
    assert gemma.complete(PROMPT, greedy)[0].text == gemma.complete(PROMPT, greedy)[0].text


def test_embedded_seed_reproduces_on_a_fresh_model_and_a_used_one(gemma) -> None:
    """The same seed gives the same text whatever the cache holds: nothing, a longer prompt with
    the same start, or tokens generated from it."""
    from autoalign.models.llama_cpp import LlamaCppModel, embedded_model_path

    prompt = " ".join([PROMPT] * 12)  # longer than one priming chunk
    sampling = Sampling(max_tokens=12, seed=5, logprobs=0)
    fresh = LlamaCppModel(embedded_model_path(), n_ctx=4096)
    expected = [c.text for c in fresh.complete(prompt, sampling, n=2)]
    fresh.close()
    gemma.complete(prompt + " and a longer ending that shares its start", Sampling(max_tokens=3, logprobs=0))
    assert [c.text for c in gemma.complete(prompt, sampling, n=2)] == expected
    gemma.complete(prompt, Sampling(max_tokens=20, logprobs=0))
    assert [c.text for c in gemma.complete(prompt, sampling, n=2)] == expected


def test_embedded_stop_sequence_ends_before_it(gemma) -> None:
    [continuation] = gemma.complete("Count with me: 1, 2, 3, 4", Sampling(max_tokens=40, stop=(",",), seed=1))
    assert continuation.finish_reason == "stop"
    assert "," not in continuation.text


def test_embedded_cancel_stops_every_continuation(gemma) -> None:
    cancel = threading.Event()
    tokens = 0
    done = []
    for event in gemma.stream(PROMPT, Sampling(max_tokens=200, logprobs=0), n=3, cancel=cancel):
        if isinstance(event, TokenEvent):
            tokens += 1
            if tokens == 3:
                cancel.set()
        else:
            done.append(event)
    assert tokens <= 4
    assert [d.finish_reason for d in done] == ["cancelled"] * 3


def test_embedded_counts_tokens_and_refuses_chat(gemma) -> None:
    assert gemma.count_tokens("hello world") == 2
    assert gemma.count_tokens("hello world " * 50) > gemma.count_tokens("hello world")
    with pytest.raises(ModelError, match="base model"):
        list(gemma.chat([ChatMessage("user", "hi")], Sampling()))


@pytest.mark.model  # loads the embedded model in the app or the CLI
def test_prompt_longer_than_the_context_is_refused(tmp_path: Path) -> None:
    from autoalign.models.llama_cpp import embedded_model_path

    small = LlamaCppModel(embedded_model_path(), n_ctx=256, threads=1)
    try:
        with pytest.raises(ModelError, match="shorten it"):
            small.complete("word " * 400, Sampling(max_tokens=4))
    finally:
        small.close()


@pytest.mark.model  # loads the embedded model in the app or the CLI
def test_missing_and_corrupt_gguf_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        LlamaCppModel(tmp_path / "absent.gguf")
    not_gguf = tmp_path / "weights.gguf"
    not_gguf.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(ModelError, match="not a GGUF model file"):
        LlamaCppModel(not_gguf)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF" + bytes(4096))
    with pytest.raises(ModelError, match="corrupt or truncated"):
        LlamaCppModel(truncated)


def test_profiles_from_config(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[models]\ndefault = "remote"\n[models.profiles.remote]\nbackend = "openai"\nmodel = "m"\n'
    )
    settings = load_settings(tmp_path, env={})
    assert settings.models.profile()[0] == "remote"
    assert settings.models.profile("embedded")[1].backend == "llama"
    with pytest.raises(InputError, match="no model profile 'nope'.*embedded, remote"):
        settings.models.profile("nope")  # asked for by name: the asker's to fix (a 400 on the web)
    misconfigured = settings.models.model_copy(update={"default": "ghost"})
    with pytest.raises(ConfigError, match="no model profile 'ghost'"):
        misconfigured.profile()  # the configured default: the configuration's to fix


def test_get_model_loads_once(gemma) -> None:
    assert get_model(Settings()) is gemma


@pytest.mark.parametrize(
    ("pieces", "stop", "expected", "stopped"),
    [
        (["Hel", "lo\n", "\nWor", "ld"], ["\n\n"], ["Hel", "lo"], True),
        (["a", "b", "c"], ["bd"], ["a", "b", "c"], False),
        (["ab", "cSTO", "P", "rest"], ["STOP"], ["ab", "c"], True),
        (["x", "y"], [], ["x", "y"], False),
    ],
)
def test_stop_scanner_holds_back_partial_stops(pieces, stop, expected, stopped) -> None:
    scanner = StopScanner(tuple(stop))
    out, done = [], False
    for piece in pieces:
        ready, done = scanner.push(Token(piece, None))
        out += [t.text for t in ready]
        if done:
            break
    if not done:
        out += [t.text for t in scanner.flush()]
    assert (out, done) == (expected, stopped)


# --- the OpenAI-compatible backend against llama.cpp's real server ---


def server_model(base_url: str, **fields) -> OpenAICompatModel:
    return OpenAICompatModel(ModelProfile(backend="openai", base_url=base_url, model="gemma", **fields), "test")


def test_server_completions_stream_n_continuations(llama_server: str) -> None:
    model = server_model(llama_server)
    events = list(model.stream(PROMPT, Sampling(max_tokens=6, seed=3, logprobs=0), n=2))
    done = [e for e in events if isinstance(e, DoneEvent)]
    assert sorted(d.index for d in done) == [0, 1]
    texts = ["".join(e.token.text for e in events if isinstance(e, TokenEvent) and e.index == i) for i in (0, 1)]
    assert all(texts)
    assert model.name == "openai:gemma"


def test_server_logprobs_have_alternatives(llama_server: str) -> None:
    [continuation] = server_model(llama_server).complete(PROMPT, Sampling(max_tokens=2, seed=3, logprobs=2))
    assert continuation.tokens
    for token in continuation.tokens:
        assert token.logprob is not None and token.logprob <= 0
        assert len(token.top) >= 2


def test_server_matches_embedded_first_token_distribution(llama_server: str, gemma) -> None:
    """Same weights behind both backends: the first token's alternatives agree."""
    [remote] = server_model(llama_server).complete(PROMPT, Sampling(max_tokens=1, logprobs=3))
    [local] = gemma.complete(PROMPT, Sampling(max_tokens=1, logprobs=3))
    assert [alt for alt, _ in remote.tokens[0].top][:3] == [alt for alt, _ in local.tokens[0].top]


def test_server_down_is_a_clear_error() -> None:
    model = server_model("http://127.0.0.1:9/v1", timeout_s=2)
    with pytest.raises(ModelError, match="cannot connect to the model server"):
        model.complete(PROMPT, Sampling(max_tokens=2))


def test_server_garbage_and_slowness_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    app = FastAPI()

    @app.post("/garbage/v1/completions")
    def garbage() -> StreamingResponse:
        return StreamingResponse(iter([b"data: <html>oops</html>\n\n"]), media_type="text/event-stream")

    @app.post("/denied/v1/completions")
    def denied() -> PlainTextResponse:
        return PlainTextResponse("bad key sk-secret-123", status_code=401)

    @app.post("/slow/v1/completions")
    def slow() -> StreamingResponse:
        def trickle():
            threading.Event().wait(3)
            yield b"data: {}\n\n"

        return StreamingResponse(trickle(), media_type="text/event-stream")

    monkeypatch.setenv("TEST_MODEL_KEY", "sk-secret-123")
    with serving(app) as base:
        with pytest.raises(ModelError, match="not JSON"):
            server_model(f"{base}/garbage/v1").complete(PROMPT, Sampling(max_tokens=2))
        with pytest.raises(ModelError, match=r"HTTP 401.*TEST_MODEL_KEY") as denied_error:
            server_model(f"{base}/denied/v1", api_key_env="TEST_MODEL_KEY").complete(PROMPT, Sampling(max_tokens=2))
        assert "sk-secret-123" not in str(denied_error.value)
        with pytest.raises(ModelError, match="did not answer within 1 s"):
            server_model(f"{base}/slow/v1", timeout_s=1).complete(PROMPT, Sampling(max_tokens=2))
