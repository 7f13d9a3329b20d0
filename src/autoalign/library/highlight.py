"""Where the query's words occur in a passage, so renderers can mark them."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")
#: Function words: never highlighted, and left out of lexical queries (they match nearly every
#: passage, cost half of the lexical latency at ARD scale and changed recall by 0.005).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "than",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)
_SUFFIXES = ("ing", "ed", "es", "s")


def _stem(word: str) -> str:
    """A crude stem, enough to light up "rewards" for "reward" without a stemmer dependency."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> frozenset[str]:
    """The stems of the query's content words."""
    return frozenset(
        _stem(w) for w in (m.group().lower() for m in _WORD.finditer(query)) if w not in STOPWORDS and len(w) > 1
    )


def highlight_spans(passage: str, terms: frozenset[str]) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` of each word of ``passage`` whose stem is one of ``terms``."""
    if not terms:
        return ()
    return tuple((m.start(), m.end()) for m in _WORD.finditer(passage) if _stem(m.group().lower()) in terms)
