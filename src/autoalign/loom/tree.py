"""The tree engine: every operation on a Loom tree is one SQLite transaction.

Nothing is held in memory between calls, so a tree of any size opens by reading a few rows (the
tree, the current path and its children), and ``kill -9`` at any moment leaves every finished
operation on disk. Subtree operations (delete, undo) walk the subtree with one recursive query
over the ``(parent_id, position)`` index.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid
from collections.abc import Sequence
from typing import Any

from autoalign.errors import AutoalignError, NotFoundError
from autoalign.loom.records import (
    MAX_NODE_CHARS,
    Chapter,
    ChapterData,
    Deletion,
    Node,
    NodeData,
    StoredToken,
    TreeData,
    TreeInfo,
)
from autoalign.loom.settings import LoomSettings, check_overrides, parse_settings
from autoalign.workspace import Workspace, inserted_id

_NODE_COLUMNS = (
    "n.id, n.uid, n.parent_id, n.position, n.text, n.source, n.model, n.generation, n.tokens, n.overrides,"
    " n.notes, (SELECT group_concat(tag, char(31)) FROM loom_tags t WHERE t.node_id = n.id),"
    " (SELECT count(*) FROM loom_nodes c WHERE c.parent_id = n.id AND c.deleted IS NULL),"
    " n.created_at, n.modified_at"
)
#: The ids of a node's visible subtree (a subquery: sqlite3 reports no rowcount for WITH ... UPDATE).
_SUBTREE = (
    "(WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL"
    " SELECT c.id FROM loom_nodes c JOIN sub ON c.parent_id = sub.id WHERE c.deleted IS NULL) SELECT id FROM sub)"
)
_ANCESTORS = (
    "WITH RECURSIVE up(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 0 FROM loom_nodes WHERE id = ?"
    " UNION ALL SELECT n.id, n.parent_id, up.depth + 1 FROM loom_nodes n JOIN up ON n.id = up.parent_id)"
)


#: Matches ranked by :meth:`Tree.search`, newest first.
SEARCH_WINDOW = 10_000
#: SQLite integers are 64-bit; a bigger id can name nothing (and would overflow the binding).
MAX_ID = 2**63 - 1


def _check_id(value: int, missing: str) -> int:
    """``value`` if it can be a row id; otherwise NotFoundError(``missing``)."""
    if not 0 < value <= MAX_ID:
        raise NotFoundError(missing)
    return value


def _check_length(text: str, what: str) -> str:
    """Refuse a node text that a tree file could not carry back in: what import refuses, no other
    way in may store."""
    if len(text) > MAX_NODE_CHARS:
        raise AutoalignError(
            f"{what} would be {len(text):,} characters long; the limit is {MAX_NODE_CHARS:,} characters a node."
            " Split the text over several nodes."
        )
    return text


def new_uid() -> str:
    return str(uuid.uuid4())


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _node(row: Sequence[Any]) -> Node:
    return Node(
        id=row[0],
        uid=row[1],
        parent_id=row[2],
        position=row[3],
        text=row[4],
        source=row[5],
        model=row[6],
        generation=json.loads(row[7]) if row[7] else None,
        tokens=json.loads(row[8]) if row[8] else None,
        overrides=json.loads(row[9]) if row[9] else None,
        notes=row[10],
        tags=tuple(sorted(row[11].split("\x1f"))) if row[11] else (),
        child_count=row[12],
        created_at=row[13],
        modified_at=row[14],
    )


def token_offsets(tokens: list[StoredToken]) -> list[int]:
    """Start offset of each token in the text the tokens spell."""
    offsets, at = [], 0
    for token in tokens:
        offsets.append(at)
        at += len(token[0])
    return offsets


class Tree:
    """One tree of a workspace. Cheap to create: it holds only the workspace and the tree's id."""

    def __init__(self, workspace: Workspace, tree_id: int) -> None:
        self.workspace = workspace
        self.id = _check_id(tree_id, f"no Loom tree {tree_id}")
        if self.db.execute("SELECT 1 FROM loom_trees WHERE id = ?", (tree_id,)).fetchone() is None:
            raise NotFoundError(f"no Loom tree {tree_id}")

    @property
    def db(self) -> sqlite3.Connection:
        """The calling thread's connection (a tree is shared by the web app's threads)."""
        return self.workspace.db

    # --- reading -------------------------------------------------------------------------------

    def info(self) -> TreeInfo:
        row = self.db.execute(
            "SELECT uid, title, root_id, current_id, hoisted_id, settings, created_at, updated_at"
            " FROM loom_trees WHERE id = ?",
            (self.id,),
        ).fetchone()
        count = self.db.execute(
            "SELECT count(*) FROM loom_nodes WHERE tree_id = ? AND deleted IS NULL", (self.id,)
        ).fetchone()[0]
        return TreeInfo(
            id=self.id,
            uid=row[0],
            title=row[1],
            root_id=row[2],
            current_id=row[3] or row[2],
            hoisted_id=row[4],
            settings=parse_settings(json.loads(row[5])),
            node_count=count,
            created_at=row[6],
            updated_at=row[7],
        )

    @property
    def settings(self) -> LoomSettings:
        row = self.db.execute("SELECT settings FROM loom_trees WHERE id = ?", (self.id,)).fetchone()
        return parse_settings(json.loads(row[0]))

    def node(self, node_id: int) -> Node:
        _check_id(node_id, f"no node {node_id} in tree {self.id}")
        row = self.db.execute(
            f"SELECT {_NODE_COLUMNS}, n.deleted FROM loom_nodes n WHERE n.id = ? AND n.tree_id = ?",
            (node_id, self.id),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no node {node_id} in tree {self.id}")
        if row[-1] is not None:
            raise NotFoundError(f"node {node_id} was deleted (undo the deletion to bring it back)")
        return _node(row)

    def node_by_uid(self, uid: str) -> Node:
        row = self.db.execute(
            "SELECT id FROM loom_nodes WHERE tree_id = ? AND uid = ? AND deleted IS NULL", (self.id, uid)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no node {uid!r} in tree {self.id}")
        return self.node(row[0])

    def children(self, node_id: int, *, offset: int = 0, limit: int = -1) -> list[Node]:
        """Children in sibling order; ``limit`` and ``offset`` page through very wide nodes."""
        self.node(node_id)
        rows = self.db.execute(
            f"SELECT {_NODE_COLUMNS} FROM loom_nodes n WHERE n.parent_id = ? AND n.deleted IS NULL"
            " ORDER BY n.position, n.id LIMIT ? OFFSET ?",
            (node_id, limit, offset),
        )
        return [_node(row) for row in rows]

    def path(self, node_id: int) -> list[Node]:
        """The nodes from the root down to ``node_id``."""
        self.node(node_id)
        rows = self.db.execute(
            f"{_ANCESTORS} SELECT {_NODE_COLUMNS} FROM up JOIN loom_nodes n ON n.id = up.id ORDER BY up.depth DESC",
            (node_id,),
        )
        return [_node(row) for row in rows]

    def text(self, node_id: int) -> str:
        """The full text at ``node_id``: the segments of its path joined."""
        self.node(node_id)
        rows = self.db.execute(
            f"{_ANCESTORS} SELECT n.text FROM up JOIN loom_nodes n ON n.id = up.id ORDER BY up.depth DESC",
            (node_id,),
        )
        return "".join(row[0] for row in rows)

    def siblings(self, node_id: int) -> list[Node]:
        """The node and its siblings, in order (the root alone when ``node_id`` is the root)."""
        node = self.node(node_id)
        return [node] if node.parent_id is None else self.children(node.parent_id)

    def sibling(self, node_id: int, step: int) -> Node | None:
        """The next (``step=1``) or previous (``step=-1``) sibling in order, None at either end.

        Works however wide the parent is, without loading its other children.
        """
        node = self.node(node_id)
        if node.parent_id is None:
            return None
        later = step > 0
        row = self.db.execute(
            "SELECT id FROM loom_nodes WHERE parent_id = ? AND deleted IS NULL AND"
            + (
                " (position, id) > (?, ?) ORDER BY position, id"
                if later
                else " (position, id) < (?, ?) ORDER BY position DESC, id DESC"
            )
            + " LIMIT 1",
            (node.parent_id, node.position, node.id),
        ).fetchone()
        return self.node(row[0]) if row else None

    def last_deletion(self) -> Deletion | None:
        """The latest deletion that :meth:`undo_delete` would restore, if any."""
        row = self.db.execute(
            "SELECT d.id, d.node_id, d.parent_id, (SELECT count(*) FROM loom_nodes n WHERE n.deleted = d.id)"
            " FROM loom_deletions d WHERE d.tree_id = ? AND d.undone = 0 ORDER BY d.id DESC LIMIT 1",
            (self.id,),
        ).fetchone()
        return Deletion(*row) if row else None

    def history(self, node_id: int) -> list[tuple[str, float]]:
        """Earlier texts of the node, oldest first."""
        return [
            (text, at)
            for text, at in self.db.execute(
                "SELECT text, changed_at FROM loom_node_history WHERE node_id = ? ORDER BY rowid", (node_id,)
            )
        ]

    def tagged(self, tag: str) -> list[Node]:
        rows = self.db.execute(
            f"SELECT {_NODE_COLUMNS} FROM loom_tags t JOIN loom_nodes n ON n.id = t.node_id"
            " WHERE t.tag = ? AND n.tree_id = ? AND n.deleted IS NULL ORDER BY n.id",
            (tag, self.id),
        )
        return [_node(row) for row in rows]

    def search(self, query: str, *, limit: int = 50) -> list[Node]:
        """Nodes whose text holds every word of ``query``, best matches first (among the newest
        :data:`SEARCH_WINDOW` matches in the workspace)."""
        words = [w.replace('"', '""') for w in query.split()]
        if not words:
            return []
        match = " ".join(f'"{w}"' for w in words)
        # Ranking every match of a common word costs 0.8 s at a million nodes; the newest
        # SEARCH_WINDOW matches are ranked instead (29 ms), which is where a Loom user looks.
        rows = self.db.execute(
            f"SELECT {_NODE_COLUMNS} FROM (SELECT rowid, rank FROM loom_nodes_fts WHERE loom_nodes_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT ?) f JOIN loom_nodes n ON n.id = f.rowid"
            " WHERE n.tree_id = ? AND n.deleted IS NULL ORDER BY f.rank LIMIT ?",
            (match, SEARCH_WINDOW, self.id, limit),
        )
        return [_node(row) for row in rows]

    def chapters(self) -> list[Chapter]:
        rows = self.db.execute(
            "SELECT c.id, c.uid, c.node_id, c.title FROM loom_chapters c JOIN loom_nodes n ON n.id = c.node_id"
            " WHERE c.tree_id = ? AND n.deleted IS NULL ORDER BY c.id",
            (self.id,),
        )
        return [Chapter(*row) for row in rows]

    def chapter_of(self, node_id: int) -> Chapter | None:
        """The chapter whose start is the nearest ancestor-or-self of the node."""
        row = self.db.execute(
            f"{_ANCESTORS} SELECT c.id, c.uid, c.node_id, c.title FROM up JOIN loom_chapters c ON c.node_id = up.id"
            " ORDER BY up.depth LIMIT 1",
            (node_id,),
        ).fetchone()
        return Chapter(*row) if row else None

    def effective_settings(self, node_id: int) -> LoomSettings:
        """Tree settings with the overrides on the node's path applied, the deepest last."""
        self.node(node_id)
        rows = self.db.execute(
            f"{_ANCESTORS} SELECT n.overrides FROM up JOIN loom_nodes n ON n.id = up.id"
            " WHERE n.overrides IS NOT NULL ORDER BY up.depth DESC",
            (node_id,),
        )
        merged: dict[str, Any] = {}
        for (overrides,) in rows:
            merged.update(json.loads(overrides))
        return self.settings.merged(merged)

    # --- writing -------------------------------------------------------------------------------

    def add_child(
        self,
        parent_id: int,
        text: str,
        *,
        source: str = "prompt",
        model: str | None = None,
        generation: dict[str, Any] | None = None,
        tokens: list[StoredToken] | None = None,
    ) -> Node:
        _check_length(text, "the new node")
        with self.workspace.transaction() as tx:
            self._live(tx, parent_id)
            node_id = self._insert_child(tx, parent_id, text, source, model, generation, tokens)
        return self.node(node_id)

    def edit(self, node_id: int, text: str) -> Node:
        """Replace the node's text, keeping the old text in its history."""
        _check_length(text, f"node {node_id}")
        with self.workspace.transaction() as tx:
            node = self.node(node_id)
            if text == node.text:
                return node
            source = "mixed" if node.source in ("AI", "mixed") else node.source
            now = time.time()
            tx.execute(
                "INSERT INTO loom_node_history(node_id, text, changed_at) VALUES (?, ?, ?)",
                (node_id, node.text, node.modified_at),
            )
            # Token probabilities describe the generated text only; an edit makes them stale.
            tx.execute(
                "UPDATE loom_nodes SET text = ?, source = ?, tokens = NULL, modified_at = ? WHERE id = ?",
                (text, source, now, node_id),
            )
            self._touch(tx)
        return self.node(node_id)

    def split(self, node_id: int, offset: int) -> tuple[Node, Node]:
        """Cut the node's text at ``offset``: the rest becomes its only child, holding its children."""
        with self.workspace.transaction() as tx:
            child_id = self._split(tx, node_id, offset)
        return self.node(node_id), self.node(child_id)

    def merge_with_parent(self, node_id: int) -> Node:
        """Append the node's text to its parent's, which takes over the node's children.

        Refused when the node has siblings: they continue the parent's text as it is now, and the
        merge would put the node's text in front of them.
        """
        with self.workspace.transaction() as tx:
            parent_id = self._merge_into_parent(tx, node_id)
        return self.node(parent_id)

    def merge_with_child(self, node_id: int) -> Node:
        """Merge the node's only child into it."""
        with self.workspace.transaction() as tx:
            children = self.children(node_id, limit=2)
            if len(children) != 1:
                raise AutoalignError(f"node {node_id} has {self.node(node_id).child_count} children; merging needs one")
            self._merge_into_parent(tx, children[0].id)
        return self.node(node_id)

    def reparent(self, node_id: int, new_parent_id: int, *, position: int | None = None) -> Node:
        """Move the node (with its subtree) under another parent, last or at ``position``."""
        with self.workspace.transaction() as tx:
            if self.node(node_id).parent_id is None:
                raise AutoalignError("the root cannot be moved")
            self.node(new_parent_id)
            ancestors = {row[0] for row in tx.execute(f"{_ANCESTORS} SELECT id FROM up", (new_parent_id,))}
            if node_id in ancestors:
                raise AutoalignError(f"cannot move node {node_id} under its own descendant {new_parent_id}")
            if position is None:
                position = self._next_position(tx, new_parent_id)
            else:
                tx.execute(
                    "UPDATE loom_nodes SET position = position + 1 WHERE parent_id = ? AND position >= ?",
                    (new_parent_id, position),
                )
            tx.execute(
                "UPDATE loom_nodes SET parent_id = ?, position = ?, modified_at = ? WHERE id = ?",
                (new_parent_id, position, time.time(), node_id),
            )
            self._touch(tx)
        return self.node(node_id)

    def delete(self, node_id: int) -> Deletion:
        """Hide the node and its subtree; :meth:`undo_delete` brings them back."""
        with self.workspace.transaction() as tx:
            node = self.node(node_id)
            if node.parent_id is None:
                raise AutoalignError("the root cannot be deleted; delete the tree instead")
            cursor = tx.execute(
                "INSERT INTO loom_deletions(tree_id, node_id, parent_id, position, deleted_at) VALUES (?, ?, ?, ?, ?)",
                (self.id, node_id, node.parent_id, node.position, time.time()),
            )
            deletion_id = inserted_id(cursor)
            count = tx.execute(
                f"UPDATE loom_nodes SET deleted = ? WHERE id IN {_SUBTREE}", (deletion_id, node_id)
            ).rowcount
            # The reader and the tree view must stay on visible nodes; where they were is kept for
            # undo. Each is looked up by its id: a scan of the deleted rows would cost a pass over the tree.
            shown = tx.execute("SELECT current_id, hoisted_id FROM loom_trees WHERE id = ?", (self.id,)).fetchone()
            hidden = "SELECT 1 FROM loom_nodes WHERE id = ? AND deleted = ?"
            moved = [
                at if at is not None and tx.execute(hidden, (at, deletion_id)).fetchone() else None for at in shown
            ]
            tx.execute(
                "UPDATE loom_deletions SET moved_current_id = ?, moved_hoisted_id = ? WHERE id = ?",
                (*moved, deletion_id),
            )
            for column, was in zip(("current_id", "hoisted_id"), moved, strict=True):
                if was is not None:
                    tx.execute(f"UPDATE loom_trees SET {column} = ? WHERE id = ?", (node.parent_id, self.id))
            self._touch(tx)
        return Deletion(id=deletion_id, node_id=node_id, parent_id=node.parent_id, nodes=count)

    def undo_delete(self, deletion_id: int | None = None) -> Deletion:
        """Restore a deleted subtree: the given deletion, or the latest one not yet undone."""
        query = "SELECT id, node_id, parent_id FROM loom_deletions WHERE tree_id = ? AND undone = 0"
        params: tuple[Any, ...] = (self.id,)
        if deletion_id is not None:
            query += " AND id = ?"
            params += (deletion_id,)
        with self.workspace.transaction() as tx:
            row = tx.execute(query + " ORDER BY id DESC LIMIT 1", params).fetchone()
            if row is None:
                raise NotFoundError("nothing to undo" if deletion_id is None else f"no deletion {deletion_id} to undo")
            count = tx.execute("UPDATE loom_nodes SET deleted = NULL WHERE deleted = ?", (row[0],)).rowcount
            tx.execute("UPDATE loom_deletions SET undone = 1 WHERE id = ?", (row[0],))
            # Back to the node the deletion moved the reader off, unless the reader has moved since.
            for column in ("current_id", "hoisted_id"):
                tx.execute(
                    f"UPDATE loom_trees SET {column} = (SELECT moved_{column} FROM loom_deletions WHERE id = ?)"
                    f" WHERE id = ? AND {column} IS ? AND"
                    f" (SELECT moved_{column} FROM loom_deletions WHERE id = ?) IS NOT NULL",
                    (row[0], self.id, row[2], row[0]),
                )
            self._touch(tx)
        return Deletion(id=row[0], node_id=row[1], parent_id=row[2], nodes=count)

    def tag(self, node_id: int, tag: str) -> Node:
        tag = tag.strip()
        if not tag:
            raise AutoalignError("a tag cannot be empty")
        with self.workspace.transaction() as tx:
            self.node(node_id)
            tx.execute("INSERT OR IGNORE INTO loom_tags(node_id, tag) VALUES (?, ?)", (node_id, tag))
            self._touch(tx)
        return self.node(node_id)

    def untag(self, node_id: int, tag: str) -> Node:
        with self.workspace.transaction() as tx:
            self.node(node_id)
            tx.execute("DELETE FROM loom_tags WHERE node_id = ? AND tag = ?", (node_id, tag))
            self._touch(tx)
        return self.node(node_id)

    def set_notes(self, node_id: int, notes: str) -> Node:
        with self.workspace.transaction() as tx:
            self.node(node_id)
            tx.execute("UPDATE loom_nodes SET notes = ? WHERE id = ?", (notes, node_id))
            self._touch(tx)
        return self.node(node_id)

    def set_overrides(self, node_id: int, overrides: dict[str, Any] | None) -> Node:
        """Settings for the node's subtree that replace the tree's (None removes them)."""
        if overrides:
            check_overrides(overrides)
        with self.workspace.transaction() as tx:
            self.node(node_id)
            tx.execute("UPDATE loom_nodes SET overrides = ? WHERE id = ?", (_json(overrides or None), node_id))
            self._touch(tx)
        return self.node(node_id)

    def update_settings(self, **changes: Any) -> LoomSettings:
        """Change tree-wide settings; unknown names or bad values are refused whole."""
        with self.workspace.transaction() as tx:
            settings = self.settings.merged(changes)
            tx.execute("UPDATE loom_trees SET settings = ? WHERE id = ?", (settings.model_dump_json(), self.id))
            self._touch(tx)
        return settings

    def rename(self, title: str) -> None:
        with self.workspace.transaction() as tx:
            tx.execute("UPDATE loom_trees SET title = ? WHERE id = ?", (title, self.id))
            self._touch(tx)

    def add_chapter(self, node_id: int, title: str) -> Chapter:
        with self.workspace.transaction() as tx:
            self.node(node_id)
            uid = new_uid()
            cursor = tx.execute(
                "INSERT INTO loom_chapters(tree_id, uid, node_id, title) VALUES (?, ?, ?, ?)",
                (self.id, uid, node_id, title),
            )
            chapter_id = inserted_id(cursor)
            self._touch(tx)
        return Chapter(id=chapter_id, uid=uid, node_id=node_id, title=title)

    def remove_chapter(self, chapter_id: int) -> None:
        with self.workspace.transaction() as tx:
            if (
                tx.execute("DELETE FROM loom_chapters WHERE id = ? AND tree_id = ?", (chapter_id, self.id)).rowcount
                == 0
            ):
                raise NotFoundError(f"no chapter {chapter_id} in tree {self.id}")
            self._touch(tx)

    def go_to(self, node_id: int) -> Node:
        """Make the node the current one (what the reader shows and generation starts from)."""
        with self.workspace.transaction() as tx:
            node = self.node(node_id)
            tx.execute("UPDATE loom_trees SET current_id = ? WHERE id = ?", (node_id, self.id))
        return node

    def hoist(self, node_id: int | None) -> None:
        """Show the tree view from ``node_id`` down (None: from the root again)."""
        with self.workspace.transaction() as tx:
            if node_id is not None:
                self.node(node_id)
            tx.execute("UPDATE loom_trees SET hoisted_id = ? WHERE id = ?", (node_id, self.id))

    def walk(self, node_id: int | None = None, *, rng: random.Random | None = None) -> Node:
        """Descend from the node (default: the current one) by random children to a leaf, skipping
        archived nodes, and make the leaf current."""
        rng = rng or random.Random()
        at = node_id if node_id is not None else self._current_id()
        self.node(at)
        while True:
            options = [
                row[0]
                for row in self.db.execute(
                    "SELECT id FROM loom_nodes n WHERE parent_id = ? AND deleted IS NULL AND NOT EXISTS"
                    " (SELECT 1 FROM loom_tags t WHERE t.node_id = n.id AND t.tag = 'archived') ORDER BY position, id",
                    (at,),
                )
            ]
            if not options:
                return self.go_to(at)
            at = rng.choice(options)

    def branch_at_token(self, node_id: int, token_index: int) -> list[Node]:
        """One new sibling of the chosen token per alternative the model offered for it.

        A token inside the node splits it first, so the alternatives continue the text before the
        token; the original token and what followed it stay, as the first child.
        """
        with self.workspace.transaction() as tx:
            node = self.node(node_id)
            if not node.tokens:
                raise AutoalignError(f"node {node_id} has no token probabilities (only generated, unedited nodes do)")
            if not 0 <= token_index < len(node.tokens):
                raise AutoalignError(f"node {node_id} has tokens 0 to {len(node.tokens) - 1}, not {token_index}")
            chosen = node.tokens[token_index]
            alternatives = [(alt, logprob) for alt, logprob in chosen[2] if alt != chosen[0]]
            if not alternatives:
                raise AutoalignError("the model gave no alternatives for that token")
            start = token_offsets(node.tokens)[token_index]
            if start == 0:
                if node.parent_id is None:
                    raise AutoalignError("the root's first token has nowhere to branch from")
                parent_id = node.parent_id
            else:
                self._split(tx, node_id, start)
                parent_id = node_id
            new_ids = [
                self._insert_child(tx, parent_id, alt, "AI", node.model, node.generation, [[alt, logprob, chosen[2]]])
                for alt, logprob in alternatives
            ]
        return [self.node(i) for i in new_ids]

    # --- whole trees ---------------------------------------------------------------------------

    def export_data(self) -> TreeData:
        """The whole tree (deleted nodes left out), format-neutral, parents before children."""
        info = self.info()
        rows = self.db.execute(
            f"WITH RECURSIVE walk(id, depth) AS (SELECT ?, 0 UNION ALL SELECT c.id, walk.depth + 1"
            f" FROM loom_nodes c JOIN walk ON c.parent_id = walk.id WHERE c.deleted IS NULL)"
            f" SELECT {_NODE_COLUMNS}, n.extra, (SELECT uid FROM loom_nodes p WHERE p.id = n.parent_id)"
            f" FROM walk JOIN loom_nodes n ON n.id = walk.id ORDER BY walk.depth, n.parent_id, n.position, n.id",
            (info.root_id,),
        ).fetchall()
        history: dict[int, list[tuple[str, float]]] = {}
        for node_id, text, at in self.db.execute(
            "SELECT h.node_id, h.text, h.changed_at FROM loom_node_history h JOIN loom_nodes n ON n.id = h.node_id"
            " WHERE n.tree_id = ? ORDER BY h.rowid",
            (self.id,),
        ):
            history.setdefault(node_id, []).append((text, at))
        nodes = []
        uid_of = {}
        for row in rows:
            node = _node(row)
            uid_of[node.id] = node.uid
            nodes.append(
                NodeData(
                    uid=node.uid,
                    parent_uid=row[-1],
                    text=node.text,
                    source=node.source,
                    model=node.model,
                    generation=node.generation,
                    tokens=node.tokens,
                    overrides=node.overrides,
                    notes=node.notes,
                    tags=list(node.tags),
                    history=history.get(node.id, []),
                    extra=json.loads(row[-2]),
                    created_at=node.created_at,
                    modified_at=node.modified_at,
                )
            )
        extra = json.loads(self.db.execute("SELECT extra FROM loom_trees WHERE id = ?", (self.id,)).fetchone()[0])
        return TreeData(
            title=info.title,
            nodes=nodes,
            settings=info.settings.model_dump(),
            chapters=[ChapterData(uid=c.uid, node_uid=uid_of[c.node_id], title=c.title) for c in self.chapters()],
            current_uid=uid_of.get(info.current_id),
            hoisted_uid=uid_of.get(info.hoisted_id) if info.hoisted_id else None,
            extra=extra,
        )

    # --- internals -----------------------------------------------------------------------------

    def _current_id(self) -> int:
        row = self.db.execute("SELECT coalesce(current_id, root_id) FROM loom_trees WHERE id = ?", (self.id,))
        return row.fetchone()[0]

    def _live(self, tx: sqlite3.Connection, node_id: int) -> None:
        row = tx.execute("SELECT deleted FROM loom_nodes WHERE id = ? AND tree_id = ?", (node_id, self.id)).fetchone()
        if row is None or row[0] is not None:
            raise NotFoundError(f"no node {node_id} in tree {self.id}")

    def _touch(self, tx: sqlite3.Connection) -> None:
        tx.execute("UPDATE loom_trees SET updated_at = ? WHERE id = ?", (time.time(), self.id))

    @staticmethod
    def _next_position(tx: sqlite3.Connection, parent_id: int) -> int:
        row = tx.execute("SELECT max(position) FROM loom_nodes WHERE parent_id = ?", (parent_id,)).fetchone()
        return 0 if row[0] is None else row[0] + 1

    def _insert_child(
        self,
        tx: sqlite3.Connection,
        parent_id: int,
        text: str,
        source: str,
        model: str | None,
        generation: dict[str, Any] | None,
        tokens: list[StoredToken] | None,
    ) -> int:
        now = time.time()
        cursor = tx.execute(
            "INSERT INTO loom_nodes(tree_id, uid, parent_id, position, text, source, model, generation, tokens,"
            " created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.id,
                new_uid(),
                parent_id,
                self._next_position(tx, parent_id),
                text,
                source,
                model,
                _json(generation),
                _json(tokens),
                now,
                now,
            ),
        )
        node_id = inserted_id(cursor)
        self._touch(tx)
        return node_id

    def _merge_into_parent(self, tx: sqlite3.Connection, node_id: int) -> int:
        """Merge the node into its parent inside ``tx`` (see :meth:`merge_with_parent`); returns the parent."""
        node = self.node(node_id)
        if node.parent_id is None:
            raise AutoalignError("the root has no parent to merge with")
        parent = self.node(node.parent_id)
        if parent.child_count > 1:
            raise AutoalignError(
                f"node {node_id} has {parent.child_count - 1} sibling(s); merging would change their text."
                " Move or delete them first."
            )
        _check_length(parent.text + node.text, f"the merge of node {node_id} into {parent.id}")
        tokens = parent.tokens + node.tokens if parent.tokens is not None and node.tokens is not None else None
        source = parent.source if parent.source == node.source else "mixed"
        tx.execute(
            "UPDATE loom_nodes SET text = ?, tokens = ?, source = ?, modified_at = ? WHERE id = ?",
            (parent.text + node.text, _json(tokens), source, time.time(), parent.id),
        )
        tx.execute("UPDATE loom_nodes SET parent_id = ? WHERE parent_id = ?", (parent.id, node_id))
        tx.execute(
            "UPDATE loom_tags SET node_id = ? WHERE node_id = ? AND tag NOT IN"
            " (SELECT tag FROM loom_tags WHERE node_id = ?)",
            (parent.id, node_id, parent.id),
        )
        tx.execute("UPDATE loom_chapters SET node_id = ? WHERE node_id = ?", (parent.id, node_id))
        tx.execute("DELETE FROM loom_nodes WHERE id = ?", (node_id,))
        for column in ("current_id", "hoisted_id"):
            tx.execute(
                f"UPDATE loom_trees SET {column} = ? WHERE id = ? AND {column} = ?", (parent.id, self.id, node_id)
            )
        self._touch(tx)
        return parent.id

    def _split(self, tx: sqlite3.Connection, node_id: int, offset: int) -> int:
        node = self.node(node_id)
        if not 0 < offset < len(node.text):
            raise AutoalignError(f"split offset must be between 1 and {len(node.text) - 1}, not {offset}")
        head_tokens = tail_tokens = None
        if node.tokens:
            offsets = token_offsets(node.tokens)
            if offset in offsets:
                cut = offsets.index(offset)
                head_tokens, tail_tokens = node.tokens[:cut], node.tokens[cut:]
        now = time.time()
        tx.execute(
            "UPDATE loom_nodes SET text = ?, tokens = ?, modified_at = ? WHERE id = ?",
            (node.text[:offset], _json(head_tokens), now, node_id),
        )
        cursor = tx.execute(
            "INSERT INTO loom_nodes(tree_id, uid, parent_id, position, text, source, model, generation, tokens,"
            " created_at, modified_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.id,
                new_uid(),
                node_id,
                node.text[offset:],
                node.source,
                node.model,
                _json(node.generation),
                _json(tail_tokens),
                node.created_at,
                now,
            ),
        )
        child_id = inserted_id(cursor)
        tx.execute("UPDATE loom_nodes SET parent_id = ? WHERE parent_id = ? AND id != ?", (child_id, node_id, child_id))
        tx.execute("UPDATE loom_trees SET current_id = ? WHERE id = ? AND current_id = ?", (child_id, self.id, node_id))
        self._touch(tx)
        return child_id


def insert_tree(workspace: Workspace, data: TreeData, *, settings: LoomSettings) -> int:
    """Store a whole tree in one transaction (import): all of it or, on any error, nothing."""
    now = time.time()
    with workspace.transaction() as tx:
        cursor = tx.execute(
            "INSERT INTO loom_trees(uid, title, settings, extra, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (new_uid(), data.title, settings.model_dump_json(), _json(data.extra), now, now),
        )
        tree_id = inserted_id(cursor)
        id_of: dict[str, int] = {}
        positions: dict[int, int] = {}
        history_rows: list[tuple[int, str, float]] = []
        tag_rows: list[tuple[int, str]] = []
        for node in data.nodes:
            _check_length(node.text, f"node {node.uid!r}" if node.parent_uid is not None else "the root")
            parent_id = id_of[node.parent_uid] if node.parent_uid is not None else None
            position = positions.get(parent_id, 0) if parent_id is not None else 0
            if parent_id is not None:
                positions[parent_id] = position + 1
            created = node.created_at if node.created_at is not None else now
            cursor = tx.execute(
                "INSERT INTO loom_nodes(tree_id, uid, parent_id, position, text, source, model, generation, tokens,"
                " overrides, notes, extra, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tree_id,
                    node.uid,
                    parent_id,
                    position,
                    node.text,
                    node.source,
                    node.model,
                    _json(node.generation),
                    _json(node.tokens),
                    _json(node.overrides),
                    node.notes,
                    _json(node.extra),
                    created,
                    node.modified_at if node.modified_at is not None else created,
                ),
            )
            node_id = inserted_id(cursor)
            id_of[node.uid] = node_id
            history_rows.extend((node_id, text, at) for text, at in node.history)
            tag_rows.extend((node_id, tag) for tag in dict.fromkeys(node.tags))
        tx.executemany("INSERT INTO loom_node_history(node_id, text, changed_at) VALUES (?, ?, ?)", history_rows)
        tx.executemany("INSERT INTO loom_tags(node_id, tag) VALUES (?, ?)", tag_rows)
        tx.executemany(
            "INSERT INTO loom_chapters(tree_id, uid, node_id, title) VALUES (?, ?, ?, ?)",
            [(tree_id, c.uid, id_of[c.node_uid], c.title) for c in data.chapters if c.node_uid in id_of],
        )
        root_id = id_of[data.nodes[0].uid]
        tx.execute(
            "UPDATE loom_trees SET root_id = ?, current_id = ?, hoisted_id = ? WHERE id = ?",
            (root_id, id_of.get(data.current_uid or "", root_id), id_of.get(data.hoisted_uid or ""), tree_id),
        )
    return tree_id
