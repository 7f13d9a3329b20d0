"""Query latency at ARD scale: lexical, hybrid and semantic search on the 100M-token workspace.

    .venv/bin/python bench/query_latency.py

Needs the workspace and peer indexes of bench/ingest_scale.py. About 200 queries: 105 short
topical ones and 100 long ones (the first sentence of an Alignment Newsletter summary). Each
system answers every query once as warm-up, then once more timed; p50/p95 are over the timed pass.

Lexical: ours (``Library.search(mode='lexical')``, k=10: BM25 over ``search.candidates``
candidates, stopwords left out of the query, joined with SQLite for passages, highlights) next to
plain tantivy, bm25s and FTS5 (``MATCH`` with the words OR-ed, ``ORDER BY rank LIMIT 10``), which
return ids only. One variant keeps the stopwords in the query (the behaviour before f7ea186).

Vectors: embedding 100M tokens with MiniLM would take hours on 2 cores, so the synthetic chunks get
approximate vectors: the shared corpus is embedded for real (bench/out/real_ws), each synthetic
chunk is matched to the real chunk it was derived from (majority vote over its sentences), and
gets that chunk's vector plus Gaussian noise (sigma 0.02 per dimension), renormalized. Such data is
more clustered than real embeddings (about 80 noisy copies of each real vector), which matters for
approximate indexes: their recall here is a rough guide, not a measurement on real vectors.

Hybrid and semantic go through ``Library.search`` as configured (RRF constant ``search.rrf_k``)
and include embedding the query with MiniLM.
The vector part alone is compared on the same matrix and the same (pre-embedded) queries: exact
numpy matmul (what VectorStore does), usearch exact search (f32, f16) and usearch HNSW (f32, i8).
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CORPUS,
    OUT,
    PEERS,
    SCALE_WS,
    busy_others,
    fts5_query,
    peak_rss_mib,
    percentile,
    real_library,
    table,
    write_json,
)
from queries import SHORT_QUERIES, long_queries

NOISE_SIGMA = 0.02
SEED = 20261127
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
PASSAGE_SQL = (
    "SELECT c.id, substr(d.text, c.start + 1, c.end - c.start)"
    " FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id"
)


def timed(fn, queries, warmup=None) -> list[float]:
    """Milliseconds per query over a timed pass, after a warm-up pass (over ``warmup`` if given)."""
    for q in queries if warmup is None else warmup:
        fn(q)
    times = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - started) * 1000)
    return times


def stats(times: list[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "mean_ms": sum(times) / len(times),
        "max_ms": max(times),
        "n": len(times),
    }


def sentence_keys(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if len(s) >= 30]


# -- synthetic vectors --------------------------------------------------------------------------
def write_synthetic_vectors(scale, real) -> dict:
    """Give every chunk of the scale workspace the vector of its real source chunk plus noise."""
    from autoalign.library.vectors import VectorStore

    started = time.perf_counter()
    real_store = real._vectors()
    matrix, chunk_of_row = real_store._load()
    row_of_chunk = {int(c): r for r, c in enumerate(chunk_of_row) if c >= 0}
    by_sentence: dict[str, int] = {}
    for cid, passage in real.workspace.db.execute(PASSAGE_SQL):
        if cid in row_of_chunk:
            for key in sentence_keys(passage):
                by_sentence.setdefault(key, row_of_chunk[cid])
    name, dim = real.embedder.name, real.embedder.dim
    target = VectorStore(scale.workspace, name, dim)
    if target.recorded_rows:
        raise SystemExit(f"{scale.workspace.path} already has vectors; delete indexes/vectors to redo")
    rng = np.random.default_rng(SEED)
    cursor = scale.workspace.db.execute(PASSAGE_SQL)
    total = unmatched = 0
    cosines, sources = [], []
    while batch := cursor.fetchmany(100_000):
        ids, rows = [], []
        for cid, passage in batch:
            votes = Counter(by_sentence[k] for k in sentence_keys(passage) if k in by_sentence)
            if votes:
                rows.append(votes.most_common(1)[0][0])
            else:
                rows.append(int(rng.integers(len(matrix))))
                unmatched += 1
            ids.append(cid)
        source = matrix[np.asarray(rows)]
        vectors = source + rng.normal(0.0, NOISE_SIGMA, source.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        cosines.append(np.einsum("ij,ij->i", vectors, source))
        sources.append(np.asarray(rows, dtype=np.int32))
        target.append(ids, vectors)
        total += len(ids)
        print(f"  vectors: {total:,} chunks", flush=True)
    cos = np.concatenate(cosines)
    np.save(OUT / "synthetic_sources.npy", np.concatenate(sources))  # real row of each synthetic row
    return {
        "seconds": time.perf_counter() - started,
        "chunks": total,
        "unmatched": unmatched,
        "noise_sigma": NOISE_SIGMA,
        "mean_cosine_to_source": float(cos.mean()),
        "min_cosine_to_source": float(cos.min()),
    }


# -- peers --------------------------------------------------------------------------------------
def plain_tantivy():
    import tantivy

    from autoalign.library.lexical import _QUERY_SYNTAX

    index = tantivy.Index.open(str(PEERS / "tantivy"))
    searcher = index.searcher()

    def search(q: str) -> list[int]:
        parsed, _ = index.parse_query_lenient(_QUERY_SYNTAX.sub(" ", q), default_field_names=["title", "text"])
        return [searcher.doc(a)["chunk_id"][0] for _, a in searcher.search(parsed, limit=10).hits]

    return search, searcher.num_docs


def plain_bm25s():
    import bm25s

    retriever = bm25s.BM25.load(str(PEERS / "bm25s"))
    ids = np.array((PEERS / "bm25s" / "chunk_ids.txt").read_text().split(), dtype=np.int64)

    def search(q: str) -> list[int]:
        tokens = bm25s.tokenize([q], stopwords="en", show_progress=False)
        if not tokens.ids or not tokens.ids[0]:
            return []
        docs, _ = retriever.retrieve(tokens, k=10, show_progress=False, n_threads=1)
        return ids[docs[0]].tolist()

    return search, len(ids)


def plain_fts5():
    db = sqlite3.connect(PEERS / "fts5.db")

    def search(q: str) -> list[int]:
        match = fts5_query(q)
        if not match:
            return []
        return [r[0] for r in db.execute("SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 10", (match,))]

    return search, db.execute("SELECT count(*) FROM fts").fetchone()[0]


# -- vector-only comparisons --------------------------------------------------------------------
def vector_peers(matrix: np.ndarray, queries: np.ndarray, pool: int, args) -> tuple[list[list], dict]:
    """Latency and recall@10 of top-``pool`` vector search variants on the same matrix and queries.

    recall@10 compares with the exact top 10. The synthetic matrix holds ~80 noisy copies of each
    real vector, whose mutual order is pure noise, so "source recall@10" is also given: the share
    of the exact top 10 whose real source vector is the source of some row in the found top 10.
    """
    from usearch.index import Index, MetricKind
    from usearch.index import search as usearch_search

    sources_path = OUT / "synthetic_sources.npy"
    sources = np.load(sources_path) if sources_path.exists() else None
    if sources is not None and len(sources) != len(matrix):
        sources = None

    def exact(q):
        scores = matrix @ q
        top = np.argpartition(-scores, pool - 1)[:pool]
        return top[np.argsort(-scores[top])]

    exact_top = [exact(q) for q in queries]

    def recalls(found: list[np.ndarray]) -> dict[str, float]:
        found = found[-len(queries) :]  # the timed pass
        out = {
            "recall_at_10": float(
                np.mean(
                    [
                        len(set(f[:10].tolist()) & set(e[:10].tolist())) / 10
                        for f, e in zip(found, exact_top, strict=True)
                    ]
                )
            )
        }
        if sources is not None:
            out["source_recall_at_10"] = float(
                np.mean(
                    [
                        np.isin(sources[e[:10]], sources[np.asarray(f[:10], dtype=np.int64)]).mean()
                        for f, e in zip(found, exact_top, strict=True)
                    ]
                )
            )
        return out

    rows, out = [], {}
    times = timed(exact, list(queries))
    out["numpy_f32_exact"] = {
        **stats(times),
        "recall_at_10": 1.0,
        "source_recall_at_10": 1.0,
        "build_seconds": 0.0,
        "memory_mb": matrix.nbytes / 1e6,
    }
    rows.append(["numpy f32 exact (VectorStore today)", *_row(out["numpy_f32_exact"])])

    for label, dtype in (("f32", np.float32), ("f16", np.float16)):
        data = matrix.astype(dtype) if dtype is not np.float32 else matrix
        found: list = []

        def brute(q, data=data, found=found, dtype=dtype):
            found.append(
                usearch_search(data, q.astype(dtype), pool, MetricKind.IP, exact=True, threads=args.threads).keys
            )

        times = timed(brute, list(queries))
        key = f"usearch_exact_{label}"
        out[key] = {**stats(times), **recalls(found), "build_seconds": 0.0, "memory_mb": data.nbytes / 1e6}
        rows.append([f"usearch exact {label} ({args.threads} threads)", *_row(out[key])])
        del data

    keys = np.arange(len(matrix), dtype=np.uint64)
    for dtype in args.hnsw:
        index = Index(
            ndim=matrix.shape[1],
            metric=MetricKind.IP,
            dtype=dtype,
            connectivity=args.connectivity,
            expansion_add=args.expansion_add,
        )
        started = time.perf_counter()
        for offset in range(0, len(matrix), 100_000):
            index.add(keys[offset : offset + 100_000], matrix[offset : offset + 100_000], threads=args.threads)
        build = time.perf_counter() - started
        for ef in args.expansion_search:
            index.expansion_search = ef
            found = []

            def hnsw(q, index=index, found=found):
                found.append(index.search(q, pool).keys)

            times = timed(hnsw, list(queries))
            key = f"usearch_hnsw_{dtype}_ef{ef}"
            out[key] = {
                **stats(times),
                **recalls(found),
                "build_seconds": build,
                "memory_mb": index.memory_usage / 1e6,
                "connectivity": args.connectivity,
                "expansion_add": args.expansion_add,
                "expansion_search": ef,
            }
            rows.append([f"usearch HNSW {dtype} (M={args.connectivity}, ef_search={ef})", *_row(out[key])])
            print(f"  {rows[-1]}", flush=True)
        del index
    return rows, out


def _row(r: dict) -> list:
    return [
        r["p50_ms"],
        r["p95_ms"],
        r["recall_at_10"],
        r.get("source_recall_at_10", ""),
        r["build_seconds"],
        r["memory_mb"],
    ]


class stopwords_kept:
    """Within this block, lexical queries keep their stopwords (the behaviour before commit f7ea186)."""

    def __enter__(self):
        from autoalign.library import lexical

        self.saved, lexical.STOPWORDS = lexical.STOPWORDS, frozenset()

    def __exit__(self, *exc):
        from autoalign.library import lexical

        lexical.STOPWORDS = self.saved


# -- driver -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, default=SCALE_WS)
    parser.add_argument("--hnsw", nargs="*", default=["f32", "i8"], help="usearch HNSW dtypes to build")
    parser.add_argument("--connectivity", type=int, default=16)
    parser.add_argument("--expansion-add", type=int, default=128)
    parser.add_argument("--expansion-search", type=int, nargs="+", default=[64, 128, 512])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-vectors", action="store_true", help="lexical only")
    args = parser.parse_args()

    from autoalign.library import Library

    if not (args.workspace / "autoalign.db").exists():
        raise SystemExit(f"{args.workspace} is missing: run bench/ingest_scale.py first")
    queries = SHORT_QUERIES + long_queries(CORPUS)
    short, long_ = SHORT_QUERIES, queries[len(SHORT_QUERIES) :]
    print(
        f"{len(queries)} queries ({len(short)} short, {len(long_)} long); "
        f"mean words {np.mean([len(q.split()) for q in short]):.1f} / {np.mean([len(q.split()) for q in long_]):.1f}"
    )
    result: dict = {"queries": {"short": len(short), "long": len(long_)}, "busy_at_start": busy_others()}
    if result["busy_at_start"]:
        print(f"warning: other processes are running and may skew timings: {result['busy_at_start']}")

    real = None
    embedder = None
    if not args.skip_vectors:
        real, real_timings = real_library()
        result["real_workspace"] = real_timings
        embedder = real.embedder
    scale = Library.open(args.workspace, embedder=embedder)
    chunks = scale.stats().chunks
    result["chunks"] = chunks
    pool = scale.settings.search.candidates  # what Library.search asks each ranker for
    result["search_settings"] = scale.settings.search.model_dump()

    # -- lexical
    lexical_rows = []

    def ours_with_stopwords(q):
        with stopwords_kept():
            return scale.search(q, k=10, mode="lexical")

    systems = [
        ("ours: Library.search lexical (hits with passages)", lambda q: scale.search(q, k=10, mode="lexical")),
        ("ours: Library.search lexical, stopwords kept in the query (before f7ea186)", ours_with_stopwords),
        (f"ours: LexicalIndex.search only (ids, limit {pool})", lambda q: scale.lexical.search(q, limit=pool)),
        ("ours: LexicalIndex.search only (ids, limit 10)", lambda q: scale.lexical.search(q, limit=10)),
    ]
    peers = {}
    for name, make in (("plain tantivy", plain_tantivy), ("bm25s", plain_bm25s), ("SQLite FTS5", plain_fts5)):
        try:
            fn, n = make()
        except Exception as exc:  # a missing peer index is reported, not fatal
            print(f"{name}: unavailable ({exc})")
            continue
        peers[name] = n
        systems.append((f"{name} (ids, top 10; {n:,} chunks)", fn))
    result["lexical"] = {}
    for label, fn in systems:
        print(f"lexical: {label}", flush=True)
        # FTS5 takes seconds a query: it warms up on 20 short and 20 long queries instead of all.
        fts = label.startswith("SQLite FTS5")
        t_short = timed(fn, short, warmup=short[:20] if fts else None)
        t_long = timed(fn, long_, warmup=long_[:20] if fts else None)
        if others := busy_others():
            print(f"  warning: other processes were running: {others}")
            result.setdefault("busy_during", {})[label] = others
        everything = t_short + t_long
        result["lexical"][label] = {"all": stats(everything), "short": stats(t_short), "long": stats(t_long)}
        lexical_rows.append(
            [
                label,
                percentile(everything, 50),
                percentile(everything, 95),
                percentile(t_short, 95),
                percentile(t_long, 95),
            ]
        )
    print()
    print(table(["lexical search, k=10", "p50 ms", "p95 ms", "p95 short", "p95 long"], lexical_rows))

    if args.skip_vectors:
        print(f"results: {write_json('query_latency.json', {'command': _command(), **result})}")
        return

    # -- vectors
    from autoalign.library.vectors import VectorStore

    existing = VectorStore.existing(scale.workspace, embedder.name)
    if existing is None or existing.count() < chunks:
        print("writing synthetic vectors", flush=True)
        result["synthetic_vectors"] = write_synthetic_vectors(scale, real)
        print(result["synthetic_vectors"])
    real.close()

    t_embed = timed(lambda q: embedder.embed([q]), queries)
    result["query_embedding"] = stats(t_embed)
    started = time.perf_counter()
    scale.search("warm up the vector matrix", k=10, mode="semantic")
    result["vector_load_seconds"] = time.perf_counter() - started
    hybrid_rows = []
    for mode in ("hybrid", "semantic"):
        label = f"ours: Library.search {mode} (MiniLM query embedding included)"
        print(label, flush=True)

        def run(q, mode=mode):
            return scale.search(q, k=10, mode=mode)

        t_short, t_long = timed(run, short), timed(run, long_)
        if others := busy_others():
            print(f"  warning: other processes were running: {others}")
            result.setdefault("busy_during", {})[label] = others
        everything = t_short + t_long
        result[label] = {"all": stats(everything), "short": stats(t_short), "long": stats(t_long)}
        hybrid_rows.append(
            [
                label,
                percentile(everything, 50),
                percentile(everything, 95),
                percentile(t_short, 95),
                percentile(t_long, 95),
            ]
        )
    hybrid_rows.append(["MiniLM query embedding alone", percentile(t_embed, 50), percentile(t_embed, 95), "", ""])
    print()
    print(table(["search at scale, k=10", "p50 ms", "p95 ms", "p95 short", "p95 long"], hybrid_rows))

    store_ = scale._vectors()
    matrix, _ = store_._load()
    query_vectors = embedder.embed(queries)
    print(f"vector peers on {matrix.shape[0]:,} x {matrix.shape[1]} vectors", flush=True)
    rows, result["vector_search"] = vector_peers(matrix, query_vectors, pool, args)
    print()
    print(
        table(
            [
                f"vector search only, top {pool}",
                "p50 ms",
                "p95 ms",
                "recall@10 vs exact",
                "source recall@10",
                "build s",
                "memory MB",
            ],
            rows,
        )
    )
    result["peak_rss_mib"] = peak_rss_mib()
    scale.close()
    print(f"results: {write_json('query_latency.json', {'command': _command(), **result})}")


def _command() -> str:
    return (".venv/bin/python bench/query_latency.py " + " ".join(sys.argv[1:])).strip()


if __name__ == "__main__":
    main()
