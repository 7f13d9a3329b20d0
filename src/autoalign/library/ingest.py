"""Ingest: files in, documents and chunks stored, lexical index updated.

Documents are written in batches, one transaction each, so ``kill -9`` leaves whole batches or
nothing. Re-running the same ``add`` is how an interrupted ingest resumes: documents already stored
are recognised by id, url or content hash and skipped, and the lexical index catches up from its
watermark (see :mod:`autoalign.library.lexical`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autoalign.errors import AutoalignError
from autoalign.library import store
from autoalign.library.lexical import WATERMARK_KEY, IndexedChunk, LexicalIndex
from autoalign.library.parsers import iter_files, iter_path
from autoalign.library.records import ParseIssue, SourceDocument
from autoalign.workspace import Workspace

BATCH_DOCUMENTS = 256
#: Chunks between lexical-index commits; a commit costs about as much as indexing a few thousand.
COMMIT_EVERY_CHUNKS = 50_000


@dataclass(slots=True)
class IngestReport:
    """What an ingest did, for the summary line and the exit code."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    duplicates: int = 0
    kept_newer: int = 0
    chunks: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    issues: list[ParseIssue] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def documents_seen(self) -> int:
        return self.added + self.replaced + self.unchanged + self.duplicates + self.kept_newer

    @property
    def documents_per_second(self) -> float:
        return self.documents_seen / self.seconds if self.seconds else 0.0

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes_read / 1e6 / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class Progress:
    documents: int
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[Progress], None]


def input_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the supported files they hold; a missing path is an error up front."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise AutoalignError(f"{path}: no such file or folder")
        files.extend(iter_files(path) if path.is_dir() else [path])
    return files


def catch_up_lexical(workspace: Workspace, lexical: LexicalIndex) -> int:
    """Index chunks stored after the last recorded lexical commit (after a crash); returns count."""
    watermark = int(workspace.get_state(WATERMARK_KEY, "0"))
    newest = store.max_chunk_id(workspace.db)
    if newest <= watermark:
        return 0
    lexical.delete_chunks_above(watermark)
    count = 0
    for batch in store.indexed_chunks_above(workspace.db, watermark):
        lexical.add(batch)
        count += len(batch)
    lexical.commit()
    workspace.set_state(WATERMARK_KEY, str(newest))
    return count


def ingest(
    workspace: Workspace,
    lexical: LexicalIndex,
    paths: Iterable[Path],
    *,
    on_progress: ProgressCallback | None = None,
    on_issue: Callable[[ParseIssue], None] | None = None,
) -> IngestReport:
    """Add the documents found at ``paths``; malformed records are reported and skipped."""
    files = input_files(list(paths))
    report = IngestReport()
    started = time.perf_counter()
    catch_up_lexical(workspace, lexical)
    total = sum(map(_size, files))
    pending: list[SourceDocument] = []
    uncommitted_chunks = 0

    def flush() -> None:
        nonlocal uncommitted_chunks
        uncommitted_chunks += _store_batch(workspace, lexical, pending, report)
        pending.clear()
        if uncommitted_chunks >= COMMIT_EVERY_CHUNKS:
            _commit_lexical(workspace, lexical)
            uncommitted_chunks = 0

    done_bytes = 0
    for path in files:
        size = _size(path)
        read_in_file = 0
        for item in iter_path(path):
            if isinstance(item, ParseIssue):
                report.issues.append(item)
                if on_issue:
                    on_issue(item)
                continue
            pending.append(item)
            read_in_file = min(size, read_in_file + len(item.text))
            if len(pending) >= BATCH_DOCUMENTS:
                flush()
                if on_progress:
                    on_progress(Progress(report.documents_seen, done_bytes + read_in_file, total))
        done_bytes += size
        report.bytes_read = done_bytes
        if on_progress:
            on_progress(Progress(report.documents_seen + len(pending), done_bytes, total))
    if pending:
        flush()
    _commit_lexical(workspace, lexical)
    report.seconds = time.perf_counter() - started
    if on_progress:
        on_progress(Progress(report.documents_seen, total, total))
    return report


def _size(path: Path) -> int:
    """The file's size for the progress bar; 0 for a link to nothing, which its parse reports."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _commit_lexical(workspace: Workspace, lexical: LexicalIndex) -> None:
    lexical.commit()
    workspace.set_state(WATERMARK_KEY, str(store.max_chunk_id(workspace.db)))


def _store_batch(workspace: Workspace, lexical: LexicalIndex, docs: list[SourceDocument], report: IngestReport) -> int:
    """Store one batch in one transaction, then hand its chunks to the lexical index."""
    new_chunks: list[IndexedChunk] = []
    replaced_ids: list[int] = []
    with workspace.transaction() as db:
        for doc in docs:
            uid, digest = store.document_uid(doc), store.content_hash(doc)
            existing = store.find_existing(db, doc, uid, digest)
            if existing is None:
                new_chunks += store.insert_document(db, doc, uid, digest)
                report.added += 1
            elif existing.content_hash == digest or store.seen_before(db, uid, digest):
                if existing.matched_by == "content" and existing.uid != uid:
                    report.duplicates += 1
                    _event(db, report, "duplicate", doc.origin, f"same text as document {existing.uid}; skipped")
                else:
                    report.unchanged += 1
            elif _is_older(doc.date_published, existing.date_published):
                report.kept_newer += 1
                _event(
                    db,
                    report,
                    "kept",
                    doc.origin,
                    f"document {existing.uid} is newer ({existing.date_published}) than this version"
                    f" ({doc.date_published}); kept the stored one",
                )
            else:
                replaced_ids.append(existing.id)
                new_chunks += store.replace_document(db, existing.id, doc, uid, digest)
                report.replaced += 1
                _event(
                    db,
                    report,
                    "replaced",
                    doc.origin,
                    f"replaced document {existing.uid} (matched by {existing.matched_by}) with a newer version",
                )
    if replaced_ids:
        lexical.delete_documents(replaced_ids)
    lexical.add(new_chunks)
    report.chunks += len(new_chunks)
    return len(new_chunks)


def _event(db: sqlite3.Connection, report: IngestReport, event: str, origin: str, detail: str) -> None:
    store.log_event(db, event, origin, detail)
    report.events.append(f"{origin}: {detail}")


def _is_older(incoming: str | None, stored: str | None) -> bool:
    return bool(incoming and stored and incoming < stored)
