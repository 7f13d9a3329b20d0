"""Rich renderings of library objects for the terminal. Corpus text is never parsed as markup."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.padding import Padding
from rich.text import Text

from autoalign.library.records import DocumentInfo, Hit


def print_json_lines(records: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line on standard output (``--json`` of the listing commands), for
    scripts and ``jq``; nothing for no records."""
    sys.stdout.write("".join(orjson.dumps(record).decode() + "\n" for record in records))


@dataclass(frozen=True, slots=True)
class Indented:
    """Text indented two spaces: in a terminal wrapped under itself; piped (the console then does
    not wrap), one whole line, since rich's padding would cut it at 80 columns."""

    text: Text
    blank_after: bool = False

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.no_wrap:
            for line in self.text.split("\n", allow_blank=True):
                yield Text.assemble("  ", line)
            if self.blank_after:
                yield Text()
        else:
            yield Padding(self.text, (0, 0, 1 if self.blank_after else 0, 2))


def byline(info: DocumentInfo) -> Text:
    parts = []
    if info.authors:
        shown = ", ".join(info.authors[:4]) + (" et al." if len(info.authors) > 4 else "")
        parts.append(shown)
    parts.append(info.date_published or "undated")
    parts.append(info.source)
    return Text(" · ".join(parts), style="dim")


def where(section: str, start: int, end: int, uid: str) -> Text:
    """Where a passage is, named as the web pages name it (text before any heading is the "opening")."""
    return Text(f"§ {section or 'opening'}  ·  chars {start}–{end}  ·  id {uid}", style="dim")


def hit_renderable(number: int, hit: Hit) -> Group:
    heading = Text.assemble((f"[{number}] ", "bold cyan"), (hit.document.title, "bold"))
    lines: list[Text | Indented] = [heading, byline(hit.document)]
    if hit.document.url:
        lines.append(Text(hit.document.url, style="underline blue"))
    lines.append(where(hit.section, hit.start, hit.end, hit.document.uid))
    passage = Text(" ".join(hit.passage.split()) if not hit.highlights else hit.passage)
    for start, end in hit.highlights:
        passage.stylize("bold yellow", start, end)
    lines.append(Indented(passage, blank_after=True))
    return Group(*lines)
