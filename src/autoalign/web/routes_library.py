"""The library's pages and JSON API: each route parses its input, asks the Library, and renders.

Searching, ranking and citing live in :mod:`autoalign.library`; nothing here decides what a
result is, only how it looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from autoalign.errors import AutoalignError
from autoalign.library import MAX_UPLOAD_BYTES, Hit, Library, LibraryStats
from autoalign.library.parsers import SUPPORTED_SUFFIXES
from autoalign.library.search import MODES, Mode
from autoalign.web import schemas
from autoalign.web.templating import page
from autoalign.web.text import cite_span, reader_view
from autoalign.web.uploads import RecentUploads, UploadSummary, add_file
from autoalign.web.urls import reader_path

#: Most results one search may ask for: more is a crawl, not a search.
MAX_K = 200
RELATED = 5

#: The pages and their forms, for the browser; the JSON API (``router``) is what the API
#: description (``/api/openapi.json``) lists.
pages = APIRouter(include_in_schema=False)
router = APIRouter()


def library_of(request: Request) -> Library:
    return request.app.state.library


LibraryDep = Annotated[Library, Depends(library_of)]


def uploads_of(request: Request) -> RecentUploads:
    return request.app.state.uploads


UploadsDep = Annotated[RecentUploads, Depends(uploads_of)]


@dataclass(frozen=True, slots=True)
class SearchForm:
    """The search form's fields as submitted; empty fields mean "no restriction".

    ``k`` stays text until used because a cleared number field submits ``k=``, which means
    "the default", not an error.
    """

    q: str | None
    mode: Mode
    source: str
    author: str
    date_from: str
    date_to: str
    k: str

    def run(self, library: Library) -> list[Hit]:
        return library.search(
            self.q or "",
            k=self._k(),
            mode=self.mode,
            source=self.source or None,
            author=self.author.strip() or None,
            date_from=self.date_from or None,
            date_to=self.date_to or None,
        )

    def _k(self) -> int | None:
        if not self.k.strip():
            return None
        try:
            k = int(self.k)
        except ValueError:
            k = 0
        if not 1 <= k <= MAX_K:
            raise AutoalignError(f"the number of results must be a whole number from 1 to {MAX_K}, not {self.k!r}")
        return k


def search_form(
    q: str | None = None,
    mode: Mode = "hybrid",
    source: str = "",
    author: str = "",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    k: str = "",
) -> SearchForm:
    return SearchForm(q, mode, source, author, date_from, date_to, k)


SearchDep = Annotated[SearchForm, Depends(search_form)]


def pending_of(library: Library, stats: LibraryStats) -> int:
    """Passages awaiting a vector; an empty library has none, and asking would load the embedder."""
    return library.pending_embeddings() if stats.chunks else 0


# -- pages -------------------------------------------------------------------------------------------
@pages.get("/library", response_class=HTMLResponse)
def library_page(
    request: Request,
    library: LibraryDep,
    uploads: UploadsDep,
    form: SearchDep,
    embed: int | None = None,
    upload: str | None = None,
) -> HTMLResponse:
    """Search form, results and status; an empty library shows how to fill it instead.

    ``embed`` is the pid of an embedding job just started here, ``upload`` the key of an upload
    summary to show (see :mod:`autoalign.web.uploads`).
    """
    stats = library.stats()
    hits: list[Hit] | None = None
    error = None
    if form.q is not None and stats.documents:
        try:
            hits = form.run(library)
        except AutoalignError as exc:  # shown beside the form, where the user can fix the query
            error = str(exc)
    return page(
        request,
        "library.html",
        {
            "form": form,
            "hits": hits,
            "error": error,
            "modes": MODES,
            "sources": library.sources(),
            "default_k": library.settings.search.k,
            "max_k": MAX_K,
            "stats": stats,
            "pending": pending_of(library, stats),
            "embed_pid": embed,
            "upload_key": upload,
            "upload": uploads.get(upload) if upload else None,
            "supported": SUPPORTED_SUFFIXES,
            "max_upload_mb": MAX_UPLOAD_BYTES // 1_000_000,
            "workspace": library.workspace.path,
        },
        status_code=400 if error else 200,
    )


@pages.post("/library/add")
def add_documents(
    library: LibraryDep, uploads: UploadsDep, files: Annotated[list[UploadFile], File(default_factory=list)]
) -> RedirectResponse:
    """Add each chosen file, then redirect to the page that shows what came of them, so that
    reloading it does not send the files again. (FastAPI drops the nameless, empty part that a
    browser sends for a file input left empty, so ``files`` is then empty, not an error.)"""
    summary = UploadSummary(tuple(add_file(library, upload) for upload in files))
    return RedirectResponse(f"/library?upload={uploads.put(summary)}", status_code=303)


@pages.post("/library/embed")
def embed_pending(library: LibraryDep) -> RedirectResponse:
    """Start (or find) the background embedding job; the library page then follows its progress."""
    pid = library.embed_in_background()
    return RedirectResponse(f"/library?embed={pid or 0}", status_code=303)  # 0: nothing to embed


@pages.get("/library/doc/{uid:path}", response_class=HTMLResponse)
def reader_page(
    request: Request, uid: str, library: LibraryDep, start: str | None = None, end: str | None = None
) -> HTMLResponse:
    """The document around the cited span; related documents arrive separately (``related_api``),
    so the text shows at once even when finding neighbours of a long document takes a while."""
    document = library.document(uid)
    cite = cite_span(start, end, len(document.text))
    return page(request, "reader.html", {"document": document, "cite": cite, "view": reader_view(document.text, cite)})


@pages.get("/library/text/{uid:path}", response_class=PlainTextResponse)
def plain_text(uid: str, library: LibraryDep) -> PlainTextResponse:
    """The whole text, for documents too long to render as a page."""
    return PlainTextResponse(library.document(uid).text)


# -- JSON API ----------------------------------------------------------------------------------------
def status_json(stats: LibraryStats, pending: int) -> dict[str, Any]:
    """The counts and the embedding job; ``pending`` counts passages without a vector from the
    configured embedder, which the "Embed pending passages" button would embed."""
    job = stats.embed_job
    return {
        "documents": stats.documents,
        "chunks": stats.chunks,
        "embedded": stats.embedded,
        "pending": pending,
        "sources": [{"source": source, "documents": n} for source, n in stats.sources],
        "embed_job": None
        if job is None
        else {
            "id": job.id,
            "pid": job.pid,
            "state": job.state,
            "done": job.done,
            "total": job.total,
            "fraction": job.fraction,
            "message": job.message,
            "started_at": job.created_at,
            "updated_at": job.updated_at,
        },
    }


@router.get("/api/library/search", response_model=schemas.SearchResults)
def search_api(library: LibraryDep, form: SearchDep) -> dict[str, Any]:
    hits = form.run(library)
    return {
        "query": form.q,
        "mode": form.mode,
        "hits": [hit.as_dict() | {"reader_url": reader_path(hit.document.uid, hit.start, hit.end)} for hit in hits],
    }


@router.get("/api/library/documents/{uid:path}", response_model=schemas.DocumentText)
def document_api(uid: str, library: LibraryDep) -> dict[str, Any]:
    document = library.document(uid)
    return document.info.as_dict() | {
        "text": document.text,
        "metadata": document.metadata,
        "origin": document.origin,
        "added_at": document.added_at,
        "version": document.version,
    }


@router.get("/api/library/related/{uid:path}", response_model=schemas.RelatedDocuments)
def related_api(uid: str, library: LibraryDep, k: Annotated[int, Query(ge=1, le=50)] = RELATED) -> dict[str, Any]:
    return {
        "related": [
            {"document": r.document.as_dict(), "score": r.score, "reader_url": reader_path(r.document.uid)}
            for r in library.related(uid, k=k)
        ]
    }


@router.get("/api/library/status", response_model=schemas.LibraryStatus)
def status_api(library: LibraryDep) -> dict[str, Any]:
    stats = library.stats()
    return status_json(stats, pending_of(library, stats))
