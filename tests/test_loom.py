"""The Loom tree engine on a real workspace database."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from autoalign.errors import AutoalignError, NotFoundError
from autoalign.loom import Loom, Tree

TOKENS = [
    [" a", -0.1, [[" a", -0.1], [" the", -1.2], [" one", -2.0]]],
    [" king", -0.5, [[" king", -0.5], [" queen", -1.0]]],
    [".", -0.2, [[".", -0.2]]],
]


@pytest.fixture
def loom(tmp_path: Path) -> Loom:
    return Loom.open(tmp_path / "ws")


@pytest.fixture
def story(loom: Loom) -> tuple[Tree, dict[str, int]]:
    """root "Once upon a time" -> a " there was" -> c " a king." (generated, with tokens); root -> b " a dragon"."""
    tree = loom.new_tree("Once upon a time", title="story")
    root = tree.info().root_id
    a = tree.add_child(root, " there was").id
    b = tree.add_child(root, " a dragon").id
    c = tree.add_child(a, " a king.", source="AI", model="test-model", generation={"temperature": 1}, tokens=TOKENS).id
    return tree, {"root": root, "a": a, "b": b, "c": c}


def texts(nodes) -> list[str]:
    return [n.text for n in nodes]


def test_new_tree_and_paths(loom: Loom, story) -> None:
    tree, ids = story
    info = tree.info()
    assert (info.title, info.node_count, info.current_id) == ("story", 4, ids["root"])
    assert tree.text(ids["c"]) == "Once upon a time there was a king."
    assert texts(tree.path(ids["c"])) == ["Once upon a time", " there was", " a king."]
    assert texts(tree.children(ids["root"])) == [" there was", " a dragon"]
    assert texts(tree.siblings(ids["b"])) == [" there was", " a dragon"]
    node = tree.node(ids["c"])
    assert (node.source, node.model, node.generation, node.tokens) == ("AI", "test-model", {"temperature": 1}, TOKENS)
    assert loom.tree(info.uid).id == tree.id
    assert [t.title for t in loom.trees()] == ["story"]


def test_children_page_through_wide_nodes(loom: Loom) -> None:
    tree = loom.new_tree("wide")
    root = tree.info().root_id
    for i in range(25):
        tree.add_child(root, f" {i}")
    assert texts(tree.children(root, limit=10)) == [f" {i}" for i in range(10)]
    assert texts(tree.children(root, offset=20, limit=10)) == [f" {i}" for i in range(20, 25)]
    assert tree.node(root).child_count == 25


def test_edit_keeps_history_and_drops_stale_tokens(story) -> None:
    tree, ids = story
    edited = tree.edit(ids["c"], " a wise king.")
    assert (edited.text, edited.source, edited.tokens) == (" a wise king.", "mixed", None)
    tree.edit(ids["c"], " a wiser king.")
    assert [text for text, _ in tree.history(ids["c"])] == [" a king.", " a wise king."]
    assert tree.edit(ids["c"], " a wiser king.").text == " a wiser king."
    assert len(tree.history(ids["c"])) == 2


def test_split_moves_children_and_tokens(story) -> None:
    tree, ids = story
    head, tail = tree.split(ids["a"], 6)
    assert (head.text, tail.text) == (" there", " was")
    assert texts(tree.children(tail.id)) == [" a king."]
    assert tree.text(ids["c"]) == "Once upon a time there was a king."
    # Splitting at a token boundary keeps each half's tokens.
    head, tail = tree.split(ids["c"], 2)
    assert head.tokens == TOKENS[:1] and tail.tokens == TOKENS[1:]
    with pytest.raises(AutoalignError, match="between 1 and"):
        tree.split(ids["b"], 0)


def test_merge_with_parent_and_child(story) -> None:
    tree, ids = story
    merged = tree.merge_with_parent(ids["c"])
    assert merged.id == ids["a"] and merged.text == " there was a king."
    with pytest.raises(NotFoundError):
        tree.node(ids["c"])
    with pytest.raises(AutoalignError, match="sibling"):
        tree.merge_with_parent(ids["b"])
    with pytest.raises(AutoalignError, match="root"):
        tree.merge_with_parent(ids["root"])
    child = tree.add_child(ids["b"], " slept.")
    assert tree.merge_with_child(ids["b"]).text == " a dragon slept."
    assert tree.info().node_count == 3
    assert child.id not in [n.id for n in tree.children(ids["b"])]


def test_reparent_refuses_cycles(story) -> None:
    tree, ids = story
    moved = tree.reparent(ids["c"], ids["b"])
    assert moved.parent_id == ids["b"]
    assert tree.text(ids["c"]) == "Once upon a time a dragon a king."
    with pytest.raises(AutoalignError, match="own descendant"):
        tree.reparent(ids["b"], ids["c"])
    with pytest.raises(AutoalignError, match="root cannot be moved"):
        tree.reparent(ids["root"], ids["a"])
    tree.reparent(ids["a"], ids["root"], position=0)
    assert texts(tree.children(ids["root"]))[0] == " there was"


def test_delete_subtree_and_undo(story) -> None:
    tree, ids = story
    tree.go_to(ids["c"])
    deletion = tree.delete(ids["a"])
    assert deletion.nodes == 2
    assert tree.info().node_count == 2
    assert tree.info().current_id == ids["root"]
    assert texts(tree.children(ids["root"])) == [" a dragon"]
    with pytest.raises(NotFoundError, match="deleted"):
        tree.node(ids["c"])
    assert tree.search("king") == []
    restored = tree.undo_delete()
    assert restored.nodes == 2 and tree.info().node_count == 4
    assert tree.text(ids["c"]) == "Once upon a time there was a king."
    with pytest.raises(NotFoundError, match="nothing to undo"):
        tree.undo_delete()
    with pytest.raises(AutoalignError, match="root cannot be deleted"):
        tree.delete(ids["root"])


def test_nested_deletions_undo_separately(story) -> None:
    tree, ids = story
    inner = tree.delete(ids["c"])
    tree.delete(ids["a"])
    tree.undo_delete()
    assert texts(tree.children(ids["a"])) == []
    tree.undo_delete(inner.id)
    assert texts(tree.children(ids["a"])) == [" a king."]


def test_tags_notes_chapters_hoist(story) -> None:
    tree, ids = story
    tree.tag(ids["c"], "bookmark")
    tree.tag(ids["c"], "bookmark")
    tree.tag(ids["b"], "my idea")
    assert tree.node(ids["c"]).tags == ("bookmark",)
    assert [n.id for n in tree.tagged("bookmark")] == [ids["c"]]
    tree.untag(ids["c"], "bookmark")
    assert tree.tagged("bookmark") == []
    with pytest.raises(AutoalignError, match="empty"):
        tree.tag(ids["c"], "  ")
    assert tree.set_notes(ids["a"], "check this").notes == "check this"
    chapter = tree.add_chapter(ids["a"], "The king")
    assert tree.chapter_of(ids["c"]) == chapter
    assert tree.chapter_of(ids["b"]) is None
    tree.remove_chapter(chapter.id)
    assert tree.chapters() == []
    tree.hoist(ids["a"])
    assert tree.info().hoisted_id == ids["a"]
    tree.hoist(None)
    assert tree.info().hoisted_id is None


def test_search_finds_words_across_the_tree(story) -> None:
    tree, ids = story
    assert [n.id for n in tree.search("dragon")] == [ids["b"]]
    assert tree.search('"quoted) AND OR') == []
    assert tree.search("   ") == []
    tree.edit(ids["b"], " a wyvern")
    assert tree.search("dragon") == [] and [n.id for n in tree.search("wyvern")] == [ids["b"]]


def test_settings_overrides_apply_to_subtrees(story) -> None:
    tree, ids = story
    tree.update_settings(temperature=0.5, memory="Memory. ")
    tree.set_overrides(ids["a"], {"temperature": 0.1, "n": 2})
    assert tree.effective_settings(ids["c"]).temperature == 0.1
    assert tree.effective_settings(ids["c"]).n == 2
    assert tree.effective_settings(ids["b"]).temperature == 0.5
    assert tree.effective_settings(ids["b"]).memory == "Memory. "
    with pytest.raises(AutoalignError, match="temperature"):
        tree.update_settings(temperature=-1)
    with pytest.raises(AutoalignError, match="colour"):
        tree.set_overrides(ids["a"], {"colour": "red"})
    tree.set_overrides(ids["a"], None)
    assert tree.effective_settings(ids["c"]).temperature == 0.5


def test_walk_descends_to_a_leaf_skipping_archived(loom: Loom) -> None:
    tree = loom.new_tree("start")
    root = tree.info().root_id
    kept = tree.add_child(root, " kept")
    archived = tree.add_child(root, " archived")
    tree.tag(archived.id, "archived")
    leaf = tree.add_child(kept.id, " leaf")
    for seed in range(5):
        assert tree.walk(root, rng=random.Random(seed)).id == leaf.id
    assert tree.info().current_id == leaf.id


def test_branch_at_token_inside_and_at_start(story) -> None:
    tree, ids = story
    alternatives = tree.branch_at_token(ids["c"], 1)
    assert texts(alternatives) == [" queen"]
    assert tree.text(alternatives[0].id) == "Once upon a time there was a queen"
    assert texts(tree.children(ids["c"])) == [" king.", " queen"]
    assert alternatives[0].tokens == [[" queen", -1.0, TOKENS[1][2]]]
    at_start = tree.branch_at_token(ids["c"], 0)
    assert texts(at_start) == [" the", " one"]
    assert [n.parent_id for n in at_start] == [ids["a"], ids["a"]]
    with pytest.raises(AutoalignError, match="no alternatives"):
        tree.branch_at_token(tree.children(ids["c"])[0].id, 1)
    with pytest.raises(AutoalignError, match="no token probabilities"):
        tree.branch_at_token(ids["b"], 0)


def test_export_and_import_round_trip_in_the_database(loom: Loom, story) -> None:
    tree, ids = story
    tree.tag(ids["c"], "canonical")
    tree.add_chapter(ids["a"], "Ch. 1")
    tree.edit(ids["b"], " a wyvern")
    tree.go_to(ids["c"])
    data = tree.export_data()
    copy = loom.import_data(data)
    again = copy.export_data()
    assert [(n.uid, n.parent_uid, n.text, n.tags, n.tokens, n.history) for n in again.nodes] == [
        (n.uid, n.parent_uid, n.text, n.tags, n.tokens, n.history) for n in data.nodes
    ]
    assert again.chapters[0].title == "Ch. 1" and again.current_uid == data.current_uid
    loom.delete_tree(copy.id)
    assert [t.id for t in loom.trees()] == [tree.id]


def test_unknown_ids_are_not_found(loom: Loom, story) -> None:
    tree, ids = story
    with pytest.raises(NotFoundError):
        loom.tree(999)
    with pytest.raises(NotFoundError):
        loom.tree("no-such-uid")
    with pytest.raises(NotFoundError):
        tree.node(12345)
    other = loom.new_tree("other")
    with pytest.raises(NotFoundError):
        other.node(ids["c"])
    with pytest.raises(NotFoundError):
        other.add_child(ids["c"], "cross-tree")


def test_failed_operation_changes_nothing(story, tmp_path: Path) -> None:
    tree, ids = story
    before = tree.export_data()
    with pytest.raises(AutoalignError):
        tree.reparent(ids["a"], ids["c"])
    with pytest.raises(AutoalignError):
        tree.split(ids["a"], 999)
    after = tree.export_data()
    assert [(n.uid, n.parent_uid, n.text) for n in after.nodes] == [(n.uid, n.parent_uid, n.text) for n in before.nodes]
    db = sqlite3.connect(tree.workspace.path / "autoalign.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_sibling_steps_and_last_deletion(loom: Loom) -> None:
    tree = loom.new_tree("wide")
    root = tree.info().root_id
    kids = [tree.add_child(root, f" {i}").id for i in range(5)]
    assert tree.sibling(kids[2], 1).id == kids[3]
    assert tree.sibling(kids[2], -1).id == kids[1]
    assert tree.sibling(kids[4], 1) is None and tree.sibling(kids[0], -1) is None
    assert tree.sibling(root, 1) is None
    tree.delete(kids[3])
    assert tree.sibling(kids[2], 1).id == kids[4]
    last = tree.last_deletion()
    assert (last.node_id, last.nodes) == (kids[3], 1)
    tree.undo_delete()
    assert tree.last_deletion() is None


def test_ids_out_of_range_are_not_found(loom: Loom, story) -> None:
    tree, _ = story
    for bad in (0, -1, 2**63, 10**30):
        with pytest.raises(NotFoundError):
            tree.node(bad)
        with pytest.raises(NotFoundError):
            loom.tree(bad)
    with pytest.raises(NotFoundError):
        loom.tree(str(10**30))
    with pytest.raises(NotFoundError):
        tree.text(12345)
    with pytest.raises(NotFoundError):
        tree.effective_settings(12345)
