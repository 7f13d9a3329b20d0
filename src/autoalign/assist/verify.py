"""Does a cited span support its sentence? Lexical overlap plus embedding similarity.

Language models invent citations; a citation is only kept when the span it points at says what
the sentence says. No entailment model installs offline, so support is judged by two signals
that fail differently: the share of the sentence's content words found in the span (catches
topical neighbours that use other words for other claims) and the cosine of their MiniLM
embeddings (catches paraphrase). A span supports a sentence when both are high, or when the
embeddings alone are nearly identical, and never when the sentence has a number or a name that
the span lacks (the commonest way a topical neighbour passes for support). The thresholds are
measured in ``bench/assist_eval.py`` (BENCHMARKS.md): sentences against their own passage versus
the closest passage of another document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from autoalign.library.highlight import STOPWORDS, query_terms

if TYPE_CHECKING:
    from autoalign.embed import Embedder

#: Content words of the sentence that must appear in the span, with :data:`MIN_SEMANTIC`.
MIN_LEXICAL = 0.6
MIN_SEMANTIC = 0.6
#: Cosine at which a span supports a sentence whatever words it uses (close paraphrase).
PARAPHRASE = 0.8
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z]+(?:-[A-Za-z]+)*")


@dataclass(frozen=True, slots=True)
class Support:
    """How well one span supports one sentence."""

    lexical: float
    semantic: float
    #: Numbers and names of the sentence that the span lacks: a span about the same thing with
    #: another figure or another person ("53" for "ten", "Shah" for "Christiano") supports nothing.
    missing: tuple[str, ...] = ()

    @property
    def supported(self) -> bool:
        if self.missing:
            return False
        return self.semantic >= PARAPHRASE or (self.lexical >= MIN_LEXICAL and self.semantic >= MIN_SEMANTIC)

    @property
    def score(self) -> float:
        """One number to rank spans by, when choosing which one to cite."""
        return 0.5 * (self.lexical + self.semantic)


def specifics(text: str) -> frozenset[str]:
    """The numbers and names in ``text``: digits, and capitalised words not at a sentence's start."""
    found = set(_NUMBER.findall(text))
    for match in _CAPITALISED.finditer(text):
        before = text[: match.start()].rstrip()
        if before and before[-1] not in '.!?:;"“(\n' and match.group().lower() not in STOPWORDS:
            found.add(match.group())
    return frozenset(found)


def missing_specifics(sentence: str, span: str) -> tuple[str, ...]:
    """The sentence's numbers and names that the span does not contain (case-insensitively)."""
    lowered = span.lower()
    return tuple(sorted(item for item in specifics(sentence) if item.lower() not in lowered))


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
        return [
            Support(lexical_overlap(s, span), float(c), missing_specifics(s, span))
            for (s, span), c in zip(pairs, cosines, strict=True)
        ]

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
            rows.append(
                [
                    Support(_share(wanted, terms), float(cosines[i, j]), missing_specifics(sentence, spans[j]))
                    for j, terms in enumerate(span_terms)
                ]
            )
        return rows
