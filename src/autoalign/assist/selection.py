"""Choosing sentences: relevant, and not saying what another chosen sentence already says.

Maximal marginal relevance (Carbonell and Goldstein, 1998) trades a candidate's relevance against
its similarity to what was already chosen; near-duplicates are refused outright, which is what
keeps an answer from citing the same claim twice through two documents that quote each other.
"""

from __future__ import annotations

import numpy as np

#: Cosine above which two sentences say the same thing.
DUPLICATE = 0.9
#: Weight of novelty against relevance.
DIVERSITY = 0.3


def mmr(
    relevance: np.ndarray,
    vectors: np.ndarray,
    k: int,
    *,
    diversity: float = DIVERSITY,
    duplicate: float = DUPLICATE,
    allowed: np.ndarray | None = None,
) -> list[int]:
    """Indices of up to ``k`` rows, most relevant first, each new one penalised by its highest
    cosine to those chosen before it; rows closer than ``duplicate`` to a chosen one are skipped."""
    candidates = np.ones(len(relevance), dtype=bool) if allowed is None else allowed.copy()
    chosen: list[int] = []
    closest = np.zeros(len(relevance))
    while len(chosen) < k and candidates.any():
        value = (1 - diversity) * relevance - diversity * closest
        value[~candidates] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        similarity = vectors @ vectors[best]
        closest = np.maximum(closest, similarity)
        candidates[best] = False
        candidates &= similarity < duplicate
    return chosen


def centrality(vectors: np.ndarray) -> np.ndarray:
    """Cosine of each row to the centroid of all rows: how typical of the whole a sentence is."""
    if not len(vectors):
        return np.zeros(0)
    centroid = vectors.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    return vectors @ centroid
