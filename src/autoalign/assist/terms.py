"""Key terms of a text and where the library explains them.

A key term is a word or a phrase of two or three words that the text uses often and the library
uses rarely (term frequency times inverse chunk frequency, the rarity read off the lexical index).
Its explanation is the library sentence, outside the text's own document, that best reads as a
definition of it: it contains the term, is close to "What is <term>?", and says "is", "means" or
"refers to" right after it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from autoalign.assist.context import Context
from autoalign.assist.evidence import passages, sentences_of
from autoalign.assist.records import Span
from autoalign.assist.sentences import plain
from autoalign.library.highlight import query_terms

_WORD = re.compile(r"[a-z][a-z-]*[a-z]")
#: Words that are common in research prose but never a key term.
_GENERIC = frozenset(  # a word list reads best as words
    "paper papers author authors work works approach approaches result results method methods "  # noqa: SIM905
    "section example examples figure table use used using way ways thing things point idea ideas "
    "case cases number lot problem problems question questions post posts article also et al like "
    "just new make makes made good better best different able does doesn think argue argues show "
    "shows shown propose proposes proposed suggest suggests summary opinion newsletter https http "
    "www com org provide provides provided potential important various given based related "
    "similar possible avoid avoiding general specific particular large small high low key main".split()
)
_STOP = ENGLISH_STOP_WORDS | _GENERIC
#: Candidates scored by rarity (one lexical query each), most frequent first.
CANDIDATES = 40
#: "what X means" asks rather than defines.
_NOT_ASKING = r"(?<!what )(?<!what \")(?<!what “)(?<!what ‘)"
_DEFINING = r"[\"”’]?\s+(?:is|are|refers to|means|describes|denotes|occurs when|happens when)\b"
DEFINITION_BONUS = 0.3


@dataclass(frozen=True, slots=True)
class Definition:
    term: str
    #: The sentence that explains the term.
    span: Span


def key_terms(context: Context, texts: list[str], k: int = 5) -> list[str]:
    """The ``k`` terms most particular to ``texts``, phrases before the words inside them."""
    counts: Counter[str] = Counter()
    for text in texts:
        for run in _runs(text.lower()):
            for size in (1, 2, 3):
                for i in range(len(run) - size + 1):
                    counts[" ".join(run[i : i + size])] += 1
    # A single word must recur more than a phrase does to count as a term of the text.
    frequent = [(t, c) for t, c in counts.most_common() if c >= (3 if " " not in t else 2) and len(t) > 3]
    frequent = frequent[:CANDIDATES]
    total = max(context.library.lexical.num_chunks(), 1)
    scored = sorted(
        (
            (c * math.log(total / (1 + context.library.lexical.chunk_frequency(t))) * (1 + 0.5 * t.count(" ")), t)
            for t, c in frequent
        ),
        reverse=True,
    )
    chosen: list[str] = []
    for score, term in scored:
        if score <= 0:
            break
        bare = term.replace("-", " ")
        if any(bare in other or other in bare for other in chosen):
            continue
        chosen.append(bare)
        if len(chosen) == k:
            break
    return chosen


def _runs(text: str) -> list[list[str]]:
    """Runs of content words: phrases never cross punctuation or a stop word."""
    runs = []
    for piece in re.split(r"[^a-z\s-]+", text):
        run: list[str] = []
        for word in piece.split():
            if _WORD.fullmatch(word) and word not in _STOP:
                run.append(word)
            else:
                if run:
                    runs.append(run)
                run = []
        if run:
            runs.append(run)
    return runs


def term_pattern(term: str, *, defining: bool = False) -> re.Pattern[str]:
    """Matches ``term`` however its words are joined ("mesa optimizer", "mesa-optimizer"); with
    ``defining``, only where a definition follows it ("... is", "... refers to")."""
    words = r"[\s-]+".join(map(re.escape, term.split()))
    if not defining:
        return re.compile(words, re.IGNORECASE)
    return re.compile(_NOT_ASKING + r"[\"“‘]?" + words + _DEFINING, re.IGNORECASE)


def define(context: Context, term: str, *, besides: Collection[str] = ()) -> Definition | None:
    """The library sentence that best explains ``term``, from documents not in ``besides``."""
    wanted = query_terms(term)
    candidates = [
        s
        for p in passages(context.library, term, k=8, per_document=1)
        if p.document.uid not in besides
        for s in sentences_of(p)
        if wanted <= query_terms(s.text)
    ]
    if not candidates:
        return None
    vectors = context.verifier.embed([f"What is {term}?"] + [plain(s.text) for s in candidates])
    scores = vectors[1:] @ vectors[0]
    defining = term_pattern(term, defining=True)
    scores = scores + DEFINITION_BONUS * np.array([bool(defining.search(s.text)) for s in candidates])
    return Definition(term, candidates[int(scores.argmax())])
