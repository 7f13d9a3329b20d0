"""Markdown and plain-text files: the user's own notes and drafts.

The text is kept as written, since markdown headings are already the form the chunker reads. A YAML
front matter block, if any, supplies the title, authors, date, URL and source, and is taken out of
the text. Only the simple ``key: value`` and list forms that notes use are read, so no YAML library
is needed.
"""

from __future__ import annotations

import re
from pathlib import Path

from autoalign.library.parsers._fields import (
    build_document,
    normalize_date,
    split_authors,
)
from autoalign.library.parsers._text import clean_text, decode_utf8, looks_binary
from autoalign.library.records import ParseIssue, SourceDocument

_FRONT_MATTER = re.compile(r"---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_KEY_VALUE = re.compile(r"([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*))?")
_LIST_ITEM = re.compile(r"[ \t]*-[ \t]+(.*)")
_TITLE_HEADING = re.compile(r"#[ \t]+(.+?)[ \t#]*")
_FENCE = re.compile(r"[ \t]{0,3}(```|~~~)")

#: Front matter keys that fill SourceDocument fields; other keys go into ``metadata``.
_MAPPED = frozenset({"title", "author", "authors", "date", "url", "source"})

FrontMatter = dict[str, str | list[str]]


def parse(path: Path) -> SourceDocument | ParseIssue:
    """Read the markdown or text file at ``path``."""
    data = path.read_bytes()
    if looks_binary(data):
        return ParseIssue(str(path), "binary data, not a text file")
    decoded = decode_utf8(data)
    if decoded is None:
        return ParseIssue(str(path), "not UTF-8 text")
    text = clean_text(decoded)
    fields: FrontMatter = {}
    if match := _FRONT_MATTER.match(text):
        fields = _read_front_matter(match[1])
        if fields:
            text = text[match.end() :]
    authors = fields.get("authors") or fields.get("author") or []
    return build_document(
        origin=str(path),
        title=_scalar(fields.get("title")) or _first_heading(text) or path.stem,
        text=text,
        source=_scalar(fields.get("source")) or "local",
        url=_scalar(fields.get("url")),
        authors=split_authors(authors) if isinstance(authors, str) else authors,
        date_published=normalize_date(_scalar(fields.get("date"))),
        metadata={key: value for key, value in fields.items() if key not in _MAPPED},
    )


def _read_front_matter(block: str) -> FrontMatter:
    """``key: value``, ``key: [a, b]`` and ``key:`` followed by ``- item`` lines; other lines are ignored."""
    fields: FrontMatter = {}
    key = None
    for line in block.split("\n"):
        item = _LIST_ITEM.fullmatch(line)
        if item and key is not None and isinstance(values := fields[key], list):
            values.append(_unquote(item[1]))
        elif pair := _KEY_VALUE.fullmatch(line):
            key, value = pair[1].lower(), (pair[2] or "").strip()
            if not value:
                fields[key] = []
            elif value.startswith("[") and value.endswith("]"):
                fields[key] = [_unquote(part) for part in value[1:-1].split(",") if part.strip()]
            else:
                fields[key] = _unquote(value)
    return fields


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _scalar(value: str | list[str] | None) -> str:
    """A field read as one string: a list gives its first item."""
    if isinstance(value, list):
        return value[0] if value else ""
    return value or ""


def _first_heading(text: str) -> str:
    """The first level-one ``# heading`` outside fenced code blocks."""
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
        elif not in_code and (heading := _TITLE_HEADING.fullmatch(line)):
            return heading[1]
    return ""
