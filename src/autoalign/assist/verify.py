"""Does a cited span support its sentence? Lexical overlap plus embedding similarity.

Language models invent citations; a citation is only kept when the span it points at says what
the sentence says. No entailment model installs offline, so support is judged by two signals
that fail differently: the share of the sentence's content words found in the span (catches
topical neighbours that use other words for other claims) and the cosine of their MiniLM
embeddings (catches paraphrase). A span supports a sentence when both are high, or when the
embeddings alone are nearly identical. The thresholds are measured in ``bench/assist_eval.py``
(BENCHMARKS.md): sentences against their own passage versus the closest passage of another
document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from autoalign.library.highlight import query_terms

if TYPE_CHECKING:
    from autoalign.embed import Embedder

#: Content words of the sentence that must appear in the span, with :data:`MIN_SEMANTIC`.
MIN_LEXICAL = 0.5
MIN_SEMANTIC = 0.6
#: Cosine at which a span supports a sentence whatever words it uses (close paraphrase).
PARAPHRASE = 0.8


@dataclass(frozen=True, slots=True)
class Support:
    """How well one span supports one sentence."""

    lexical: float
    semantic: float

    @property
    def supported(self) -> bool:
        return self.semantic >= PARAPHRASE or (self.lexical >= MIN_LEXICAL and self.semantic >= MIN_SEMANTIC)

    @property
    def score(self) -> float:
        """One number to rank spans by, when choosing which one to cite."""
        return 0.5 * (self.lexical + self.semantic)


def lexical_overlap(sentence: str, span: str) -> float:
    """Share of the sentence's content words (stemmed) that occur in the span."""
    return _share(query_terms(sentence), query_terms(span))


def _share(wanted: frozenset[str], found: frozenset[str]) -> float:
    return len(wanted & found) / len(wanted) if wanted else 0.0


class Verifier:
    """Judges (sentence, span) pairs with one embedder, in batches."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return self.embedder.embed(list(texts))

    def check(self, pairs: Sequence[tuple[str, str]]) -> list[Support]:
        """The support of each ``(sentence, span)`` pair."""
        if not pairs:
            return []
        vectors = self.embed([text for pair in pairs for text in pair])
        cosines = np.einsum("ij,ij->i", vectors[0::2], vectors[1::2])
        return [Support(lexical_overlap(s, span), float(c)) for (s, span), c in zip(pairs, cosines, strict=True)]

    def matrix(self, sentences: Sequence[str], spans: Sequence[str]) -> list[list[Support]]:
        """Support of every span for every sentence (``result[i][j]``: span j for sentence i)."""
        if not sentences or not spans:
            return [[] for _ in sentences]
        vectors = self.embed(list(sentences) + list(spans))
        cosines = vectors[: len(sentences)] @ vectors[len(sentences) :].T
        span_terms = [query_terms(span) for span in spans]
        rows = []
        for i, sentence in enumerate(sentences):
            wanted = query_terms(sentence)
            rows.append([Support(_share(wanted, terms), float(cosines[i, j])) for j, terms in enumerate(span_terms)])
        return rows
