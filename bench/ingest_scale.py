"""Ingest at ARD scale: `library add` of the synthetic 100M-token corpus, next to plain index builds.

    .venv/bin/python bench/make_corpus.py --tokens 100000000 --out bench/out/ard_synth.jsonl
    .venv/bin/python bench/ingest_scale.py

Ours: ``Library.add`` (the code behind ``autoalign library add``) into a fresh workspace: parse,
clean, dedupe, chunk, store in SQLite, index in tantivy; timed until the index is committed and
its merges are done. Each system runs in its own child process, so each peak RSS is its own.

Peers, on the chunk texts our ingest produced (read from the workspace first, not timed; they get
parsing, cleaning, deduplication and chunking for free and store no documents):
  (a) plain tantivy: title + text (en_stem), chunk id; same writer settings as ours;
  (b) bm25s: title + text, English stopwords, no stemmer (PyStemmer is not installed);
  (c) SQLite FTS5: fts5(title, text, tokenize='porter unicode61'), one transaction, then 'optimize'.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    OUT,
    PEERS,
    SCALE_WS,
    SYNTH,
    emit_result,
    folder_size_mb,
    fresh,
    peak_rss_mib,
    run_child,
    table,
    write_json,
)

CHUNK_SQL = (
    "SELECT c.id, d.title, substr(d.text, c.start + 1, c.end - c.start)"
    " FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id"
)


# -- the url-lookup check -----------------------------------------------------------------------
def url_lookup_is_slow() -> bool:
    """Whether ``store.find_existing`` scans a source's documents for each url lookup.

    Measured, not read from the code: 20,000 documents of one source are inserted into a scratch
    workspace and 200 lookups of absent urls are timed. An indexed lookup takes microseconds.
    """
    import shutil
    import tempfile

    from autoalign.library import store
    from autoalign.library.records import SourceDocument
    from autoalign.workspace import Workspace

    folder = Path(tempfile.mkdtemp(prefix="urlcheck-", dir=OUT))
    try:
        ws = Workspace.open(folder)
        with ws.transaction() as db:
            db.executemany(
                "INSERT INTO documents(uid, url, content_hash, source, title, text) VALUES (?, ?, ?, 's', ?, 'x')",
                [(f"u{i}", f"https://x/{i}", f"h{i}", f"t{i}") for i in range(20_000)],
            )
        started = time.perf_counter()
        for i in range(200):
            doc = SourceDocument(title=f"t{i}", text="x", source="s", url=f"https://y/{i}")
            store.find_existing(ws.db, doc, f"v{i}", f"g{i}")
        per_lookup_ms = (time.perf_counter() - started) / 200 * 1000
        ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"find_existing at 20k documents: {per_lookup_ms:.3f} ms per lookup")
    return per_lookup_ms > 0.3


def patch_url_lookup(workspace: Path) -> None:
    """Give the workspace a full index on ``documents(url, source)``, which SQLite then uses for the
    url lookup of ``store.find_existing``. The schema has only the partial index ``documents_url ...
    WHERE url != ''``, which a query ``url = ?`` cannot use (the planner cannot prove ``? != ''``),
    so it falls back to ``documents_source`` and scans every document of the source: quadratic.
    The fix in src would be ``AND url != ''`` in that query (or this index). No code is replaced."""
    from autoalign.workspace import Workspace

    ws = Workspace.open(workspace)
    ws.db.execute("CREATE INDEX IF NOT EXISTS bench_documents_url_full ON documents(url, source)")
    ws.close()


# -- children -----------------------------------------------------------------------------------
def child_ours(corpus: Path, workspace: Path, patch: bool) -> None:
    from autoalign.library import Library

    if patch:
        patch_url_lookup(workspace)
    marks: list[tuple[int, float]] = []
    started = time.perf_counter()
    library = Library.open(workspace)
    report = library.add([corpus], on_progress=lambda p: marks.append((p.documents, time.perf_counter() - started)))
    library.close()  # commits the lexical index and waits for its merges
    seconds = time.perf_counter() - started
    # Documents per second in the first and the second half: equal when ingest scales linearly.
    half = len(marks) // 2
    rate_first = marks[half][0] / marks[half][1] if half else 0.0
    rate_second = (marks[-1][0] - marks[half][0]) / (marks[-1][1] - marks[half][1]) if half else 0.0
    emit_result(
        {
            "seconds": seconds,
            "documents": report.documents_seen,
            "added": report.added,
            "duplicates": report.duplicates,
            "replaced": report.replaced,
            "chunks": report.chunks,
            "bytes": report.bytes_read,
            "issues": len(report.issues),
            "docs_per_s_first_half": rate_first,
            "docs_per_s_second_half": rate_second,
            "patched_url_lookup": patch,
        }
    )


def load_chunks(workspace: Path, fraction: float) -> tuple[list[int], list[str], list[str], float]:
    started = time.perf_counter()
    db = sqlite3.connect(workspace / "autoalign.db")
    total = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    limit = int(total * fraction)
    ids, titles, texts = [], [], []
    for cid, title, text in db.execute(CHUNK_SQL + " LIMIT ?", (limit,)):
        ids.append(cid)
        titles.append(title)
        texts.append(text)
    db.close()
    return ids, titles, texts, time.perf_counter() - started


def child_tantivy(workspace: Path, target: Path) -> None:
    import tantivy

    ids, titles, texts, load_s = load_chunks(workspace, 1.0)
    rss_loaded = peak_rss_mib()
    started = time.perf_counter()
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("chunk_id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("text", tokenizer_name="en_stem")
    index = tantivy.Index(builder.build(), path=str(target))
    writer = index.writer(heap_size=256_000_000, num_threads=2)
    for cid, title, text in zip(ids, titles, texts, strict=True):
        document = tantivy.Document()
        document.add_unsigned("chunk_id", cid)
        document.add_text("title", title)
        document.add_text("text", text)
        writer.add_document(document)
    writer.commit()
    writer.wait_merging_threads()
    seconds = time.perf_counter() - started
    emit_result(
        {
            "seconds": seconds,
            "chunks": len(ids),
            "load_seconds": load_s,
            "rss_after_load_mib": rss_loaded,
            "fraction": 1.0,
        }
    )


def child_bm25s(workspace: Path, target: Path, fraction: float) -> None:
    import bm25s

    ids, titles, texts, load_s = load_chunks(workspace, fraction)
    corpus = [f"{t}\n{x}" for t, x in zip(titles, texts, strict=True)]
    del titles, texts
    rss_loaded = peak_rss_mib()
    started = time.perf_counter()
    tokens = bm25s.tokenize(corpus, stopwords="en", show_progress=False)
    tokenized = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    seconds = time.perf_counter() - started
    saving = time.perf_counter()
    retriever.save(str(target))
    (target / "chunk_ids.txt").write_text("\n".join(map(str, ids)))
    save_s = time.perf_counter() - saving
    emit_result(
        {
            "seconds": seconds,
            "tokenize_seconds": tokenized - started,
            "chunks": len(ids),
            "load_seconds": load_s,
            "save_seconds": save_s,
            "rss_after_load_mib": rss_loaded,
            "fraction": fraction,
        }
    )


def child_fts5(workspace: Path, target: Path) -> None:
    ids, titles, texts, load_s = load_chunks(workspace, 1.0)
    rss_loaded = peak_rss_mib()
    started = time.perf_counter()
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(title, text, tokenize = 'porter unicode61')")
    db.execute("BEGIN")
    db.executemany("INSERT INTO fts(rowid, title, text) VALUES (?, ?, ?)", zip(ids, titles, texts, strict=True))
    db.execute("COMMIT")
    inserted = time.perf_counter()
    db.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    seconds = time.perf_counter() - started
    emit_result(
        {
            "seconds": seconds,
            "insert_seconds": inserted - started,
            "chunks": len(ids),
            "load_seconds": load_s,
            "rss_after_load_mib": rss_loaded,
            "fraction": 1.0,
        }
    )


def child_unpatched_sample(corpus: Path, documents: int) -> None:
    """The unpatched ingest of the corpus's first ``documents`` records, for the record."""
    import tempfile

    from autoalign.library import Library

    head = OUT / "synth_head.jsonl"
    with open(corpus, "rb") as src, open(head, "wb") as dst:
        for i, line in enumerate(src):
            if i >= documents:
                break
            dst.write(line)
    folder = Path(tempfile.mkdtemp(prefix="unpatched-", dir=OUT))
    marks: list[tuple[int, float]] = []
    started = time.perf_counter()
    library = Library.open(folder)
    report = library.add([head], on_progress=lambda p: marks.append((p.documents, time.perf_counter() - started)))
    library.close()
    seconds = time.perf_counter() - started
    half = next(i for i, (d, _) in enumerate(marks) if d >= documents // 2)
    first = marks[half][1]
    fresh(folder)
    head.unlink()
    emit_result(
        {
            "documents": report.documents_seen,
            "seconds": seconds,
            "first_half_seconds": first,
            "second_half_seconds": seconds - first,
        }
    )


# -- driver -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SYNTH)
    parser.add_argument("--workspace", type=Path, default=SCALE_WS)
    parser.add_argument(
        "--bm25s-fraction", type=float, default=1.0, help="share of the chunks that bm25s indexes (memory)"
    )
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument(
        "--unpatched-sample",
        type=int,
        default=16_000,
        help="documents for the unpatched run when the url lookup is slow (0: skip)",
    )
    parser.add_argument("--child", choices=["ours", "tantivy", "bm25s", "fts5", "unpatched"])
    parser.add_argument("--patch", action="store_true")
    args = parser.parse_args()

    if args.child == "ours":
        return child_ours(args.corpus, args.workspace, args.patch)
    if args.child == "tantivy":
        return child_tantivy(args.workspace, PEERS / "tantivy")
    if args.child == "bm25s":
        return child_bm25s(args.workspace, PEERS / "bm25s", args.bm25s_fraction)
    if args.child == "fts5":
        return child_fts5(args.workspace, PEERS / "fts5.db")
    if args.child == "unpatched":
        return child_unpatched_sample(args.corpus, args.unpatched_sample)

    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus} is missing: run bench/make_corpus.py first")
    script = str(Path(__file__).resolve())
    size_mb = args.corpus.stat().st_size / 1e6
    results: dict[str, dict] = {}

    slow = url_lookup_is_slow()
    if slow and args.unpatched_sample:
        print(f"\n== ours, unpatched, first {args.unpatched_sample:,} documents")
        r, rss, _ = run_child(
            [
                script,
                "--child",
                "unpatched",
                "--corpus",
                str(args.corpus),
                "--unpatched-sample",
                str(args.unpatched_sample),
            ]
        )
        results["ours_unpatched_sample"] = {**r, "peak_rss_mib": rss}

    print(
        f"\n== ours: Library.add of {args.corpus.name} ({size_mb:,.0f} MB)"
        + (" with the url lookup patched" if slow else "")
    )
    fresh(args.workspace)
    r, rss, _ = run_child(
        [
            script,
            "--child",
            "ours",
            "--corpus",
            str(args.corpus),
            "--workspace",
            str(args.workspace),
            *(["--patch"] if slow else []),
        ]
    )
    r.update(
        peak_rss_mib=rss,
        db_mb=folder_size_mb(args.workspace / "autoalign.db"),
        index_mb=folder_size_mb(args.workspace / "indexes" / "lexical"),
    )
    results["ours"] = r

    if not args.skip_peers:
        PEERS.mkdir(parents=True, exist_ok=True)
        for name, target in (("tantivy", PEERS / "tantivy"), ("bm25s", PEERS / "bm25s"), ("fts5", PEERS / "fts5.db")):
            print(f"\n== {name}")
            fresh(target)
            if name == "tantivy":
                target.mkdir(parents=True)
            extra = ["--bm25s-fraction", str(args.bm25s_fraction)] if name == "bm25s" else []
            r, rss, _ = run_child([script, "--child", name, "--workspace", str(args.workspace), *extra])
            r.update(peak_rss_mib=rss, index_mb=folder_size_mb(target))
            results[name] = r

    ours = results["ours"]
    rows = [
        [
            "autoalign library add (parse+chunk+SQLite+tantivy)",
            ours["documents"],
            ours["chunks"],
            ours["seconds"],
            ours["documents"] / ours["seconds"],
            ours["bytes"] / 1e6 / ours["seconds"],
            ours["peak_rss_mib"],
            ours["db_mb"] + ours["index_mb"],
        ]
    ]
    labels = {
        "tantivy": "plain tantivy build (chunk texts given)",
        "bm25s": "bm25s tokenize+index (chunk texts given)",
        "fts5": "SQLite FTS5 insert+optimize (chunk texts given)",
    }
    for name in ("tantivy", "bm25s", "fts5"):
        if name in results:
            r = results[name]
            label = labels[name] + (f", {r['fraction']:.0%} of chunks" if r["fraction"] < 1 else "")
            rows.append([label, "", r["chunks"], r["seconds"], "", "", r["peak_rss_mib"], r["index_mb"]])
    print()
    print(
        table(["system", "documents", "chunks", "wall s", "docs/s", "input MB/s", "peak RSS MiB", "on disk MB"], rows)
    )
    if "ours_unpatched_sample" in results:
        u = results["ours_unpatched_sample"]
        print(
            f"\nunpatched url lookup, first {u['documents']:,} documents: {u['seconds']:.1f} s "
            f"(first half {u['first_half_seconds']:.1f} s, second half {u['second_half_seconds']:.1f} s)"
        )
    command = ".venv/bin/python bench/ingest_scale.py " + " ".join(sys.argv[1:])
    payload = {"command": command.strip(), "corpus_mb": size_mb, "url_lookup_slow": slow, "results": results}
    print(f"results: {write_json('ingest_scale.json', payload)}")


if __name__ == "__main__":
    main()
