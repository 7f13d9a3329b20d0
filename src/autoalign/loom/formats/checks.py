"""Validation every importer shares: limits, ids, texts, settings, and linking flat node tables.

Importers check a whole file before they return anything, so a bad file is refused whole and never
half imported. Everything here walks with explicit stacks: a tree may be a chain 100,000 nodes deep.
"""

from __future__ import annotations

from typing import Any

from autoalign.errors import AutoalignError, LoomFormatError
from autoalign.loom.records import MAX_NODE_CHARS, NodeData
from autoalign.loom.settings import LoomSettings, parse_settings

#: Largest tree file read: the biggest real Loom trees are a few MB, so 512 MiB is far beyond any
#: honest file while still bounding the memory an import takes (the parsed JSON is several times larger).
MAX_FILE_BYTES = 512 * 1024 * 1024

#: The key of ``TreeData.extra`` where importers record the format (and shape) a tree was read from,
#: so that export knows which kept keys belong to which format.
IMPORTED_FROM = "imported_from"


def check_text(value: Any, what: str) -> str:
    """``value`` as a node text, refused if it is not a string or longer than :data:`MAX_NODE_CHARS`."""
    if not isinstance(value, str):
        raise LoomFormatError(f"{what} must be a string, not {_kind(value)}")
    if len(value) > MAX_NODE_CHARS:
        raise LoomFormatError(
            f"{what} is {len(value):,} characters long; the limit is {MAX_NODE_CHARS:,} characters a node"
        )
    return value


def check_id(value: Any, what: str) -> str:
    """A node id as a string. Integer ids (exoloom's) are accepted and written in decimal."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise LoomFormatError(f"{what} must be a non-empty string or an integer, not {_kind(value)}")


def check_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LoomFormatError(f"{what} must be a JSON object, not {_kind(value)}")
    return value


def check_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise LoomFormatError(f"{what} must be a JSON list, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value == "":
        return "an empty string"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def valid_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The Loom settings among ``values`` (already renamed to LoomSettings names) that are valid.

    Each value is checked on its own and invalid ones are left out, so one out-of-range number in a
    file (socketteer allows 100 continuations, the Loom 32) never stops the import; the file's own
    settings stay in the tree's ``extra`` anyway. Values come back normalized as the Loom stores them.
    """
    kept = {}
    for name, value in values.items():
        if name not in LoomSettings.model_fields or value is None or isinstance(value, bool):
            continue
        try:
            kept[name] = parse_settings({name: value}).model_dump()[name]
        except AutoalignError:
            continue
    return kept


def link_flat(nodes: list[NodeData], root_uid: str, what: str) -> list[NodeData]:
    """Order nodes of a flat table (each naming its parent) parents first, siblings in list order.

    Refuses parents that point nowhere, duplicate ids, a second parentless node, and parent links that
    loop (nodes the root never reaches).
    """
    by_uid: dict[str, NodeData] = {}
    for node in nodes:
        if node.uid in by_uid:
            raise LoomFormatError(f"{what}: node id {node.uid!r} is used twice")
        by_uid[node.uid] = node
    if root_uid not in by_uid:
        raise LoomFormatError(f"{what}: the root node {root_uid!r} is not in the file")
    children: dict[str, list[NodeData]] = {}
    for node in nodes:
        if node.parent_uid is None:
            if node.uid != root_uid:
                raise LoomFormatError(f"{what}: node {node.uid!r} has no parent but is not the root {root_uid!r}")
        elif node.parent_uid not in by_uid:
            raise LoomFormatError(
                f"{what}: node {node.uid!r} names a parent {node.parent_uid!r} that is not in the file"
            )
        else:
            children.setdefault(node.parent_uid, []).append(node)
    root = by_uid[root_uid]
    if root.parent_uid is not None:
        raise LoomFormatError(f"{what}: the root node {root_uid!r} has a parent ({root.parent_uid!r})")
    ordered: list[NodeData] = []
    stack = [root]
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(children.get(node.uid, ())))
    if len(ordered) < len(nodes):
        reached = {node.uid for node in ordered}
        stray = next(node for node in nodes if node.uid not in reached)
        raise LoomFormatError(f"{what}: parent links loop ({_loop_from(stray, by_uid)}), so these nodes have no root")
    return ordered


def _loop_from(start: NodeData, by_uid: dict[str, NodeData]) -> str:
    """The loop reached by following parent links up from an unreachable node, as ``a -> b -> a``.

    Such a node's ancestors never reach the root, and only the root has no parent, so the walk up
    must come back to a node it has seen.
    """
    seen: dict[str, int] = {}
    chain: list[str] = []
    node = start
    while node.uid not in seen:
        seen[node.uid] = len(chain)
        chain.append(node.uid)
        node = by_uid[node.parent_uid]  # type: ignore[index]  # never None here, see above
    loop = chain[seen[node.uid] :]
    shown = [repr(uid) for uid in loop[:5]] + (["..."] if len(loop) > 5 else [])
    return " -> ".join([*shown, repr(loop[0])])
