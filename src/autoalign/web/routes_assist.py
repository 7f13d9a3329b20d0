"""The assistants' pages and JSON API: each route parses its input, calls the Assistant, and renders.

Retrieval, citing, verifying and storing live in :mod:`autoalign.assist`; here are only the URLs,
the forms, the shapes of the JSON and the pages. Every form that runs an assistant stores its
result and redirects to the result's own page (``/assist/result/{id}``), so a reload shows the
answer again instead of asking the model a second time, and the address can be kept or shared.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from autoalign.assist import IDEAS, KINDS, MAX_IDEAS, Assistant, Kind, Result
from autoalign.assist.store import Session
from autoalign.errors import AutoalignError, NotFoundError
from autoalign.loom.tree import MAX_ID
from autoalign.web import schemas
from autoalign.web.templating import page, templates, when
from autoalign.web.urls import reader_path

#: The pages and their forms, for the browser; the JSON API (``router``) is what the API
#: description (``/api/openapi.json``) lists.
pages = APIRouter(include_in_schema=False)
router = APIRouter()
T = TypeVar("T")

#: Results the assistants' page lists.
HISTORY = 30
#: Document ids in the form's one text field: one per line or separated by commas.
_ID_SEPARATORS = re.compile(r"[,\n]")
#: What each kind of result is called on its page.
HEADINGS: dict[str, str] = {
    "ask": "Question",
    "summarize": "Summary",
    "explain": "Explanation",
    "distill": "Distillation",
    "brainstorm": "Ideas",
    "duck": "Rubber duck",
}

ResultId = Annotated[int, Path(ge=1, le=MAX_ID)]
SessionId = Annotated[int, Path(ge=1, le=MAX_ID)]


def assistant_of(request: Request) -> Assistant:
    return request.app.state.assistant


AssistantDep = Annotated[Assistant, Depends(assistant_of)]


def result_json(result: Result) -> dict[str, Any]:
    """A result as the JSON API gives it: its record, with the reader's link beside each reference
    and each item's place."""
    data = result.as_dict()
    for reference, span in zip(data["references"], result.references, strict=True):
        reference["reader_url"] = reader_path(span.document.uid, span.start, span.end)
    for section, stored in zip(data["sections"], result.sections, strict=True):
        for item, kept in zip(section["items"], stored.items, strict=True):
            item["link"] = reader_path(kept.see.uid, kept.see.start, kept.see.end) if kept.see else None
    return data


templates.env.globals.update(assist_headings=HEADINGS, when=when)


def document_ids(text: str) -> list[str]:
    """The ids typed in the documents field, in order, without blanks or repeats."""
    return list(dict.fromkeys(part.strip() for part in _ID_SEPARATORS.split(text) if part.strip()))


@dataclass(frozen=True, slots=True)
class DocumentsForm:
    """The documents a form names: the assistants' page sends the typed list (``documents``); the
    reader's buttons send one exact id (``document``), taken whole even if it holds a comma."""

    typed: str
    exact: str

    @property
    def uids(self) -> list[str]:
        return [self.exact] if self.exact else document_ids(self.typed)

    @property
    def values(self) -> dict[str, str]:
        """What the form shows again when it is refused."""
        return {"documents": self.typed or self.exact}


def documents_form(documents: Annotated[str, Form()] = "", document: Annotated[str, Form()] = "") -> DocumentsForm:
    return DocumentsForm(documents, document)


DocumentsDep = Annotated[DocumentsForm, Depends(documents_form)]


def one_document(uids: list[str]) -> str:
    """Distill reads one post at a time; a list is refused rather than cut silently."""
    if len(uids) != 1:
        raise AutoalignError(f"distill takes one document; {len(uids)} were given")
    return uids[0]


def result_url(result_id: int | None) -> str:
    return f"/assist/result/{result_id}"


def session_url(session_id: int) -> str:
    return f"/assist/duck/{session_id}"


@dataclass(frozen=True, slots=True)
class FormState:
    """A form of the assistants' page as the user left it, with the message that refused it."""

    form: str = ""
    message: str = ""
    values: dict[str, str] = field(default_factory=dict)
    status: int = 200


# -- pages -------------------------------------------------------------------------------------------
def assist_page(
    request: Request, assistant: Assistant, state: FormState | None = None, *, kind: Kind | None = None
) -> HTMLResponse:
    """The assistants' forms and the recent results; a refused form comes back filled in, with
    its message beside it."""
    state = state or FormState()
    history = [(info, when(info.created_at)) for info in assistant.history(kind=kind, limit=HISTORY)]
    return page(
        request,
        "assist.html",
        {
            "state": state,
            "history": history,
            "kind": kind,
            "kinds": KINDS,
            "ideas": IDEAS,
            "max_ideas": MAX_IDEAS,
        },
        status_code=state.status,
    )


def run_form(
    request: Request, assistant: Assistant, form: str, values: dict[str, str], run: Callable[[], Result]
) -> Response:
    """Run an assistant for a form: the stored result's page, or the form again with the refusal."""
    try:
        result = run()
    except AutoalignError as exc:
        state = FormState(form, str(exc), values, exc.http_status)
        return assist_page(request, assistant, state)
    return RedirectResponse(result_url(result.id), status_code=303)


@pages.get("/assist", response_class=HTMLResponse)
def assist_index(request: Request, assistant: AssistantDep, kind: Kind | None = None) -> HTMLResponse:
    return assist_page(request, assistant, kind=kind)


@pages.post("/assist/ask")
def ask_form(request: Request, assistant: AssistantDep, question: Annotated[str, Form()] = "") -> Response:
    return run_form(request, assistant, "ask", {"question": question}, lambda: assistant.ask(question))


@pages.post("/assist/summarize")
def summarize_form(request: Request, assistant: AssistantDep, form: DocumentsDep) -> Response:
    return run_form(request, assistant, "documents", form.values, lambda: assistant.summarize(form.uids))


@pages.post("/assist/explain")
def explain_form(request: Request, assistant: AssistantDep, form: DocumentsDep) -> Response:
    return run_form(request, assistant, "documents", form.values, lambda: assistant.explain(form.uids))


@pages.post("/assist/distill")
def distill_form(request: Request, assistant: AssistantDep, form: DocumentsDep) -> Response:
    return run_form(request, assistant, "documents", form.values, lambda: assistant.distill(one_document(form.uids)))


@pages.post("/assist/brainstorm")
def brainstorm_form(
    request: Request,
    assistant: AssistantDep,
    question: Annotated[str, Form()] = "",
    n: Annotated[int, Form(ge=1, le=MAX_IDEAS)] = IDEAS,
) -> Response:
    values = {"question": question, "n": str(n)}
    return run_form(request, assistant, "brainstorm", values, lambda: assistant.brainstorm(question, n=n))


@pages.get("/assist/result/{result_id}.md")
def result_markdown(result_id: ResultId, assistant: AssistantDep) -> Response:
    """The result as a markdown file, references included, for notes and papers."""
    result = assistant.result(result_id)
    return Response(
        Assistant.markdown(result),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="assist-{result_id}-{result.kind}.md"'},
    )


@pages.get("/assist/result/{result_id}", response_class=HTMLResponse)
def result_page(request: Request, result_id: ResultId, assistant: AssistantDep) -> HTMLResponse:
    result = assistant.result(result_id)
    return page(request, "assist_result.html", {"result": result, "created": when(result.created_at or 0)})


@pages.post("/assist/result/{result_id}/grow")
def grow_form(
    result_id: ResultId,
    assistant: AssistantDep,
    section: Annotated[int, Form(ge=0, le=MAX_ID)],
    item: Annotated[int, Form(ge=0, le=MAX_ID)],
) -> RedirectResponse:
    """A brainstormed idea as a new Loom tree, opened in the Loom."""
    tree = assistant.grow(result_id, section, item)
    return RedirectResponse(f"/loom/{tree.id}", status_code=303)


@pages.get("/assist/duck", response_class=HTMLResponse)
def duck_index(request: Request, assistant: AssistantDep) -> HTMLResponse:
    return duck_page(request, assistant, None)


@pages.get("/assist/duck/{session_id}", response_class=HTMLResponse)
def duck_session_page(request: Request, session_id: SessionId, assistant: AssistantDep) -> HTMLResponse:
    return duck_page(request, assistant, assistant.session(session_id))


def duck_page(
    request: Request,
    assistant: Assistant,
    session: Session | None,
    *,
    text: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    """A conversation (or none yet), the box to go on with it, and the other conversations."""
    sessions = [(sid, title, when(updated)) for sid, title, updated in assistant.sessions()]
    context = {"session": session, "sessions": sessions, "text": text, "error": error}
    return page(request, "assist_duck.html", context, status_code=status)


@pages.post("/assist/duck")
def duck_form(
    request: Request,
    assistant: AssistantDep,
    text: Annotated[str, Form()] = "",
    session: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    """One turn: the researcher's text, then the duck's reply; the conversation shows both."""
    try:
        session_id, _reply = assistant.duck(text, session=session)
    except NotFoundError:
        raise  # an unknown session: the 404 page, there is no conversation to show the text in
    except AutoalignError as exc:
        current = assistant.session(session) if session is not None else None
        return duck_page(request, assistant, current, text=text, error=str(exc), status=exc.http_status)
    return RedirectResponse(f"{session_url(session_id)}#latest", status_code=303)


@pages.get("/assist/write", response_class=HTMLResponse)
def write_page(request: Request) -> HTMLResponse:
    """The writing editor; /static/assist.js asks ``/api/assist/complete`` for the next words."""
    return page(request, "assist_write.html")


async def cancelled_if_gone(request: Request, work: Callable[[threading.Event], T]) -> T:
    """``work(cancel)`` in the thread pool, cancelled if the client goes away first.

    The editor drops a suggestion it asked for as soon as the user types on; without this the
    model would still write it out, and the next suggestion would wait for the model's lock.
    (``Request.is_disconnected`` cannot be polled here: behind the app's HTTP middleware its
    instant check never sees the disconnect, so a task waits for the message instead.)
    """
    cancel = threading.Event()

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        cancel.set()

    watcher = asyncio.ensure_future(watch())
    try:
        return await run_in_threadpool(work, cancel)
    finally:
        watcher.cancel()


# -- JSON API ----------------------------------------------------------------------------------------
@router.post("/api/assist/ask", response_model=schemas.AssistResult)
def ask_api(assistant: AssistantDep, question: Annotated[str, Body(embed=True)] = "") -> dict[str, Any]:
    return result_json(assistant.ask(question))


@router.post("/api/assist/summarize", response_model=schemas.AssistResult)
def summarize_api(
    assistant: AssistantDep,
    documents: Annotated[list[str], Body(embed=True)],
    sentences: Annotated[int | None, Body(embed=True, ge=1, le=100)] = None,
) -> dict[str, Any]:
    return result_json(assistant.summarize(documents, sentences=sentences))


@router.post("/api/assist/explain", response_model=schemas.AssistResult)
def explain_api(assistant: AssistantDep, documents: Annotated[list[str], Body(embed=True)]) -> dict[str, Any]:
    return result_json(assistant.explain(documents))


@router.post("/api/assist/distill", response_model=schemas.AssistResult)
def distill_api(assistant: AssistantDep, document: Annotated[str, Body(embed=True)]) -> dict[str, Any]:
    return result_json(assistant.distill(document))


@router.post("/api/assist/brainstorm", response_model=schemas.AssistResult)
def brainstorm_api(
    assistant: AssistantDep,
    question: Annotated[str, Body(embed=True)] = "",
    n: Annotated[int, Body(embed=True, ge=1, le=MAX_IDEAS)] = IDEAS,
    seed: Annotated[int | None, Body(embed=True, ge=0, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    return result_json(assistant.brainstorm(question, n=n, seed=seed))


@router.post("/api/assist/duck", response_model=schemas.DuckTurn)
def duck_api(
    assistant: AssistantDep,
    text: Annotated[str, Body(embed=True)] = "",
    session: Annotated[int | None, Body(embed=True, ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    """One rubber-duck turn; without ``session`` a new conversation starts."""
    session_id, reply = assistant.duck(text, session=session)
    return {"session": session_id, "result": result_json(reply)}


@router.post("/api/assist/complete", response_model=schemas.Completion)
async def complete_api(
    request: Request,
    assistant: AssistantDep,
    draft: Annotated[str, Body(embed=True)] = "",
    max_tokens: Annotated[int, Body(embed=True, ge=1, le=256)] = 24,
) -> dict[str, Any]:
    """The next words of the draft, which the editor shows as ghost text."""
    completion = await cancelled_if_gone(
        request, lambda cancel: assistant.autocomplete(draft, max_tokens=max_tokens, cancel=cancel)
    )
    return {"completion": completion}


@router.get("/api/assist/results", response_model=schemas.Results)
def history_api(assistant: AssistantDep, kind: Kind | None = None) -> dict[str, Any]:
    return {
        "results": [
            {
                "id": info.id,
                "kind": info.kind,
                "prompt": info.prompt,
                "model": info.model,
                "created_at": info.created_at,
                "url": result_url(info.id),
            }
            for info in assistant.history(kind=kind, limit=HISTORY)
        ]
    }


@router.get("/api/assist/results/{result_id}", response_model=schemas.AssistResult)
def result_api(result_id: ResultId, assistant: AssistantDep) -> dict[str, Any]:
    return result_json(assistant.result(result_id))


@router.post("/api/assist/results/{result_id}/grow", status_code=201, response_model=schemas.TreeLink)
def grow_api(
    result_id: ResultId,
    assistant: AssistantDep,
    section: Annotated[int, Body(embed=True, ge=0, le=MAX_ID)],
    item: Annotated[int, Body(embed=True, ge=0, le=MAX_ID)],
) -> dict[str, Any]:
    tree = assistant.grow(result_id, section, item)
    return tree.info().as_dict() | {"url": f"/loom/{tree.id}"}


@router.get("/api/assist/sessions", response_model=schemas.Sessions)
def sessions_api(assistant: AssistantDep) -> dict[str, Any]:
    return {
        "sessions": [
            {"id": sid, "title": title, "updated_at": updated, "url": session_url(sid)}
            for sid, title, updated in assistant.sessions()
        ]
    }


@router.get("/api/assist/sessions/{session_id}", response_model=schemas.Session)
def session_api(session_id: SessionId, assistant: AssistantDep) -> dict[str, Any]:
    session = assistant.session(session_id)
    return {
        "id": session.id,
        "title": session.title,
        "turns": [
            {
                "role": turn.role,
                "text": turn.text,
                "result": result_json(turn.result) if turn.result else None,
                "created_at": turn.created_at,
            }
            for turn in session.turns
        ],
    }
