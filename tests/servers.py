"""Real servers for the web tests: the app under uvicorn in a background thread, and a library to serve.

The server listens on a socket the test binds itself (127.0.0.1, port chosen by the OS), so
there is no window in which another process could take the port between picking and binding it.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import uvicorn
from fastapi import FastAPI

from autoalign.config import Settings
from autoalign.embed import Embedder
from autoalign.library import Library
from autoalign.workspace import Workspace

MINI_CORPUS = Path(__file__).parent / "fixtures" / "corpus" / "mini.jsonl"

#: A link that would run script: no page may contain one.
JAVASCRIPT_HREF = re.compile(r"""href\s*=\s*["']?\s*javascript:""", re.IGNORECASE)

#: A document whose every field tries to run script in the page.
XSS_ID = "fx-xss"
XSS_TITLE = "<script>alert(1)</script> Sandbox escape <img src=x onerror=alert(1)>"
XSS_URL = "javascript:alert(1)"
XSS_TEXT = (
    "# <script>alert(1)</script>\n\n"
    'A sandbox escape report quoting <img src=x onerror=alert(1)> and <a href="javascript:alert(1)">a link</a>.\n\n'
    "## </p><script>alert(2)</script>\n\nThe sandbox escape worked only in the test harness."
)

#: A document long enough that its cited passage starts far below the first screen.
LONG_ID = "fx-long"
LONG_TARGET = "Zebrafish calibration curves turned out to be the decisive evidence for the survey's conclusion."
LONG_TEXT = (
    "# A long survey\n\n"
    + "".join(
        f"Paragraph {i} of the survey reviews benchmarks, datasets and evaluation protocols in general terms, "
        "noting where results replicate and where they do not.\n\n"
        for i in range(120)
    )
    + LONG_TARGET
    + "\n\n"
    + "Closing remarks follow the evidence.\n"
)


def _record(uid: str, title: str, text: str, url: str) -> dict:
    return {
        "id": uid,
        "source": "fixture_web",
        "source_type": "fixture",
        "title": title,
        "url": url,
        "authors": ["Test Author"],
        "date_published": "2024-01-01T00:00:00Z",
        "text": text,
        "summaries": [],
    }


def empty_library(folder: Path, embedder: Embedder) -> Library:
    """A library with no documents, in a new workspace ``folder/ws``, with default settings.

    Default settings are passed explicitly, so a module-scoped library does not depend on which
    config the environment pointed at when it was built.
    """
    (folder / "ws").mkdir()
    return Library(Workspace(folder / "ws", Settings()), embedder)


def build_library(folder: Path, embedder: Embedder, *, embed: bool = True) -> Library:
    """The mini corpus plus the XSS and long documents, in a new workspace under ``folder``."""
    extra = folder / "web.jsonl"
    extra.write_bytes(
        orjson.dumps(_record(XSS_ID, XSS_TITLE, XSS_TEXT, XSS_URL))
        + b"\n"
        + orjson.dumps(_record(LONG_ID, "A long survey of evaluation practice", LONG_TEXT, "https://example.org/long"))
        + b"\n"
    )
    library = empty_library(folder, embedder)
    library.add([MINI_CORPUS, extra])
    if embed:
        library.embed()
    return library


@contextmanager
def serving(app: FastAPI, *, timeout: float = 15.0) -> Iterator[str]:
    """Serve ``app`` on a free loopback port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        _wait_until_answering(url, thread, timeout)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def _wait_until_answering(url: str, thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not thread.is_alive():
            raise RuntimeError("the test server stopped while starting")
        try:
            httpx.get(url + "/static/style.css", timeout=1.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test server did not answer at {url} within {timeout} s") from None
            time.sleep(0.02)


@contextmanager
def start_llama_server(log_dir: Path) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free loopback port with the embedded GGUF; yields its /v1 URL."""
    import subprocess
    import sys

    from autoalign.models.llama_cpp import embedded_model_path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (log_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(embedded_model_path()),
            "--model_alias",
            "gemma",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_threads",
            "2",
            "--n_ctx",
            "2048",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {(log_dir / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start within 60 s")
            time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def ok(response: httpx.Response, status: int = 200) -> dict:
    """The JSON of a response that must have ``status`` (the body is the failure message)."""
    assert response.status_code == status, response.text
    return response.json()
