"""Random sequences of Loom operations on a real workspace (Hypothesis): whatever the order, the
tree never holds a cycle, a refused operation changes nothing, undo restores exactly, and a tree
exported and imported again is the same tree."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from autoalign.errors import AutoalignError
from autoalign.loom import Loom
from autoalign.loom.records import TreeData

TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
TAGS = st.sampled_from(["bookmark", "archived", "x<y", "ünïcode"])


def shape(data: TreeData) -> tuple:
    """The tree as nested (text, tags, notes, children in order), without ids or times."""
    children: dict[str | None, list] = {}
    for node in data.nodes:
        children.setdefault(node.parent_uid, []).append(node)

    def of(node) -> tuple:
        return (node.text, tuple(sorted(node.tags)), node.notes, tuple(of(c) for c in children.get(node.uid, [])))

    return of(data.nodes[0])


class LoomOperations(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory(prefix="loom-props-")
        self.loom = Loom.open(Path(self.folder.name) / "ws")
        self.tree = self.loom.new_tree("Once", title="property tree")

    def teardown(self) -> None:
        self.loom.close()
        self.folder.cleanup()

    # -- helpers -----------------------------------------------------------------------------------
    def live(self) -> list[int]:
        rows = self.tree.db.execute(
            "SELECT id FROM loom_nodes WHERE tree_id = ? AND deleted IS NULL ORDER BY id", (self.tree.id,)
        )
        return [row[0] for row in rows]

    def refused_changes_nothing(self, operation) -> None:
        """Run ``operation``; if the Loom refuses it, the stored tree must be exactly as before."""
        before = self.tree.export_data()
        try:
            operation()
        except AutoalignError:
            assert self.tree.export_data() == before

    # -- operations --------------------------------------------------------------------------------
    @rule(data=st.data(), text=TEXTS)
    def add_child(self, data, text) -> None:
        parent = data.draw(st.sampled_from(self.live()))
        self.tree.add_child(parent, text)

    @rule(data=st.data(), text=TEXTS)
    def edit(self, data, text) -> None:
        self.tree.edit(data.draw(st.sampled_from(self.live())), text)

    @rule(data=st.data())
    def split(self, data) -> None:
        node = self.tree.node(data.draw(st.sampled_from(self.live())))
        offset = data.draw(st.integers(0, len(node.text) + 1))
        self.refused_changes_nothing(lambda: self.tree.split(node.id, offset))

    @rule(data=st.data())
    def merge_with_parent(self, data) -> None:
        node = data.draw(st.sampled_from(self.live()))
        self.refused_changes_nothing(lambda: self.tree.merge_with_parent(node))

    @rule(data=st.data())
    def reparent(self, data) -> None:
        node, parent = data.draw(st.sampled_from(self.live())), data.draw(st.sampled_from(self.live()))
        self.refused_changes_nothing(lambda: self.tree.reparent(node, parent))

    @rule(data=st.data(), tag=TAGS)
    def tag(self, data, tag) -> None:
        self.tree.tag(data.draw(st.sampled_from(self.live())), tag)

    @precondition(lambda self: len(self.live()) > 1)
    @rule(data=st.data())
    def delete_then_undo_restores_exactly(self, data) -> None:
        node = data.draw(st.sampled_from(self.live()[1:]))
        before = self.tree.export_data()
        deletion = self.tree.delete(node)
        assert node not in self.live()
        self.tree.undo_delete(deletion.id)
        assert self.tree.export_data() == before

    @precondition(lambda self: len(self.live()) > 1)
    @rule(data=st.data())
    def delete(self, data) -> None:
        self.tree.delete(data.draw(st.sampled_from(self.live()[1:])))

    # -- what always holds ---------------------------------------------------------------------------
    @invariant()
    def no_cycles_and_one_root(self) -> None:
        parents = dict(
            self.tree.db.execute("SELECT id, parent_id FROM loom_nodes WHERE tree_id = ?", (self.tree.id,)).fetchall()
        )
        roots = [node for node, parent in parents.items() if parent is None]
        assert roots == [self.tree.info().root_id]
        for node in parents:
            seen = set()
            while node is not None:
                assert node not in seen, f"a cycle through node {node}"
                seen.add(node)
                node = parents[node]

    @invariant()
    def export_then_import_gives_the_same_tree(self) -> None:
        exported = self.tree.export_data()
        again = self.loom.import_data(exported)
        assert shape(again.export_data()) == shape(exported)
        self.loom.delete_tree(again.id)


LoomOperations.TestCase.settings = settings(
    max_examples=25, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_loom_operations = LoomOperations.TestCase
