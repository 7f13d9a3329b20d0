"""Rich renderings of library objects for the terminal. Corpus text is never parsed as markup."""

from __future__ import annotations

from rich.console import Group
from rich.padding import Padding
from rich.text import Text

from autoalign.library.records import DocumentInfo, Hit


def byline(info: DocumentInfo) -> Text:
    parts = []
    if info.authors:
        shown = ", ".join(info.authors[:4]) + (" et al." if len(info.authors) > 4 else "")
        parts.append(shown)
    parts.append(info.date_published or "undated")
    parts.append(info.source)
    return Text(" · ".join(parts), style="dim")


def hit_renderable(number: int, hit: Hit) -> Group:
    heading = Text.assemble((f"[{number}] ", "bold cyan"), (hit.document.title, "bold"))
    where = Text(f"§ {hit.section or '(top)'}  ·  chars {hit.start}–{hit.end}  ·  id {hit.document.uid}", style="dim")
    lines: list[Text | Padding] = [heading, byline(hit.document)]
    if hit.document.url:
        lines.append(Text(hit.document.url, style="underline blue"))
    lines.append(where)
    passage = Text(" ".join(hit.passage.split()) if not hit.highlights else hit.passage)
    for start, end in hit.highlights:
        passage.stylize("bold yellow", start, end)
    lines.append(Padding(passage, (0, 0, 1, 2)))
    return Group(*lines)
