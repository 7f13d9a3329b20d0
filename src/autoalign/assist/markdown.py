"""Results as markdown, with their references, for notes, papers and sharing."""

from __future__ import annotations

import datetime as dt

from autoalign.assist.records import Result, Span
from autoalign.assist.sentences import plain
from autoalign.markup import inert_markdown

TITLES = {
    "ask": "Question",
    "summarize": "Summary of",
    "explain": "Explanation of",
    "distill": "Distillation of",
    "brainstorm": "Ideas on",
    "duck": "Rubber duck on",
}


def to_markdown(result: Result) -> str:
    """The result as a markdown file; every text in it (the prompt, the model's items, the quoted
    passages) is made inert, since any of them may hold HTML from the corpus or the model."""
    prompt = inert_markdown(" ".join(result.prompt.split()))
    lines = [f"# {TITLES[result.kind]}: {prompt[:300]}{'…' if len(prompt) > 300 else ''}", ""]
    made = f"model: {result.model}"
    if result.created_at:
        made = f"{dt.datetime.fromtimestamp(result.created_at).strftime('%Y-%m-%d %H:%M')} · {made}"
    lines += [f"*{made}*", ""]
    for section in result.sections:
        lines += [f"## {inert_markdown(section.title)}", ""]
        for item in section.items:
            marks = "".join(f"[{n}]" for n in item.citations)
            lines.append(f"- {inert_markdown(item.text)}{' ' + marks if marks else ''}")
            if item.note:
                lines.append(f"  *({inert_markdown(item.note)})*")
        lines.append("")
    if result.references:
        lines += ["## References", ""]
        lines += [f"{n}. {reference(span)}" for n, span in enumerate(result.references, 1)]
        lines.append("")
    return "\n".join(lines)


def reference(span: Span) -> str:
    """One reference: who, when, what, where, and the exact span quoted."""
    doc = span.document
    authors = ", ".join(doc.authors[:3]) + (" et al." if len(doc.authors) > 3 else "") or doc.source
    where = f"{doc.url} " if doc.url else ""
    section = f"section “{span.section}”, " if span.section else ""
    return inert_markdown(
        f"{authors} ({doc.date_published or 'n.d.'}). “{doc.title}”. {doc.source}. {where}"
        f"({section}characters {span.start}–{span.end}): “{plain(span.text)}”"
    )
