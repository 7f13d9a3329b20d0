"""Evidence from the library: passages that search finds and the sentences inside them, as spans.

Offsets are the document's own, so a citation of a sentence opens the reader at that sentence.
"""

from __future__ import annotations

from autoalign.assist.records import Span
from autoalign.assist.sentences import split_sentences
from autoalign.library import Hit, Library

#: Characters of a document read for summaries, distillation and key terms. Past this the
#: embedding cost grows with no gain for a summary (papers say what they do early).
MAX_DOCUMENT_CHARS = 60_000


def passages(library: Library, query: str, *, k: int, per_document: int | None = 2) -> list[Span]:
    """The passages that best answer ``query``, best first."""
    return [span_of(hit) for hit in library.search(query, k=k, max_per_document=per_document)]


def span_of(hit: Hit) -> Span:
    return Span(hit.document, hit.section, hit.start, hit.end, hit.passage)


def sentences_of(passage: Span) -> list[Span]:
    """The sentences of a passage, each citable on its own."""
    return [
        Span(passage.document, passage.section, s.start, s.end, s.text)
        for s in split_sentences(passage.text, passage.start)
    ]


def unique(spans: list[Span]) -> list[Span]:
    """``spans`` without repeats of the same words (the newsletter quoting the paper's abstract)."""
    seen: set[str] = set()
    kept = []
    for span in spans:
        key = " ".join(span.text.lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(span)
    return kept


def document_sentences(library: Library, uid: str) -> list[Span]:
    """The sentences of a document in reading order, each under its section, up to
    :data:`MAX_DOCUMENT_CHARS`."""
    document = library.document(uid)
    found: list[Span] = []
    for _chunk_id, section, start, end in library.chunks(uid):
        if start >= MAX_DOCUMENT_CHARS:
            break
        found += sentences_of(Span(document.info, section, start, end, document.text[start:end]))
    return found
