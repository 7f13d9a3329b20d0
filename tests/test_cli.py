"""The ``autoalign`` command in real processes: output, exit codes, and surviving ``kill -9``."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import MINI_CORPUS


def autoalign(workspace, *args, check=True, **kwargs):
    result = subprocess.run(
        [sys.executable, "-m", "autoalign", "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_add_then_search_prints_cited_passages(workspace_path):
    added = autoalign(workspace_path, "library", "add", str(MINI_CORPUS))
    assert "10 added" in added.stdout and "docs/s" in added.stdout
    found = autoalign(workspace_path, "search", "reward hacking", "--mode", "lexical", "-k", "3")
    assert "Reward hacking in reinforcement learning agents" in found.stdout
    assert "Ada Turing" in found.stdout and "https://example.org/fx-reward-hacking" in found.stdout
    assert "chars " in found.stdout and "§ " in found.stdout
    as_json = autoalign(workspace_path, "search", "reward hacking", "--mode", "lexical", "--json")
    first = json.loads(as_json.stdout.splitlines()[0])
    assert first["document"]["id"] == "fx-reward-hacking"
    assert first["end"] > first["start"] and first["highlights"]


def test_version(workspace_path):
    from autoalign import __version__

    assert autoalign(workspace_path, "--version").stdout.strip() == f"autoalign {__version__}"


def test_bad_input_exits_non_zero_with_a_message_and_no_traceback(workspace_path, tmp_path):
    missing = autoalign(workspace_path, "library", "add", str(tmp_path / "nope.jsonl"), check=False)
    assert missing.returncode == 1 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "title": "ok", "text": "fine"}\n{broken\n')
    skipped = autoalign(workspace_path, "library", "add", str(bad), check=False)
    assert skipped.returncode == 2 and f"{bad}:2" in skipped.stderr and "1 added" in skipped.stdout
    allowed = autoalign(workspace_path, "library", "add", str(bad), "--allow-skips", check=False)
    assert allowed.returncode == 0
    empty = autoalign(workspace_path, "search", "  ", check=False)
    assert empty.returncode == 1 and "empty" in empty.stderr and "Traceback" not in empty.stderr
    unknown = autoalign(workspace_path, "library", "show", "no-such-id", check=False)
    assert unknown.returncode == 1 and "no document" in unknown.stderr


@pytest.mark.slow
def test_ingest_killed_with_sigkill_resumes_without_duplicates(workspace_path, tmp_path):
    total = 20_000
    big = tmp_path / "big.jsonl"
    with big.open("w") as handle:
        for i in range(total):
            record = {
                "id": f"k{i}",
                "title": f"Document {i}",
                "source": "bulk",
                "authors": [],
                "date_published": "2020-01-01",
                "text": f"Body of document {i} about topic{i % 97}. " * 20,
            }
            handle.write(json.dumps(record) + "\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "autoalign", "--workspace", str(workspace_path), "library", "add", str(big)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db_path = workspace_path / "autoalign.db"
    deadline = time.time() + 120
    stored = 0
    while time.time() < deadline and process.poll() is None:
        if db_path.exists():
            try:
                stored = sqlite3.connect(db_path).execute("SELECT count(*) FROM documents").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0
            if stored >= 1000:
                break
        time.sleep(0.05)
    assert process.poll() is None, "ingest finished before it could be killed; make the file bigger"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 0 < stored < total

    autoalign(workspace_path, "library", "add", str(big))
    db = sqlite3.connect(db_path)
    documents, distinct = db.execute("SELECT count(*), count(DISTINCT uid) FROM documents").fetchone()
    assert documents == distinct == total
    orphans = db.execute(
        "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id)"
    ).fetchone()[0]
    assert orphans == 0
    from autoalign.library import Library

    library = Library.open(workspace_path)
    assert library.lexical.num_chunks() == library.stats().chunks
    hit = library.search("Document 19999", mode="lexical", k=1)[0]
    assert hit.document.uid == "k19999"


def test_the_feynman_benchmark_script_runs_and_summarizes(tmp_path):
    """``bench/feynman.py`` made the figures of BENCHMARKS.md; it lives with the benchmarks, outside the package."""
    from tests.conftest import ROOT, SHARED

    if not (SHARED / "data" / "feynman" / "FeynmanEquations.csv").is_file():
        pytest.skip("the Feynman equations are not here; bench/feynman.py needs ../shared/data/feynman")
    out = tmp_path / "feynman"
    options = ["--systems", "ours", "--noise", "0", "--budget", "10", "--out", str(out)]
    script = [sys.executable, str(ROOT / "bench" / "feynman.py")]
    subprocess.run([*script, "--equations", "I.12.1", "--jobs", "1", *options], check=True, capture_output=True)
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["system"], r["equation"]) for r in records] == [("ours", "I.12.1")]
    summary = subprocess.run([*script, "--summary", *options], check=True, capture_output=True, text=True).stdout
    assert re.search(r"\| ours +\| 0\.000 +\| 1/1 ", summary), summary


def test_links_to_nothing_in_a_folder_are_reported_and_the_rest_goes_in(workspace_path, tmp_path):
    folder = tmp_path / "papers"
    (folder / "deeper").mkdir(parents=True)
    (folder / "notes.md").write_text("# Field notes\n\nVoles dig shallow tunnels.\n")
    (folder / "gone.md").symlink_to(folder / "missing.md")
    (folder / "loop.md").symlink_to(folder / "loop.md")
    (folder / "deeper" / "up").symlink_to(folder, target_is_directory=True)  # a folder loop

    added = autoalign(workspace_path, "library", "add", str(folder), check=False)

    assert added.returncode == 2, added.stderr  # records were skipped
    assert "Traceback" not in added.stderr
    assert f"{folder / 'gone.md'}: a symbolic link to nothing" in added.stderr
    assert f"{folder / 'loop.md'}: a symbolic link to nothing" in added.stderr
    assert "1 added" in added.stdout


def test_piped_output_keeps_long_lines_whole_and_names_the_opening_as_the_web_does(workspace_path, tmp_path):
    url = "https://example.org/" + "/".join(f"segment-{i}" for i in range(30))
    sentence = "Capybaras " + " ".join(f"graze{i}" for i in range(40)) + " near the water."
    record = {"id": "cap", "title": "Capybara notes", "text": sentence, "url": url, "source": "tests"}
    (tmp_path / "cap.jsonl").write_text(json.dumps(record) + "\n")
    autoalign(workspace_path, "library", "add", str(tmp_path / "cap.jsonl"))

    found = autoalign(workspace_path, "search", "capybaras graze", "--mode", "lexical").stdout

    lines = found.splitlines()
    assert url in lines
    assert f"  {sentence}" in lines  # the passage, indented, in one piece
    assert "§ opening  ·  chars 0–" in found  # text before any heading, as the web page calls it
