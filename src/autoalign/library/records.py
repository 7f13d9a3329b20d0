"""The records that flow through the library: parsed input, stored documents, chunks and hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One document as a parser read it, before it is stored.

    ``text`` is plain text in which headings are kept as markdown heading lines (``## Results``),
    whatever the input format, so that one chunker serves every format.
    """

    title: str
    text: str
    source: str
    url: str = ""
    authors: tuple[str, ...] = ()
    #: ISO 8601 date (``YYYY-MM-DD``) or None when unknown.
    date_published: str | None = None
    #: The id the input gave the document (ARD ``id``), if any.
    external_id: str | None = None
    #: Where it came from, for messages: ``path`` or ``path:line``.
    origin: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """A record or file that could not be read; reported and skipped, never fatal."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What a search result or a listing shows of a document (no full text)."""

    uid: str
    title: str
    source: str
    url: str
    authors: tuple[str, ...]
    date_published: str | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape that the CLI (``--json``) and the web API share."""
        return {
            "id": self.uid,
            "title": self.title,
            "authors": list(self.authors),
            "date": self.date_published,
            "source": self.source,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Document:
    """A stored document with its full text and metadata."""

    info: DocumentInfo
    text: str
    metadata: dict[str, Any]
    origin: str
    added_at: str
    version: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a document: ``document.text[start:end]``, under ``section``."""

    ordinal: int
    section: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: a passage that can be cited to document, section and character span.

    ``highlights`` are ``(start, end)`` offsets into ``passage`` where query terms occur;
    renderers escape the passage and mark those spans.
    """

    document: DocumentInfo
    chunk_id: int
    section: str
    start: int
    end: int
    passage: str
    score: float
    highlights: tuple[tuple[int, int], ...] = ()
    #: Rank from each ranker that found it (``{"lexical": 1, "semantic": 4}``).
    ranks: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape that the CLI (``--json``) and the web API share."""
        return {
            "document": self.document.as_dict(),
            "chunk_id": self.chunk_id,
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "passage": self.passage,
            "score": self.score,
            "ranks": self.ranks,
            "highlights": [list(span) for span in self.highlights],
        }


@dataclass(frozen=True, slots=True)
class RelatedDocument:
    """A document close to another one, with how close (cosine or BM25, by method)."""

    document: DocumentInfo
    score: float
