"""The research library: alignment literature and the user's own papers, searchable with citations.

>>> from autoalign.library import Library
>>> library = Library.open("~/alignment")            # doctest: +SKIP
>>> library.add(["ard/alignment_newsletter.jsonl"])   # doctest: +SKIP
>>> for hit in library.search("reward hacking"):      # doctest: +SKIP
...     print(hit.document.title, hit.section, hit.start, hit.end)
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from autoalign import jobs
from autoalign.capability import Capability
from autoalign.errors import AutoalignError
from autoalign.library import store
from autoalign.library.embedding import JOB_KIND, EmbedReport, embed_library, start_background
from autoalign.library.ingest import IngestReport, Progress, catch_up_lexical, ingest
from autoalign.library.lexical import Filters, LexicalIndex
from autoalign.library.parsers import SUPPORTED_SUFFIXES
from autoalign.library.records import Document, DocumentInfo, Hit, ParseIssue, RelatedDocument
from autoalign.library.search import HybridSearcher, Mode
from autoalign.library.vectors import VectorStore
from autoalign.locks import exclusive
from autoalign.workspace import Workspace

if TYPE_CHECKING:
    from autoalign.embed import Embedder

__all__ = [
    "Document",
    "DocumentInfo",
    "EmbedReport",
    "Filters",
    "Hit",
    "IngestReport",
    "Library",
    "LibraryStats",
    "ParseIssue",
    "Progress",
    "RelatedDocument",
]


#: Uploads through the web app; bigger collections go through ``autoalign library add``.
MAX_UPLOAD_BYTES = 200_000_000
#: How long a writer waits for another process to finish writing the search index (an ingest of
#: 100M tokens takes under two minutes; see BENCHMARKS.md) before it gives up.
WRITE_WAIT_S = 600.0


@dataclass(frozen=True, slots=True)
class LibraryStats:
    """Counts shown by ``autoalign library status`` and the library page."""

    documents: int
    chunks: int
    #: Chunks with a vector, by embedder name.
    embedded: dict[str, int]
    #: ``(source, documents)``, largest first.
    sources: list[tuple[str, int]]
    embed_job: jobs.Job | None


class Library(Capability):
    """Documents, chunks, the lexical index and vectors of one workspace."""

    def __init__(self, workspace: Workspace, embedder: Embedder | None = None, *, owns_workspace: bool = False) -> None:
        super().__init__(workspace, owns_workspace=owns_workspace)
        self.settings = workspace.settings
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        self._vector_store: VectorStore | None = None
        # One ingest at a time per process (and, by a file lock, per workspace): the lexical index
        # has one writer and one watermark.
        self._ingest_lock = threading.Lock()
        self.lexical = LexicalIndex(workspace.index_path("lexical"))
        self._searcher = HybridSearcher(
            workspace,
            self.lexical,
            self._vectors,
            self._embed_query,
            candidates=self.settings.search.candidates,
            rrf_k=self.settings.search.rrf_k,
        )

    @classmethod
    def open(cls, workspace: Workspace | str | Path | None = None, *, embedder: Embedder | None = None) -> Library:
        """Open the library of a workspace (a path, a :class:`Workspace`, or the default one)."""
        opened, owned = cls._workspace(workspace)
        return cls(opened, embedder, owns_workspace=owned)

    @property
    def embedder(self) -> Embedder:
        """The configured embedder, built on first use (loading a model takes a moment)."""
        with self._embedder_lock:
            if self._embedder is None:
                from autoalign.embed import get_embedder

                self._embedder = get_embedder(self.settings.embed)
            return self._embedder

    @property
    def embedder_name(self) -> str:
        """The configured embedder's name, without loading its model when it is not loaded yet."""
        if self._embedder is not None:
            return self._embedder.name
        from autoalign.embed import embedder_name

        return embedder_name(self.settings.embed)

    # -- building --------------------------------------------------------------------------------
    def add(
        self,
        paths: Iterable[str | Path],
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_issue: Callable[[ParseIssue], None] | None = None,
        on_wait: Callable[[str], None] | None = None,
        wait_s: float = WRITE_WAIT_S,
    ) -> IngestReport:
        """Ingest files and folders (ARD JSONL, HTML, markdown, text, PDF).

        If another process is writing the search index, this waits up to ``wait_s`` seconds
        (``on_wait`` hears why) and then raises :class:`~autoalign.errors.BusyError`.
        """
        with self._writing(wait_s, on_wait):
            return ingest(
                self.workspace,
                self.lexical,
                [Path(p).expanduser() for p in paths],
                on_progress=on_progress,
                on_issue=on_issue,
            )

    def add_upload(self, filename: str, data: bytes, *, wait_s: float = WRITE_WAIT_S) -> IngestReport:
        """Keep an uploaded file in the workspace's ``uploads/`` folder and ingest it.

        The name is reduced to a safe base name, prefixed with a hash of the content so that two
        uploads called ``paper.pdf`` never overwrite each other.
        """
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name).strip("._") or "upload"
        if not safe.lower().endswith(SUPPORTED_SUFFIXES):
            raise AutoalignError(f"{filename!r}: unsupported file type (supported: {', '.join(SUPPORTED_SUFFIXES)})")
        if len(data) > MAX_UPLOAD_BYTES:
            raise AutoalignError(
                f"{filename!r} is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB; use `autoalign library add`"
            )
        folder = self.workspace.path / "uploads"
        folder.mkdir(exist_ok=True)
        target = folder / f"{hashlib.blake2b(data, digest_size=4).hexdigest()}-{safe}"
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        return self.add([target], wait_s=wait_s)

    def embed(
        self,
        *,
        ray_address: str | None = None,
        batch_size: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> EmbedReport:
        """Give every chunk a vector from the configured embedder (resumable)."""
        return embed_library(
            self.workspace,
            self.embedder,
            self.settings.embed,
            ray_address=ray_address,
            batch_size=batch_size,
            on_progress=on_progress,
        )

    def embed_in_background(self, *, ray_address: str | None = None, batch_size: int | None = None) -> int | None:
        """Start the embedding job in its own process (or find the running one); returns its pid, or
        None when every passage has its vector already and there is nothing to start."""
        running = jobs.latest(self.workspace, JOB_KIND)
        if not (running and running.state == "running") and self.pending_embeddings() == 0:
            return None
        return start_background(self.workspace, ray_address=ray_address, batch_size=batch_size)

    def reindex(self, *, on_wait: Callable[[str], None] | None = None, wait_s: float = WRITE_WAIT_S) -> int:
        """Rebuild the lexical index from the database; returns the number of chunks indexed."""
        with self._writing(wait_s, on_wait):
            self.lexical.writer.delete_all_documents()
            self.workspace.set_state("lexical:watermark", "0")
            return catch_up_lexical(self.workspace, self.lexical)

    # -- reading ---------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: Mode = "hybrid",
        source: str | None = None,
        author: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        max_per_document: int | None = 2,
    ) -> list[Hit]:
        """The passages that best answer ``query``, each citable to document, section and span.

        ``max_per_document`` keeps one long document from filling the page with its passages
        (None lifts the limit, as evidence gathering wants).
        """
        filters = Filters(source=source, author=author, date_from=date_from, date_to=date_to)
        return self._searcher.search(
            query,
            k=k or self.settings.search.k,
            mode=mode,
            filters=filters,
            max_per_document=max_per_document,
        )

    def document(self, uid: str) -> Document:
        return store.get_document(self.workspace.db, uid)

    def chunks(self, uid: str) -> list[tuple[int, str, int, int]]:
        """``(chunk id, section, start, end)`` of a document, in reading order."""
        return store.chunks_of(self.workspace.db, store.document_id_of(self.workspace.db, uid))

    def related(self, uid: str, *, k: int = 10) -> list[RelatedDocument]:
        """Documents closest to ``uid``: by the mean of its chunk vectors, else by BM25 on its opening."""
        db = self.workspace.db
        document_id = store.document_id_of(db, uid)
        chunk_ids = [cid for cid, *_ in store.chunks_of(db, document_id)]
        vectors = self._vectors()
        ranked: list[tuple[int, float]]
        own = vectors.vectors_of(chunk_ids) if vectors else np.zeros((0, 0))
        if len(own):
            assert vectors is not None  # own is empty without vectors
            centroid = own.mean(axis=0)
            centroid /= np.linalg.norm(centroid) or 1.0
            ranked = vectors.search(centroid, limit=k * 20 + len(chunk_ids))
        else:
            doc = self.document(uid)
            opening = " ".join(doc.text.split()[:80])
            ranked = self.lexical.search(f"{doc.info.title} {opening}", limit=k * 20 + len(chunk_ids))
        owners = store.document_ids_of_chunks(db, [cid for cid, _ in ranked])
        best: dict[int, float] = {}
        for cid, score in ranked:
            owner = owners.get(cid)
            if owner is not None and owner != document_id and owner not in best:
                best[owner] = score
        top = list(best.items())[:k]
        infos = store.infos_by_document_id(db, [did for did, _ in top]) if top else {}
        return [RelatedDocument(infos[did], score) for did, score in top if did in infos]

    def sources(self) -> list[tuple[str, int]]:
        """Each source with its number of documents."""
        return self.workspace.db.execute(
            "SELECT source, count(*) FROM documents GROUP BY source ORDER BY count(*) DESC"
        ).fetchall()

    def stats(self) -> LibraryStats:
        db = self.workspace.db
        documents, chunks = db.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)"
        ).fetchone()
        embedded = dict(db.execute("SELECT embedder, count(*) FROM embeddings GROUP BY embedder").fetchall())
        job = jobs.latest(self.workspace, JOB_KIND)
        return LibraryStats(
            documents=documents,
            chunks=chunks,
            embedded=embedded,
            sources=self.sources(),
            embed_job=job,
        )

    def pending_embeddings(self) -> int:
        """Chunks without a vector from the configured embedder (a count: the status page polls it)."""
        return self.workspace.db.execute(
            "SELECT (SELECT count(*) FROM chunks) - (SELECT count(*) FROM embeddings WHERE embedder = ?)",
            (self.embedder_name,),
        ).fetchone()[0]

    def close(self) -> None:
        self.lexical.close()
        super().close()

    # -- internals -------------------------------------------------------------------------------
    @contextmanager
    def _writing(self, wait_s: float, on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """Be the one writer of the search index, across processes, for the block; let the writer go
        after it, so that a long-running process (the web app) never keeps others from writing."""
        lock = self.workspace.path / "indexes" / "lexical.lock"
        with self._ingest_lock, exclusive(lock, what="the library's search index", wait_s=wait_s, on_wait=on_wait):
            try:
                yield
            finally:
                self.lexical.close()

    def _vectors(self) -> VectorStore | None:
        """The vectors of the configured embedder, if it has embedded anything."""
        if self._vector_store is None:
            self._vector_store = VectorStore.existing(self.workspace, self.embedder_name)
        return self._vector_store

    def _embed_query(self, query: str) -> np.ndarray:
        return self.embedder.embed([query])[0]
