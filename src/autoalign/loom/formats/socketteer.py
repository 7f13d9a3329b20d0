"""socketteer/loom tree files, both ways, and the id-less "simple" nested format.

Shapes read (socketteer's own loader accepts all three):

- *full*: an object with ``root`` (the root node, children nested inside), ``chapters``,
  ``selected_node_id`` and any number of other keys (``model_responses``, ``generation_settings``...);
- *node*: a bare node, which becomes the root;
- *list*: a list of nodes, put under a new empty root.

In the socketteer format every node needs an ``id``; the *simple* format is the same nesting of
``{"text": ..., "children": [...]}`` nodes where ids are generated for nodes that lack one.

What the Loom models is taken out of each node (id, text, children, tags, notes, history, the
source in ``meta``, overrides from ``frame``); every other key, ``meta`` and ``frame`` included, is
kept in ``NodeData.extra`` and written back verbatim, so a file read and written again comes back
equal. Two kinds of key are rebuilt rather than kept: ``parent_id`` (socketteer rebuilds it on load
too; old files' ``parentId`` comes back as ``parent_id``) and a ``chapter_id`` naming the chapter that
starts at its node. Values the Loom changed since the import are written into the kept keys: the
source into ``meta``, settings into ``generation_settings`` and ``frame``, tags in their old order.
A node with no kept key at all counts as made in the Loom and is written with socketteer's ``meta``
(socketteer itself writes ``open`` or ``meta`` on every node it saves, so only hand-made files differ).

The model that wrote a node, and its tokens with their alternatives while the node still holds
the generated text, are read from ``model_responses`` for the Loom to show; they are not written
back, since ``model_responses`` and each node's ``generation`` pointer are kept as they were.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from autoalign.loom.formats.checks import (
    IMPORTED_FROM,
    LoomFormatError,
    check_id,
    check_list,
    check_object,
    check_text,
    valid_settings,
)
from autoalign.loom.records import ChapterData, NodeData, StoredToken, TreeData
from autoalign.loom.settings import LoomSettings
from autoalign.loom.tree import new_uid

#: socketteer's timestamps: local time, to the second.
TIME_FORMAT = "%Y-%m-%d-%H.%M.%S"

SOURCES = ("prompt", "AI", "mixed")

#: ``generation_settings`` keys that mean what a LoomSettings field means. ``prompt_length`` is
#: not among them: socketteer counts it in characters or tokens depending on its version.
SETTINGS_NAMES = {
    "num_continuations": "n",
    "temperature": "temperature",
    "top_p": "top_p",
    "response_length": "max_tokens",
    "stop": "stop",
    "logprobs": "logprobs",
}

#: Node keys the Loom rebuilds or holds itself; ``tags`` is also kept, for its order.
_MODELED = frozenset({"id", "text", "children", "parent_id", "parentId", "notes", "history"})
_PARENT_KEYS = ("parent_id", "parentId")
#: Top-level keys rebuilt from the tree; the rest is kept verbatim.
_REBUILT = frozenset({"root", IMPORTED_FROM})

_DEFAULTS = LoomSettings().model_dump()


# --- reading -----------------------------------------------------------------------------------


def parse(obj: Any, title: str = "") -> TreeData:
    """A socketteer/loom tree (full, bare node or list of nodes); every node must have an ``id``."""
    return _parse(obj, title, fmt="socketteer", ids_required=True)


def parse_simple(obj: Any, title: str = "") -> TreeData:
    """Nested ``{"text", "children"}`` nodes (one, or a list); nodes without an ``id`` get one."""
    if isinstance(obj, dict) and "root" in obj:
        raise LoomFormatError('a simple tree is a node or a list of nodes, not an object with "root"')
    return _parse(obj, title, fmt="simple", ids_required=False)


def _parse(obj: Any, title: str, *, fmt: str, ids_required: bool) -> TreeData:
    extra: dict[str, Any] = {}
    synthetic_root = None
    if isinstance(obj, dict) and "root" in obj:
        shape, top = "full", [obj["root"]]
        extra = {key: value for key, value in obj.items() if key not in _REBUILT}
    elif isinstance(obj, dict):
        shape, top = "node", [obj]
    elif isinstance(obj, list):
        if not obj:
            raise LoomFormatError("the file is an empty list: there are no nodes to import")
        shape, top = "list", obj
        synthetic_root = NodeData(uid=new_uid(), parent_uid=None, text="")
    else:
        raise LoomFormatError(f"a {fmt} tree is an object or a list of nodes, not {type(obj).__name__}")
    responses = extra.get("model_responses")
    nodes = _read_nodes(top, synthetic_root, ids_required, responses if isinstance(responses, dict) else {})
    uids = {node.uid for node in nodes}
    chapters = _read_chapters(obj.get("chapters") if shape == "full" else None, nodes, uids, extra)
    gs = extra.get("generation_settings")
    selected = extra.get("selected_node_id")
    extra[IMPORTED_FROM] = {"format": fmt, "shape": shape}
    return TreeData(
        title=title,
        nodes=nodes,
        settings=_settings_from(gs) if isinstance(gs, dict) else {},
        chapters=chapters,
        current_uid=selected if isinstance(selected, str) and selected in uids else None,
        extra=extra,
    )


def _read_nodes(
    top: list[Any], synthetic_root: NodeData | None, ids_required: bool, responses: dict[str, Any]
) -> list[NodeData]:
    """Every node, parents first, siblings in order, walked with a stack (trees can be very deep)."""
    nodes = [synthetic_root] if synthetic_root else []
    top_parent = synthetic_root.uid if synthetic_root else None
    seen: set[str] = set()
    # (node, its parent's uid, its place among its siblings), the next node to read last.
    stack = [(raw, top_parent, i) for i, raw in reversed(list(enumerate(top)))]
    while stack:
        raw, parent_uid, place = stack.pop()
        is_top = parent_uid == top_parent
        if not isinstance(raw, dict) or ("id" not in raw and ids_required):
            where = _place(parent_uid, place, is_top)
            check_object(raw, where)
            raise LoomFormatError(f"{where} has no id (every node of a socketteer tree needs one)")
        uid = check_id(raw["id"], f"the id of {_place(parent_uid, place, is_top)}") if "id" in raw else new_uid()
        if uid in seen:
            raise LoomFormatError(f"node id {uid!r} is used by two nodes")
        seen.add(uid)
        label = f"node {uid!r}"
        node = _read_node(raw, uid, parent_uid, label, responses)
        if is_top:  # the parent a top node names is not in the file: keep it as it was
            node.extra.update((key, raw[key]) for key in _PARENT_KEYS if key in raw)
        nodes.append(node)
        children = check_list(raw.get("children", []), f"the children of {label}")
        stack.extend((child, uid, i) for i, child in reversed(list(enumerate(children))))
    return nodes


def _place(parent_uid: str | None, place: int, is_top: bool) -> str:
    if is_top:
        return f"top node {place}" if parent_uid is not None else "the root node"
    return f"child {place} of node {parent_uid!r}"


def _read_node(
    fields: dict[str, Any], uid: str, parent_uid: str | None, label: str, responses: dict[str, Any]
) -> NodeData:
    if "text" not in fields:
        raise LoomFormatError(f"{label} has no text")
    text = check_text(fields["text"], f"the text of {label}")
    extra = {key: value for key, value in fields.items() if key not in _MODELED}
    meta = fields.get("meta")
    tags = fields.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise LoomFormatError(f"the tags of {label} must be a list of strings")
    notes = fields.get("notes")
    if isinstance(notes, str) and notes:
        check_text(notes, f"the notes of {label}")
    elif "notes" in fields:  # empty or odd notes: kept as they were
        extra["notes"], notes = notes, ""
    history = _read_history(fields.get("history"), label)
    if history is None and "history" in fields:
        extra["history"] = fields["history"]
    frame = fields.get("frame")
    frame_settings = frame.get("generation_settings") if isinstance(frame, dict) else None
    overrides = _settings_from(frame_settings) if isinstance(frame_settings, dict) else {}
    model, tokens = _generated(fields.get("generation"), responses, text)
    return NodeData(
        uid=uid,
        parent_uid=parent_uid,
        text=text,
        source=_source_of(meta),
        model=model,
        tokens=tokens,
        overrides=overrides or None,
        notes=notes or "",
        tags=[tag for tag in tags if tag],  # the Loom has no blank tags; the file's stay in ``extra``
        history=history or [],
        extra=extra,
        created_at=_time_from(meta.get("creation_timestamp")) if isinstance(meta, dict) else None,
    )


def _source_of(meta: Any) -> str:
    """The Loom's source for a node's ``meta`` ("prompt" when it names none the Loom knows)."""
    source = meta.get("source") if isinstance(meta, dict) else None
    return source if source in SOURCES else "prompt"


def _read_history(raw: Any, label: str) -> list[tuple[str, float]] | None:
    """The edit history as the Loom keeps it, or None when it must stay verbatim: empty, laid out in
    an unknown way, or with timestamps that would not be written back the same."""
    if not isinstance(raw, list) or not raw:
        return None
    history = []
    for entry in raw:
        if not isinstance(entry, dict) or entry.keys() != {"timestamp", "text"} or not isinstance(entry["text"], str):
            return None
        at = _time_from(entry["timestamp"])
        if at is None or _time_text(at) != entry["timestamp"]:
            return None
        history.append((check_text(entry["text"], f"an earlier text of {label}"), at))
    return history


def _generated(generation: Any, responses: dict[str, Any], text: str) -> tuple[str | None, list[StoredToken] | None]:
    """The model that wrote a node, and its tokens when the node still holds exactly the generated text.

    socketteer keeps completions in ``model_responses`` and points at them from each node's
    ``generation: {id, index}``; anything unexpected there simply yields nothing.
    """
    if not isinstance(generation, dict):
        return None, None
    response = responses.get(generation["id"]) if isinstance(generation.get("id"), str) else None
    if not isinstance(response, dict):
        return None, None
    model = response.get("model") if isinstance(response.get("model"), str) else None
    completions, index = response.get("completions"), generation.get("index")
    if not isinstance(completions, list) or not isinstance(index, int) or not 0 <= index < len(completions):
        return model, None
    completion = completions[index]
    return model, _tokens(completion.get("tokens") if isinstance(completion, dict) else None, text)


def _tokens(raw: Any, text: str) -> list[StoredToken] | None:
    if not isinstance(raw, list) or not raw:
        return None
    tokens: list[StoredToken] = []
    for entry in raw:
        generated = entry.get("generatedToken") if isinstance(entry, dict) else None
        if not isinstance(generated, dict):
            return None
        token, logprob = generated.get("token"), generated.get("logprob")
        alternatives = entry.get("counterfactuals") or {}
        if not isinstance(token, str) or not _is_number(logprob) or not isinstance(alternatives, dict):
            return None
        if not all(_is_number(value) for value in alternatives.values()):
            return None
        tokens.append([token, logprob, [[alt, value] for alt, value in alternatives.items()]])
    return tokens if "".join(token[0] for token in tokens) == text else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_chapters(raw: Any, nodes: list[NodeData], uids: set[str], extra: dict[str, Any]) -> list[ChapterData]:
    """Chapters the Loom can hold; any other entry stays verbatim in ``extra["chapters"]``.

    A node's ``chapter_id`` naming the (first) chapter that starts at it is rebuilt on export, so it
    is dropped from the node's kept keys.
    """
    if not isinstance(raw, dict):  # none, or nothing the Loom can read: kept as it was
        return []
    chapters, kept = [], {}
    for key, entry in raw.items():
        if (
            isinstance(entry, dict)
            and entry.keys() <= {"id", "root_id", "title"}
            and entry.get("id") == key
            and isinstance(entry.get("root_id"), str)
            and entry["root_id"] in uids
            and isinstance(entry.get("title"), str)
        ):
            chapters.append(ChapterData(uid=key, node_uid=entry["root_id"], title=entry["title"]))
        else:
            kept[key] = entry
    extra["chapters"] = kept
    first = _first_chapters(chapters)
    for node in nodes:
        if node.uid in first and node.extra.get("chapter_id") == first[node.uid]:
            del node.extra["chapter_id"]
    return chapters


def _first_chapters(chapters: list[ChapterData]) -> dict[str, str]:
    first: dict[str, str] = {}
    for chapter in chapters:
        first.setdefault(chapter.node_uid, chapter.uid)
    return first


def _settings_from(raw: dict[str, Any]) -> dict[str, Any]:
    """The valid Loom settings among socketteer generation settings, renamed."""
    renamed = {SETTINGS_NAMES[key]: value for key, value in raw.items() if key in SETTINGS_NAMES}
    if isinstance(renamed.get("stop"), str):
        renamed["stop"] = [renamed["stop"]]
    return valid_settings(renamed)


def _time_from(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT).timestamp()
    except (ValueError, OverflowError):
        return None


def _time_text(at: float) -> str:
    return datetime.fromtimestamp(at).strftime(TIME_FORMAT)


# --- writing -----------------------------------------------------------------------------------


def to_socketteer(data: TreeData) -> dict[str, Any] | list[dict[str, Any]]:
    """The tree as socketteer/loom JSON, in the shape it was read in (a new tree: the full format).

    A bare node or list is written as such only while nothing but the reader's place would be lost: a
    list needs the root to be still empty, and neither shape has room for chapters or settings.
    """
    imported = data.extra.get(IMPORTED_FROM)
    ours = isinstance(imported, dict) and imported.get("format") in ("socketteer", "simple")
    shape = imported.get("shape", "full") if ours else "full"  # type: ignore[union-attr]
    settings_changed = _write_settings({}, valid_settings(data.settings), _DEFAULTS)
    if data.chapters or settings_changed or (shape == "list" and data.nodes[0].text):
        shape = "full"
    root_uid = data.nodes[0].uid
    written: dict[str, dict[str, Any]] = {}
    for node in data.nodes:
        out = written[node.uid] = _node_out(node, node.extra if ours else {})
        if node.parent_uid is not None:
            written[node.parent_uid]["children"].append(out)
            if shape != "list" or node.parent_uid != root_uid:
                out.pop("parentId", None)  # an old file's top node, moved in the Loom
                out["parent_id"] = node.parent_uid
    first = _first_chapters(data.chapters)
    for node_uid, chapter_uid in first.items():
        written[node_uid].setdefault("chapter_id", chapter_uid)
    if shape == "list":
        return written[root_uid]["children"]
    if shape == "node":
        return written[root_uid]
    return _document(data, written[root_uid], ours)


def _document(data: TreeData, root: dict[str, Any], ours: bool) -> dict[str, Any]:
    kept = data.extra if ours else {}
    doc = {key: value for key, value in kept.items() if key not in _REBUILT}
    doc["root"] = root
    chapters = {c.uid: {"id": c.uid, "root_id": c.node_uid, "title": c.title} for c in data.chapters}
    if chapters:
        earlier = kept.get("chapters")
        doc["chapters"] = {**(earlier if isinstance(earlier, dict) else {}), **chapters}
    selected = _selected(data, kept.get("selected_node_id"), ours)
    if selected is not None:
        doc["selected_node_id"] = selected
    gs = kept.get("generation_settings")
    if gs is None or isinstance(gs, dict):
        # A tree made here writes every setting; an imported one only those changed since.
        baseline = {**_DEFAULTS, **_settings_from(gs or {})} if ours else {}
        written = _write_settings(gs or {}, valid_settings(data.settings), baseline)
        if written or gs is not None:
            doc["generation_settings"] = written
    return doc


def _selected(data: TreeData, kept: Any, ours: bool) -> Any:
    """``selected_node_id``: the current node, except that an imported file's own value (even one
    naming no node, or none at all) stays while the reader is still where the import put it."""
    if not ours:
        return data.current_uid
    uids = {node.uid for node in data.nodes}
    root = data.nodes[0].uid
    unchanged = (data.current_uid or root) == (kept if isinstance(kept, str) and kept in uids else root)
    return kept if unchanged else data.current_uid


def _node_out(node: NodeData, kept: dict[str, Any]) -> dict[str, Any]:
    # A top node's own parent link, if it had one, is among the kept keys.
    out = {**kept, "id": node.uid, "text": node.text, "children": []}
    tags = _tags_out(node.tags, kept.get("tags"))
    if tags is not None:
        out["tags"] = tags
    if node.notes:
        out["notes"] = node.notes
    if node.history:  # after any history kept verbatim (which is already in ``out``)
        earlier = kept.get("history")
        out["history"] = [
            *(earlier if isinstance(earlier, list) else []),
            *({"timestamp": _time_text(at), "text": text} for text, at in node.history),
        ]
    meta = kept.get("meta")
    if isinstance(meta, dict) and _source_of(meta) != node.source:
        out["meta"] = {**meta, "source": node.source}
    elif not kept:  # made in the Loom (or read from another format): socketteer's fields for a new node
        created = node.created_at if node.created_at is not None else time.time()
        out["meta"] = {"source": node.source, "creation_timestamp": _time_text(created), "modified": bool(node.history)}
    frame = _frame_out(kept.get("frame"), node.overrides or {})
    if frame is not None:
        out["frame"] = frame
    return out


def _tags_out(tags: list[str], kept: Any) -> list[str] | None:
    """Tags in the file's order (the Loom keeps a set), new ones after; None when there are none to write."""
    if isinstance(kept, list):
        present, known = set(tags), set(kept)
        return [tag for tag in kept if tag in present or not tag] + [tag for tag in tags if tag not in known]
    return list(tags) or None


def _frame_out(frame: Any, overrides: dict[str, Any]) -> Any:
    if frame is None and not overrides:
        return None
    current = valid_settings(overrides)
    if frame is None:
        return {"generation_settings": _write_settings({}, current, {})} if current else None
    if not isinstance(frame, dict) or not isinstance(frame.get("generation_settings", {}), dict):
        return frame
    raw = frame.get("generation_settings", {})
    baseline = _settings_from(raw)
    if current == baseline:
        return frame
    return {**frame, "generation_settings": _write_settings(raw, current, baseline)}


def _write_settings(raw: dict[str, Any], current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """socketteer settings ``raw`` with each Loom setting that differs from ``baseline`` (what the import
    took from ``raw``) written in, and those no longer set taken out; the rest of ``raw`` untouched."""
    out = dict(raw)
    for key, name in SETTINGS_NAMES.items():
        if name in current and current[name] != baseline.get(name):
            value = current[name]
            out[key] = list(value) if isinstance(value, tuple) else value
        elif name not in current and name in baseline:
            out.pop(key, None)
    return out
