"""PDF papers, read from their text layer with pypdf.

Scanned PDFs have no text layer; they are reported rather than stored empty, since OCR is a separate,
slow step the user should choose to run.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from pypdf import PasswordType, PdfReader

from autoalign.library.parsers._fields import (
    build_document,
    normalize_date,
    split_authors,
)
from autoalign.library.parsers._text import clean_line
from autoalign.library.records import ParseIssue, SourceDocument

#: A title taken from the first line of text is cut here: that line may be a whole paragraph.
_MAX_TITLE = 200

#: Title, author and creation date from the document information dictionary.
_INFO_FIELDS = ("title", "author", "creation_date_raw")


def parse(path: Path) -> SourceDocument | ParseIssue:
    """Read the text and metadata of the PDF file at ``path``."""
    data = path.read_bytes()
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return ParseIssue(str(path), "encrypted PDF; decrypt it first")
        pages = [page.extract_text() for page in reader.pages]
        info = reader.metadata
        title, author, created = (_as_text(getattr(info, name, None)) for name in _INFO_FIELDS)
    except Exception as exc:
        return ParseIssue(str(path), f"corrupt PDF ({type(exc).__name__}: {exc})")
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        return ParseIssue(str(path), "no text layer; run OCR first")
    first_line = next(line for line in text.split("\n") if line.strip())
    return build_document(
        origin=str(path),
        title=title or clean_line(first_line)[:_MAX_TITLE],
        text=text,
        source="local",
        authors=split_authors(author),
        date_published=normalize_date(created),
        metadata={"pages": len(pages)},
    )


def _as_text(value: object) -> str:
    """A document-information entry as one line ('' when missing or not text)."""
    return clean_line(value) if isinstance(value, str) else ""
