"""What assistants produce: sections of items, each item citing numbered spans of the library.

Every assistant (ask, summarize, explain, distill, brainstorm, rubber duck) returns one
:class:`Result`, so that one store keeps them, one exporter writes them as markdown and one
template shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from autoalign.library.records import DocumentInfo

Kind = Literal["ask", "summarize", "explain", "distill", "brainstorm", "duck"]
KINDS: tuple[Kind, ...] = ("ask", "summarize", "explain", "distill", "brainstorm", "duck")


@dataclass(frozen=True, slots=True)
class Span:
    """A citable stretch of a document: ``document text[start:end]``, under ``section``."""

    document: DocumentInfo
    section: str
    start: int
    end: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "document": self.document.as_dict(),
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        doc = data["document"]
        info = DocumentInfo(
            uid=doc["id"],
            title=doc["title"],
            source=doc["source"],
            url=doc["url"],
            authors=tuple(doc["authors"]),
            date_published=doc["date"],
        )
        return cls(info, data["section"], data["start"], data["end"], data["text"])


@dataclass(frozen=True, slots=True)
class Place:
    """Where an item leads on to in the library: a document, or a span of it. The interfaces make
    it a link (the web app's reader, the URL the CLI prints); the result stores only the place."""

    uid: str
    start: int | None = None
    end: int | None = None

    @classmethod
    def of(cls, span: Span) -> Place:
        return cls(span.document.uid, span.start, span.end)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.uid, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Place:
        return cls(data["id"], data["start"], data["end"])

    @classmethod
    def from_stored_link(cls, link: str) -> Place | None:
        """The place behind a reader link, as results stored before 0.1.1 held it (``link``)."""
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or not parts.path.startswith("/library/doc/"):
            return None
        query = parse_qs(parts.query)
        start, end = query.get("start", [None])[0], query.get("end", [None])[0]
        uid = unquote(parts.path.removeprefix("/library/doc/"))
        if start is not None and end is not None and start.isdigit() and end.isdigit():
            return cls(uid, int(start), int(end))
        return cls(uid)


@dataclass(frozen=True, slots=True)
class Item:
    """One sentence, claim, term, idea or question, with the numbers of the spans it cites."""

    text: str
    citations: tuple[int, ...] = ()
    #: Whether the verifier found the cited spans to support the text; None when not checked
    #: (an item that is itself a quote of its one citation needs no check).
    supported: bool | None = None
    #: Why the item is marked ("no passage supports this", "citation moved to a better span").
    note: str = ""
    #: Where to go on from the item: the document (or the span of it) that explains a term.
    see: Place | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "supported": self.supported,
            "note": self.note,
            "see": self.see.as_dict() if self.see else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        if data.get("see"):
            see: Place | None = Place.from_dict(data["see"])
        else:
            see = Place.from_stored_link(data.get("link", ""))
        return cls(data["text"], tuple(data["citations"]), data["supported"], data["note"], see)


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    items: tuple[Item, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "items": [item.as_dict() for item in self.items]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Section:
        return cls(data["title"], tuple(Item.from_dict(item) for item in data["items"]))


@dataclass(slots=True)
class Result:
    """An assistant's answer: sections of cited items and the spans they cite, numbered from 1."""

    kind: Kind
    #: What was asked: the question, the documents' titles, the draft.
    prompt: str
    sections: list[Section]
    references: list[Span]
    #: False when the library holds nothing that answers the prompt.
    covered: bool = True
    #: The model that wrote it ("extractive" when sentences were selected, not generated).
    model: str = "extractive"
    settings: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_at: float | None = None

    def citation(self, number: int) -> Span:
        return self.references[number - 1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "prompt": self.prompt,
            "covered": self.covered,
            "model": self.model,
            "settings": self.settings,
            "created_at": self.created_at,
            "sections": [section.as_dict() for section in self.sections],
            "references": [{"number": i, **span.as_dict()} for i, span in enumerate(self.references, 1)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(
            kind=data["kind"],
            prompt=data["prompt"],
            sections=[Section.from_dict(s) for s in data["sections"]],
            references=[Span.from_dict(r) for r in data["references"]],
            covered=data["covered"],
            model=data["model"],
            settings=data["settings"],
            created_at=data["created_at"],
        )


class References:
    """Numbers spans as they are cited, once each: a span cited twice keeps its first number, and
    a span inside one already cited is cited as that one (no duplicate citations)."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def cite(self, span: Span) -> int:
        for number, known in enumerate(self.spans, 1):
            if known.document.uid == span.document.uid and known.start <= span.start and span.end <= known.end:
                return number
        self.spans.append(span)
        return len(self.spans)
