"""ask: a question answered from the library, every sentence cited to the span it comes from.

With the embedded base model (which cannot follow instructions) the answer is extractive: the
sentences of the retrieved passages closest to the question, chosen by maximal marginal relevance
so that no two say the same thing, each a quote of the span it cites. With a chat model the
answer is written from the same passages and each sentence is checked (``compose.py``).

"The library does not cover this" is decided before anything is written, on two signs that a
model would only have unrelated passages to work from: the question names something no library
document mentions (a word the lexical index has never seen: a product, a person, a year the
library does not reach), or no retrieved sentence comes close enough to it (cosine of MiniLM
embeddings). Both are measured in ``bench/assist_eval.py`` (BENCHMARKS.md section 9).
"""

from __future__ import annotations

import re
import threading

import numpy as np

from autoalign.assist.compose import write
from autoalign.assist.context import Context, validate_prompt
from autoalign.assist.evidence import passages, sentences_of, unique
from autoalign.assist.records import Item, References, Result, Section, Span
from autoalign.assist.selection import mmr
from autoalign.assist.sentences import plain
from autoalign.assist.terms import term_pattern
from autoalign.assist.verify import lexical_overlap
from autoalign.library.highlight import STOPWORDS
from autoalign.library.lexical import SEARCHED_FIELDS

#: Passages retrieved as evidence.
PASSAGES = 8
#: Sentences in an extractive answer.
SENTENCES = 4
#: The library covers a question when some retrieved sentence has at least this cosine to it.
COVERED = 0.55
#: Sentences weaker than this share of the best one's relevance are not used.
RELATIVE_FLOOR = 0.75
#: Weight of the question's words found in a sentence, next to the cosine.
LEXICAL_WEIGHT = 0.2
#: Added to a sentence's relevance, divided by 1 + the rank of its passage in the search: a
#: sentence of the best passage is more often an answer than an equally similar one further down.
RANK_WEIGHT = 0.1
#: Taken from the relevance of a sentence about the document rather than its subject ("This post
#: summarizes...", "I'll focus on...", "explained on the FHI site"): on topic, and no answer.
META_PENALTY = 0.15
_META = re.compile(
    r"\b(?:this|the present|our|my) (?:post|paper|article|essay|episode|podcast|talk|sequence|newsletter|"
    r"summary|book|chapter|video)\b|\b(?:I'm|I am|I'll|I will|I've|we'll|we had|we covered|last week|this week)\b|"
    r"\bexplained (?:on|in|at|here)\b|\bsummari[sz]e[sd]?\b",
    re.IGNORECASE,
)
NOT_COVERED_TEXT = "The library does not cover this."
_WORD = re.compile(r"\w+")
_WHAT_IS = re.compile(
    r"^(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?[\"“']?([^?\"”']{2,60}?)[\"”']?\s*\??$", re.IGNORECASE
)
#: Added to the relevance of a sentence that defines what a "What is X?" question asks about.
DEFINITION_BONUS = 0.15
#: Lower-case words this long are rare enough that the library's never using one is telling.
LONG_WORD = 8


def ask(
    context: Context, question: str, *, sentences: int = SENTENCES, cancel: threading.Event | None = None
) -> Result:
    question = validate_prompt(question)
    result = Result(
        "ask", question, [], [], model=context.author, settings={"sentences": sentences, "passages": PASSAGES}
    )
    unknown = unknown_words(context, question)
    if unknown:
        return _not_covered(result, "no library document mentions " + ", ".join(f"“{w}”" for w in unknown))
    found = passages(context.library, question, k=PASSAGES)
    ranked = [(rank, s) for rank, p in enumerate(found) for s in sentences_of(p)]
    candidates = unique([s for _rank, s in ranked])
    if not candidates:
        return _not_covered(result, "search found no passage")
    vectors = context.verifier.embed([question] + [plain(c.text) for c in candidates])
    cosines = vectors[1:] @ vectors[0]
    if float(cosines.max()) < COVERED:
        return _not_covered(result, f"no passage comes close to the question (best cosine {cosines.max():.2f})")
    references = References()
    if context.writes:
        written = write(context, f"Answer the question: {question}", found, references, cancel=cancel)
        if not written.covered:
            return _not_covered(result, "the model found no answer in the passages")
        result.sections.extend(written.sections("Answer"))
    else:
        passage_rank: dict[tuple[str, int], int] = {}
        for rank, sentence in ranked:
            passage_rank.setdefault((sentence.document.uid, sentence.start), rank)
        ranks = np.array([passage_rank[(c.document.uid, c.start)] for c in candidates])
        relevance = answer_relevance(question, candidates, cosines, ranks)
        # Questions and lead-ins ("... argues three claims:") show the library covers the question
        # (they count above) but answer nothing.
        answers = np.array([not c.text.rstrip().endswith(("?", ":")) for c in candidates])
        if not answers.any():
            return _not_covered(result, "the passages found only ask the question")
        allowed = answers & (relevance >= RELATIVE_FLOOR * relevance[answers].max())
        chosen = mmr(relevance, vectors[1:], sentences, allowed=allowed)
        spans = [candidates[i] for i in chosen]
        checks = context.verifier.check([(plain(s.text), plain(s.text)) for s in spans])
        items = [
            Item(plain(s.text), (references.cite(s),), supported=support.supported)
            for s, support in zip(spans, checks, strict=True)
        ]
        result.sections.append(Section("Answer", tuple(items)))
    result.references = references.spans
    return result


def answer_relevance(question: str, candidates: list[Span], cosines: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """How likely each sentence is to answer the question: its cosine to it, the share of the
    question's words it has, the rank of its passage, less a penalty for talking about the
    document rather than its subject, plus a bonus for defining what a "What is X?" asks about."""
    texts = [plain(c.text) for c in candidates]
    meta = np.array([bool(_META.search(t)) for t in texts])
    relevance = (
        cosines
        + LEXICAL_WEIGHT * np.array([lexical_overlap(question, t) for t in texts])
        + RANK_WEIGHT / (1 + ranks)
        - META_PENALTY * meta
    )
    if subject := asked_about(question):
        defining = term_pattern(subject, defining=True)
        relevance += DEFINITION_BONUS * (np.array([bool(defining.search(t)) for t in texts]) & ~meta)
    return relevance


def asked_about(question: str) -> str | None:
    """What a "What is X?" question asks about (its answer should say "X is ...")."""
    match = _WHAT_IS.match(question.strip())
    return match.group(1).strip() if match else None


def unknown_words(context: Context, question: str) -> list[str]:
    """The question's names, numbers and long words, and its runs of capitalised words, that no
    chunk of the library contains (stemmed, as search matches them).

    Only words that name something count: with a digit or a capital letter, or of at least
    :data:`LONG_WORD` letters. A small library lacks many everyday words ("did", "show"), and
    their absence says nothing about whether it covers the question.
    """
    words = dict.fromkeys(w for w in _WORD.findall(question) if w.lower() not in STOPWORDS and _names_something(w))
    names = dict.fromkeys(" ".join(run) for run in _capitalised_runs(question) if len(run) > 1)
    lexical = context.library.lexical
    return [w for w in [*words, *names] if lexical.chunk_frequency(w, fields=SEARCHED_FIELDS) == 0]


def _capitalised_runs(question: str) -> list[list[str]]:
    """Runs of capitalised words ("Frontier Safety Framework"): a name as a whole, which the
    library may never use although it uses each of its words."""
    runs: list[list[str]] = [[]]
    for word in re.findall(r"[\w'’-]+|[^\w\s]", question):
        if word[0].isupper() and word.lower() not in STOPWORDS:
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _names_something(word: str) -> bool:
    return len(word) >= LONG_WORD or any(c.isdigit() or c.isupper() for c in word)


def _not_covered(result: Result, why: str) -> Result:
    result.covered = False
    result.sections = [Section("Answer", (Item(NOT_COVERED_TEXT, note=why),))]
    return result
