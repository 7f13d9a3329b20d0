"""Every kind of bad input gets a clear message, and nothing already stored is lost."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from autoalign.library import Library
from tests.conftest import MINI_CORPUS


@pytest.fixture
def bad_folder(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "binary.jsonl").write_bytes(bytes(range(256)) * 64)
    (folder / "latin1.jsonl").write_bytes(
        json.dumps({"id": "l1", "title": "ok", "text": "PLACEHOLDER"}).replace("PLACEHOLDER", "caf\\u00e9").encode()
        + b"\n"
        + b'{"id": "l2", "title": "bad", "text": "caf\xe9"}\n'
    )
    (folder / "missing-fields.jsonl").write_text(
        json.dumps({"id": "m1", "title": "No text here"})
        + "\n"
        + json.dumps({"id": "m2", "text": "No title here"})
        + "\n"
        + json.dumps({"id": "m3", "title": "", "text": "   "})
        + "\n"
    )
    (folder / "dups.jsonl").write_text(
        json.dumps({"id": "same", "title": "Dup", "text": "first body"})
        + "\n"
        + json.dumps({"id": "same", "title": "Dup", "text": "second body"})
        + "\n"
    )
    (folder / "scripts.html").write_text(
        "<html><head><title>Scripted</title><script>var secret = 'tracking';</script>"
        "<style>body{color:red}</style></head><body><nav>Home | About</nav>"
        "<article><h1>Scripted page</h1><script>alert('x')</script>"
        "<p>The only real sentence about interpretability.</p><noscript>enable js</noscript></article>"
        "<footer>copyright</footer></body></html>"
    )
    (folder / "good.md").write_text("# A good note\n\nMesa-optimizers are learned optimizers.\n")
    return folder


def test_bad_folder_is_ingested_around_its_problems(workspace_path, minilm, bad_folder):
    library = Library.open(workspace_path, embedder=minilm)
    library.add([MINI_CORPUS])
    before = library.stats()
    report = library.add([bad_folder])
    reasons = {issue.origin.rsplit("/", 1)[-1]: issue.reason for issue in report.issues}
    assert set(reasons) == {
        "empty.jsonl",
        "binary.jsonl",
        "latin1.jsonl:2",
        "missing-fields.jsonl:1",
        "missing-fields.jsonl:2",
        "missing-fields.jsonl:3",
    }
    assert "UTF-8" in reasons["latin1.jsonl:2"]
    assert report.added == 4 and report.replaced == 1  # l1, same, scripts.html, good.md
    assert library.document("same").text == "second body"
    scripted = library.search("interpretability sentence", mode="lexical", k=1)[0]
    doc = library.document(scripted.document.uid)
    assert "real sentence" in doc.text and "tracking" not in doc.text and "alert" not in doc.text
    assert "Home | About" not in doc.text and "copyright" not in doc.text
    # What was stored before is intact.
    after = library.stats()
    assert after.documents == before.documents + 4
    assert library.search("reward hacking", mode="lexical")[0].document.uid == "fx-reward-hacking"
    db = sqlite3.connect(workspace_path / "autoalign.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cli_reports_each_problem_and_exits_non_zero(workspace_path, bad_folder):
    result = subprocess.run(
        [sys.executable, "-m", "autoalign", "--workspace", str(workspace_path), "library", "add", str(bad_folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for name in ("empty.jsonl", "binary.jsonl", "latin1.jsonl:2", "missing-fields.jsonl:3"):
        assert name in result.stderr
    assert "6 skipped" in result.stdout


@pytest.mark.slow
def test_a_50_megabyte_document_is_stored_chunked_and_searchable(workspace_path, minilm, tmp_path):
    words = [f"token{i % 5000}" for i in range(7_000_000)]
    words[3_500_000] = "needleword"
    paragraphs = [" ".join(words[i : i + 120]) + "." for i in range(0, len(words), 120)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 50_000_000
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps({"id": "huge", "title": "Huge", "text": text}) + "\n")
    library = Library.open(workspace_path, embedder=minilm)
    report = library.add([path])
    assert report.added == 1 and report.chunks > 10_000
    hit = library.search("needleword", mode="lexical", k=1)[0]
    assert hit.document.uid == "huge" and "needleword" in hit.passage
    assert library.document("huge").text[hit.start : hit.end] == hit.passage
