"""explain: what documents say, the terms they rest on as the library explains them, what to read next.

Extractive by default: the central sentences of the documents, then for each key term the
sentence of another library document that best defines it (``terms.py``), then the documents
closest to them. With a chat model, an explanation is written from the documents' passages and
those definitions, and checked sentence by sentence (``compose.py``).
"""

from __future__ import annotations

import threading

from autoalign.assist.compose import write
from autoalign.assist.context import Context
from autoalign.assist.records import Item, Place, References, Result, Section
from autoalign.assist.sentences import plain
from autoalign.assist.summarize import central_sentences, cited_quotes, document_passages, read_documents
from autoalign.assist.terms import define, key_terms

IN_SHORT = 3
TERMS = 5
RELATED = 3
EXPLAIN_TASK = (
    "Explain what the passages from the documents say to a researcher new to the topic: the main "
    "point, why it matters, and what its key terms mean (the other passages define them)."
)


def explain(context: Context, uids: list[str], *, cancel: threading.Event | None = None) -> Result:
    spans = read_documents(context, uids)
    own = {s.document.uid for s in spans}
    titles = list(dict.fromkeys(s.document.title for s in spans))
    result = Result("explain", "; ".join(titles), [], [], model=context.author, settings={"documents": sorted(own)})
    references = References()
    definitions = [
        d for term in key_terms(context, [s.text for s in spans], TERMS) if (d := define(context, term, besides=own))
    ]
    if context.writes:
        evidence = document_passages(context, list(own)) + [d.span for d in definitions]
        written = write(context, EXPLAIN_TASK, evidence, references, cancel=cancel)
        result.sections.extend(written.sections("Explanation"))
    else:
        result.sections.append(
            Section("In short", cited_quotes(central_sentences(context, spans, IN_SHORT), references))
        )
    terms = tuple(
        Item(f"{d.term}: {plain(d.span.text)}", (references.cite(d.span),), see=Place.of(d.span)) for d in definitions
    )
    if terms:
        result.sections.append(Section("Terms, as the library explains them", terms))
    reading = _read_next(context, sorted(own))
    if reading:
        result.sections.append(Section("Read next", reading))
    result.references = references.spans
    return result


def _read_next(context: Context, uids: list[str]) -> tuple[Item, ...]:
    seen = set(uids)
    items = []
    for uid in uids:
        for related in context.library.related(uid, k=RELATED):
            if related.document.uid not in seen:
                seen.add(related.document.uid)
                items.append(Item(related.document.title, see=Place(related.document.uid)))
    return tuple(items[: RELATED * 2])
