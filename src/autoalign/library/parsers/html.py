"""HTML articles, such as pages saved from Distill or a blog.

A saved page carries more chrome than prose: scripts, styles, navigation, interactive figures. The
parser keeps the element that holds the article, passes over everything that is not reading matter,
and writes the rest as paragraphs, ``- `` list items and ``#`` heading lines: the same shape of text
the chunker gets from every other format. Metadata comes from the page's ``<meta>`` tags.
"""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser, LexborNode

from autoalign.library.parsers._fields import (
    build_document,
    normalize_date,
    split_authors,
)
from autoalign.library.parsers._text import SNIFF_BYTES, clean_line, looks_binary
from autoalign.library.records import ParseIssue, SourceDocument

#: Elements that are never reading matter: code, chrome, form controls, media and Distill's own
#: byline, table of contents, appendix and hover boxes. ``aria-hidden`` drops the visual copy of
#: KaTeX formulas (the TeX source is read from the MathML copy instead).
_SKIPPED = (
    "script, style, noscript, template, link, meta, "
    "nav, header, footer, aside, menu, dialog, "
    "form, button, input, select, textarea, label, output, "
    "svg, canvas, img, picture, video, audio, iframe, object, embed, map, "
    "d-byline, dt-byline, d-contents, d-appendix, dt-appendix, d-bibliography, d-hover-box, "
    "[hidden], [aria-hidden=true]"
)

#: Elements that end the current paragraph where they open and where they close.
_BLOCKS = frozenset({
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "hr", "li", "main", "ol", "p", "section", "summary",
    "table", "tbody", "tfoot", "thead", "tr", "ul",
    "d-article", "d-figure", "d-title", "dt-article",
})  # fmt: skip

_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}

#: Where the publication date lives, most specific first (``itemprop`` keys are lower-cased).
_DATE_KEYS = ("article:published", "citation_publication_date", "article:published_time", "datepublished")
#: One author per tag, possibly "Last, First": never split.
_AUTHOR_TAG_KEYS = ("article:author", "citation_author")

_WHITESPACE = re.compile(r"\s+")
#: Space left before punctuation or inside parentheses where a citation or footnote was dropped.
_LOOSE_SPACE = re.compile(r"(?<=\() | (?=[.,;:!?)])")


def parse(path: Path) -> SourceDocument | ParseIssue:
    """Read the article in the HTML file at ``path``."""
    data = path.read_bytes()
    if looks_binary(data[:SNIFF_BYTES]):
        return ParseIssue(str(path), "binary data, not an HTML file")
    # encoding=True honours a declared charset; scripting=True keeps a <noscript> in <head> from
    # pushing the <meta> tags after it out of the head.
    tree = LexborHTMLParser(data, encoding=True, scripting=True)
    text = "\n\n".join(_Renderer().render(root) for root in _article_roots(tree))
    if not text.strip():
        return ParseIssue(str(path), "no article text in the page")
    meta = _meta_tags(tree)
    title = (
        _first(meta, "og:title", "citation_title")
        or _element_text(tree, "title")
        or _element_text(tree, "h1")
        or path.stem
    )
    canonical = tree.css_first("link[rel=canonical][href]")
    description = _first(meta, "og:description", "description")
    return build_document(
        origin=str(path),
        title=title,
        text=text,
        source=(_first(meta, "og:site_name") or "local").lower(),
        url=_first(meta, "og:url") or ((canonical.attributes["href"] or "") if canonical else ""),
        authors=_authors(meta),
        date_published=next(filter(None, map(normalize_date, _all(meta, *_DATE_KEYS))), None),
        metadata={"description": description} if description else {},
    )


def _article_roots(tree: LexborHTMLParser) -> list[LexborNode]:
    """The elements that hold the article, falling back to the whole body.

    Distill puts the title block (``d-title``) next to the body (``d-article``); its first template
    used ``dt-article``. Elsewhere a single ``<article>`` or ``<main>`` is the article, while several
    ``<article>`` elements are a listing, not an article.
    """
    if tree.css_first("d-article") is not None:
        return tree.css("d-title, d-article")
    for selector in ("dt-article", "article", "main", "[role=main]"):
        found = tree.css(selector)
        if len(found) == 1:
            return found
    return [tree.body] if tree.body is not None else []


def _meta_tags(tree: LexborHTMLParser) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for node in tree.css("meta[content]"):
        attributes = node.attributes
        key = attributes.get("property") or attributes.get("name") or attributes.get("itemprop")
        # Some generators escape twice ("Andr&amp;eacute;"): unescape what the parser left.
        value = clean_line(html.unescape(attributes.get("content") or ""))
        if key and value:
            tags.setdefault(key.lower(), []).append(value)
    return tags


def _all(meta: dict[str, list[str]], *keys: str) -> list[str]:
    """The values of ``keys``, in the order of the keys."""
    return [value for key in keys for value in meta.get(key, ())]


def _first(meta: dict[str, list[str]], *keys: str) -> str:
    return next(iter(_all(meta, *keys)), "")


def _element_text(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return clean_line(node.text()) if node is not None else ""


def _authors(meta: dict[str, list[str]]) -> list[str]:
    for key in _AUTHOR_TAG_KEYS:
        # article:author is sometimes a profile URL rather than a name.
        names = [name for name in meta.get(key, ()) if not name.startswith(("http://", "https://"))]
        if names:
            return names
    return split_authors(_first(meta, "author"))


class _Renderer:
    """Writes an element's reading matter as markdown-flavoured text.

    Walks the tree with an explicit stack (pages can nest deeper than Python's recursion limit),
    collecting inline text into the current paragraph until a block element closes it.
    """

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._inline: list[str] = []
        #: Marker for the next paragraph written (``- `` inside a list item).
        self._prefix = ""

    def render(self, root: LexborNode) -> str:
        skipped = {node.mem_id for node in root.css(_SKIPPED)}
        # Entries are (node, True) when entering and (node, False) when leaving an element.
        stack: list[tuple[LexborNode, bool]] = [(root, True)]
        while stack:
            node, entering = stack.pop()
            if entering:
                if node.mem_id in skipped:
                    continue
                if self._enter(node):
                    stack.append((node, False))
                    stack.extend((child, True) for child in reversed(_children(node)))
            else:
                self._leave(node)
        self._end_paragraph()
        return "\n\n".join(self._blocks)

    def _enter(self, node: LexborNode) -> bool:
        """Handle an opening tag or a text node; True when the children are to be walked."""
        tag = node.tag
        if tag == "-text":
            self._inline.append(_WHITESPACE.sub(" ", node.text_content or ""))
            return False
        if tag in ("pre", "d-code"):
            self._end_paragraph()
            code = textwrap.dedent(node.text(deep=True)).strip("\n").rstrip()
            if code.strip():
                self._blocks.append(f"```\n{code}\n```")
            return False
        if tag in ("math", "d-math"):
            tex = node.css_first('annotation[encoding="application/x-tex"]')
            formula = clean_line((tex or node).text(deep=True))
            if formula:
                self._inline.append(f"${formula}$")
            return False
        if tag == "br":
            self._inline.append("\n")
        elif tag in ("td", "th"):
            if "".join(self._inline).strip():
                self._inline.append(" | ")
        elif tag in ("d-footnote", "dt-fn"):
            self._inline.append(" (")
        elif tag in _BLOCKS or tag in _HEADING_LEVELS:
            self._end_paragraph()
            if tag == "li":
                self._prefix = "- "
        elif not node.is_element_node:
            return False
        return True

    def _leave(self, node: LexborNode) -> None:
        tag = node.tag
        if tag in _HEADING_LEVELS:
            self._end_paragraph("#" * _HEADING_LEVELS[tag] + " ")
        elif tag in ("d-footnote", "dt-fn"):
            self._inline.append(")")
        elif tag in _BLOCKS:
            self._end_paragraph()
            if tag == "li":
                self._prefix = ""

    def _end_paragraph(self, heading: str = "") -> None:
        raw, self._inline = "".join(self._inline), []
        lines = (" ".join(line.split()) for line in raw.split("\n"))
        text = _LOOSE_SPACE.sub("", "\n".join(line for line in lines if line))
        if not text:
            return
        if heading:
            self._blocks.append(heading + text.replace("\n", " "))
        else:
            self._blocks.append(self._prefix + text)
        self._prefix = ""


def _children(node: LexborNode) -> list[LexborNode]:
    children = []
    child = node.child
    while child is not None:
        children.append(child)
        child = child.next
    return children
