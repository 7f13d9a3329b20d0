"""The contract every embedder keeps, so search code never cares which model made a vector."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors.

    ``name`` is stored next to every vector: vectors of different models live in different
    spaces, and comparing them gives meaningless scores, so the index refuses to mix names.
    Subclasses implement :meth:`_embed`; :meth:`embed` adds the guarantees callers rely on.
    """

    #: Stable identity of the model, e.g. ``"minilm-l6-v2"`` or ``"openai:text-embedding-3-small"``.
    name: str
    #: Length of every vector.
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` into an ``(n, dim)`` float32 array of L2-normalized rows, in order."""
        if isinstance(texts, str):
            # A str is a Sequence[str]; embedding it character by character is never intended.
            raise TypeError("embed() takes a sequence of texts, not a single string")
        batch = list(texts)
        if not batch:
            return np.empty((0, self.dim), dtype=np.float32)
        return l2_normalize(self._embed(batch))

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """Raw vectors for a non-empty list, shape ``(len(texts), dim)``, in input order."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Scale rows to unit length so that a dot product is the cosine similarity.

    All-zero rows stay zero rather than becoming NaN.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, np.finfo(np.float32).tiny))
