"""What the Loom hands out: nodes and trees as stored, and a format-neutral tree for import/export."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autoalign.loom.settings import LoomSettings

#: Longest text of one node (and of one note or one earlier version of it): ten million characters,
#: a few novels. A node is one continuation; anything bigger is a broken or hostile file or request, and would
#: make every path through it slow to show and to send to a model.
MAX_NODE_CHARS = 10_000_000

#: Tags with a meaning in the interfaces; any other string is a custom tag.
BUILTIN_TAGS = ("bookmark", "canonical", "archived", "pinned", "note")

#: A generated token as stored: ``[text, logprob, [[alternative, logprob], ...]]``.
StoredToken = list[Any]


@dataclass(frozen=True, slots=True)
class Node:
    """One node of a tree: its own text segment (the full text is its path's segments joined)."""

    id: int
    uid: str
    parent_id: int | None
    position: int
    text: str
    #: ``prompt`` (written by a person), ``AI`` (generated) or ``mixed`` (generated, then edited).
    source: str
    #: Which model wrote it, None for human text.
    model: str | None
    #: The settings that generated it.
    generation: dict[str, Any] | None
    tokens: list[StoredToken] | None
    overrides: dict[str, Any] | None
    notes: str
    tags: tuple[str, ...]
    child_count: int
    created_at: float
    modified_at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uid": self.uid,
            "parent_id": self.parent_id,
            "position": self.position,
            "text": self.text,
            "source": self.source,
            "model": self.model,
            "generation": self.generation,
            "tokens": self.tokens,
            "overrides": self.overrides,
            "notes": self.notes,
            "tags": list(self.tags),
            "child_count": self.child_count,
            "created_at": self.created_at,
            "modified_at": self.modified_at,
        }


@dataclass(frozen=True, slots=True)
class TreeInfo:
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uid": self.uid,
            "title": self.title,
            "root_id": self.root_id,
            "current_id": self.current_id,
            "hoisted_id": self.hoisted_id,
            "settings": self.settings.model_dump(),
            "node_count": self.node_count,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class Chapter:
    id: int
    uid: str
    node_id: int
    title: str


@dataclass(frozen=True, slots=True)
class Deletion:
    """A deleted subtree, restorable with :meth:`Tree.undo_delete`."""

    id: int
    node_id: int
    parent_id: int | None
    nodes: int


# --- The format-neutral tree: importers produce it, exporters consume it. ---


@dataclass(slots=True)
class NodeData:
    uid: str
    parent_uid: str | None
    text: str
    source: str = "prompt"
    model: str | None = None
    generation: dict[str, Any] | None = None
    tokens: list[StoredToken] | None = None
    overrides: dict[str, Any] | None = None
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    #: Earlier texts, oldest first: ``(text, unix time)``.
    history: list[tuple[str, float]] = field(default_factory=list)
    #: Keys of the source format that the Loom does not model, kept for a faithful export.
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    modified_at: float | None = None


@dataclass(slots=True)
class ChapterData:
    uid: str
    node_uid: str
    title: str


@dataclass(slots=True)
class TreeData:
    """A whole tree, nodes listed parents first (the first node is the root)."""

    title: str
    nodes: list[NodeData]
    settings: dict[str, Any] = field(default_factory=dict)
    chapters: list[ChapterData] = field(default_factory=list)
    current_uid: str | None = None
    hoisted_uid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
