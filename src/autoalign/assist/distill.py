"""distill: a post turned into a structured explainer of what makes it worth reading.

What a real distillation gives a reader is the post's load-bearing claims, what they assume, the
terms they use, what to read first, and what is left open. Each item is cited to the sentence it
comes from. The default picks sentences by the cues that mark each kind ("we argue", "assume",
"it remains unclear", a question mark), ranked by how central they are to the post; a chat model
writes each part from the post's passages instead, checked like every written answer.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from autoalign.assist.compose import write
from autoalign.assist.context import Context
from autoalign.assist.records import Item, Place, References, Result, Section, Span
from autoalign.assist.selection import centrality, mmr
from autoalign.assist.sentences import plain
from autoalign.assist.summarize import cited_quotes, document_passages, read_documents
from autoalign.assist.terms import define, key_terms, term_pattern

_CLAIM = re.compile(
    r"\b(?:we|i) (?:show|argue|find|found|demonstrate|prove|propose|claim|conclude|believe|think|expect)\b|"
    r"\bthis (?:shows|suggests|means|implies)\b|\b(?:therefore|thus|hence|in conclusion|our results?)\b",
    re.IGNORECASE,
)
_ASSUMPTION = re.compile(
    r"\b(?:assum\w*|suppos\w*|presuppos\w*|given that|rel(?:y|ies) on|depends? on|premises?|"
    r"take for granted|conditional on|only if)\b",
    re.IGNORECASE,
)
_OPEN = re.compile(
    r"\?\s*$|\b(?:open (?:question|problem)s?|remains? (?:unclear|open|to be seen)|future work|"
    r"unsolved|(?:we|i) do(?:n't| not) know|it is (?:unclear|not clear)|further (?:research|work))\b",
    re.IGNORECASE,
)
CLAIMS = 5
ASSUMPTIONS = 4
OPEN_QUESTIONS = 4
TERMS = 5
#: What a chat model is asked for, section by section.
TASKS = {
    "Claims": "List the load-bearing claims of the document, one sentence each.",
    "Assumptions": "List the assumptions the document's claims rest on, one sentence each.",
    "Open questions": "List the questions the document leaves open, one sentence each.",
}


def distill(context: Context, uid: str, *, cancel: threading.Event | None = None) -> Result:
    spans = read_documents(context, [uid])
    document = spans[0].document
    result = Result("distill", document.title, [], [], model=context.author, settings={"document": document.uid})
    references = References()
    if context.writes:
        passages = document_passages(context, [document.uid])
        for title, task in TASKS.items():
            written = write(context, task, passages, references, cancel=cancel)
            result.sections.append(Section(title, tuple(written.items)))
    else:
        vectors = context.verifier.embed([plain(s.text) for s in spans])
        central = centrality(vectors)

        def cued(pattern: re.Pattern[str], n: int, *, fill: bool = False) -> tuple[Item, ...]:
            allowed = [bool(pattern.search(s.text)) for s in spans]
            if fill and sum(allowed) < n:
                allowed = [True] * len(spans)
            chosen = mmr(central, vectors, n, allowed=np.array(allowed))
            return cited_quotes(sorted((spans[i] for i in chosen), key=lambda s: s.start), references)

        result.sections.append(Section("Claims", cued(_CLAIM, CLAIMS, fill=True)))
        result.sections.append(Section("Assumptions", cued(_ASSUMPTION, ASSUMPTIONS)))
        result.sections.append(Section("Open questions", cued(_OPEN, OPEN_QUESTIONS)))
    terms = key_terms(context, [s.text for s in spans], TERMS)
    result.sections.append(Section("Key terms", tuple(_term_item(t, spans, references) for t in terms)))
    prerequisites = [d for t in terms if (d := define(context, t, besides={document.uid}))]
    result.sections.append(
        Section(
            "Prerequisites",
            tuple(
                Item(f"{d.term}: “{d.span.document.title}”", (references.cite(d.span),), see=Place.of(d.span))
                for d in prerequisites
            ),
        )
    )
    result.references = references.spans
    return result


def _term_item(term: str, spans: list[Span], references: References) -> Item:
    """The term, cited to where the document defines it, else to its first use."""
    defining, using = term_pattern(term, defining=True), term_pattern(term)
    where = next((s for s in spans if defining.search(s.text)), None) or next(
        (s for s in spans if using.search(s.text)), spans[0]
    )
    return Item(f"{term}: {plain(where.text)}", (references.cite(where),))
