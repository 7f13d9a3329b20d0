"""Untrusted corpus text turned into safe HTML: escaped first, then marked up by offsets only.

Nothing here parses corpus text as markup. Highlights and citations arrive as character offsets,
so the only tags in the output are the ones written below, and everything between them went
through :func:`markupsafe.escape`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup, escape

#: Characters of a document rendered at once. A browser lays out this much in well under a
#: second; a whole 50 MB text would hang the tab, so longer documents show a window of it.
RENDER_BUDGET = 250_000
#: How far a window edge may move to land on a paragraph break instead of mid-paragraph.
SNAP_CHARS = 4_000
CITE_ID = "cite"

_LINE = re.compile(r"[^\n]*\n?")
_HEADING = re.compile(r"(#{1,6})[ \t]+(\S[^\n]*?)[ \t]*$")


def marked(text: str, spans: Iterable[tuple[int, int]], *, first_id: str | None = None) -> Markup:
    """``text`` escaped, with each ``(start, end)`` span wrapped in ``<mark>``.

    Spans are clipped to the text; overlapping ones merge into the earlier mark. The first mark
    gets ``id=first_id`` so a page can link to it.
    """
    out: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start, end = max(start, pos, 0), min(end, len(text))
        if start >= end:
            continue
        opening = Markup('<mark id="%s">') % first_id if first_id else Markup("<mark>")
        out += [escape(text[pos:start]), opening, escape(text[start:end]), Markup("</mark>")]
        first_id = None
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def link_url(url: str) -> str | None:
    """``url`` if it is safe to put in an ``href`` (http or https with a host), else None."""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def cite_span(start: str | None, end: str | None, length: int) -> tuple[int, int] | None:
    """The cited span from query parameters, or None unless both are integers with
    ``0 <= start < end <= length`` (a stale or hand-edited link then opens the plain document)."""
    try:
        span = int(start or ""), int(end or "")
    except ValueError:
        return None
    return span if 0 <= span[0] < span[1] <= length else None


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph (``p``) or heading (``h2``..``h6``): its tag and the span of its content."""

    tag: str
    start: int
    end: int


def blocks(text: str, lo: int = 0, hi: int | None = None) -> Iterator[Block]:
    """The headings and blank-line-separated paragraphs of ``text[lo:hi]``, by offsets.

    A markdown heading line (``#`` .. ``######``) is a block of its own even without blank lines
    around it; ``#`` maps to ``h2`` because the page title is the ``h1``.
    """
    hi = len(text) if hi is None else hi
    paragraph: list[int] | None = None
    for line in _LINE.finditer(text, lo, hi):
        if line.start() == line.end():
            break
        start, end = line.start(), line.end() - line.group().endswith("\n")
        heading = _HEADING.match(text, start, end)
        if heading or text[start:end].isspace() or start == end:
            if paragraph:
                yield Block("p", *paragraph)
                paragraph = None
            if heading:
                level = min(len(heading.group(1)) + 1, 6)
                yield Block(f"h{level}", heading.start(2), heading.end(2))
        elif paragraph:
            paragraph[1] = end
        else:
            paragraph = [start, end]
    if paragraph:
        yield Block("p", *paragraph)


@dataclass(frozen=True, slots=True)
class ReaderView:
    """What the reader page shows of a document: rendered blocks of ``text[lo:hi]``."""

    blocks: list[tuple[str, Markup]]
    lo: int
    hi: int
    length: int

    @property
    def partial(self) -> bool:
        return self.lo > 0 or self.hi < self.length


def window(text: str, cite: tuple[int, int] | None, budget: int = RENDER_BUDGET) -> tuple[int, int]:
    """The part of ``text`` to render: all of it when it fits ``budget``, else ``budget``
    characters centred on the cited span (or the opening), widened to paragraph breaks."""
    if len(text) <= budget:
        return 0, len(text)
    middle = (cite[0] + cite[1]) // 2 if cite else 0
    lo = max(0, min(middle - budget // 2, len(text) - budget))
    hi = lo + budget
    if lo > 0:
        brk = text.rfind("\n\n", max(0, lo - SNAP_CHARS), lo)
        lo = brk + 2 if brk >= 0 else lo
    brk = text.find("\n\n", hi, hi + SNAP_CHARS)
    return lo, brk if brk >= 0 else hi


def render_blocks(
    text: str,
    spans: Iterable[tuple[int, int]] = (),
    lo: int = 0,
    hi: int | None = None,
    *,
    first_id: str | None = None,
) -> list[tuple[str, Markup]]:
    """The blocks of ``text[lo:hi]`` as ``(tag, escaped html)``, each ``(start, end)`` span of
    ``text`` marked in every block it touches; the first marked piece gets ``id=first_id``."""
    spans = sorted(spans)
    rendered: list[tuple[str, Markup]] = []
    for block in blocks(text, lo, hi):
        inside = [(s - block.start, e - block.start) for s, e in spans if s < block.end and e > block.start]
        rendered.append((block.tag, marked(text[block.start : block.end], inside, first_id=first_id)))
        if inside:
            first_id = None
    return rendered


def reader_view(text: str, cite: tuple[int, int] | None, budget: int = RENDER_BUDGET) -> ReaderView:
    """The window of ``text`` around ``cite``, rendered, with the cited span marked."""
    lo, hi = window(text, cite, budget)
    return ReaderView(render_blocks(text, [cite] if cite else [], lo, hi, first_id=CITE_ID), lo, hi, len(text))
