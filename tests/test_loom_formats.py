"""Loom import and export formats, through a real workspace: read a file, import it, export it, compare."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from autoalign.errors import AutoalignError
from autoalign.loom import Loom, Tree
from autoalign.loom.formats import (
    MAX_FILE_BYTES,
    MAX_NODE_CHARS,
    LoomFormatError,
    detect_format,
    jsonio,
    parse_tree,
    read_tree_file,
    render_tree,
    to_markdown,
    to_socketteer,
    to_text,
    write_tree_file,
)
from autoalign.loom.formats.text import MAX_INDENT
from autoalign.loom.records import NodeData, TreeData

FIXTURES = Path(__file__).parent / "fixtures" / "loom"
SOCKETTEER_TIME = re.compile(r"^\d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d$")


@pytest.fixture
def loom(tmp_path) -> Loom:
    return Loom.open(tmp_path / "ws")


def import_file(loom: Loom, path: Path, format: str = "auto") -> list[Tree]:
    return [loom.import_data(data) for data in read_tree_file(path, format)]


def fixture_json(name: str):
    return orjson.loads((FIXTURES / name).read_bytes())


def by_uid(tree: Tree, uid: str):
    return tree.node_by_uid(uid)


# --- socketteer/loom ------------------------------------------------------------------------------


def test_socketteer_tree_round_trips_through_the_workspace(loom, tmp_path):
    (tree,) = import_file(loom, FIXTURES / "socketteer_full.json")
    exported = tree.export_data()

    assert to_socketteer(exported) == fixture_json("socketteer_full.json")
    write_tree_file(exported, tmp_path / "out.json", "socketteer")
    assert orjson.loads((tmp_path / "out.json").read_bytes()) == fixture_json("socketteer_full.json")


def test_socketteer_import_gives_the_loom_what_it_models(loom):
    (tree,) = import_file(loom, FIXTURES / "socketteer_full.json")
    info = tree.info()
    assert info.title == "socketteer_full"
    assert info.node_count == 6
    assert tree.node(info.current_id).uid == "a1f0c2de-0003"
    settings = info.settings
    assert (settings.n, settings.temperature, settings.top_p, settings.max_tokens) == (4, 0.8, 1.0, 60)
    assert (settings.stop, settings.logprobs, settings.prompt_length) == (("\n\n",), 5, 1536)

    ledger = by_uid(tree, "a1f0c2de-0002")
    assert ledger.tags == ("bookmark", "pinned")
    assert ledger.notes == "Check the tide tables before going on."
    assert ledger.source == "prompt"
    assert ledger.created_at == datetime(2024, 1, 10, 9, 14, 55).timestamp()
    assert tree.history(ledger.id) == [
        (" kept a book", datetime(2024, 1, 10, 9, 15, 2).timestamp()),
        (" kept a ledger", datetime(2024, 1, 10, 9, 16, 40).timestamp()),
    ]
    generated = by_uid(tree, "a1f0c2de-0003")
    assert (generated.source, generated.model) == ("AI", "davinci-002")
    assert generated.tokens == [
        [" that", -0.41, [[" that", -0.41], [" which", -1.7], [".", -2.2]]],
        [" nobody", -2.05, [[" nobody", -2.05], [" he", -0.9]]],
        [" read", -0.12, []],
    ]
    point = by_uid(tree, "a1f0c2de-0004")
    assert point.overrides == {"temperature": 0.5, "max_tokens": 30}
    assert tree.effective_settings(point.id).temperature == 0.5
    assert point.tags == ("archived",)
    assert point.tokens is None  # its completion has no tokens
    edited = by_uid(tree, "a1f0c2de-0005")
    assert edited.source == "mixed"
    assert tree.history(edited.id) == []  # an unknown timestamp layout: kept verbatim, not modeled
    assert by_uid(tree, "a1f0c2de-0006").source == "prompt"  # meta names a source the Loom does not know
    assert [(c.uid, tree.node(c.node_id).uid, c.title) for c in tree.chapters()] == [
        ("chap-ledger", "a1f0c2de-0002", "The ledger"),
        ("chap-storm", "a1f0c2de-0003", "Fog"),
    ]


def test_changes_made_in_the_loom_reach_the_socketteer_export(loom):
    (tree,) = import_file(loom, FIXTURES / "socketteer_full.json")
    ledger, generated, point, sea = (by_uid(tree, f"a1f0c2de-000{i}") for i in (2, 3, 4, 6))
    tree.tag(ledger.id, "note")
    tree.untag(ledger.id, "pinned")
    tree.edit(generated.id, " that everyone read")
    tree.update_settings(temperature=1.2)
    tree.set_overrides(point.id, {"temperature": 0.7})
    added = tree.add_child(sea.id, " and the gulls.")
    chapter = tree.add_chapter(sea.id, "The sea")
    tree.go_to(added.id)

    doc = to_socketteer(tree.export_data())
    original = fixture_json("socketteer_full.json")
    assert doc["generation_settings"] == {**original["generation_settings"], "temperature": 1.2}
    assert doc["selected_node_id"] == added.uid
    assert doc["chapters"][chapter.uid] == {"id": chapter.uid, "root_id": sea.uid, "title": "The sea"}
    assert doc["chapters"]["chap-orphan"] == original["chapters"]["chap-orphan"]

    ledger_out = doc["root"]["children"][0]
    assert ledger_out["tags"] == ["bookmark", "note"]  # the file's order, the new tag after
    generated_out = ledger_out["children"][0]
    assert generated_out["text"] == " that everyone read"
    assert generated_out["meta"] == {**original["root"]["children"][0]["children"][0]["meta"], "source": "mixed"}
    assert generated_out["history"] == [{"timestamp": "2024-01-10-09.20.31", "text": " that nobody read"}]
    assert generated_out["generation"] == {"id": "cmpl-77", "index": 0}
    point_out = ledger_out["children"][1]
    assert point_out["frame"] == {
        "generation_settings": {"temperature": 0.7, "model": "davinci-002"},
        "memory": "The keeper is called Ada.",
    }
    sea_out = doc["root"]["children"][1]
    assert sea_out["chapter_id"] == chapter.uid
    (new,) = sea_out["children"]
    assert new.keys() == {"id", "text", "children", "parent_id", "meta"}
    assert (new["id"], new["parent_id"], new["text"], new["children"]) == (added.uid, sea.uid, " and the gulls.", [])
    assert new["meta"]["source"] == "prompt" and new["meta"]["modified"] is False
    assert SOCKETTEER_TIME.match(new["meta"]["creation_timestamp"])


@pytest.mark.parametrize("name", ["socketteer_node.json", "socketteer_list.json"])
def test_bare_node_and_list_files_come_back_in_their_shape(loom, name):
    (tree,) = import_file(loom, FIXTURES / name)
    assert to_socketteer(tree.export_data()) == fixture_json(name)


def test_a_list_of_nodes_hangs_under_a_new_empty_root(loom):
    (tree,) = import_file(loom, FIXTURES / "socketteer_list.json")
    root = tree.node(tree.info().root_id)
    assert root.text == ""
    assert [child.uid for child in tree.children(root.id)] == ["list-a", "list-b"]
    # Once the root holds text a list cannot carry it, and the full format is written instead.
    tree.edit(root.id, "Drafts:")
    doc = to_socketteer(tree.export_data())
    assert doc["root"]["text"] == "Drafts:"
    assert [child["parent_id"] for child in doc["root"]["children"]] == [root.uid, root.uid]


def test_a_bare_node_with_new_settings_is_written_in_the_full_format(loom):
    (tree,) = import_file(loom, FIXTURES / "socketteer_node.json")
    tree.update_settings(temperature=1.3, n=6)
    doc = to_socketteer(tree.export_data())
    assert doc["root"]["id"] == "bare-root"
    assert doc["generation_settings"] == {"temperature": 1.3, "num_continuations": 6}


def test_old_parent_links_come_back_as_parent_id_and_invalid_settings_stay_in_the_file(loom):
    (tree,) = import_file(loom, FIXTURES / "socketteer_old.json")
    settings = tree.info().settings
    # num_continuations 100 and temperature "warm" are not valid Loom settings: defaults apply.
    assert (settings.n, settings.temperature, settings.max_tokens, settings.stop) == (4, 0.9, 40, ("\n",))

    expected = fixture_json("socketteer_old.json")
    middle = expected["root"]["children"][0]
    middle["parent_id"] = middle.pop("parentId")
    middle["children"][0]["parent_id"] = middle["children"][0].pop("parentId")
    assert to_socketteer(tree.export_data()) == expected


# --- simple, Loomsidian, exoloom ------------------------------------------------------------------


def test_simple_nested_nodes_get_ids(loom):
    assert detect_format(fixture_json("simple.json")) == "simple"
    (tree,) = import_file(loom, FIXTURES / "simple.json")
    root = tree.node(tree.info().root_id)
    first, second, third = tree.children(root.id)
    assert [first.text, second.text, third.text] == [
        " The first was locked.",
        " The second was painted blue",
        " There was no third door.",
    ]
    assert [child.text for child in tree.children(second.id)] == [", and warm to the touch.", ", and humming."]
    assert len({node.uid for node in tree.export_data().nodes}) == 6

    doc = to_socketteer(tree.export_data())  # a bare node, as it was read, now with socketteer's fields
    assert doc["id"] == root.uid and doc["text"] == "Three doors stood in the hall."
    assert [child["parent_id"] for child in doc["children"]] == [root.uid] * 3
    assert doc["children"][1]["children"][0]["meta"]["source"] == "prompt"

    (listed,) = parse_tree([{"text": "one"}, {"text": "two", "children": [{"text": " more"}]}])
    assert [node.text for node in listed.nodes] == ["", "one", "two", " more"]


def test_loomsidian_file_gives_one_tree_per_note(workspace_path):
    loom = Loom.open(workspace_path)
    lighthouse, scratch = import_file(loom, FIXTURES / "loomsidian_data.json")  # the empty note holds no tree

    info = lighthouse.info()
    assert info.title == "Stories/Lighthouse.md"
    assert lighthouse.node(info.current_id).uid == "c3d1-0003"
    assert lighthouse.node(info.hoisted_id).uid == "c3d1-0002"  # the top of the plugin's hoist stack
    assert (info.settings.temperature, info.settings.top_p, info.settings.n, info.settings.max_tokens) == (
        1.1,
        0.9,
        5,
        60,
    )
    steps = by_uid(lighthouse, "c3d1-0002")
    assert steps.tags == ("bookmark",)
    assert [child.uid for child in lighthouse.children(steps.id)] == ["c3d1-0003", "c3d1-0004"]
    exported = lighthouse.export_data()
    lamp = next(node for node in exported.nodes if node.uid == "c3d1-0003")
    assert lamp.extra == {"collapsed": True, "unread": True}
    assert exported.extra["searchTerm"] == "" and exported.extra["hoisted"] == ["c3d1-0001", "c3d1-0002"]

    root = scratch.node(scratch.info().root_id)  # two parentless nodes: a new empty root holds both
    assert root.text == ""
    assert [child.uid for child in scratch.children(root.id)] == ["e5f7-0001", "e5f7-0002"]
    assert by_uid(scratch, "e5f7-0002").tags == ("bookmark",)
    assert scratch.node(scratch.info().current_id).uid == "e5f7-0002"

    doc = to_socketteer(exported)  # Loomsidian's own keys stay out of a socketteer file
    assert doc["selected_node_id"] == "c3d1-0003"
    assert doc["generation_settings"]["temperature"] == 1.1
    lamp_out = doc["root"]["children"][0]["children"][0]
    assert lamp_out.keys() == {"id", "text", "children", "parent_id", "meta"}
    assert doc["root"]["children"][0]["tags"] == ["bookmark"]

    # The plugin's settings hold its API key: it must reach neither the trees nor the workspace files.
    for tree in (lighthouse, scratch):
        assert b"sk-test" not in orjson.dumps(to_socketteer(tree.export_data()))
    loom.workspace.db.execute("PRAGMA wal_checkpoint(FULL)")
    for file in workspace_path.rglob("*"):
        assert not file.is_file() or b"sk-test" not in file.read_bytes()


def test_exoloom_file(loom):
    (tree,) = import_file(loom, FIXTURES / "exoloom.json")
    data = tree.export_data()
    assert data.title == "exoloom"
    root = tree.node(tree.info().root_id)
    assert (root.uid, root.text, root.source) == ("101", "Write a poem about rust.", "prompt")
    assert root.created_at == 1705000000.0
    first, second = tree.children(root.id)
    assert [first.uid, second.uid] == ["103", "102"]  # childrenIds order, not file order
    assert (first.source, first.tags) == ("AI", ("archived",))  # pruned
    assert second.created_at == 1705000000.0  # "2024-01-11T19:06:40Z"
    (last,) = tree.children(second.id)
    assert (last.uid, last.source, last.tags) == ("104", "prompt", ("bookmark",))
    assert tree.text(last.id) == "Write a poem about rust.Iron remembers the rain and keeps it, flake by flake."
    nodes = {node.uid: node for node in data.nodes}
    assert nodes["102"].extra == {"model": "some-llm-7b"}
    assert nodes["104"].extra == {"createdAt": "yesterday"}  # not a time: kept as it was
    assert data.extra["loomType"] == "exoloom" and data.extra["schemaVersion"] == 3
    assert data.extra["lens"] == {"bookmarks": [104], "prunedNodes": [103, 999]}


def test_detect_format_names_every_fixture():
    expected = {
        "socketteer_full.json": "socketteer",
        "socketteer_node.json": "socketteer",
        "socketteer_list.json": "socketteer",
        "socketteer_old.json": "socketteer",
        "simple.json": "simple",
        "loomsidian_data.json": "loomsidian",
        "exoloom.json": "exoloom",
    }
    assert {name: detect_format(fixture_json(name)) for name in expected} == expected


# --- markdown and text ----------------------------------------------------------------------------


def test_markdown_and_text_export(loom, tmp_path):
    (tree,) = import_file(loom, FIXTURES / "socketteer_full.json")
    data = tree.export_data()

    assert to_markdown(data) == (
        "# socketteer_full\n\n"
        "- The lighthouse keeper\n"
        "  - kept a ledger of every ship `#bookmark` `#pinned`\n"
        "    - that nobody read, until the winter the fog came in.\n"  # an only child continues its parent's entry
        "    - passing the point `#archived`\n"
        "  - hated the sea\n"
    )
    assert to_text(data) == (
        "socketteer_full\n===============\n\n"
        "- The lighthouse keeper\n"
        "  - kept a ledger of every ship [bookmark, pinned]\n"
        "    - that nobody read, until the winter the fog came in.\n"
        "    - passing the point [archived]\n"
        "  - hated the sea\n"
    )
    prose = "The lighthouse keeper kept a ledger of every ship that nobody read, until the winter the fog came in."
    assert to_text(data, "a1f0c2de-0005") == prose
    assert to_markdown(data, "a1f0c2de-0005") == f"# socketteer_full\n\n{prose}\n"
    with pytest.raises(AutoalignError, match="no node 'nope'"):
        to_text(data, "nope")

    write_tree_file(data, tmp_path / "tree.md", "markdown")
    write_tree_file(data, tmp_path / "path.txt", "text", path_uid="a1f0c2de-0005")
    assert (tmp_path / "tree.md").read_text() == to_markdown(data)
    assert (tmp_path / "path.txt").read_text() == prose
    assert render_tree(data, "text") == to_text(data)
    with pytest.raises(LoomFormatError, match="cannot write trees as 'pdf'"):
        write_tree_file(data, tmp_path / "tree.pdf", "pdf")
    with pytest.raises(LoomFormatError, match="a single path is written as markdown or text"):
        render_tree(data, "socketteer", path_uid="a1f0c2de-0005")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["path.txt", "tree.md", "ws"]  # no temporary left


def test_outline_keeps_multiline_text_inside_its_entry():
    data = TreeData(
        title="Poem\nin two lines",
        nodes=[
            NodeData(uid="r", parent_uid=None, text="Title\n\nFirst stanza,"),
            NodeData(uid="a", parent_uid="r", text="\nsecond line", tags=["pinned"]),
            NodeData(uid="b", parent_uid="r", text=""),
        ],
    )
    assert to_markdown(data) == (
        "# Poem in two lines\n\n- Title\n\n  First stanza,\n  - second line `#pinned`\n  - *(empty)*\n"
    )


def test_html_in_a_tree_is_inert_in_markdown_and_kept_as_is_in_text():
    data = TreeData(
        title="<b>Bold</b> title",
        nodes=[
            NodeData(uid="r", parent_uid=None, text="The page said <script>alert(1)</script>"),
            NodeData(uid="a", parent_uid="r", text=" and <img src=x onerror=alert(2)>", tags=["x<y"]),
            NodeData(uid="b", parent_uid="r", text=" or a \\<i> already escaped"),
        ],
    )
    for markdown in (to_markdown(data), to_markdown(data, "a")):
        assert not re.search(r"(?<!\\)<(b|script|img)\b", markdown), markdown
    assert to_markdown(data, "a") == (
        "# \\<b>Bold\\</b> title\n\nThe page said \\<script>alert(1)\\</script> and \\<img src=x onerror=alert(2)>\n"
    )
    assert "`#x<y`" in to_markdown(data)  # a code span shows its text as written
    assert "or a \\\\\\<i> already escaped" in to_markdown(data)  # the user's backslash stays a backslash
    assert "<script>alert(1)</script>" in to_text(data)


def test_outline_indentation_stops_growing_so_deep_branching_stays_linear():
    nodes = [NodeData(uid="b0", parent_uid=None, text="start")]
    for level in range(1, 60):  # a comb: every level branches into a leaf and the next level
        nodes += [
            NodeData(uid=f"b{level}", parent_uid=f"b{level - 1}", text=f"on {level}"),
            NodeData(uid=f"leaf{level}", parent_uid=f"b{level - 1}", text=f"end {level}"),
        ]
    lines = to_text(TreeData(title="comb", nodes=nodes)).splitlines()
    assert max(len(line) - len(line.lstrip()) for line in lines) == 2 * MAX_INDENT
    assert " " * 2 * MAX_INDENT + "- (level 59) on 59" in lines


# --- bad input ------------------------------------------------------------------------------------


def _loomsidian(nodes: dict) -> dict:
    """A file whose first note is fine: the bad second one must still keep it out of the workspace."""
    return {"state": {"good.md": {"nodes": {"g": {"text": "fine", "parentId": None}}}, "bad.md": {"nodes": nodes}}}


def _exoloom(nodes: dict, root=1) -> dict:
    return {"loomType": "exoloom", "tree": {"nodes": nodes, "rootNodeId": root}}


def _exo(content, parent, children=()) -> dict:
    return {"content": content, "authorType": "USER", "parentId": parent, "childrenIds": list(children)}


BAD_FILES = {
    "not JSON": (b'{"root": {"id": "r", "text": "unfinished', "not JSON"),
    "not UTF-8": (b'{"text": "caf\xe9", "children": []}', r"not UTF-8 text \(byte 13 is 0xe9\)"),
    "empty": (b"", "the file is empty"),
    "blank": (b" \n\t ", "the file is empty"),
    "unknown object": (b'{"pages": [1, 2]}', "not a Loom tree file: expected a socketteer/loom tree"),
    "list of numbers": (b"[1, 2]", "not a Loom tree file: expected"),
    "empty list": (b"[]", "not a Loom tree file: expected"),
    "a string": (b'"Once upon a time"', "not a Loom tree file: expected"),
    "node without id": (
        orjson.dumps({"root": {"id": "r", "text": "", "children": [{"text": "x"}]}}),
        "child 0 of node 'r' has no id",
    ),
    "root without id": (orjson.dumps({"root": {"text": "x"}, "chapters": {}}), "the root node has no id"),
    "duplicate ids": (
        orjson.dumps({"id": "r", "text": "", "children": [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]}),
        "node id 'x' is used by two nodes",
    ),
    "text not a string": (orjson.dumps({"root": {"id": "r", "text": 7}}), "the text of node 'r' must be a string"),
    "tags not strings": (
        orjson.dumps({"id": "r", "text": "", "tags": [1]}),
        "the tags of node 'r' must be a list of strings",
    ),
    "loomsidian loop": (
        orjson.dumps(
            _loomsidian(
                {
                    "a": {"text": "", "parentId": None},
                    "b": {"text": "", "parentId": "c"},
                    "c": {"text": "", "parentId": "b"},
                }
            )
        ),
        r"note 'bad.md': parent links loop \('b' -> 'c' -> 'b'\)",
    ),
    "loomsidian missing parent": (
        orjson.dumps(_loomsidian({"a": {"text": "", "parentId": None}, "b": {"text": "", "parentId": "zz"}})),
        "node 'b' names a parent 'zz' that is not in the file",
    ),
    "exoloom loop": (
        orjson.dumps(_exoloom({"1": _exo("r", None), "2": _exo("a", 3, [3]), "3": _exo("b", 2, [2])})),
        r"parent links loop \('2' -> '3' -> '2'\)",
    ),
    "exoloom child listed twice": (
        orjson.dumps(_exoloom({"1": _exo("r", None, [2, 2]), "2": _exo("a", 1)})),
        r"node '2' is listed as a child twice \(by '1' and '1'\)",
    ),
    "exoloom missing child": (
        orjson.dumps(_exoloom({"1": _exo("r", None, [5])})),
        "node '1' lists a child '5' that is not in the file",
    ),
    "exoloom child of another parent": (
        orjson.dumps(_exoloom({"1": _exo("r", None, [2, 3]), "2": _exo("a", 1), "3": _exo("b", 2)})),
        "node '1' lists '3' as a child, but its parentId is '2'",
    ),
    "exoloom missing root": (
        orjson.dumps(_exoloom({"1": _exo("r", None)}, root=42)),
        "the root node '42' is not in the file",
    ),
    "exoloom second root": (
        orjson.dumps(_exoloom({"1": _exo("r", None), "2": _exo("s", None)})),
        "node '2' has no parent but is not the root '1'",
    ),
    "deep and unbalanced": (b'{"text": "", "children": ' + b"[" * 3000 + b"]" * 2999 + b"}", "not JSON"),
    # orjson keeps the last of a repeated key: the first node "2" would vanish without a word.
    "exoloom node id repeated": (
        orjson.dumps(_exoloom({"1": _exo("r", None, [2]), "2": _exo("a", 1)})).replace(
            b'"2":', b'"2":{"content":"lost","parentId":"1"},"2":'
        ),
        "the key '2' appears twice in one object, so one of its values would be lost",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_refused_whole(loom, tmp_path, case):
    content, message = BAD_FILES[case]
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(LoomFormatError, match=message) as raised:
        import_file(loom, path)
    assert str(raised.value).startswith(f"{path}: ")
    assert loom.trees() == []


def test_a_format_that_does_not_fit_the_file_is_refused(loom):
    with pytest.raises(LoomFormatError, match='the "tree" of an exoloom file must be a JSON object, not null'):
        import_file(loom, FIXTURES / "socketteer_full.json", format="exoloom")
    with pytest.raises(LoomFormatError, match="unknown tree format 'docx'; known: auto, socketteer, simple"):
        import_file(loom, FIXTURES / "socketteer_full.json", format="docx")
    with pytest.raises(LoomFormatError, match="cannot be read"):
        import_file(loom, FIXTURES / "no-such-file.json")
    assert loom.trees() == []


def test_a_huge_node_is_refused_by_name(loom, tmp_path):
    path = tmp_path / "huge.json"
    text = "a" * (100 * 2**20)  # 100 MB
    path.write_bytes(orjson.dumps({"root": {"id": "r", "text": "", "children": [{"id": "big", "text": text}]}}))
    del text
    with pytest.raises(
        LoomFormatError,
        match=f"the text of node 'big' is 104,857,600 characters long; the limit is "
        f"{MAX_NODE_CHARS:,} characters a node",
    ):
        import_file(loom, path)
    assert loom.trees() == []


def test_a_file_over_the_limit_is_refused_before_it_is_read(loom, tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    with path.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    monkeypatch.setattr(Path, "open", lambda *a, **k: pytest.fail("the file was opened"))
    with pytest.raises(LoomFormatError, match="tree files are limited to 512 MiB"):
        import_file(loom, path)
    assert loom.trees() == []


# --- deep trees -----------------------------------------------------------------------------------


def _chain(depth: int) -> dict:
    root = {"id": "n0", "text": "Once", "children": []}
    node = root
    for i in range(1, depth):
        child = {"id": f"n{i}", "text": " more", "children": []}
        node["children"].append(child)
        node = child
    return root


def test_a_chain_100k_deep_imports_and_exports(loom):
    depth = 100_000
    (data,) = parse_tree(_chain(depth))
    tree = loom.import_data(data)
    exported = tree.export_data()
    assert len(exported.nodes) == depth

    # Walked, never compared whole: == on it would recurse 200,000 levels.
    node, ids, parents = to_socketteer(exported), [], []
    while node["children"]:
        (node,) = node["children"]
        ids.append(node["id"])
        parents.append(node["parent_id"])
    assert ids == [f"n{i}" for i in range(1, depth)]
    assert parents == [f"n{i}" for i in range(depth - 1)]
    assert to_text(exported, f"n{depth - 1}") == "Once" + " more" * (depth - 1)
    assert to_markdown(exported).endswith("- Once" + " more" * (depth - 1) + "\n")  # one entry: a chain


def test_a_tree_deeper_than_json_parsers_allow_round_trips_through_a_file(loom, tmp_path):
    """orjson refuses more than 254 levels to write and 1024 to read; a socketteer node takes two."""
    (data,) = parse_tree(_chain(3000))
    tree = loom.import_data(data)
    write_tree_file(tree.export_data(), tmp_path / "deep.json", "socketteer")
    (back,) = read_tree_file(tmp_path / "deep.json")
    assert [node.uid for node in back.nodes] == [f"n{i}" for i in range(3000)]
    assert [node.parent_uid for node in back.nodes[1:]] == [f"n{i}" for i in range(2999)]


@pytest.mark.parametrize("depth", [300, 3000])  # within Python's json, and read span by span
def test_a_repeated_key_deep_in_a_nested_tree_is_refused(loom, tmp_path, depth):
    path = tmp_path / "deep.json"
    deep = f'"id":"n{depth - 10}","text":" more"'.encode()
    path.write_bytes(jsonio.dumps(_chain(depth)).replace(deep, deep + b',"text":" other"'))
    with pytest.raises(LoomFormatError, match="the key 'text' appears twice in one object"):
        import_file(loom, path)
    assert loom.trees() == []
