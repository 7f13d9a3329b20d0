"""Ingest at ARD scale: `library add` of the synthetic 100M-token corpus, next to plain index builds.

    .venv/bin/python bench/make_corpus.py --tokens 100000000 --out bench/out/ard_synth.jsonl
    .venv/bin/python bench/ingest_scale.py

Ours: ``Library.add`` (the code behind ``autoalign library add``) into a fresh workspace: parse,
clean, dedupe, chunk, store in SQLite, index in tantivy; timed until the index is committed and
its merges are done. Each system runs in its own child process, so each peak RSS is its own.
The code is run as it is in src/. Before it, the url lookup of ``store.find_existing`` is timed at
20,000 stored documents: a lookup that scans the source's documents (ingest quadratic in documents
per source, as before commit fff5744) is reported loudly, not patched around.

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
#: An indexed lookup takes microseconds; a scan of 20,000 documents took 1.2 ms (commit 7d49b34).
SLOW_LOOKUP_MS = 0.3


def url_lookup_ms() -> float:
    """Milliseconds per ``store.find_existing`` url lookup with 20,000 documents of one source stored.

    Measured, not read from the code: 20,000 documents of one source are inserted into a scratch
    workspace and 200 lookups of absent urls are timed. Above :data:`SLOW_LOOKUP_MS`, the lookup
    scans the source's documents and ingest is quadratic in documents per source.
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
    return per_lookup_ms


# -- children -----------------------------------------------------------------------------------
def child_ours(corpus: Path, workspace: Path) -> None:
    from autoalign.library import Library

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


# -- driver -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SYNTH)
    parser.add_argument("--workspace", type=Path, default=SCALE_WS)
    parser.add_argument(
        "--bm25s-fraction", type=float, default=1.0, help="share of the chunks that bm25s indexes (memory)"
    )
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--child", choices=["ours", "tantivy", "bm25s", "fts5"])
    args = parser.parse_args()

    if args.child == "ours":
        return child_ours(args.corpus, args.workspace)
    if args.child == "tantivy":
        return child_tantivy(args.workspace, PEERS / "tantivy")
    if args.child == "bm25s":
        return child_bm25s(args.workspace, PEERS / "bm25s", args.bm25s_fraction)
    if args.child == "fts5":
        return child_fts5(args.workspace, PEERS / "fts5.db")

    if not args.corpus.exists():
        raise SystemExit(f"{args.corpus} is missing: run bench/make_corpus.py first")
    script = str(Path(__file__).resolve())
    size_mb = args.corpus.stat().st_size / 1e6
    results: dict[str, dict] = {}

    lookup_ms = url_lookup_ms()
    slow = lookup_ms > SLOW_LOOKUP_MS
    if slow:
        print(
            f"WARNING: the url lookup of store.find_existing takes {lookup_ms:.2f} ms at 20k documents "
            f"(over {SLOW_LOOKUP_MS} ms): it scans the source's documents, so this ingest is quadratic"
        )
    print(f"\n== ours: Library.add of {args.corpus.name} ({size_mb:,.0f} MB)")
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
    command = ".venv/bin/python bench/ingest_scale.py " + " ".join(sys.argv[1:])
    payload = {
        "command": command.strip(),
        "corpus_mb": size_mb,
        "url_lookup_ms_at_20k_documents": lookup_ms,
        "url_lookup_slow": slow,
        "results": results,
    }
    print(f"results: {write_json('ingest_scale.json', payload)}")


if __name__ == "__main__":
    main()
