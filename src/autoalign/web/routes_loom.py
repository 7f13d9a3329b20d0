"""The Loom's pages and JSON API: each route parses its input, calls the Tree API, and renders.

Every tree operation lives in :mod:`autoalign.loom`; here are only the URLs, the shapes of the
JSON, and the bridge that streams a generation (a blocking iterator that runs the model) to the
browser as Server-Sent Events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from autoalign.config import EMBEDDED_PROFILE
from autoalign.errors import AutoalignError, NotFoundError
from autoalign.loom import BUILTIN_TAGS, ContinuationDone, GenerationEvent, Loom, Node, Started, Tree
from autoalign.loom.tree import MAX_ID
from autoalign.models import TokenEvent
from autoalign.web import schemas
from autoalign.web.templating import page, when

log = logging.getLogger(__name__)

#: Largest id SQLite stores; a bigger number in a URL is refused here instead of overflowing there.
#: Children sent per page: a node with thousands of continuations is listed a page at a time.
CHILDREN_PAGE = 200
#: Most children or search results one request may ask for.
MAX_PAGE = 1000
#: Path nodes (counted up from the current one) sent with their tokens. Deeper paths send the
#: older segments as text only: the reader shows them whole, and a path thousands of nodes deep
#: would otherwise weigh megabytes on every step.
PATH_TOKEN_NODES = 64

#: The pages and their forms, for the browser; the JSON API (``router``) is what the API
#: description (``/api/openapi.json``) lists.
pages = APIRouter(include_in_schema=False)
router = APIRouter()

TreeId = Annotated[int, Path(ge=1, le=MAX_ID)]
NodeId = Annotated[int, Path(ge=1, le=MAX_ID)]


def loom_of(request: Request) -> Loom:
    return request.app.state.loom


LoomDep = Annotated[Loom, Depends(loom_of)]


def tree_of(tree_id: TreeId, loom: LoomDep) -> Tree:
    return loom.tree(tree_id)


TreeDep = Annotated[Tree, Depends(tree_of)]


class Generations:
    """The generations in flight, by id, so that another request can cancel one."""

    def __init__(self) -> None:
        self._cancels: dict[str, threading.Event] = {}

    def add(self, cancel: threading.Event) -> str:
        generation_id = uuid.uuid4().hex
        self._cancels[generation_id] = cancel
        return generation_id

    def cancel(self, generation_id: str) -> None:
        cancel = self._cancels.get(generation_id)
        if cancel is None:
            raise NotFoundError(f"no generation {generation_id!r} is running (it may have finished)")
        cancel.set()

    def discard(self, generation_id: str) -> None:
        self._cancels.pop(generation_id, None)


def generations_of(request: Request) -> Generations:
    return request.app.state.generations


GenerationsDep = Annotated[Generations, Depends(generations_of)]


# -- JSON shapes -------------------------------------------------------------------------------------
def node_json(node: Node, *, tokens: bool = True) -> dict[str, Any]:
    """A node; without ``tokens`` the key is left out (absent means "not sent", not "none")."""
    data = node.as_dict()
    if not tokens:
        del data["tokens"]
    return data


def nodes_json(nodes: list[Node]) -> list[dict[str, Any]]:
    """Nodes for a list (children, search results, bookmarks): lists never need the tokens."""
    return [node_json(node, tokens=False) for node in nodes]


def tree_state(tree: Tree) -> dict[str, Any]:
    """What the Loom page shows: the tree, the path root -> current, the hoisted node (the top of
    the tree view, which need not be on the path), chapters and bookmarks."""
    info = tree.info()
    path = tree.path(info.current_id)
    first_with_tokens = len(path) - PATH_TOKEN_NODES
    return {
        "tree": info.as_dict(),
        "path": [node_json(node, tokens=i >= first_with_tokens) for i, node in enumerate(path)],
        "hoisted": node_json(tree.node(info.hoisted_id), tokens=False) if info.hoisted_id else None,
        "chapters": [dataclasses.asdict(chapter) for chapter in tree.chapters()],
        "bookmarks": nodes_json(tree.tagged("bookmark")),
    }


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {orjson.dumps(data).decode()}\n\n"


def event_sse(event: GenerationEvent) -> str:
    if isinstance(event, TokenEvent):
        token = event.token
        return sse("token", {"index": event.index, "text": token.text, "logprob": token.logprob, "top": token.top})
    if isinstance(event, ContinuationDone):
        node = node_json(event.node) if event.node else None
        return sse("node", {"index": event.index, "finish_reason": event.finish_reason, "node": node})
    raise TypeError(f"unexpected generation event {event!r}")


#: What the generation stream holds, for ``/docs``.
GENERATION_EVENTS = (
    "Server-Sent Events: `started` (the generation's id), then `token` and `node` events for each "
    "continuation, then `done`; `error` if the model fails on the way."
)


# -- generation streaming ----------------------------------------------------------------------------
async def in_thread(events: Iterator[GenerationEvent]) -> AsyncIterator[GenerationEvent]:
    """``events`` driven to their end by a thread of their own, handed over as they come.

    A thread of its own, not the thread pool step by step: when the client goes away, the
    generation must still run on to the model's next token, see the cancel flag, and store what
    it had (the engine keeps a cancelled continuation); a generator left suspended would hold the
    model's lock until garbage collection.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def drive() -> None:
        try:
            for event in events:
                loop.call_soon_threadsafe(queue.put_nowait, ("event", event))
            loop.call_soon_threadsafe(queue.put_nowait, ("end", None))
        except Exception as exc:  # handed to the request, which reports it as an error event
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

    threading.Thread(target=drive, name="loom-generation", daemon=True).start()
    while True:
        kind, value = await queue.get()
        if kind == "end":
            return
        if kind == "error":
            raise value
        yield value


async def generation_stream(
    started: Started,
    events: Iterator[GenerationEvent],
    cancel: threading.Event,
    generations: Generations,
    generation_id: str,
) -> AsyncIterator[str]:
    """started, then token and node events, then done; an error event if the model fails.

    However the stream ends (finished, failed, cancelled, or the client gone) the cancel flag is
    set, so the model stops at its next token.
    """
    try:
        yield sse("started", dataclasses.asdict(started) | {"generation": generation_id})
        try:
            async for event in in_thread(events):
                yield event_sse(event)
        except AutoalignError as exc:
            yield sse("error", {"error": str(exc)})
        except Exception:
            log.exception("Loom generation %s failed", generation_id)
            yield sse("error", {"error": "the generation failed unexpectedly; the server log has the details"})
        yield sse("done", {"cancelled": cancel.is_set()})
    finally:
        cancel.set()
        generations.discard(generation_id)


# -- pages -------------------------------------------------------------------------------------------
@pages.get("/loom", response_class=HTMLResponse)
def loom_page(request: Request, loom: LoomDep) -> HTMLResponse:
    """Every tree, most recently changed first, and the form that starts a new one."""
    trees = [(info, when(info.updated_at)) for info in loom.trees()]
    return page(request, "loom_index.html", {"trees": trees})


@pages.post("/loom/new")
def new_tree_form(
    loom: LoomDep, prompt: Annotated[str, Form()] = "", title: Annotated[str, Form()] = ""
) -> RedirectResponse:
    tree = loom.new_tree(prompt, title=title.strip())
    return RedirectResponse(f"/loom/{tree.id}", status_code=303)


@pages.post("/loom/{tree_id}/delete")
def delete_tree_form(tree_id: TreeId, loom: LoomDep) -> RedirectResponse:
    loom.delete_tree(tree_id)
    return RedirectResponse("/loom", status_code=303)


@pages.get("/loom/{tree_id}", response_class=HTMLResponse)
def tree_page(request: Request, tree: TreeDep) -> HTMLResponse:
    """The Loom itself; the script fills it from the JSON API, so there is one renderer of trees."""
    profiles = sorted({EMBEDDED_PROFILE, *tree.workspace.settings.models.profiles})
    return page(request, "loom.html", {"info": tree.info(), "profiles": profiles, "builtin_tags": BUILTIN_TAGS})


# -- JSON API: trees ---------------------------------------------------------------------------------
@router.get("/api/loom/trees", response_model=schemas.Trees)
def trees_api(loom: LoomDep) -> dict[str, Any]:
    return {"trees": [info.as_dict() for info in loom.trees()]}


@router.post("/api/loom/trees", status_code=201, response_model=schemas.TreeInfo)
def create_tree_api(
    loom: LoomDep,
    prompt: Annotated[str, Body(embed=True)] = "",
    title: Annotated[str, Body(embed=True)] = "",
    settings: Annotated[dict[str, Any] | None, Body(embed=True)] = None,
) -> dict[str, Any]:
    return loom.new_tree(prompt, title=title, settings=settings).info().as_dict()


@router.get("/api/loom/trees/{tree_id}", response_model=schemas.TreeState)
def tree_api(tree: TreeDep) -> dict[str, Any]:
    return tree_state(tree)


@router.patch("/api/loom/trees/{tree_id}", response_model=schemas.TreeInfo)
def rename_tree_api(tree: TreeDep, title: Annotated[str, Body(embed=True, min_length=1)]) -> dict[str, Any]:
    tree.rename(title)
    return tree.info().as_dict()


@router.delete("/api/loom/trees/{tree_id}", response_model=schemas.TreeDeleted)
def delete_tree_api(tree_id: TreeId, loom: LoomDep) -> dict[str, Any]:
    loom.delete_tree(tree_id)
    return {"deleted": tree_id}


@router.patch("/api/loom/trees/{tree_id}/settings", response_model=schemas.TreeSettings)
def settings_api(tree: TreeDep, changes: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return {"settings": tree.update_settings(**changes).model_dump()}


@router.get("/api/loom/trees/{tree_id}/search", response_model=schemas.FoundNodes)
def search_api(tree: TreeDep, q: str = "", limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> dict[str, Any]:
    return {"query": q, "nodes": nodes_json(tree.search(q, limit=limit))}


@router.get("/api/loom/trees/{tree_id}/tagged", response_model=schemas.TaggedNodes)
def tagged_api(tree: TreeDep, tag: Annotated[str, Query(min_length=1)] = "bookmark") -> dict[str, Any]:
    return {"tag": tag, "nodes": nodes_json(tree.tagged(tag))}


@router.post("/api/loom/trees/{tree_id}/hoist", response_model=schemas.Hoisted)
def hoist_api(
    tree: TreeDep, node_id: Annotated[int | None, Body(embed=True, ge=1, le=MAX_ID)] = None
) -> dict[str, Any]:
    """Show the tree view from ``node_id`` down; null hoists back to the root."""
    tree.hoist(node_id)
    return {"hoisted_id": node_id}


@router.post("/api/loom/trees/{tree_id}/walk", response_model=schemas.Node)
def walk_api(tree: TreeDep, node_id: Annotated[int | None, Body(embed=True, ge=1, le=MAX_ID)] = None) -> dict[str, Any]:
    """Descend at random from ``node_id`` (default: the current node) to a leaf, made current."""
    return node_json(tree.walk(node_id))


@router.post("/api/loom/trees/{tree_id}/undo-delete", response_model=schemas.Deletion)
def undo_delete_api(
    tree: TreeDep, deletion_id: Annotated[int | None, Body(embed=True, ge=1, le=MAX_ID)] = None
) -> dict[str, Any]:
    """Restore a deleted subtree: the given deletion, or the latest one not yet undone."""
    return dataclasses.asdict(tree.undo_delete(deletion_id))


@router.post(
    "/api/loom/trees/{tree_id}/chapters",
    status_code=201,
    response_model=schemas.Chapter,
)
def add_chapter_api(
    tree: TreeDep,
    node_id: Annotated[int, Body(embed=True, ge=1, le=MAX_ID)],
    title: Annotated[str, Body(embed=True, min_length=1)],
) -> dict[str, Any]:
    return dataclasses.asdict(tree.add_chapter(node_id, title))


@router.delete(
    "/api/loom/trees/{tree_id}/chapters/{chapter_id}",
    response_model=schemas.ChapterRemoved,
)
def remove_chapter_api(tree: TreeDep, chapter_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
    tree.remove_chapter(chapter_id)
    return {"removed": chapter_id}


# -- JSON API: nodes ---------------------------------------------------------------------------------
@router.get("/api/loom/trees/{tree_id}/nodes/{node_id}", response_model=schemas.NodeDetail)
def node_api(tree: TreeDep, node_id: NodeId) -> dict[str, Any]:
    """A node with what the editor shows beside it: earlier texts, chapter, effective settings."""
    node = tree.node(node_id)
    chapter = tree.chapter_of(node_id)
    return {
        "node": node_json(node),
        "history": [{"text": text, "changed_at": at} for text, at in tree.history(node_id)],
        "chapter": dataclasses.asdict(chapter) if chapter else None,
        "settings": tree.effective_settings(node_id).model_dump(),
    }


@router.get(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/children",
    response_model=schemas.Children,
)
def children_api(
    tree: TreeDep,
    node_id: NodeId,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = CHILDREN_PAGE,
) -> dict[str, Any]:
    """One page of a node's children, in sibling order; ``total`` says how many there are."""
    children = tree.children(node_id, offset=offset, limit=limit)
    return {"children": nodes_json(children), "offset": offset, "total": tree.node(node_id).child_count}


@router.get(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/sibling",
    response_model=schemas.ListedNode | None,
)
def sibling_api(tree: TreeDep, node_id: NodeId, step: Annotated[int, Query(ge=-1, le=1)] = 1) -> dict[str, Any] | None:
    """The next (``step=1``) or previous (``step=-1``) sibling, or null at either end."""
    sibling = tree.sibling(node_id, step)
    return node_json(sibling, tokens=False) if sibling else None


@router.post(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/children",
    status_code=201,
    response_model=schemas.Node,
)
def add_child_api(tree: TreeDep, node_id: NodeId, text: Annotated[str, Body(embed=True)]) -> dict[str, Any]:
    """A continuation written by hand."""
    return node_json(tree.add_child(node_id, text))


@router.delete("/api/loom/trees/{tree_id}/nodes/{node_id}", response_model=schemas.Deletion)
def delete_node_api(tree: TreeDep, node_id: NodeId) -> dict[str, Any]:
    """Hide the node's subtree; the answer's ``id`` undoes it (``undo-delete``)."""
    return dataclasses.asdict(tree.delete(node_id))


@router.post("/api/loom/trees/{tree_id}/nodes/{node_id}/go", response_model=schemas.Node)
def go_api(tree: TreeDep, node_id: NodeId) -> dict[str, Any]:
    return node_json(tree.go_to(node_id))


@router.post("/api/loom/trees/{tree_id}/nodes/{node_id}/edit", response_model=schemas.Node)
def edit_api(tree: TreeDep, node_id: NodeId, text: Annotated[str, Body(embed=True)]) -> dict[str, Any]:
    return node_json(tree.edit(node_id, text))


@router.post(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/split",
    response_model=schemas.SplitNodes,
)
def split_api(
    tree: TreeDep, node_id: NodeId, offset: Annotated[int, Body(embed=True, ge=0, le=MAX_ID)]
) -> dict[str, Any]:
    """Cut the node at ``offset`` (in characters, that is Unicode code points)."""
    head, tail = tree.split(node_id, offset)
    return {"head": node_json(head), "tail": node_json(tail)}


@router.post(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/merge-parent",
    response_model=schemas.Node,
)
def merge_parent_api(tree: TreeDep, node_id: NodeId) -> dict[str, Any]:
    return node_json(tree.merge_with_parent(node_id))


@router.post(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/merge-child",
    response_model=schemas.Node,
)
def merge_child_api(tree: TreeDep, node_id: NodeId) -> dict[str, Any]:
    return node_json(tree.merge_with_child(node_id))


@router.post("/api/loom/trees/{tree_id}/nodes/{node_id}/reparent", response_model=schemas.Node)
def reparent_api(
    tree: TreeDep,
    node_id: NodeId,
    parent_id: Annotated[int, Body(embed=True, ge=1, le=MAX_ID)],
    position: Annotated[int | None, Body(embed=True, ge=0, le=MAX_ID)] = None,
) -> dict[str, Any]:
    return node_json(tree.reparent(node_id, parent_id, position=position))


@router.post("/api/loom/trees/{tree_id}/nodes/{node_id}/tags", response_model=schemas.Node)
def tag_api(tree: TreeDep, node_id: NodeId, tag: Annotated[str, Body(embed=True)]) -> dict[str, Any]:
    return node_json(tree.tag(node_id, tag))


@router.delete(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/tags/{tag:path}",
    response_model=schemas.Node,
)
def untag_api(tree: TreeDep, node_id: NodeId, tag: str) -> dict[str, Any]:
    return node_json(tree.untag(node_id, tag))


@router.post("/api/loom/trees/{tree_id}/nodes/{node_id}/notes", response_model=schemas.Node)
def notes_api(tree: TreeDep, node_id: NodeId, notes: Annotated[str, Body(embed=True)]) -> dict[str, Any]:
    return node_json(tree.set_notes(node_id, notes))


@router.post(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/overrides",
    response_model=schemas.Node,
)
def overrides_api(
    tree: TreeDep, node_id: NodeId, overrides: Annotated[dict[str, Any] | None, Body(embed=True)]
) -> dict[str, Any]:
    """Settings for the node's subtree (null removes them)."""
    return node_json(tree.set_overrides(node_id, overrides))


@router.post(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/branch",
    response_model=schemas.BranchNodes,
)
def branch_api(
    tree: TreeDep, node_id: NodeId, token_index: Annotated[int, Body(embed=True, ge=0, le=MAX_ID)]
) -> dict[str, Any]:
    """One new node per alternative the model offered for the token, in the model's order."""
    return {"nodes": [node_json(node) for node in tree.branch_at_token(node_id, token_index)]}


@router.post(
    "/api/loom/trees/{tree_id}/nodes/{node_id}/generate",
    response_class=StreamingResponse,
    responses={200: {"description": GENERATION_EVENTS, "content": {"text/event-stream": {}}}},
)
def generate_api(
    tree: TreeDep,
    node_id: NodeId,
    loom: LoomDep,
    generations: GenerationsDep,
    overrides: Annotated[dict[str, Any] | None, Body(embed=True)] = None,
) -> StreamingResponse:
    """Generate children of the node, streamed as Server-Sent Events (see :func:`generation_stream`).

    The first event is taken here, before the response starts, so that bad overrides or a model
    that cannot load are refused with a status code, not mid-stream. The node is looked up first:
    the engine would otherwise run the model on an empty prompt and fail only when storing.
    """
    tree.node(node_id)
    cancel = threading.Event()
    events = loom.generate(tree, node_id, overrides=overrides, cancel=cancel)
    started = next(events)
    assert isinstance(started, Started)  # the engine's first event is always Started
    generation_id = generations.add(cancel)
    return StreamingResponse(
        generation_stream(started, events, cancel, generations, generation_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/api/loom/generations/{generation_id}/cancel",
    response_model=schemas.GenerationCancelled,
)
def cancel_api(generation_id: str, generations: GenerationsDep) -> dict[str, Any]:
    """Stop a running generation; the model stops at its next token and keeps what it wrote."""
    generations.cancel(generation_id)
    return {"cancelled": generation_id}
