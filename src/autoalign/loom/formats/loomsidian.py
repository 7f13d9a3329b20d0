"""Loomsidian (the Obsidian plugin) ``data.json``: one tree per note.

``{settings, state: {<note path>: {current, hoisted: [...], searchTerm, generating, nodes: {<uuid>:
{text, parentId, collapsed, unread, bookmarked, lastVisited}}}}}``. Siblings come in the order of the
file, as the plugin shows them. A note can hold several parentless nodes; they are put under a new
empty root. Notes without nodes hold no tree and are passed over.

The plugin's ``settings`` also hold its API keys, so nothing of them is kept: only the generation
settings the Loom understands are taken (when valid), and the keys never reach the workspace.
"""

from __future__ import annotations

from typing import Any

from autoalign.loom.formats.checks import (
    IMPORTED_FROM,
    LoomFormatError,
    check_id,
    check_object,
    check_text,
    link_flat,
    valid_settings,
)
from autoalign.loom.records import NodeData, TreeData
from autoalign.loom.tree import new_uid

#: Plugin settings that mean what a LoomSettings field means.
SETTINGS_NAMES = {"n": "n", "temperature": "temperature", "topP": "top_p", "maxTokens": "max_tokens"}

_NODE_MODELED = frozenset({"text", "parentId", "bookmarked"})
_NOTE_MODELED = frozenset({"nodes", "current"})


def parse(obj: Any) -> list[TreeData]:
    """One tree per note that has nodes, in the file's order."""
    doc = check_object(obj, "a Loomsidian data.json")
    state = check_object(doc.get("state"), 'the "state" of a Loomsidian data.json')
    plugin = doc.get("settings")
    settings = (
        valid_settings({name: plugin[key] for key, name in SETTINGS_NAMES.items() if key in plugin})
        if isinstance(plugin, dict)
        else {}
    )
    trees = [tree for path, note in state.items() if (tree := _note(path, note, settings)) is not None]
    if not trees:
        raise LoomFormatError("the Loomsidian data.json holds no tree: no note has any nodes")
    return trees


def _note(path: str, raw: Any, settings: dict[str, Any]) -> TreeData | None:
    what = f"note {path!r}"
    note = check_object(raw, what)
    table = check_object(note.get("nodes", {}), f"the nodes of {what}")
    if not table:
        return None
    nodes = [_node(uid, fields, f"node {uid!r} of {what}") for uid, fields in table.items()]
    roots = [node for node in nodes if node.parent_uid is None]
    if len(roots) == 1:
        root_uid = roots[0].uid
    else:  # several roots share a new empty one; none at all is a loop, which link_flat reports
        root = NodeData(uid=new_uid(), parent_uid=None, text="")
        for node in roots:
            node.parent_uid = root.uid
        nodes.insert(0, root)
        root_uid = root.uid
    current, hoisted = note.get("current"), note.get("hoisted")
    hoisted_uid = hoisted[-1] if isinstance(hoisted, list) and hoisted else None  # the plugin's stack: top is last
    return TreeData(
        title=path,
        nodes=link_flat(nodes, root_uid, what),
        settings=dict(settings),
        current_uid=current if isinstance(current, str) and current in table else None,
        hoisted_uid=hoisted_uid if isinstance(hoisted_uid, str) and hoisted_uid in table else None,
        extra={
            **{key: value for key, value in note.items() if key not in _NOTE_MODELED},
            IMPORTED_FROM: {"format": "loomsidian"},
        },
    )


def _node(uid: str, raw: Any, label: str) -> NodeData:
    fields = check_object(raw, label)
    if "text" not in fields:
        raise LoomFormatError(f"{label} has no text")
    parent = fields.get("parentId")
    return NodeData(
        uid=uid,
        parent_uid=None if parent is None else check_id(parent, f"the parentId of {label}"),
        text=check_text(fields["text"], f"the text of {label}"),
        tags=["bookmark"] if fields.get("bookmarked") is True else [],
        extra={key: value for key, value in fields.items() if key not in _NODE_MODELED},
    )
