"""exoloom exports: ``{loomType, schemaVersion, tree: {nodes: {<id>: {content, authorType, parentId,
childrenIds, createdAt}}, rootNodeId}, lens: {bookmarks, prunedNodes}}``.

The structure comes from ``parentId``; ``childrenIds`` gives the order of siblings and must agree
with it (a child it lists must exist, name that parent, and be listed once). Children a parent does
not list follow the listed ones in file order. ``authorType`` LLM is generated text (source "AI");
bookmarks become the "bookmark" tag and pruned nodes the "archived" tag (lens entries naming no node
are ignored). Every other key is kept in ``extra``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autoalign.loom.formats.checks import (
    IMPORTED_FROM,
    LoomFormatError,
    check_id,
    check_list,
    check_object,
    check_text,
    link_flat,
)
from autoalign.loom.records import NodeData, TreeData

SOURCES = {"USER": "prompt", "LLM": "AI"}
#: Lens lists and the tag each gives its nodes.
LENS_TAGS = {"bookmarks": "bookmark", "prunedNodes": "archived"}

_MODELED = frozenset({"content", "parentId", "childrenIds"})


def parse(obj: Any, title: str = "") -> TreeData:
    """The tree of an exoloom export; ``title`` names it (the format has no title of its own)."""
    doc = check_object(obj, "an exoloom file")
    tree = check_object(doc.get("tree"), 'the "tree" of an exoloom file')
    table = check_object(tree.get("nodes"), 'the "tree.nodes" of an exoloom file')
    if "rootNodeId" not in tree:
        raise LoomFormatError('the exoloom file has no "tree.rootNodeId"')
    root_uid = check_id(tree["rootNodeId"], '"tree.rootNodeId"')
    nodes: list[NodeData] = []
    listed: dict[str, tuple[str, int]] = {}  # child -> (the parent listing it, its place there)
    for uid, raw in table.items():
        label = f"node {uid!r}"
        fields = check_object(raw, label)
        nodes.append(_node(uid, fields, label))
        for place, child in enumerate(check_list(fields.get("childrenIds", []), f"the childrenIds of {label}")):
            child_uid = check_id(child, f"a childrenIds entry of {label}")
            if child_uid in listed:
                first = listed[child_uid][0]
                raise LoomFormatError(f"node {child_uid!r} is listed as a child twice (by {first!r} and {uid!r})")
            listed[child_uid] = (uid, place)
    by_uid = {node.uid: node for node in nodes}
    _order_siblings(nodes, by_uid, listed)
    _tag_lens(doc.get("lens"), by_uid)
    extra: dict[str, Any] = {key: value for key, value in doc.items() if key != "tree"}
    rest = {key: value for key, value in tree.items() if key not in ("nodes", "rootNodeId")}
    if rest:
        extra["tree"] = rest
    extra[IMPORTED_FROM] = {"format": "exoloom"}
    return TreeData(title=title, nodes=link_flat(nodes, root_uid, "the exoloom tree"), extra=extra)


def _order_siblings(nodes: list[NodeData], by_uid: dict[str, NodeData], listed: dict[str, tuple[str, int]]) -> None:
    """Sort ``nodes`` so that each parent's children come in its ``childrenIds`` order, unlisted ones
    after in file order (link_flat keeps siblings in list order); refuse lists that disagree with
    the ``parentId`` links."""
    for child_uid, (parent_uid, _) in listed.items():
        if child_uid not in by_uid:
            raise LoomFormatError(f"node {parent_uid!r} lists a child {child_uid!r} that is not in the file")
        if by_uid[child_uid].parent_uid != parent_uid:
            named = by_uid[child_uid].parent_uid
            raise LoomFormatError(f"node {parent_uid!r} lists {child_uid!r} as a child, but its parentId is {named!r}")
    rank = {node.uid: (0, listed[node.uid][1]) if node.uid in listed else (1, i) for i, node in enumerate(nodes)}
    nodes.sort(key=lambda node: rank[node.uid])


def _tag_lens(lens: Any, by_uid: dict[str, NodeData]) -> None:
    for key, tag in LENS_TAGS.items():
        entries = lens.get(key) if isinstance(lens, dict) else None
        for entry in entries if isinstance(entries, list | dict) else ():
            node = by_uid.get(str(entry)) if isinstance(entry, str | int) and not isinstance(entry, bool) else None
            if node is not None and tag not in node.tags:
                node.tags.append(tag)


def _node(uid: str, fields: dict[str, Any], label: str) -> NodeData:
    if "content" not in fields:
        raise LoomFormatError(f"{label} has no content")
    parent = fields.get("parentId")
    extra = {key: value for key, value in fields.items() if key not in _MODELED}
    author = extra.get("authorType")
    source = SOURCES.get(author) if isinstance(author, str) else None
    if source is not None:
        del extra["authorType"]
    created = _time_from(extra.get("createdAt"))
    if created is not None:
        del extra["createdAt"]
    return NodeData(
        uid=uid,
        parent_uid=None if parent is None else check_id(parent, f"the parentId of {label}"),
        text=check_text(fields["content"], f"the content of {label}"),
        source=source or "prompt",
        extra=extra,
        created_at=created,
    )


def _time_from(value: Any) -> float | None:
    """Unix time from epoch seconds or milliseconds, or an ISO 8601 string; None if it is neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1000 if value > 100_000_000_000 else float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except (ValueError, OverflowError):
            return None
    return None
