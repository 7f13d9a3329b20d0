"""Embedders: the local MiniLM (ONNX against its torch reference), an OpenAI-compatible server
run by the test over real HTTP, and embedding on a local Ray cluster."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from autoalign.config import EmbedSettings
from autoalign.embed import embed_on_ray, get_embedder
from autoalign.embed.minilm import MiniLMEmbedder
from autoalign.embed.openai_compat import OpenAICompatEmbedder
from autoalign.errors import AutoalignError

VARIED_TEXTS = [
    "The cat sits on the mat.",
    "A cat is sitting on a rug.",
    "Quarterly revenue grew by five percent.",
    "",
    "Reward hacking: an agent exploits flaws in its objective. " * 60,  # past 256 tokens
    "Ünïcödé, 日本語のテキスト, and emoji 🙂 — all in one line!",
    "def loss(x):\n    return (x - 1) ** 2  # code, too",
    "3.14159 2.71828 1.41421",
    "RLHF",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


# --- MiniLM -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder shared by the session, so the ONNX export runs once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def onnx_embedder(model_cache: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder(cache_dir=model_cache / "autoalign")


@pytest.fixture(scope="session")
def torch_embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder("torch")


def test_onnx_matches_torch_reference(onnx_embedder: MiniLMEmbedder, torch_embedder: MiniLMEmbedder) -> None:
    fast, reference = onnx_embedder.embed(VARIED_TEXTS), torch_embedder.embed(VARIED_TEXTS)
    assert cosines(fast, reference).min() > 0.999


def test_shape_dtype_and_unit_rows(onnx_embedder: MiniLMEmbedder) -> None:
    vectors = onnx_embedder.embed(VARIED_TEXTS)
    assert vectors.shape == (len(VARIED_TEXTS), 384) == (len(VARIED_TEXTS), onnx_embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_order_survives_length_sorting(onnx_embedder: MiniLMEmbedder) -> None:
    together = onnx_embedder.embed(VARIED_TEXTS)
    alone = np.vstack([onnx_embedder.embed([text]) for text in VARIED_TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_similar_sentences_score_higher(onnx_embedder: MiniLMEmbedder) -> None:
    cat, cat_again, revenue = onnx_embedder.embed(VARIED_TEXTS[:3])
    assert cat @ cat_again > 0.6
    assert cat @ cat_again > cat @ revenue + 0.4


def test_empty_input_and_single_string(onnx_embedder: MiniLMEmbedder) -> None:
    empty = onnx_embedder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32
    with pytest.raises(TypeError, match="sequence of texts"):
        onnx_embedder.embed("one text")


def test_export_is_cached(onnx_embedder: MiniLMEmbedder, model_cache: Path) -> None:
    (exported,) = (model_cache / "autoalign").iterdir()  # no temporary file left behind
    assert exported.name.startswith("minilm-l6-v2-") and exported.suffix == ".onnx"
    before = exported.stat().st_mtime_ns
    MiniLMEmbedder(cache_dir=model_cache / "autoalign")
    assert exported.stat().st_mtime_ns == before


def test_get_embedder_default_uses_xdg_cache(
    onnx_embedder: MiniLMEmbedder, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(model_cache))
    embedder = get_embedder(EmbedSettings())
    assert isinstance(embedder, MiniLMEmbedder) and embedder.name == "minilm-l6-v2"
    assert len(list((model_cache / "autoalign").iterdir())) == 1
    np.testing.assert_allclose(embedder.embed(VARIED_TEXTS[:2]), onnx_embedder.embed(VARIED_TEXTS[:2]), atol=1e-6)


def test_import_is_cheap() -> None:
    heavy = ("torch", "onnxruntime", "sentence_transformers", "ray", "httpx")
    code = f"import sys, autoalign.embed; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- OpenAI-compatible server -------------------------------------------------------------------

KEY_ENV = "AUTOALIGN_TEST_EMBED_KEY"
KEY = "sk-test-5f1c0ffee"
FAKE_DIM = 8


def fake_vector(text: str, dim: int = FAKE_DIM) -> list[float]:
    """Deterministic and deliberately not unit length, so the client must normalize."""
    digest = hashlib.sha256(text.encode()).digest()
    return [float(byte) - 100.0 for byte in digest[:dim]]


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []


def fake_embeddings_app(recorder: Recorder) -> FastAPI:
    """``/{mode}/v1/embeddings``: ``ok`` answers correctly; other modes misbehave one way each."""
    app = FastAPI()

    @app.post("/{mode}/v1/embeddings")
    async def embeddings(mode: str, request: Request) -> Response:
        body = await request.json()
        texts = body["input"]
        recorder.requests.append({"model": body["model"], "input": texts, "auth": request.headers.get("authorization")})
        # Reversed on purpose: clients must order by "index", not by position.
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(text)}
            for i, text in reversed(list(enumerate(texts)))
        ]
        if mode == "fail":
            # Echo the credentials, as a careless proxy might; they must not reach the message.
            return PlainTextResponse(f"internal error; request had {request.headers.get('authorization')}", 500)
        if mode == "garbage":
            return PlainTextResponse("<html>this is not json</html>")
        if mode == "slow":
            await asyncio.sleep(1.0)
        if mode == "short":
            data = data[1:]
        if mode == "ragged":
            data[0]["embedding"] = data[0]["embedding"][:-1]
        return JSONResponse({"object": "list", "data": data, "model": body["model"]})

    return app


@pytest.fixture(scope="module")
def embedding_server() -> Iterator[tuple[str, Recorder]]:
    """The fake server under uvicorn in a thread, on a free loopback port."""
    recorder = Recorder()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(fake_embeddings_app(recorder), log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake embedding server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", recorder
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


def openai_settings(base_url: str, **overrides: Any) -> EmbedSettings:
    return EmbedSettings(backend="openai", model="fake-embed", base_url=base_url, api_key_env=KEY_ENV, **overrides)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


def test_openai_vectors_batches_and_key(embedding_server: tuple[str, Recorder], key: str) -> None:
    url, recorder = embedding_server
    recorder.requests.clear()
    texts = [f"passage number {i}" for i in range(5)]
    embedder = get_embedder(openai_settings(f"{url}/ok/v1/", batch_size=2))
    assert isinstance(embedder, OpenAICompatEmbedder) and embedder.name == "openai:fake-embed"
    vectors = embedder.embed(texts)
    expected = np.array([fake_vector(text) for text in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
    assert vectors.dtype == np.float32 and embedder.dim == FAKE_DIM
    assert [r["input"] for r in recorder.requests] == [texts[0:2], texts[2:4], texts[4:]]
    assert {(r["model"], r["auth"]) for r in recorder.requests} == {("fake-embed", f"Bearer {key}")}
    assert key not in repr(embedder)
    embedder.close()


def test_openai_without_key_sends_no_authorization(
    embedding_server: tuple[str, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, recorder = embedding_server
    monkeypatch.delenv(KEY_ENV, raising=False)
    embedder = OpenAICompatEmbedder(openai_settings(f"{url}/ok/v1"))
    recorder.requests.clear()
    assert embedder.dim == FAKE_DIM  # learnt from a probe request
    assert embedder.embed([]).shape == (0, FAKE_DIM)
    assert [r["auth"] for r in recorder.requests] == [None]


@pytest.mark.parametrize(
    ("mode", "overrides", "expected"),
    [
        ("fail", {}, r"answered HTTP 500: internal error; request had Bearer \*\*\*"),
        ("garbage", {}, r"not valid JSON\): <html>this is not json</html>"),
        ("slow", {"timeout_s": 0.2}, r"did not answer within 0.2 s; raise embed.timeout_s"),
        ("short", {}, r"1 vectors for 2 texts"),
        ("ragged", {}, r"vectors of different dimensions \[7, 8\]"),
    ],
)
def test_openai_server_errors(
    embedding_server: tuple[str, Recorder],
    key: str,
    mode: str,
    overrides: dict[str, Any],
    expected: str,
) -> None:
    url, _ = embedding_server
    embedder = OpenAICompatEmbedder(openai_settings(f"{url}/{mode}/v1", **overrides))
    with pytest.raises(AutoalignError, match=expected) as caught:
        embedder.embed(["first text", "second text"])
    assert f"{url}/{mode}/v1/embeddings" in str(caught.value)
    assert key not in str(caught.value)


def test_openai_dimension_change_is_an_error(embedding_server: tuple[str, Recorder], key: str) -> None:
    url, _ = embedding_server
    embedder = OpenAICompatEmbedder(openai_settings(f"{url}/ok/v1"))
    embedder.embed(["one"])
    embedder._dim = FAKE_DIM + 1  # as if an earlier answer, from another model, had been longer
    with pytest.raises(AutoalignError, match="8-dimensional vectors after 9-dimensional ones"):
        embedder.embed(["two"])


def test_openai_server_down(key: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(AutoalignError, match="must be running") as caught:
        OpenAICompatEmbedder(openai_settings(url)).embed(["text"])
    assert f"{url}/embeddings" in str(caught.value)
    assert key not in str(caught.value)


# --- Ray ----------------------------------------------------------------------------------------


def process_tree(root: int) -> dict[int, str]:
    """``root`` and all its descendants, as pid to start time (which tells a reused pid apart)."""
    parents: dict[int, int] = {}
    started: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat_fields(int(entry))):
            parents[int(entry)], started[int(entry)] = int(fields[1]), fields[19]
    tree = {root: started.get(root, "")}
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid in (pid for pid, ppid in parents.items() if ppid == parent):
            tree[pid] = started[pid]
            todo.append(pid)
    return tree


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: state, ppid, ..., starttime at [19]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def signal_tree(tree: dict[int, str], signum: int) -> None:
    for pid, started in tree.items():
        fields = _stat_fields(pid)
        if fields and fields[19] == started and fields[0] != "Z":
            os.kill(pid, signum)


@pytest.fixture(scope="module")
def ray_cluster(model_cache: Path, onnx_embedder: MiniLMEmbedder) -> Iterator[str]:
    """A two-CPU head node on loopback; yields its address.

    ``ray stop`` would end every Ray process on the machine, other people's too, so the
    finalizer ends exactly the processes that this ``ray start --block`` spawned.
    """
    # Ray swaps 127.0.0.1 for the machine's network address unless told that this is a local
    # single-node cluster; telling it keeps all its traffic on loopback. Workers find the ONNX
    # export made by onnx_embedder in XDG_CACHE_HOME instead of exporting again.
    env = {
        **os.environ,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "XDG_CACHE_HOME": str(model_cache),
    }
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths must fit 107 bytes
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
        f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
        f"--temp-dir={temp_dir}", f"--ray-client-server-port={free_port()}",
        f"--dashboard-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
    ]  # fmt: skip
    head = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    with pytest.MonkeyPatch.context() as patch:
        from ray._private import ray_constants

        # The same for this process, the driver; ray may have been imported before the fixture.
        patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert head.poll() is None, "ray start exited early"
                assert time.monotonic() < deadline, "the Ray head did not start in 60 s"
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            yield f"127.0.0.1:{port}"
        finally:
            processes = process_tree(head.pid)
            signal_tree(processes, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                head.wait(timeout=5)  # the GCS server can linger much longer; nothing to save
            signal_tree(processes, signal.SIGKILL)
            head.wait()
            shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_embed_on_ray_matches_local(ray_cluster: str, onnx_embedder: MiniLMEmbedder) -> None:
    import ray

    texts = [f"{VARIED_TEXTS[i % len(VARIED_TEXTS)]} (passage {i})" for i in range(50)]
    batches = [(start // 5, texts[start : start + 5]) for start in range(0, len(texts), 5)]
    results = dict(embed_on_ray(ray_cluster, EmbedSettings(), iter(batches), max_in_flight=3))
    assert sorted(results) == list(range(10))
    np.testing.assert_allclose(np.vstack([results[i] for i in range(10)]), onnx_embedder.embed(texts), atol=1e-5)
    assert not ray.is_initialized()

    stream = embed_on_ray(ray_cluster, EmbedSettings(), iter(batches))
    next(stream)
    stream.close()  # an abandoned generator still disconnects
    assert not ray.is_initialized()

    server_down = openai_settings(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(AutoalignError, match="^cannot connect to the embedding server at"):
        list(embed_on_ray(ray_cluster, server_down, batches[:1]))  # the worker's error, unwrapped
    assert not ray.is_initialized()


@pytest.mark.slow
def test_library_embedding_job_runs_on_ray(ray_cluster: str, onnx_embedder: MiniLMEmbedder, tmp_path: Path) -> None:
    from autoalign.library import Library
    from tests.conftest import MINI_CORPUS

    library = Library.open(tmp_path / "ws", embedder=onnx_embedder)
    library.add([MINI_CORPUS])
    report = library.embed(ray_address=ray_cluster, batch_size=4)
    assert report.embedded == library.stats().chunks > 0
    assert library.pending_embeddings() == 0
    assert library.stats().embed_job.state == "done"
    hit = library.search("an off button the machine will not fight", mode="semantic", k=1)[0]
    assert hit.document.uid == "fx-corrigibility"
    library.close()


def test_embed_on_ray_unreachable() -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(AutoalignError, match=f"cannot connect to the Ray cluster at {address}"):
        next(embed_on_ray(address, EmbedSettings(), []))
