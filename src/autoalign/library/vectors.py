"""Chunk vectors of one embedder: an append-only float32 file plus a row map in SQLite.

The file holds rows in the order they were written; the ``embeddings`` table maps chunk ids to
rows and is the truth. Vectors are appended and fsynced *before* the rows are recorded, so after
``kill -9`` the file may hold an unrecorded tail, which :meth:`VectorStore.open` cuts off.
Rows of deleted chunks stay in the file but are masked out of every search.

Search is exact (a matrix-vector product over all rows); see BENCHMARKS.md for its latency at
ARD scale next to the alternatives.
"""

from __future__ import annotations

import os
import re

import numpy as np

from autoalign.library.store import DELETIONS_KEY
from autoalign.workspace import Workspace


def _state_key(embedder: str, what: str) -> str:
    return f"vectors:{embedder}:{what}"


class VectorStore:
    """The vectors that one embedder made for the library's chunks."""

    def __init__(self, workspace: Workspace, embedder: str, dim: int) -> None:
        self.workspace = workspace
        self.embedder = embedder
        self.dim = dim
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", embedder)
        self.path = workspace.index_path("vectors") / f"{safe}.f32"
        self._matrix: np.ndarray | None = None
        self._chunk_of_row: np.ndarray | None = None
        self._loaded_version: tuple[int, int] | None = None
        self._truncate_unrecorded_tail()

    @classmethod
    def existing(cls, workspace: Workspace, embedder: str) -> VectorStore | None:
        """The store for ``embedder`` if it has any vectors, else None."""
        dim = workspace.get_state(_state_key(embedder, "dim"))
        return cls(workspace, embedder, int(dim)) if dim else None

    @staticmethod
    def embedders(workspace: Workspace) -> list[str]:
        """Names of the embedders that have vectors in this workspace."""
        rows = workspace.db.execute("SELECT DISTINCT embedder FROM embeddings ORDER BY embedder")
        return [row[0] for row in rows]

    @property
    def recorded_rows(self) -> int:
        return int(self.workspace.get_state(_state_key(self.embedder, "rows"), "0"))

    def count(self) -> int:
        """Chunks that have a vector from this embedder."""
        row = self.workspace.db.execute(
            "SELECT count(*) FROM embeddings WHERE embedder = ?", (self.embedder,)
        ).fetchone()
        return row[0]

    def append(self, chunk_ids: list[int], vectors: np.ndarray) -> None:
        """Store vectors for chunks; durable when this returns."""
        if len(chunk_ids) != len(vectors) or vectors.shape[1:] != (self.dim,):
            raise ValueError(f"expected {len(chunk_ids)} vectors of dim {self.dim}, got {vectors.shape}")
        start = self.recorded_rows
        data = np.ascontiguousarray(vectors, dtype=np.float32).tobytes()
        with open(self.path, "r+b" if self.path.exists() else "wb") as handle:
            handle.seek(start * self.dim * 4)
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
        with self.workspace.transaction() as tx:
            tx.executemany(
                "INSERT OR REPLACE INTO embeddings(embedder, chunk_id, row) VALUES (?, ?, ?)",
                [(self.embedder, cid, start + i) for i, cid in enumerate(chunk_ids)],
            )
            self.workspace.set_state(_state_key(self.embedder, "dim"), str(self.dim), tx)
            self.workspace.set_state(_state_key(self.embedder, "rows"), str(start + len(chunk_ids)), tx)

    def search(
        self, query: np.ndarray, *, limit: int, allowed_chunks: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """``(chunk_id, cosine)`` pairs, best first, among ``allowed_chunks`` when given."""
        matrix, chunk_of_row = self._load()
        if len(matrix) == 0:
            return []
        if allowed_chunks is not None:
            rows = np.flatnonzero(np.isin(chunk_of_row, np.fromiter(allowed_chunks, dtype=np.int64)))
            scores = matrix[rows] @ query.astype(np.float32)
        else:
            rows = None
            scores = matrix @ query.astype(np.float32)
            scores[chunk_of_row < 0] = -np.inf
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top])]
        chosen = rows[top] if rows is not None else top
        return [
            (int(chunk_of_row[r]), float(s))
            for r, s in zip(chosen, scores[top], strict=True)
            if chunk_of_row[r] >= 0 and np.isfinite(s)
        ]

    def vectors_of(self, chunk_ids: list[int]) -> np.ndarray:
        """The stored vectors of the given chunks (those that have one)."""
        matrix, chunk_of_row = self._load()
        rows = np.flatnonzero(np.isin(chunk_of_row, np.asarray(chunk_ids, dtype=np.int64)))
        return matrix[rows]

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        """The matrix and the row -> chunk id map (-1 for rows of deleted chunks), cached."""
        version = self._version()
        if self._loaded_version != version or self._matrix is None:
            rows = version[0]
            matrix = (
                np.fromfile(self.path, dtype=np.float32, count=rows * self.dim).reshape(rows, self.dim)
                if rows
                else np.zeros((0, self.dim), np.float32)
            )
            chunk_of_row = np.full(rows, -1, dtype=np.int64)
            mapped = np.array(
                self.workspace.db.execute(
                    "SELECT row, chunk_id FROM embeddings WHERE embedder = ? AND row < ?",
                    (self.embedder, rows),
                ).fetchall(),
                dtype=np.int64,
            ).reshape(-1, 2)
            chunk_of_row[mapped[:, 0]] = mapped[:, 1]
            self._matrix, self._chunk_of_row, self._loaded_version = matrix, chunk_of_row, version
        assert self._chunk_of_row is not None  # cached together with _matrix, which is set here
        return self._matrix, self._chunk_of_row

    def _version(self) -> tuple[int, int]:
        """Changes whenever rows are added or chunks deleted, so the cache knows to reload."""
        return self.recorded_rows, int(self.workspace.get_state(DELETIONS_KEY, "0"))

    def _truncate_unrecorded_tail(self) -> None:
        if not self.path.exists():
            return
        size = self.recorded_rows * self.dim * 4
        if self.path.stat().st_size > size:
            with open(self.path, "r+b") as handle:
                handle.truncate(size)
