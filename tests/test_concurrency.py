"""Two processes on one workspace: the web app and the CLI, two ingests, a writer killed mid-way.

All through the real parts: the app under uvicorn, ``python -m autoalign`` in real processes,
tantivy's own writer lock, the file lock in front of it, and SQLite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from autoalign.config import Settings
from autoalign.errors import BusyError
from autoalign.library import Library
from autoalign.web import create_app, uploads
from autoalign.workspace import Workspace
from tests.servers import serving

NOTE = ("otter-notes.md", b"# Otter field notes\n\nSea otters hold hands while they sleep.\n", "text/markdown")
STOAT = ("stoat-notes.md", b"# Stoat field notes\n\nStoats turn white in winter.\n", "text/markdown")


def _corpus(path: Path, word: str, count: int) -> Path:
    """``count`` small documents, each with the word ``word`` and its own number."""
    records = [
        {
            "id": f"{word}-{i}",
            "source": "tests",
            "title": f"{word.title()} report {i}",
            "text": f"The {word} survey, part {i}, counts {i * 7} burrows along the river bank.\n\n" * 3,
            "url": "",
            "authors": ["Tess Ter"],
            "date_published": "2021-05-01",
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _cli(workspace: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "autoalign", "--workspace", str(workspace), *args]


def _start(workspace: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(_cli(workspace, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _until(condition, *, within: float = 60.0):
    """Poll ``condition`` until it holds or ``within`` seconds pass; returns its last value."""
    deadline = time.monotonic() + within
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def _lines_of(stream) -> list[str]:
    """The lines ``stream`` prints, collected by a thread as they come."""
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True).start()
    return lines


def _ids(client: httpx.Client, query: str) -> set[str]:
    response = client.get("/api/library/search", params={"q": query, "mode": "lexical", "k": 50})
    assert response.status_code == 200, response.text
    return {hit["document"]["id"] for hit in response.json()["hits"]}


def _upload(client: httpx.Client, file: tuple[str, bytes, str]) -> str:
    """The summary page after uploading ``file`` through the library page's form."""
    response = client.post("/library/add", files=[("files", file)])
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert page.status_code == 200, page.text
    return page.text


@pytest.fixture
def served(tmp_path):
    """The web app over a new workspace; yields (client, library, workspace folder)."""
    folder = tmp_path / "ws"
    folder.mkdir()
    library = Library(Workspace(folder, Settings()))
    try:
        with serving(create_app(library)) as url, httpx.Client(base_url=url, timeout=120) as client:
            yield client, library, folder
    finally:
        library.close()


def test_the_cli_adds_to_a_library_while_the_web_app_serves_and_uploads_to_it(served, tmp_path):
    client, library, folder = served
    assert "Added 1 document" in _upload(client, NOTE)

    cli = _start(folder, "library", "add", str(_corpus(tmp_path / "badgers.jsonl", "badger", 20)))
    out, err = cli.communicate(timeout=300)

    assert cli.returncode == 0, err
    assert "Traceback" not in err and "20 added" in out
    # The server's search sees what the CLI indexed once its reader reloads, without a restart.
    assert _until(lambda: "badger-3" in _ids(client, "badger survey part 3"))
    assert "Added 1 document" in _upload(client, STOAT)
    assert library.stats().documents == 22
    assert _until(lambda: library.lexical.num_chunks() == library.stats().chunks)


def test_two_ingests_at_once_both_finish_and_nothing_is_lost_or_doubled(tmp_path):
    folder = tmp_path / "ws"
    Workspace.open(folder).close()
    files = [_corpus(tmp_path / f"{word}.jsonl", word, 150) for word in ("heron", "egret")]

    processes = [_start(folder, "library", "add", str(file)) for file in files]
    outcomes = [process.communicate(timeout=300) for process in processes]

    for process, (out, err) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, err
        assert "Traceback" not in err and "150 added" in out
    with Library.open(folder) as library:
        stats = library.stats()
        assert stats.documents == 300
        assert library.lexical.num_chunks() == stats.chunks
        found = {hit.document.uid for hit in library.search("egret", mode="lexical", k=200, max_per_document=1)}
        assert found == {f"egret-{i}" for i in range(150)}


def test_a_writer_waits_for_another_process_says_why_and_then_goes_on(tmp_path):
    folder = tmp_path / "ws"
    corpus = _corpus(tmp_path / "voles.jsonl", "vole", 5)
    with Library.open(folder) as library:
        with library._writing(5, None):
            cli = _start(folder, "library", "add", str(corpus))
            said = _lines_of(cli.stderr)
            assert _until(lambda: any("waiting up to" in line for line in said))
            assert cli.poll() is None  # still waiting: nothing written while another holds the index
        out, _ = cli.communicate(timeout=300)

        assert cli.returncode == 0, "".join(said)
        assert f"the library's search index is being written by another process (pid {os.getpid()}" in "".join(said)
        assert "5 added" in out
        assert library.stats().documents == 5


def test_a_writer_that_cannot_wait_longer_gives_up_with_a_message_and_changes_nothing(tmp_path):
    folder = tmp_path / "ws"
    corpus = _corpus(tmp_path / "moles.jsonl", "mole", 3)
    with Library.open(folder) as holder, Library.open(folder) as other:
        busy = r"being written by another process \(pid \d+.*gave up after 0.2 s"
        with holder._writing(5, None), pytest.raises(BusyError, match=busy):
            other.add([corpus], wait_s=0.2)
        assert other.stats().documents == 0
        assert other.add([corpus]).added == 3


def test_an_upload_while_the_cli_writes_says_so_and_the_next_one_goes_in(served, monkeypatch):
    client, library, folder = served
    monkeypatch.setattr(uploads, "UPLOAD_WAIT_S", 0.5)
    with Library.open(folder) as cli_side, cli_side._writing(5, None):
        page = _upload(client, NOTE)
    assert "is being written by another process" in page and "try again when it has finished" in page
    assert library.stats().documents == 0
    assert "Added 1 document" in _upload(client, NOTE)


def test_a_writer_killed_with_sigkill_leaves_the_index_free_for_the_next(tmp_path):
    folder = tmp_path / "ws"
    Workspace.open(folder).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from autoalign.library import Library\n"
            "library = Library.open(sys.argv[1])\n"
            "library._writing(5, None).__enter__()\n"
            "print('holding', flush=True)\n"
            "time.sleep(300)\n",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)

    with Library.open(folder) as library:
        assert library.add([_corpus(tmp_path / "shrews.jsonl", "shrew", 4)], wait_s=5).added == 4
        assert library.lexical.num_chunks() == library.stats().chunks


def test_a_thread_never_reads_what_another_thread_has_not_committed(tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    inside, release = threading.Event(), threading.Event()

    def write() -> None:
        with workspace.transaction() as tx:
            workspace.set_state("draft", "half-done", db=tx)
            inside.set()
            release.wait(30)

    writer = threading.Thread(target=write)
    writer.start()
    assert inside.wait(30)
    assert workspace.get_state("draft") is None  # the other thread's transaction is still open
    release.set()
    writer.join(30)
    assert workspace.get_state("draft") == "half-done"
    workspace.close()
