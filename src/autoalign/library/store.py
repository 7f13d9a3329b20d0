"""Reading and writing documents and chunks in the workspace database."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from autoalign.errors import NotFoundError
from autoalign.library.chunking import chunk_text
from autoalign.library.lexical import IndexedChunk
from autoalign.library.records import Document, DocumentInfo, SourceDocument
from autoalign.workspace import inserted_id

#: Bumped whenever chunks are deleted, so caches keyed on chunk ids know to reload.
DELETIONS_KEY = "library:deletions"

_INFO_COLUMNS = "d.uid, d.title, d.source, d.url, d.authors, d.date_published"


def content_hash(doc: SourceDocument) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(doc.title.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(doc.text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def document_uid(doc: SourceDocument) -> str:
    """A stable id: the input's own id, else one derived from the url, else from the file."""
    if doc.external_id:
        return doc.external_id
    key = f"url:{doc.url}" if doc.url else f"path:{doc.origin}"
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Existing:
    """A stored document that an incoming one matches."""

    id: int
    uid: str
    content_hash: str
    date_published: str | None
    matched_by: str  # 'uid', 'url' or 'content'


def find_existing(db: sqlite3.Connection, doc: SourceDocument, uid: str, digest: str) -> Existing | None:
    """The stored document an incoming one is a version or a copy of, if any.

    A url identifies a document only within its source and under the same title: an Alignment
    Newsletter summary links to the paper it summarizes, and real datasets reuse a url for two
    different entries now and then; all of those belong in the library.
    """
    row = db.execute("SELECT id, uid, content_hash, date_published FROM documents WHERE uid = ?", (uid,)).fetchone()
    if row:
        return _existing(row, "uid")
    if doc.url:
        row = db.execute(
            "SELECT id, uid, content_hash, date_published FROM documents"
            # ``url != ''`` lets SQLite use the partial index on url (it cannot prove ``?`` is not '').
            " WHERE url = ? AND url != '' AND source = ? AND title = ? COLLATE NOCASE LIMIT 1",
            (doc.url, doc.source, doc.title),
        ).fetchone()
        if row:
            return _existing(row, "url")
    row = db.execute(
        "SELECT id, uid, content_hash, date_published FROM documents WHERE content_hash = ? LIMIT 1",
        (digest,),
    ).fetchone()
    return _existing(row, "content") if row else None


def _existing(row: tuple[int, str, str, str | None], matched_by: str) -> Existing:
    return Existing(*row, matched_by=matched_by)


def seen_before(db: sqlite3.Connection, uid: str, digest: str) -> bool:
    """Whether this exact version of the document was ingested at some point."""
    return (
        db.execute("SELECT 1 FROM document_versions WHERE uid = ? AND content_hash = ?", (uid, digest)).fetchone()
        is not None
    )


def _record_version(db: sqlite3.Connection, uid: str, digest: str) -> None:
    db.execute("INSERT OR IGNORE INTO document_versions(uid, content_hash) VALUES (?, ?)", (uid, digest))


def _columns(doc: SourceDocument, uid: str, digest: str) -> tuple:
    """A document's column values, in the order that insert and replace both write them."""
    return (
        uid,
        doc.external_id,
        doc.url,
        digest,
        doc.source,
        doc.title,
        orjson.dumps(list(doc.authors)).decode(),
        doc.date_published,
        doc.text,
        orjson.dumps(doc.metadata, default=str).decode(),
        doc.origin,
    )


def insert_document(db: sqlite3.Connection, doc: SourceDocument, uid: str, digest: str) -> list[IndexedChunk]:
    """Store a new document with its chunks; returns the chunks for the lexical index."""
    cursor = db.execute(
        "INSERT INTO documents(uid, external_id, url, content_hash, source, title, authors,"
        " date_published, text, metadata, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _columns(doc, uid, digest),
    )
    _record_version(db, uid, digest)
    return _insert_chunks(db, inserted_id(cursor), doc)


def replace_document(
    db: sqlite3.Connection, document_id: int, doc: SourceDocument, uid: str, digest: str
) -> list[IndexedChunk]:
    """Swap in a newer version of a stored document, keeping its row id and bumping its version."""
    db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
    db.execute("DELETE FROM document_authors WHERE document_id = ?", (document_id,))
    db.execute(
        "UPDATE documents SET uid = ?, external_id = ?, url = ?, content_hash = ?, source = ?,"
        " title = ?, authors = ?, date_published = ?, text = ?, metadata = ?, origin = ?,"
        " added_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), version = version + 1 WHERE id = ?",
        (*_columns(doc, uid, digest), document_id),
    )
    db.execute(
        "INSERT INTO workspace_state(key, value) VALUES (?, '1')"
        " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (DELETIONS_KEY,),
    )
    _record_version(db, uid, digest)
    return _insert_chunks(db, document_id, doc)


def _insert_chunks(db: sqlite3.Connection, document_id: int, doc: SourceDocument) -> list[IndexedChunk]:
    db.executemany(
        "INSERT INTO document_authors(document_id, author) VALUES (?, ?)",
        [(document_id, author) for author in doc.authors],
    )
    indexed = []
    for chunk in chunk_text(doc.text):
        passage = doc.text[chunk.start : chunk.end]
        cursor = db.execute(
            "INSERT INTO chunks(document_id, ordinal, section, start, end, text) VALUES (?, ?, ?, ?, ?, ?)",
            (document_id, chunk.ordinal, chunk.section, chunk.start, chunk.end, passage),
        )
        indexed.append(
            IndexedChunk(
                chunk_id=inserted_id(cursor),
                document_id=document_id,
                title=doc.title,
                section=chunk.section,
                text=passage,
                source=doc.source,
                authors=doc.authors,
                date_published=doc.date_published,
            )
        )
    return indexed


def log_event(db: sqlite3.Connection, event: str, origin: str, detail: str) -> None:
    db.execute("INSERT INTO ingest_log(event, origin, detail) VALUES (?, ?, ?)", (event, origin, detail))


def _info(row: tuple) -> DocumentInfo:
    uid, title, source, url, authors, date = row
    return DocumentInfo(uid, title, source, url, tuple(orjson.loads(authors)), date)


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A chunk joined with its document, as search results need it."""

    chunk_id: int
    document_id: int
    info: DocumentInfo
    section: str
    start: int
    end: int
    passage: str


def chunk_rows(db: sqlite3.Connection, chunk_ids: Iterable[int]) -> dict[int, ChunkRow]:
    """Chunks by id, with their passage text; ids that no longer exist are left out."""
    ids = list(dict.fromkeys(chunk_ids))
    found: dict[int, ChunkRow] = {}
    for offset in range(0, len(ids), 500):
        batch = ids[offset : offset + 500]
        marks = ",".join("?" * len(batch))
        rows = db.execute(
            f"SELECT c.id, c.document_id, {_INFO_COLUMNS}, c.section, c.start, c.end, c.text"
            f" FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks})",
            batch,
        )
        for row in rows:
            found[row[0]] = ChunkRow(row[0], row[1], _info(row[2:8]), *row[8:])
    return found


def get_document(db: sqlite3.Connection, uid: str) -> Document:
    row = db.execute(
        f"SELECT {_INFO_COLUMNS}, d.text, d.metadata, d.origin, d.added_at, d.version FROM documents d WHERE d.uid = ?",
        (uid,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no document with id {uid!r} in this library")
    return Document(_info(row[:6]), row[6], orjson.loads(row[7]), row[8], row[9], row[10])


def document_id_of(db: sqlite3.Connection, uid: str) -> int:
    row = db.execute("SELECT id FROM documents WHERE uid = ?", (uid,)).fetchone()
    if row is None:
        raise NotFoundError(f"no document with id {uid!r} in this library")
    return row[0]


def chunks_of(db: sqlite3.Connection, document_id: int) -> list[tuple[int, str, int, int]]:
    """``(chunk id, section, start, end)`` of a document, in order."""
    return db.execute(
        "SELECT id, section, start, end FROM chunks WHERE document_id = ? ORDER BY ordinal",
        (document_id,),
    ).fetchall()


def infos_by_document_id(db: sqlite3.Connection, document_ids: list[int]) -> dict[int, DocumentInfo]:
    marks = ",".join("?" * len(document_ids))
    rows = db.execute(f"SELECT d.id, {_INFO_COLUMNS} FROM documents d WHERE d.id IN ({marks})", document_ids)
    return {row[0]: _info(row[1:]) for row in rows}


def indexed_chunks_above(db: sqlite3.Connection, chunk_id: int) -> Iterator[list[IndexedChunk]]:
    """Chunks with ids above ``chunk_id``, in batches, as the lexical index takes them."""
    cursor = db.execute(
        "SELECT c.id, c.document_id, d.title, c.section, c.text,"
        " d.source, d.authors, d.date_published FROM chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE c.id > ? ORDER BY c.id",
        (chunk_id,),
    )
    while batch := cursor.fetchmany(2000):
        yield [
            IndexedChunk(cid, did, title, section, text, source, tuple(orjson.loads(authors)), date)
            for cid, did, title, section, text, source, authors, date in batch
        ]


def document_ids_of_chunks(db: sqlite3.Connection, chunk_ids: list[int]) -> dict[int, int]:
    """``chunk id -> document id`` for the chunks that still exist."""
    found: dict[int, int] = {}
    for offset in range(0, len(chunk_ids), 500):
        batch = chunk_ids[offset : offset + 500]
        marks = ",".join("?" * len(batch))
        found.update(db.execute(f"SELECT id, document_id FROM chunks WHERE id IN ({marks})", batch).fetchall())
    return found


def max_chunk_id(db: sqlite3.Connection) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM chunks").fetchone()[0]
