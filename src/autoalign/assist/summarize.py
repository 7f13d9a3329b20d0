"""summarize: a document or a set of documents in a few sentences, each cited to its place.

The default is extractive (a base model cannot follow "summarize"): the sentences closest to the
centroid of all the documents' sentence embeddings, chosen by maximal marginal relevance so they
do not repeat each other, shown in reading order. With a chat model the summary is written from
the documents' passages and every sentence is checked against them (``compose.py``).
"""

from __future__ import annotations

import threading

from autoalign.assist.compose import write
from autoalign.assist.context import Context
from autoalign.assist.evidence import document_sentences
from autoalign.assist.records import Item, References, Result, Section, Span
from autoalign.assist.selection import centrality, mmr
from autoalign.assist.sentences import plain
from autoalign.errors import AutoalignError

#: Documents summarized together at most (each is read up to evidence.MAX_DOCUMENT_CHARS).
MAX_DOCUMENTS = 20
#: Passages of each document that a chat model reads.
PASSAGES_PER_DOCUMENT = 6


def summary_length(sentences: int, documents: int) -> int:
    """About one sentence in eight, at least 3 and at most 8, and 2 per document for sets."""
    return max(3, min(8, sentences // 8, 2 * documents if documents > 1 else 8))


def central_sentences(context: Context, spans: list[Span], n: int) -> list[Span]:
    """The ``n`` sentences most typical of ``spans`` that do not repeat each other, in reading order."""
    if not spans:
        return []
    vectors = context.verifier.embed([plain(s.text) for s in spans])
    chosen = mmr(centrality(vectors), vectors, n)
    order = {s.document.uid: i for i, s in reversed(list(enumerate(spans)))}
    return sorted((spans[i] for i in chosen), key=lambda s: (order[s.document.uid], s.start))


def cited_quotes(spans: list[Span], references: References) -> tuple[Item, ...]:
    """Items that quote their spans (a quote needs no support check: it is its own evidence)."""
    return tuple(Item(plain(s.text), (references.cite(s),)) for s in spans)


def read_documents(context: Context, uids: list[str]) -> list[Span]:
    """The sentences of the documents, refusing an empty or oversized set."""
    uids = list(dict.fromkeys(u.strip() for u in uids if u.strip()))
    if not uids:
        raise AutoalignError("name at least one document (its id, as search and the reader show it)")
    if len(uids) > MAX_DOCUMENTS:
        raise AutoalignError(f"{len(uids)} documents given; at most {MAX_DOCUMENTS} are summarized together")
    spans = [s for uid in uids for s in document_sentences(context.library, uid)]
    if not spans:
        raise AutoalignError("the documents hold no sentences to summarize (only headings, tables or fragments)")
    return spans


def document_passages(context: Context, uids: list[str]) -> list[Span]:
    """The first passages (chunks) of each document: what a chat model reads of them."""
    found = []
    for uid in uids:
        document = context.library.document(uid)
        for _chunk_id, section, start, end in context.library.chunks(uid)[:PASSAGES_PER_DOCUMENT]:
            found.append(Span(document.info, section, start, end, document.text[start:end]))
    return found


def summarize(
    context: Context, uids: list[str], *, sentences: int | None = None, cancel: threading.Event | None = None
) -> Result:
    spans = read_documents(context, uids)
    titles = list(dict.fromkeys(s.document.title for s in spans))
    n = sentences or summary_length(len(spans), len(titles))
    result = Result(
        "summarize", "; ".join(titles), [], [], model=context.author, settings={"sentences": n, "documents": uids}
    )
    references = References()
    if context.writes:
        task = f"Summarize the passages in at most {n} sentences, for an alignment researcher."
        written = write(context, task, document_passages(context, uids), references, cancel=cancel)
        result.sections.extend(written.sections("Summary", source="the documents"))
    else:
        result.sections.append(Section("Summary", cited_quotes(central_sentences(context, spans, n), references)))
    result.references = references.spans
    return result
