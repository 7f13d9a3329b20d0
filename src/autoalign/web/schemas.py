"""The shapes the JSON API answers with, so that ``/docs`` and ``/openapi.json`` describe them.

Each route names its model as ``response_model``; the routes still build plain dicts from the
records' ``as_dict`` (the shape the CLI's ``--json`` shares). Every model forbids extra keys, so a
record that grows a field it does not declare here fails the route loudly in the tests rather than
being dropped from the answer in silence.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from autoalign.assist.records import Kind as AssistKind
from autoalign.discover.runs import Kind as RunKind
from autoalign.jobs import State
from autoalign.loom.records import StoredToken
from autoalign.loom.settings import LoomSettings


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- the library -------------------------------------------------------------------------------------
class DocumentRef(Schema):
    """A document as listings and hits show it (no full text)."""

    id: str
    title: str
    authors: list[str]
    date: str | None
    source: str
    url: str


class Hit(Schema):
    document: DocumentRef
    chunk_id: int
    section: str
    start: int
    end: int
    passage: str
    score: float
    #: Rank from each ranker that found it (``{"lexical": 1, "semantic": 4}``).
    ranks: dict[str, int]
    #: ``[start, end]`` offsets into ``passage`` where query terms occur.
    highlights: list[list[int]]
    reader_url: str


class SearchResults(Schema):
    query: str
    mode: str
    hits: list[Hit]


class DocumentText(DocumentRef):
    text: str
    metadata: dict[str, Any]
    origin: str
    added_at: str
    version: int


class Related(Schema):
    document: DocumentRef
    score: float
    reader_url: str


class RelatedDocuments(Schema):
    related: list[Related]


class SourceCount(Schema):
    source: str
    documents: int


class EmbedJob(Schema):
    id: int
    pid: int | None
    state: State
    done: int
    total: int
    fraction: float
    message: str
    started_at: float
    updated_at: float


class LibraryStatus(Schema):
    documents: int
    chunks: int
    #: Passages with a vector, by embedder name.
    embedded: dict[str, int]
    #: Passages without a vector from the configured embedder.
    pending: int
    sources: list[SourceCount]
    embed_job: EmbedJob | None


# -- jobs --------------------------------------------------------------------------------------------
class Job(Schema):
    id: int
    kind: str
    state: State
    pid: int | None
    params: dict[str, Any]
    done: int
    total: int
    fraction: float
    progress: list[str]
    message: str
    result: Any
    error: str | None
    cancel_requested: bool
    created_at: float
    updated_at: float
    finished_at: float | None


class Jobs(Schema):
    jobs: list[Job]


# -- Discover ----------------------------------------------------------------------------------------
class TableColumns(Schema):
    file: str | None
    columns: list[str]
    rows: int


class Run(Schema):
    id: int
    kind: RunKind
    status: State
    created_at: float
    finished_at: float | None
    params: dict[str, Any]
    progress: list[str]
    #: The fit's or the demo's result as ``autoalign discover ... --json`` prints it.
    result: dict[str, Any] | None
    error: str | None
    url: str


class Runs(Schema):
    runs: list[Run]


class Apparatus(Schema):
    name: str
    title: str
    story: str
    #: Each true quantity, with what it is and its SI units.
    quantities: dict[str, str]
    #: Each derived quantity's law, a sympy expression of the independent ones.
    laws: dict[str, str]
    held_out: bool


class Gallery(Schema):
    apparatus: list[Apparatus]


# -- the Loom ----------------------------------------------------------------------------------------
class TreeInfo(Schema):
    id: int
    uid: str
    title: str
    root_id: int
    current_id: int
    hoisted_id: int | None
    settings: LoomSettings
    node_count: int
    created_at: float
    updated_at: float


class TreeLink(TreeInfo):
    url: str


class Trees(Schema):
    trees: list[TreeInfo]


class ListedNode(Schema):
    """A node as lists show it (children, search results, bookmarks): without its tokens."""

    id: int
    uid: str
    parent_id: int | None
    position: int
    text: str
    source: Literal["prompt", "AI", "mixed"]
    model: str | None
    generation: dict[str, Any] | None
    overrides: dict[str, Any] | None
    notes: str
    tags: list[str]
    child_count: int
    created_at: float
    modified_at: float


class Node(ListedNode):
    #: ``[text, logprob, [[alternative, logprob], ...]]`` per token; None for text a person wrote.
    tokens: list[StoredToken] | None


class Chapter(Schema):
    id: int
    uid: str
    node_id: int
    title: str


class TreeState(Schema):
    tree: TreeInfo
    #: Root to the current node; only the last few carry their tokens.
    path: list[Node | ListedNode]
    hoisted: ListedNode | None
    chapters: list[Chapter]
    bookmarks: list[ListedNode]


class TreeDeleted(Schema):
    deleted: int


class TreeSettings(Schema):
    settings: LoomSettings


class FoundNodes(Schema):
    query: str
    nodes: list[ListedNode]


class TaggedNodes(Schema):
    tag: str
    nodes: list[ListedNode]


class Hoisted(Schema):
    hoisted_id: int | None


class Deletion(Schema):
    """A deleted subtree; ``id`` undoes it."""

    id: int
    node_id: int
    parent_id: int | None
    nodes: int


class ChapterRemoved(Schema):
    removed: int


class EarlierText(Schema):
    text: str
    changed_at: float


class NodeDetail(Schema):
    node: Node
    history: list[EarlierText]
    chapter: Chapter | None
    #: The tree's settings with the overrides of the node and its ancestors applied.
    settings: LoomSettings


class Children(Schema):
    children: list[ListedNode]
    offset: int
    total: int


class SplitNodes(Schema):
    head: Node
    tail: Node


class BranchNodes(Schema):
    nodes: list[Node]


class GenerationCancelled(Schema):
    cancelled: str


# -- the assistants ----------------------------------------------------------------------------------
class Place(Schema):
    id: str
    start: int | None
    end: int | None


class Item(Schema):
    text: str
    citations: list[int]
    supported: bool | None
    note: str
    see: Place | None
    #: The reader link of ``see``.
    link: str | None


class Section(Schema):
    title: str
    items: list[Item]


class Reference(Schema):
    number: int
    document: DocumentRef
    section: str
    start: int
    end: int
    text: str
    reader_url: str


class AssistResult(Schema):
    id: int | None
    kind: AssistKind
    prompt: str
    covered: bool
    model: str
    settings: dict[str, Any]
    created_at: float | None
    sections: list[Section]
    references: list[Reference]


class DuckTurn(Schema):
    session: int
    result: AssistResult


class Completion(Schema):
    completion: str


class ResultEntry(Schema):
    id: int
    kind: AssistKind
    prompt: str
    model: str
    created_at: float
    url: str


class Results(Schema):
    results: list[ResultEntry]


class SessionEntry(Schema):
    id: int
    title: str
    updated_at: float
    url: str


class Sessions(Schema):
    sessions: list[SessionEntry]


class Turn(Schema):
    role: Literal["researcher", "duck"]
    text: str
    result: AssistResult | None
    created_at: float


class Session(Schema):
    id: int
    title: str
    turns: list[Turn]
