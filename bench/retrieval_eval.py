"""Retrieval quality on the real shared corpus: find the paper an Alignment Newsletter summary is about.

    .venv/bin/python bench/retrieval_eval.py

The shared corpus (3 ARD JSONL files + 50 Distill articles) is ingested into a fresh workspace
(bench/out/real_ws) and embedded with MiniLM. Queries: every Alignment Newsletter document whose
title, normalized (case, punctuation, spacing), equals the title of at least one stored
ai_alignment_papers document. The query is the first two sentences of the summary, or the first
sentence alone when two run over 50 words, capped at 50 words (emphasis and link targets dropped).
Relevant: every stored paper document with that title (any one counts).

Scoring: search k=50 chunks; documents are ranked by the position of their first chunk; the
newsletter document the query came from is removed from the ranking (it is not an answer). Then
recall@1 and recall@10 (share of queries with a relevant document in the top 1 / 10) and MRR@10.

Peers over the same chunks, documents ranked the same way: bm25s (title + passage; English
stopwords; no stemmer, PyStemmer is not installed) and exact numpy cosine over the same stored
MiniLM vectors. Queries are also split in two halves by a hash of the newsletter id.

When hybrid misses recall@10 >= 0.9, the script prints failures and measures variants: RRF
constant, candidates per ranker, title boost, fusing document rankings instead of chunk rankings,
ranker weights, stopwords in the lexical query, query length. Variants are computed from the
rankers' raw outputs with the same fusion formula as search.py and otherwise the workspace's
settings (``search.rrf_k``, ``search.candidates``); the default variant is checked against
Library.search itself, query by query.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPUS, real_library, table, write_json
from queries import first_sentences

from autoalign.library import lexical as lexical_module
from autoalign.library.search import FEEDBACK_PASSAGES, FEEDBACK_WEIGHT, reciprocal_rank_fusion, with_feedback

K_CHUNKS = 50
TARGET = 0.9


def normalize_title(title: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", title.lower()).split())


def make_query(text: str, max_words: int = 50, sentences: int = 2) -> str:
    query = first_sentences(text, sentences)
    if sentences > 1 and len(query.split()) > max_words:
        query = first_sentences(text, 1)
    return " ".join(query.split()[:max_words])


def half_of(uid: str) -> int:
    return hashlib.blake2b(uid.encode(), digest_size=1).digest()[0] % 2


class Eval:
    """The query set, the relevant documents, and scoring of document rankings."""

    def __init__(self, library) -> None:
        db = library.workspace.db
        self.doc_of_chunk: dict[int, str] = dict(
            db.execute("SELECT c.id, d.uid FROM chunks c JOIN documents d ON d.id = c.document_id")
        )
        self.title_of: dict[str, str] = dict(db.execute("SELECT uid, title FROM documents"))
        papers: dict[str, set[str]] = {}
        for uid, title in db.execute("SELECT uid, title FROM documents WHERE source = 'ai_alignment_papers'"):
            papers.setdefault(normalize_title(title), set()).add(uid)
        self.cases = []  # (newsletter uid, query, relevant uids, full text)
        for uid, title, text in db.execute(
            "SELECT uid, title, text FROM documents WHERE source = 'alignment_newsletter' ORDER BY id"
        ):
            relevant = papers.get(normalize_title(title))
            if relevant:
                self.cases.append((uid, make_query(text), relevant, text))
        self.pairs_in_files = self._pairs_in_files()

    @staticmethod
    def _pairs_in_files() -> int:
        """Newsletter records whose title matches a paper record, counted in the JSONL files."""

        def titles(name: str) -> list[str]:
            return [orjson.loads(line)["title"] for line in open(CORPUS / name, "rb")]

        paper_titles = {normalize_title(t) for t in titles("ai_alignment_papers.jsonl")}
        return sum(normalize_title(t) in paper_titles for t in titles("alignment_newsletter.jsonl"))

    def documents(self, chunk_ids: list[int], own: str) -> list[str]:
        ranked = []
        for cid in chunk_ids:
            uid = self.doc_of_chunk.get(cid)
            if uid and uid != own and uid not in ranked:
                ranked.append(uid)
        return ranked

    def score(self, rankings: list[list[str]], subset: list[int] | None = None) -> dict[str, float]:
        idx = subset if subset is not None else range(len(self.cases))
        r1 = r10 = mrr = 0.0
        n = 0
        for i in idx:
            relevant = self.cases[i][2]
            ranks = [r for r, uid in enumerate(rankings[i][:10], start=1) if uid in relevant]
            n += 1
            if ranks:
                r10 += 1
                mrr += 1 / ranks[0]
                r1 += ranks[0] == 1
        return {"recall@1": r1 / n, "recall@10": r10 / n, "mrr@10": mrr / n, "queries": n}


def bm25s_ranker(library) -> Callable[[str], list[int]]:
    import bm25s

    rows = library.workspace.db.execute(
        "SELECT c.id, d.title, substr(d.text, c.start + 1, c.end - c.start)"
        " FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id"
    ).fetchall()
    ids = np.array([r[0] for r in rows])
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([f"{t}\n{p}" for _, t, p in rows], stopwords="en", show_progress=False), show_progress=False
    )

    def search(q: str) -> list[int]:
        tokens = bm25s.tokenize([q], stopwords="en", show_progress=False)
        if not tokens.ids or not tokens.ids[0]:
            return []
        docs, _ = retriever.retrieve(tokens, k=K_CHUNKS, show_progress=False, n_threads=1)
        return ids[docs[0]].tolist()

    return search


def fuse(
    lexical: list[int],
    semantic: list[int],
    *,
    rrf_k: int,
    pool: int,
    weights: tuple[float, float] = (1.0, 1.0),
    collapse: Callable[[list[int]], list] | None = None,
) -> list:
    """search.py's fusion, with optional ranker weights and per-document collapsing before fusion."""
    lists = {"lexical": lexical[:pool], "semantic": semantic[:pool]}
    if collapse is not None:
        lists = {name: collapse(ids) for name, ids in lists.items()}
    if weights == (1.0, 1.0):
        return [item for item, _, _ in reciprocal_rank_fusion(lists, rrf_k)]
    scores: dict = {}
    for ids, w in zip(lists.values(), weights, strict=True):
        for rank, item in enumerate(ids, start=1):
            scores[item] = scores.get(item, 0.0) + w / (rrf_k + rank)
    return sorted(scores, key=scores.__getitem__, reverse=True)


def main() -> None:
    started = time.perf_counter()
    library, timings = real_library(rebuild="--reuse" not in sys.argv)
    print(f"workspace: {timings}")
    ev = Eval(library)
    n = len(ev.cases)
    print(
        f"{n} queries (newsletter documents whose title matches a stored paper; "
        f"{ev.pairs_in_files} such records in the JSONL files)"
    )
    halves = [[i for i, c in enumerate(ev.cases) if half_of(c[0]) == h] for h in (0, 1)]

    embedder = library.embedder
    queries = [c[1] for c in ev.cases]
    t0 = time.perf_counter()
    query_vectors = embedder.embed(queries)
    embed_s = time.perf_counter() - t0
    cache = dict(zip(queries, query_vectors, strict=True))
    library._searcher.embed_query = lambda q: cache[q] if q in cache else embedder.embed([q])[0]

    rankings: dict[str, list[list[str]]] = {}
    for mode in ("lexical", "semantic", "hybrid"):
        rankings[mode] = [
            ev.documents([h.chunk_id for h in library.search(q, k=K_CHUNKS, mode=mode)], uid)
            for uid, q, _, _ in ev.cases
        ]
    bm25 = bm25s_ranker(library)
    rankings["bm25s"] = [ev.documents(bm25(q), uid) for uid, q, _, _ in ev.cases]
    store_ = library._vectors()
    matrix, chunk_of_row = store_._load()
    rankings["numpy cosine"] = []
    for (uid, _, _, _), qv in zip(ev.cases, query_vectors, strict=True):
        scores = matrix @ qv
        top = np.argsort(-scores)[:K_CHUNKS]
        rankings["numpy cosine"].append(ev.documents([int(chunk_of_row[r]) for r in top], uid))

    search_settings = library.settings.search
    labels = {
        "hybrid": f"ours: hybrid (RRF k={search_settings.rrf_k}, {search_settings.candidates} candidates each)",
        "lexical": "ours: lexical (tantivy BM25)",
        "semantic": "ours: semantic (MiniLM)",
        "bm25s": "bm25s (title + passage)",
        "numpy cosine": "numpy cosine (same MiniLM vectors)",
    }
    results: dict = {}
    rows = []
    for key in ("hybrid", "lexical", "semantic", "bm25s", "numpy cosine"):
        s_all = ev.score(rankings[key])
        s_a, s_b = ev.score(rankings[key], halves[0]), ev.score(rankings[key], halves[1])
        results[key] = {"all": s_all, "half_a": s_a, "half_b": s_b}
        rows.append(
            [labels[key], s_all["recall@1"], s_all["recall@10"], s_all["mrr@10"], s_a["recall@10"], s_b["recall@10"]]
        )
    print()
    print(
        table(
            [
                "system",
                "recall@1",
                "recall@10",
                "MRR@10",
                f"recall@10 half A (n={len(halves[0])})",
                f"recall@10 half B (n={len(halves[1])})",
            ],
            rows,
        )
    )

    payload: dict = {
        "command": ".venv/bin/python bench/retrieval_eval.py",
        "workspace": timings,
        "queries": n,
        "pairs_in_files": ev.pairs_in_files,
        "halves": [len(h) for h in halves],
        "query_embedding_seconds": embed_s,
        "search_settings": search_settings.model_dump(),
        "results": results,
    }
    hybrid_r10 = results["hybrid"]["all"]["recall@10"]
    if hybrid_r10 < TARGET or "--variants" in sys.argv:
        payload["failures"] = failures(ev, rankings)
        payload["ceilings"] = ceilings(ev, rankings, library)
        payload["variants"], payload["default_variant_differs_from_library_search"] = variants(
            library, ev, halves, rankings["hybrid"]
        )
    payload["seconds"] = time.perf_counter() - started
    library.close()
    print(f"results: {write_json('retrieval_eval.json', payload)}")


def ceilings(ev: Eval, rankings, library) -> dict:
    """How far fusion alone could go: where the relevant document is in each ranker's own list."""

    def rank(ranking: list[str], relevant: set[str]) -> int:
        return next((r for r, uid in enumerate(ranking, 1) if uid in relevant), 10**9)

    deep = {}
    for mode in ("lexical", "semantic"):
        deep[mode] = [
            ev.documents([h.chunk_id for h in library.search(q, k=200, mode=mode)], uid) for uid, q, _, _ in ev.cases
        ]
    lex = np.array([rank(r, c[2]) for r, c in zip(deep["lexical"], ev.cases, strict=True)])
    sem = np.array([rank(r, c[2]) for r, c in zip(deep["semantic"], ev.cases, strict=True)])
    out = {
        "either_ranker_top10": float(np.mean((lex <= 10) | (sem <= 10))),
        "either_ranker_top50": float(np.mean((lex <= 50) | (sem <= 50))),
        "neither_ranker_top100": float(np.mean((lex > 100) & (sem > 100))),
    }
    # Scoring variant: every newsletter document removed from the rankings, not only the query's own.
    newsletters = {
        u for (u,) in library.workspace.db.execute("SELECT uid FROM documents WHERE source = 'alignment_newsletter'")
    }
    for mode in ("hybrid", "lexical", "semantic"):
        out[f"{mode}_without_any_newsletter_document"] = ev.score(
            [[u for u in r if u not in newsletters] for r in rankings[mode]]
        )
    print("\nceilings: " + ", ".join(f"{k} {v:.3f}" for k, v in out.items() if isinstance(v, float)))
    for mode in ("hybrid", "lexical", "semantic"):
        print(
            f"  {mode} recall@10 with all newsletter documents removed from the ranking: "
            f"{out[f'{mode}_without_any_newsletter_document']['recall@10']:.3f}"
        )
    return out


def failures(ev: Eval, rankings) -> list[dict]:
    out = []
    misses = [i for i, c in enumerate(ev.cases) if not set(rankings["hybrid"][i][:10]) & c[2]]
    print(f"\nhybrid misses {len(misses)} of {len(ev.cases)} at 10; the first 10:")
    for i in misses[:10]:
        uid, query, relevant, _ = ev.cases[i]
        top = [ev.title_of[u] for u in rankings["hybrid"][i][:3]]
        want = sorted(ev.title_of[u] for u in relevant)[0]
        lex = next((r for r, u in enumerate(rankings["lexical"][i], 1) if u in relevant), None)
        sem = next((r for r, u in enumerate(rankings["semantic"][i], 1) if u in relevant), None)
        print(f"- query: {query[:160]}\n  wanted: {want}\n  lexical rank {lex}, semantic rank {sem}; top 3:")
        for t in top:
            print(f"    {t[:110]}")
        out.append({"query": query, "wanted": want, "top3": top, "lexical_rank": lex, "semantic_rank": sem})
    return out


def variants(library, ev: Eval, halves, library_hybrid: list[list[str]]) -> tuple[dict, int]:
    """Hybrid recall under changed fusion and query parameters, from the rankers' raw outputs.

    Also returns the number of queries whose top 10 documents under the default variant differ
    from ``library_hybrid`` (Library.search's own ranking): 0 when the variants fuse as it does.
    """
    vectors = library._vectors()
    embed = library._searcher.embed_query
    rrf_k, pool = library.settings.search.rrf_k, library.settings.search.candidates
    max_pool = 500

    def raw(
        queries: list[str],
        boosts: dict[str, float] | None = None,
        *,
        keep_stopwords: bool = False,
        feedback: float = FEEDBACK_WEIGHT,
    ):
        saved_boosts, saved_stopwords = dict(lexical_module._FIELD_BOOSTS), lexical_module.STOPWORDS
        if boosts:
            lexical_module._FIELD_BOOSTS.update(boosts)
        if keep_stopwords:
            lexical_module.STOPWORDS = frozenset()
        try:
            lex = [[cid for cid, _ in library.lexical.search(q, limit=max_pool)] for q in queries]
        finally:
            lexical_module._FIELD_BOOSTS.clear()
            lexical_module._FIELD_BOOSTS.update(saved_boosts)
            lexical_module.STOPWORDS = saved_stopwords
        # As Library.search does in hybrid mode: the query vector moved towards the top lexical chunks.
        sem = [
            [
                cid
                for cid, _ in vectors.search(
                    with_feedback(embed(q), vectors, l_ids[:FEEDBACK_PASSAGES], feedback), limit=max_pool
                )
            ]
            for q, l_ids in zip(queries, lex, strict=True)
        ]
        return lex, sem

    def doc_collapse(ids: list[int]) -> list[str]:
        seen: list[str] = []
        for cid in ids:
            uid = ev.doc_of_chunk.get(cid)
            if uid and uid not in seen:
                seen.append(uid)
        return seen

    def rank(lex, sem, **kw) -> list[list[str]]:
        kw = {"rrf_k": rrf_k, "pool": pool, **kw}
        ranks = []
        for (uid, _, _, _), l_ids, s_ids in zip(ev.cases, lex, sem, strict=True):
            fused = fuse(l_ids, s_ids, **kw)
            if kw.get("collapse"):
                ranks.append([u for u in fused if u != uid])
            else:
                ranks.append(ev.documents(fused[:K_CHUNKS], uid))
        return ranks

    def scores(ranks: list[list[str]]) -> dict:
        return {"all": ev.score(ranks), "half_a": ev.score(ranks, halves[0]), "half_b": ev.score(ranks, halves[1])}

    def evaluate(lex, sem, **kw) -> dict:
        return scores(rank(lex, sem, **kw))

    base_queries = [c[1] for c in ev.cases]
    lex, sem = raw(base_queries)
    found: dict[str, dict] = {}
    default = rank(lex, sem)
    differs = sum(a[:10] != b[:10] for a, b in zip(default, library_hybrid, strict=True))
    print(f"\ndefault variant against Library.search: top 10 documents differ for {differs} of {len(default)} queries")
    found[f"default: rrf_k={rrf_k}, {pool} candidates"] = scores(default)
    grid: list[tuple[str, dict]] = [
        (f"rrf_k={k}" + (" (default before fff5744)" if k == 60 else ""), {"rrf_k": k})
        for k in (1, 5, 20, 30, 60, 100)
        if k != rrf_k
    ]
    grid += [(f"candidates={p}", {"pool": p}) for p in (20, 50, 200, 500) if p != pool]
    grid += [
        (f"weights lexical {a:g} / semantic {b:g}", {"weights": (a, b)})
        for a, b in ((2.0, 1.0), (1.5, 1.0), (1.0, 1.5), (1.0, 2.0))
    ]
    grid += [
        ("documents fused, not chunks", {"collapse": doc_collapse}),
        ("documents fused, 500 candidates", {"pool": 500, "collapse": doc_collapse}),
    ]
    for label, kw in grid:
        found[label] = evaluate(lex, sem, **kw)
    for weight in (0.0, 0.5, 2.0):
        label = f"vector feedback weight {weight:g} (default {FEEDBACK_WEIGHT:g})"
        if weight == 0.0:
            label = "no vector feedback (the default before 27d0484)"
        found[label] = evaluate(*raw(base_queries, feedback=weight))
    default_title = lexical_module._FIELD_BOOSTS["title"]
    for title_boost in (1.0, 3.0, 6.0):
        l2, _ = raw(base_queries, {"title": title_boost})
        found[f"title boost {title_boost:g} (default {default_title:g})"] = evaluate(l2, sem)
    l0, _ = raw(base_queries, {"title": 0.0, "section": 0.0})
    found["lexical on passage text only (title, section boost 0)"] = evaluate(l0, sem)
    l_sw, _ = raw(base_queries, keep_stopwords=True)
    found["lexical query with stopwords kept (before f7ea186)"] = evaluate(l_sw, sem)
    for label, maker in (
        ("query: first sentence only", lambda t: make_query(t, 50, 1)),
        ("query: capped at 25 words", lambda t: make_query(t, 25)),
        ("query: capped at 100 words", lambda t: make_query(t, 100, 3)),
    ):
        qs = [maker(c[3]) for c in ev.cases]
        l2, s2 = raw(qs)
        found[label] = evaluate(l2, s2)
    rows = [
        [
            label,
            r["all"]["recall@1"],
            r["all"]["recall@10"],
            r["all"]["mrr@10"],
            r["half_a"]["recall@10"],
            r["half_b"]["recall@10"],
        ]
        for label, r in found.items()
    ]
    print()
    print(table(["hybrid variant", "recall@1", "recall@10", "MRR@10", "recall@10 A", "recall@10 B"], rows))
    return found, differs


if __name__ == "__main__":
    main()
