"""Trees as text to read: markdown and plain text, of one path or of the whole tree.

A path (root to a node) is prose: its segments joined, as the reader shows it. The whole tree is an
outline. A run of only children is one entry, since a chain of continuations reads as one passage;
each branch point indents its children one level, and tags follow the segment they belong to.
Indentation stops growing at :data:`MAX_INDENT` levels (deeper entries say their level instead), so
the output grows with the tree's size and not with the square of its depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from autoalign.errors import NotFoundError
from autoalign.loom.records import NodeData, TreeData
from autoalign.markup import inert_markdown

#: Deepest indentation of the outline; no reader follows more levels than this by eye.
MAX_INDENT = 40


def to_markdown(data: TreeData, path_uid: str | None = None) -> str:
    """The tree as a nested markdown list under the title, or the path to ``path_uid`` as prose."""
    heading = f"# {inert_markdown(_one_line(data.title)) or 'Untitled'}\n\n"
    if path_uid is not None:
        return f"{heading}{inert_markdown(path_text(data, path_uid))}\n"
    return heading + _outline_text(data, _markdown_tags, "*(empty)*", inert_markdown)


def to_text(data: TreeData, path_uid: str | None = None) -> str:
    """The path to ``path_uid`` as plain text, or the whole tree as an indented outline under the title."""
    if path_uid is not None:
        return path_text(data, path_uid)
    title = _one_line(data.title) or "Untitled"
    return f"{title}\n{'=' * len(title)}\n\n" + _outline_text(
        data, lambda tags: f" [{', '.join(tags)}]", "(empty)", lambda text: text
    )


def path_text(data: TreeData, uid: str) -> str:
    """The full text at a node: the texts from the root down to it, joined."""
    by_uid = {node.uid: node for node in data.nodes}
    if uid not in by_uid:
        raise NotFoundError(f"no node {uid!r} in tree {data.title!r}")
    segments = []
    node: NodeData | None = by_uid[uid]
    while node is not None:
        segments.append(node.text)
        node = by_uid.get(node.parent_uid) if node.parent_uid is not None else None
    return "".join(reversed(segments))


def _outline_text(
    data: TreeData, show_tags: Callable[[list[str]], str], empty: str, show_text: Callable[[str], str]
) -> str:
    lines = []
    for level, run in _outline(data):
        # Continuations mostly start with a space or a line break; an entry starts at its first word.
        body = "".join(show_text(node.text) + (show_tags(node.tags) if node.tags else "") for node in run)
        body = body.strip() or empty
        indent = "  " * min(level, MAX_INDENT)
        if level > MAX_INDENT:
            body = f"(level {level}) {body}"
        first, *rest = body.split("\n")
        lines.append(f"{indent}- {first}")
        lines.extend(f"{indent}  {line}" if line else "" for line in rest)
    return "\n".join(lines) + "\n"


def _outline(data: TreeData) -> Iterator[tuple[int, list[NodeData]]]:
    """Entries of the outline in reading order: (level, a run of nodes each the only child of the last)."""
    children: dict[str, list[NodeData]] = {}
    for node in data.nodes[1:]:
        children.setdefault(node.parent_uid, []).append(node)  # type: ignore[arg-type]
    stack = [(data.nodes[0], 0)]
    while stack:
        node, level = stack.pop()
        run = [node]
        while len(only := children.get(run[-1].uid, [])) == 1:
            run.append(only[0])
        yield level, run
        stack.extend((child, level + 1) for child in reversed(children.get(run[-1].uid, ())))


def _markdown_tags(tags: list[str]) -> str:
    """Tags as code spans, which show their text as written (a ``<`` in one is inert there)."""
    return " " + " ".join(f"`#{tag}`" for tag in tags)


def _one_line(text: str) -> str:
    return " ".join(text.split())
