"""The library through its real parts: SQLite, tantivy, the MiniLM embedder."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from autoalign.errors import AutoalignError, NotFoundError
from autoalign.library import Library
from tests.conftest import MINI_CORPUS


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _record(uid, title, text, date="2020-01-01", **extra):
    return {
        "id": uid,
        "source": "tests",
        "title": title,
        "text": text,
        "url": "",
        "authors": ["Tess Ter"],
        "date_published": date,
        **extra,
    }


def _lexical_count(library: Library) -> int:
    return library.lexical.num_chunks()


def test_ingest_is_idempotent_and_counts_everything(workspace_path, minilm):
    library = Library.open(workspace_path, embedder=minilm)
    first = library.add([MINI_CORPUS])
    assert (first.added, first.issues, first.chunks > 0) == (10, [], True)
    chunks = library.stats().chunks
    second = library.add([MINI_CORPUS])
    assert (second.added, second.unchanged, second.chunks) == (0, 10, 0)
    assert library.stats().chunks == chunks == _lexical_count(library)


def test_lexical_hits_cite_exact_spans_and_highlight_terms(mini_library):
    hits = mini_library.search("reward hacking", mode="lexical", k=5)
    assert hits[0].document.uid == "fx-reward-hacking"
    for hit in hits:
        text = mini_library.document(hit.document.uid).text
        assert text[hit.start : hit.end] == hit.passage
    marked = {hits[0].passage[s:e].lower() for s, e in hits[0].highlights}
    assert {"reward", "hacking"} <= marked


def test_semantic_search_finds_meaning_without_shared_words(mini_library):
    hits = mini_library.search("an off button the machine will not fight", mode="semantic", k=3)
    assert hits[0].document.uid == "fx-corrigibility"
    assert hits[0].ranks == {"semantic": 1}


def test_hybrid_fuses_both_rankers(mini_library):
    hits = mini_library.search("boat racing agent loops collecting bonus targets", k=3)
    assert hits[0].document.uid == "fx-reward-hacking"
    assert set(hits[0].ranks) == {"lexical", "semantic"}


@pytest.mark.parametrize("mode", ["lexical", "semantic", "hybrid"])
def test_filters_restrict_every_ranker(mini_library, mode):
    by_source = mini_library.search("agents and objectives", mode=mode, source="fixture_forum", k=10)
    assert by_source and {h.document.source for h in by_source} == {"fixture_forum"}
    by_author = mini_library.search("agents and objectives", mode=mode, author="okafor", k=10)
    assert by_author and all("Ben Okafor" in h.document.authors for h in by_author)
    by_date = mini_library.search("agents and objectives", mode=mode, date_from="2021", date_to="2021-12", k=10)
    assert by_date and all(h.document.date_published.startswith("2021") for h in by_date)


def test_related_documents_exclude_the_document_itself(mini_library):
    related = mini_library.related("fx-rlhf", k=3)
    uids = [r.document.uid for r in related]
    assert "fx-rlhf" not in uids and len(uids) == 3
    assert "fx-reward-hacking" in uids


def test_newer_version_replaces_older_and_is_logged(workspace_path, minilm, tmp_path):
    library = Library.open(workspace_path, embedder=minilm)
    old = _write_jsonl(tmp_path / "v1.jsonl", [_record("doc-1", "Versioned", "The zanzibarian original wording.")])
    new = _write_jsonl(
        tmp_path / "v2.jsonl", [_record("doc-1", "Versioned", "The quetzalcoatlian revised wording.", "2021-01-01")]
    )
    library.add([old])
    report = library.add([new])
    assert report.replaced == 1 and "replaced document doc-1" in report.events[0]
    doc = library.document("doc-1")
    assert doc.version == 2 and "revised" in doc.text
    assert library.search("zanzibarian", mode="lexical") == []
    assert library.search("quetzalcoatlian", mode="lexical")[0].document.uid == "doc-1"
    logged = library.workspace.db.execute("SELECT event FROM ingest_log").fetchall()
    assert logged == [("replaced",)]


def test_an_older_version_does_not_replace_a_newer_one(workspace_path, minilm, tmp_path):
    library = Library.open(workspace_path, embedder=minilm)
    library.add([_write_jsonl(tmp_path / "new.jsonl", [_record("d", "T", "newer text", "2022-05-01")])])
    report = library.add([_write_jsonl(tmp_path / "old.jsonl", [_record("d", "T", "older text", "2019-05-01")])])
    assert report.kept_newer == 1 and library.document("d").text == "newer text"


def test_duplicates_by_content_and_by_id_within_one_file(workspace_path, minilm, tmp_path):
    library = Library.open(workspace_path, embedder=minilm)
    path = _write_jsonl(
        tmp_path / "dups.jsonl",
        [
            _record("a", "Same", "identical body text"),
            _record("b", "Same", "identical body text"),
            _record("c", "C", "first text"),
            _record("c", "C", "second text"),
        ],
    )
    report = library.add([path])
    assert (report.added, report.duplicates, report.replaced) == (2, 1, 1)
    assert library.document("c").text == "second text"
    with pytest.raises(NotFoundError):
        library.document("b")
    again = library.add([path])
    assert (again.added, again.replaced, again.chunks) == (0, 0, 0), "re-adding must not flip versions"
    assert library.document("c").text == "second text"


def test_malformed_records_are_reported_and_the_rest_ingested(workspace_path, minilm, tmp_path):
    library = Library.open(workspace_path, embedder=minilm)
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json.dumps(_record("ok-1", "Fine", "fine text"))
        + "\n{not json\n"
        + json.dumps({"id": "no-text", "title": "x"})
        + "\n"
        + json.dumps(_record("ok-2", "Fine 2", "more text"))
        + "\n"
    )
    report = library.add([path])
    assert report.added == 2
    assert [issue.origin for issue in report.issues] == [f"{path}:2", f"{path}:3"]


def test_missing_path_is_a_clear_error_and_stores_nothing(workspace_path, minilm, tmp_path):
    library = Library.open(workspace_path, embedder=minilm)
    with pytest.raises(AutoalignError, match="no such file"):
        library.add([MINI_CORPUS, tmp_path / "absent.jsonl"])
    assert library.stats().documents == 0


def test_empty_and_oversized_queries_are_refused(mini_library):
    with pytest.raises(AutoalignError, match="empty"):
        mini_library.search("   ")
    with pytest.raises(AutoalignError, match="limit"):
        mini_library.search("x" * 20_000)
    assert mini_library.search('AND OR NOT ( ) : " *', mode="lexical") == []


def test_embedding_resumes_after_an_interruption(workspace_path, minilm):
    library = Library.open(workspace_path, embedder=minilm)
    library.add([MINI_CORPUS])
    total = library.stats().chunks
    calls = []

    def stop_after_two(done, _total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        library.embed(batch_size=3, on_progress=stop_after_two)
    assert library.stats().embedded[minilm.name] == 6
    assert library.stats().embed_job.state == "failed"
    report = library.embed(batch_size=3)
    assert report.embedded == total - 6
    assert library.stats().embedded[minilm.name] == total
    assert library.pending_embeddings() == 0


def test_vector_file_tail_from_a_crash_is_cut_off(mini_library):
    from autoalign.library.vectors import VectorStore

    store = VectorStore.existing(mini_library.workspace, mini_library.embedder.name)
    good_size = store.path.stat().st_size
    with open(store.path, "ab") as handle:
        handle.write(np.ones(store.dim * 3, np.float32).tobytes())
    reopened = VectorStore(mini_library.workspace, store.embedder, store.dim)
    assert reopened.path.stat().st_size == good_size
    assert reopened.search(mini_library.embedder.embed(["corrigibility"])[0], limit=1)


def test_database_is_wal_and_migrated(mini_library):
    db = sqlite3.connect(mini_library.workspace.path / "autoalign.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = db.execute("SELECT package, version FROM schema_migrations").fetchall()
    assert ("autoalign.library", 1) in versions


def test_passages_per_document_can_be_capped(mini_library):
    unlimited = mini_library.search("reward", mode="lexical", k=10, max_per_document=None)
    capped = mini_library.search("reward", mode="lexical", k=10, max_per_document=1)
    uids = [h.document.uid for h in capped]
    assert len(uids) == len(set(uids))
    assert len(unlimited) > len(capped)


def test_uploads_are_kept_in_the_workspace_and_ingested(workspace_path, minilm):
    library = Library.open(workspace_path, embedder=minilm)
    report = library.add_upload("../../My Notes!.md", b"# Upload test\n\nQuokkas are small marsupials.\n")
    assert report.added == 1
    (stored,) = (workspace_path / "uploads").iterdir()
    assert stored.name.endswith("-My_Notes_.md") and stored.parent == workspace_path / "uploads"
    assert library.search("quokkas", mode="lexical")[0].document.title == "Upload test"
    with pytest.raises(AutoalignError, match="unsupported file type"):
        library.add_upload("evil.exe", b"MZ")


def test_a_background_embedding_is_reaped_and_one_with_nothing_to_do_is_not_started(workspace_path, minilm):
    import time
    from pathlib import Path

    library = Library.open(workspace_path, embedder=minilm)
    library.add([MINI_CORPUS])
    pid = library.embed_in_background()
    assert pid

    def finished() -> bool:
        job = library.stats().embed_job
        return job is not None and job.state == "done" and not Path(f"/proc/{pid}").exists()

    deadline = time.monotonic() + 240
    while not finished() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert finished(), f"job {library.stats().embed_job}; process {pid} left behind (defunct, not reaped)"
    assert library.pending_embeddings() == 0
    jobs_before = library.workspace.db.execute("SELECT count(*) FROM jobs").fetchone()[0]
    assert library.embed_in_background() is None  # nothing pending: no process, no "0 of 0" job
    assert library.workspace.db.execute("SELECT count(*) FROM jobs").fetchone()[0] == jobs_before
    library.close()
