"""Field conventions shared by the parsers: dates, author lists and the final checks on a document."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from autoalign.library.parsers._text import clean_line, clean_text
from autoalign.library.records import ParseIssue, SourceDocument

#: ``2019``, ``2019-05``, ``2019/05/02``, ``2019-05-02T10:00:00Z``, ``2019-05-02 10:00``.
_ISO_DATE = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?:[T ].*)?")
#: PDF dates: ``D:20200131120000+01'00'``, where everything after the year is optional.
_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?.*")

#: Separators between names in a free-text author field ("A, B and C", "A; B", "A & B").
_AUTHOR_SEPARATORS = re.compile(r"\s*(?:;|,|&|\band\b)\s*")

#: Marks for equal contribution or affiliation that follow a name ("Andrew Ilyas*", "Nick Cammarata †").
_AUTHOR_MARKS = "*†‡§¶ "

#: Longest Python-list literal of authors we agree to evaluate.
_MAX_AUTHOR_LITERAL = 100_000


def normalize_date(value: str | None) -> str | None:
    """An ISO date ``YYYY-MM-DD`` from the date formats found in the inputs, or None.

    A year or a month alone is padded with ``01`` (the convention the Alignment Research Dataset
    itself uses); a time of day and time zone are dropped, as the library only keeps dates.
    """
    if not value:
        return None
    value = value.strip()
    match = _ISO_DATE.fullmatch(value) or _PDF_DATE.fullmatch(value)
    if match is None:
        return None
    year, month, day = (int(part) if part else 1 for part in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def split_authors(value: str) -> list[str]:
    """Authors from a free-text field such as PDF ``/Author`` or ``<meta name="author">``."""
    return _AUTHOR_SEPARATORS.split(value)


def parse_authors(value: Any) -> list[str]:
    """Authors from a list, from the repr of a Python list (``"['A', 'B']"``) or from free text.

    Some datasets store the author list as the string repr of a Python list. It is read with
    :func:`ast.literal_eval`, which accepts literals only, so a record cannot run code.
    Raises ValueError when the value is none of these.
    """
    if value is None:
        return []
    if isinstance(value, str):
        if not value.lstrip().startswith("["):
            return split_authors(value)
        if len(value) > _MAX_AUTHOR_LITERAL:
            raise ValueError("authors list is too long")
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, RecursionError, MemoryError) as exc:
            raise ValueError("authors is not a valid list") from exc
    if not isinstance(value, list | tuple) or not all(isinstance(name, str) for name in value):
        raise ValueError("authors must be a list of strings")
    return list(value)


def build_document(
    *,
    origin: str,
    title: str,
    text: str,
    source: str,
    url: str = "",
    authors: Iterable[str] = (),
    date_published: str | None = None,
    external_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> SourceDocument | ParseIssue:
    """A cleaned :class:`SourceDocument`, or a :class:`ParseIssue` when it has no title or no text.

    Every parser ends here so that the same cleaning and the same guarantees hold for every format:
    text without control characters, one-line title, URL and author names, no empty author.
    """
    title = clean_line(title)
    text = clean_text(text)
    if not title:
        return ParseIssue(origin, "empty title")
    if not text:
        return ParseIssue(origin, "empty text")
    return SourceDocument(
        title=title,
        text=text,
        source=clean_line(source),
        url=clean_line(url),
        authors=tuple(name for raw in authors if (name := clean_line(raw).rstrip(_AUTHOR_MARKS))),
        date_published=date_published,
        external_id=external_id,
        origin=origin,
        metadata=metadata or {},
    )
