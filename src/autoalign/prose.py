"""Where sentences end in prose: the one rule that chunking and the assistants' sentences share.

A sentence ends at ., ! or ? (with any closing quotes or brackets) before a space and an
upper-case letter, a digit or an opening quote, unless the full stop closes an abbreviation
("e.g.", "et al.") or an initial; a line break ends one too. Chunking cuts an over-long
paragraph at these breaks, and the assistants cite the sentences between them, so a passage and
the sentences quoted from it never disagree on where a sentence stops.
"""

from __future__ import annotations

import re

_BREAK = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n+")
#: Words after which a full stop does not end the sentence.
_ABBREVIATIONS = frozenset(
    "e.g i.e et al cf vs fig eq dr mr mrs ms prof sec no approx resp ca st jr sr inc ltd etc".split()  # noqa: SIM905
)
_LAST_WORD = re.compile(r"([A-Za-z.]+)\.$")


def sentence_breaks(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each gap between two sentences of ``text[start:end]``: the text
    before a gap's start ends a sentence, the next one begins at its end."""
    end = len(text) if end is None else end
    return [
        (match.start(), match.end())
        for match in _BREAK.finditer(text, start, end)
        if match.group().startswith("\n") or not _closes_abbreviation(text, match.start())
    ]


def _closes_abbreviation(text: str, end: int) -> bool:
    """Whether the full stop before ``end`` closes an abbreviation or an initial."""
    head = text[max(0, end - 12) : end].rstrip("\"'”’)]")
    if not head.endswith("."):
        return False
    word = _LAST_WORD.search(head)
    if not word:
        return False
    token = word.group(1).lower().strip(".")
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())
