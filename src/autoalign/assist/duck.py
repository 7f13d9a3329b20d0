"""Rubber duck: questions a researcher's draft or argument, with the library's passages for and against.

Each turn takes the researcher's text, finds its central claims (the sentences closest to the
centroid of the draft), and for each looks up the library: passages that support it (the
verifier's test) and passages on the same point that push back (close in meaning and carrying a
contrast or doubt: "however", "fails", "no evidence", ...; shown as "may disagree", since without
an entailment model the tool cannot know). The duck then asks Socratic questions: the base-model
default asks from a fixed repertoire, filled with the claim, its terms and the pushing-back
passages; a chat model writes its own questions from the same material. The whole exchange is
kept in the workspace (``store.py``), the researcher's words before the duck answers, so a
model that fails loses nothing.
"""

from __future__ import annotations

import re
import threading
import zlib

from autoalign.assist.compose import ask_model
from autoalign.assist.context import MAX_DRAFT_CHARS, Context, validate_prompt
from autoalign.assist.evidence import passages, sentences_of, unique
from autoalign.assist.records import Item, References, Result, Section, Span
from autoalign.assist.selection import centrality, mmr
from autoalign.assist.sentences import Sentence, plain, split_sentences
from autoalign.assist.terms import key_terms

CLAIMS = 3
#: Passages looked up per claim.
PASSAGES = 6
#: Cosine at which a passage is on the claim's point (for "may disagree").
ON_POINT = 0.5
_CONTRAST = re.compile(
    r"\b(?:however|but|although|fails?|failed|unlikely|no evidence|wrong|disagree\w*|counter\w*|"
    r"objection|problem|cannot|can't|doesn't|does not|isn't|is not|limitation\w*|critic\w*|doubt\w*)\b",
    re.IGNORECASE,
)
#: The duck's questions about a claim; which one is asked is fixed by the claim's text.
QUESTIONS = (
    "What would convince you that this is false: “{claim}”?",
    "Which assumption does “{claim}” rest on, and what happens to your argument if it fails?",
    "Is there a simpler explanation than “{claim}”?",
    "How would you test “{claim}” before building on it?",
)
TERM_QUESTION = "When you write “{term}”, what exactly do you mean, and would a critic read it the same way?"
PUSHBACK_QUESTION = "“{quote}” ({title}): how does your argument answer this?"
CHAT_TASK = (
    "Act as a Socratic rubber duck for an alignment researcher. Their draft is below. Ask three short, "
    "probing questions that would expose weak points in its argument; where a passage bears on a point, "
    "mention it with its number. Do not answer the questions.\n\nDraft:\n{draft}"
)


def respond(context: Context, draft: str, *, cancel: threading.Event | None = None) -> Result:
    """The duck's reply to one turn of the researcher (not stored: see ``Assistant.duck``)."""
    draft = validate_prompt(draft, "draft", MAX_DRAFT_CHARS)
    claims = _central_claims(context, draft)
    references = References()
    supporting: list[Item] = []
    pushing_back: list[tuple[str, Span]] = []
    evidence: list[Span] = []
    for claim in claims:
        found = passages(context.library, claim, k=PASSAGES)
        evidence += found
        candidates = unique([s for p in found for s in sentences_of(p)])
        if not candidates:
            continue
        row = context.verifier.matrix([claim], [plain(s.text) for s in candidates])[0]
        best = max(range(len(candidates)), key=lambda j: row[j].score)
        if row[best].supported:
            supporting.append(Item(plain(candidates[best].text), (references.cite(candidates[best]),), True))
        against = [
            j for j in range(len(candidates)) if row[j].semantic >= ON_POINT and _CONTRAST.search(candidates[j].text)
        ]
        if against:
            span = candidates[max(against, key=lambda j: row[j].semantic)]
            if all(span != known for _claim, known in pushing_back):
                pushing_back.append((claim, span))
    if context.writes:
        reply = ask_model(
            context, CHAT_TASK.format(draft=draft), unique(evidence)[:8], max_tokens=context.max_tokens, cancel=cancel
        )
        questions = tuple(Item(plain(s.text)) for s in split_sentences(reply) if s.text.rstrip().endswith("?"))
    else:
        questions = _questions(context, claims, pushing_back, references)
    result = Result("duck", draft, [Section("Questions", questions)], [], model=context.author)
    if supporting:
        result.sections.append(Section("Passages that support you", tuple(supporting)))
    if pushing_back:
        result.sections.append(
            Section(
                "Passages that may disagree",
                tuple(Item(plain(span.text), (references.cite(span),)) for _claim, span in pushing_back),
            )
        )
    result.references = references.spans
    return result


def _central_claims(context: Context, draft: str) -> list[str]:
    sentences: list[Sentence] = split_sentences(draft) or [Sentence(0, len(draft), draft)]
    if len(sentences) <= CLAIMS:
        return [s.text for s in sentences]
    vectors = context.verifier.embed([s.text for s in sentences])
    chosen = sorted(mmr(centrality(vectors), vectors, CLAIMS))
    return [sentences[i].text for i in chosen]


def _questions(
    context: Context, claims: list[str], pushing_back: list[tuple[str, Span]], references: References
) -> tuple[Item, ...]:
    asked = []
    for claim in claims:
        template = QUESTIONS[zlib.crc32(claim.encode()) % len(QUESTIONS)]
        asked.append(Item(template.format(claim=_short(claim))))
    for _claim, span in pushing_back[:2]:
        question = PUSHBACK_QUESTION.format(quote=_short(plain(span.text)), title=span.document.title)
        asked.append(Item(question, (references.cite(span),)))
    terms = key_terms(context, claims, 1)
    if terms:
        asked.append(Item(TERM_QUESTION.format(term=terms[0])))
    return tuple(asked)


def _short(text: str, words: int = 30) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")
