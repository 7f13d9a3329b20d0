"""Hybrid search: BM25 and vector rankings fused by reciprocal rank.

Reciprocal rank fusion needs no score calibration between the two rankers (BM25 scores and
cosines live on different scales) and is robust when one ranker has no opinion, which is the case
while embedding is still running: chunks without vectors simply get no semantic rank.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Literal

import numpy as np

from autoalign.errors import AutoalignError, require_text
from autoalign.library import store
from autoalign.library.highlight import highlight_spans, query_terms
from autoalign.library.lexical import Filters, LexicalIndex, date_key
from autoalign.library.records import Hit
from autoalign.library.vectors import VectorStore
from autoalign.workspace import Workspace

Mode = Literal["hybrid", "lexical", "semantic"]
MODES: tuple[Mode, ...] = ("hybrid", "lexical", "semantic")
MAX_QUERY_CHARS = 10_000
#: Hybrid search moves the query vector towards the top lexical passages (Rocchio feedback):
#: query + 1.0 x mean of the top 3 raised recall@10 by 0.031 (0.016 and 0.044 on the two halves of
#: the retrieval evaluation, BENCHMARKS.md) at the cost of reading three vectors.
FEEDBACK_PASSAGES = 3
FEEDBACK_WEIGHT = 1.0


def validate_query(query: str) -> str:
    return require_text(query, "query", MAX_QUERY_CHARS, empty="say what to search for")


def allowed_chunks(db: sqlite3.Connection, filters: Filters) -> set[int]:
    """Ids of the chunks whose documents pass ``filters`` (for the vector ranker)."""
    where: list[str] = []
    params: list[str | int] = []
    if filters.source:
        where.append("d.source = ?")
        params.append(filters.source)
    if filters.author:
        for word in filters.author.split():
            where.append("d.authors LIKE ?")
            params.append(f"%{word}%")
    low, high = date_key(filters.date_from), date_key(filters.date_to, upper=True)
    if low is not None or high is not None:
        where.append("CAST(replace(substr(d.date_published, 1, 10), '-', '') AS INTEGER) BETWEEN ? AND ?")
        params += [low or 0, high or 99999999]
    sql = "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return {row[0] for row in db.execute(sql, params)}


def reciprocal_rank_fusion(rankings: dict[str, list[int]], k: int) -> list[tuple[int, float, dict[str, int]]]:
    """Fuse ranked id lists: score = sum over rankers of 1 / (k + rank)."""
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, ids in rankings.items():
        for rank, item in enumerate(ids, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(item, {})[name] = rank
    ordered = sorted(scores, key=scores.__getitem__, reverse=True)
    return [(item, scores[item], ranks[item]) for item in ordered]


def with_feedback(
    query: np.ndarray, vectors: VectorStore, chunk_ids: list[int], weight: float = FEEDBACK_WEIGHT
) -> np.ndarray:
    """The query vector moved towards the mean vector of ``chunk_ids`` (those that have one)."""
    feedback = vectors.vectors_of(chunk_ids)
    if not len(feedback):
        return query
    moved = query + weight * feedback.mean(axis=0)
    return moved / (np.linalg.norm(moved) or 1.0)


class HybridSearcher:
    """Runs the rankers a mode asks for and turns fused ids into cited hits."""

    def __init__(
        self,
        workspace: Workspace,
        lexical: LexicalIndex,
        vectors: Callable[[], VectorStore | None],
        embed_query: Callable[[str], np.ndarray],
        *,
        candidates: int,
        rrf_k: int,
    ) -> None:
        self.workspace = workspace
        self.lexical = lexical
        self.vectors = vectors
        self.embed_query = embed_query
        self.candidates = candidates
        self.rrf_k = rrf_k

    def search(
        self, query: str, *, k: int, mode: Mode, filters: Filters, max_per_document: int | None = None
    ) -> list[Hit]:
        query = validate_query(query)
        if mode not in MODES:
            raise AutoalignError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
        pool = max(self.candidates, k)
        rankings: dict[str, list[int]] = {}
        if mode in ("hybrid", "lexical"):
            rankings["lexical"] = [cid for cid, _ in self.lexical.search(query, limit=pool, filters=filters)]
        if mode in ("hybrid", "semantic"):
            store_ = self.vectors()
            if store_ is None:
                if mode == "semantic":
                    raise AutoalignError("the library has no vectors yet: run `autoalign library embed` first")
            else:
                allowed = allowed_chunks(self.workspace.db, filters) if filters else None
                vector = self.embed_query(query)
                if mode == "hybrid":
                    vector = with_feedback(vector, store_, rankings["lexical"][:FEEDBACK_PASSAGES])
                found = store_.search(vector, limit=pool, allowed_chunks=allowed)
                rankings["semantic"] = [cid for cid, _ in found]
        fused = reciprocal_rank_fusion(rankings, self.rrf_k)
        return self._hits(fused, k, query_terms(query), max_per_document)

    def _hits(
        self,
        fused: list[tuple[int, float, dict[str, int]]],
        k: int,
        terms: frozenset[str],
        max_per_document: int | None,
    ) -> list[Hit]:
        hits: list[Hit] = []
        per_document: dict[int, int] = {}
        page = k * 2 + 10
        # Fused ids may point at chunks deleted since the index was written, and collapsing
        # skips some: read the fused list page by page until ``k`` hits are found.
        for offset in range(0, len(fused), page):
            window = fused[offset : offset + page]
            rows = store.chunk_rows(self.workspace.db, [cid for cid, _, _ in window])
            for cid, score, ranks in window:
                row = rows.get(cid)
                if row is None:
                    continue
                seen = per_document.get(row.document_id, 0)
                if max_per_document is not None and seen >= max_per_document:
                    continue
                per_document[row.document_id] = seen + 1
                hits.append(
                    Hit(
                        document=row.info,
                        chunk_id=cid,
                        section=row.section,
                        start=row.start,
                        end=row.end,
                        passage=row.passage,
                        score=score,
                        highlights=highlight_spans(row.passage, terms),
                        ranks=ranks,
                    )
                )
                if len(hits) == k:
                    return hits
        return hits
