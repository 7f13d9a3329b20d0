"""Loom: trees of continuations of a language model, stored in the workspace.

>>> from autoalign.loom import Loom
>>> loom = Loom.open("~/alignment")                            # doctest: +SKIP
>>> tree = loom.new_tree("The alignment problem is", title="draft")  # doctest: +SKIP
>>> for event in loom.generate(tree, tree.info().root_id, n=4):      # doctest: +SKIP
...     print(event)

Every change is a transaction on the workspace database: there is no save step, and ``kill -9``
loses at most the generation in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autoalign.capability import Capability
from autoalign.errors import NotFoundError
from autoalign.loom.generate import ContinuationDone, GenerationEvent, Started, generate
from autoalign.loom.records import BUILTIN_TAGS, Chapter, Deletion, Node, NodeData, TreeData, TreeInfo
from autoalign.loom.settings import LoomSettings, parse_settings
from autoalign.loom.tree import Tree, insert_tree, new_uid
from autoalign.workspace import Workspace

__all__ = [
    "BUILTIN_TAGS",
    "Chapter",
    "ContinuationDone",
    "Deletion",
    "Loom",
    "LoomSettings",
    "GenerationEvent",
    "Node",
    "Started",
    "Tree",
    "TreeData",
    "TreeInfo",
]


class Loom(Capability):
    """The trees of one workspace."""

    @classmethod
    def open(cls, path: str | Path | Workspace | None = None) -> Loom:
        """The Loom of a workspace (a folder, a :class:`Workspace`, or the default one)."""
        workspace, owned = cls._workspace(path)
        return cls(workspace, owns_workspace=owned)

    def trees(self) -> list[TreeInfo]:
        """Every tree, most recently changed first."""
        ids = [row[0] for row in self.workspace.db.execute("SELECT id FROM loom_trees ORDER BY updated_at DESC")]
        return [Tree(self.workspace, tree_id).info() for tree_id in ids]

    def tree(self, tree: int | str) -> Tree:
        """A tree by its number or uid."""
        if isinstance(tree, str) and not tree.isdigit():
            row = self.workspace.db.execute("SELECT id FROM loom_trees WHERE uid = ?", (tree,)).fetchone()
            if row is None:
                raise NotFoundError(f"no Loom tree {tree!r}")
            return Tree(self.workspace, row[0])
        return Tree(self.workspace, int(tree))

    def new_tree(self, prompt: str = "", *, title: str = "", settings: dict[str, Any] | None = None) -> Tree:
        """A tree whose root holds ``prompt``."""
        now = time.time()
        root = NodeData(uid=new_uid(), parent_uid=None, text=prompt, created_at=now, modified_at=now)
        title = title or _title_from(prompt)
        tree_id = insert_tree(
            self.workspace, TreeData(title=title, nodes=[root]), settings=parse_settings(settings or {})
        )
        return Tree(self.workspace, tree_id)

    def import_data(self, data: TreeData) -> Tree:
        """Store a tree read by an importer; settings the Loom does not know are kept in ``extra``."""
        known = {k: v for k, v in data.settings.items() if k in LoomSettings.model_fields}
        return Tree(self.workspace, insert_tree(self.workspace, data, settings=parse_settings(known)))

    def generate(
        self,
        tree: Tree,
        node_id: int,
        *,
        overrides: dict[str, Any] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[GenerationEvent]:
        """Generate children of ``node_id`` with the model its settings name (see :func:`generate`)."""
        from autoalign.models import get_model

        return generate(
            tree,
            node_id,
            lambda profile: get_model(self.workspace.settings, profile),
            overrides=overrides,
            cancel=cancel,
        )

    def delete_tree(self, tree: int | str) -> None:
        target = self.tree(tree)
        with self.workspace.transaction() as tx:
            tx.execute("DELETE FROM loom_nodes WHERE tree_id = ?", (target.id,))
            tx.execute("DELETE FROM loom_trees WHERE id = ?", (target.id,))


def _title_from(prompt: str) -> str:
    words = prompt.split()
    return " ".join(words[:8]) + ("…" if len(words) > 8 else "") if words else "untitled"
