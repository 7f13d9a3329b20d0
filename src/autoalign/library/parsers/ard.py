"""Alignment Research Dataset JSONL files, plain or gzip-compressed.

One JSON object a line: ``{id, source, title, url, authors, date_published, text, ...}``. The files
run to gigabytes, so they are streamed line by line; a bad line is reported with its line number and
skipped, so that one broken record never costs the rest of the file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from autoalign.library.parsers._fields import (
    build_document,
    normalize_date,
    parse_authors,
)
from autoalign.library.parsers._text import SNIFF_BYTES, looks_binary
from autoalign.library.records import ParseIssue, SourceDocument

#: Bad lines in a row, with no good line before them, after which a file is declared not ARD.
MAX_LEADING_BAD_LINES = 20

#: Keys mapped onto SourceDocument fields; every other key goes into ``metadata``.
_MAPPED = frozenset({"id", "title", "text", "source", "url", "authors", "date_published"})


class _BadRecord(Exception):
    """A line that holds no usable record; the message is the reason shown to the user."""


def parse(path: Path) -> Iterator[SourceDocument | ParseIssue]:
    """Yield one document per good line of ``path`` and one issue per bad line.

    A file that is not ARD JSONL at all (binary data, or nothing but bad lines at its start) gives a
    single issue instead of one per line.
    """
    compressed = path.name.lower().endswith(".gz")
    default_source = path.name.split(".", 1)[0]
    try:
        with gzip.open(path, "rb") if compressed else path.open("rb") as stream:
            if looks_binary(stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]):
                yield ParseIssue(str(path), "binary data, not an ARD JSONL file")
                return
            yield from _parse_lines(stream, path, default_source)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        yield ParseIssue(str(path), f"corrupt gzip file ({exc or type(exc).__name__})")


def _parse_lines(stream: Iterable[bytes], path: Path, default_source: str) -> Iterator[SourceDocument | ParseIssue]:
    # Issues are held back until the first good line, so that a file which never has one is reported
    # once rather than line by line. ``held`` becomes None once a record has been seen.
    held: list[ParseIssue] | None = []
    for line_no, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        origin = f"{path}:{line_no}"
        try:
            item = _document(_load(line), origin, default_source)
        except _BadRecord as exc:
            item = ParseIssue(origin, str(exc))
        if isinstance(item, ParseIssue) and held is not None:
            held.append(item)
            if len(held) >= MAX_LEADING_BAD_LINES:
                reason = f"not an ARD JSONL file (no record in the first {len(held)} lines)"
                yield ParseIssue(str(path), reason)
                return
            continue
        if held:
            yield from held
        held = None
        yield item
    if held:
        yield from held
    elif held is not None:
        yield ParseIssue(str(path), "empty file")


def _load(line: bytes) -> dict[str, Any]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadRecord("invalid UTF-8") from None
        raise _BadRecord(f"invalid JSON at column {exc.colno}") from None
    if not isinstance(record, dict):
        raise _BadRecord(f"expected a JSON object, got {type(record).__name__}")
    return record


def _document(record: dict[str, Any], origin: str, default_source: str) -> SourceDocument | ParseIssue:
    for key in ("title", "text"):
        if key not in record:
            raise _BadRecord(f"missing {key}")
    title = _string(record, "title")
    text = _string(record, "text")
    date = _string(record, "date_published")
    external_id = record.get("id")
    if external_id is not None and not isinstance(external_id, str | int):
        raise _BadRecord("id must be a string or a number")
    try:
        authors = parse_authors(record.get("authors"))
    except ValueError as exc:
        raise _BadRecord(str(exc)) from None
    return build_document(
        origin=origin,
        title=title,
        text=text,
        source=_string(record, "source") or default_source,
        url=_string(record, "url"),
        authors=authors,
        date_published=normalize_date(date),
        external_id=None if external_id is None else str(external_id),
        metadata={key: value for key, value in record.items() if key not in _MAPPED},
    )


def _string(record: dict[str, Any], key: str) -> str:
    """The value of ``key`` as a string; missing, null and the literal ``"None"`` give ``""``."""
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _BadRecord(f"{key} must be a string, got {type(value).__name__}")
    return "" if value == "None" else value
