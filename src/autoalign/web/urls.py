"""The web app's URLs, built here only: the capabilities name documents, spans and trees; the
interfaces (these pages, the links the CLI prints) turn them into addresses."""

from __future__ import annotations

from urllib.parse import quote, urlencode


def reader_path(uid: str, start: int | None = None, end: int | None = None) -> str:
    """Where the reader shows a document, scrolled to the span when one is given."""
    path = "/library/doc/" + quote(uid, safe="")
    if start is not None and end is not None:
        path += "?" + urlencode({"start": start, "end": end}) + "#cite"
    return path
