"""``autoalign loom ...`` in real processes, on the real embedded model."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES
from tests.test_cli import autoalign


@pytest.mark.model  # loads the embedded model in the app or the CLI
def test_new_gen_show_tag_export_import(workspace_path, tmp_path):
    created = autoalign(workspace_path, "loom", "new", "The hardest part of alignment is")
    assert "tree 1" in created.stdout and "root node 1" in created.stdout
    generated = autoalign(workspace_path, "loom", "gen", "1", "--count", "2", "--max-tokens", "6", "--seed", "2")
    assert "node 2" in generated.stdout and "node 3" in generated.stdout
    assert "llama.cpp:gemma-3-270m" in generated.stderr
    shown = autoalign(workspace_path, "loom", "show", "1", "--node", "2", "--json")
    path = json.loads(shown.stdout)
    assert [n["id"] for n in path] == [1, 2] and path[1]["source"] == "AI" and path[1]["tokens"]
    text = autoalign(workspace_path, "loom", "show", "1", "--node", "2")
    assert text.stdout.startswith("The hardest part of alignment is")
    assert "bookmark" in autoalign(workspace_path, "loom", "tag", "1", "2", "bookmark").stdout
    outline = autoalign(workspace_path, "loom", "show", "1", "--outline").stdout
    assert "[bookmark]" in outline and "├──" in outline

    exported = tmp_path / "tree.json"
    autoalign(workspace_path, "loom", "export", "1", "-o", str(exported))
    data = json.loads(exported.read_text())
    assert data["root"]["text"] == "The hardest part of alignment is"
    assert [len(data["root"]["children"]), data["root"]["children"][0]["tags"]] == [2, ["bookmark"]]
    imported = autoalign(workspace_path, "loom", "import", str(exported))
    assert "tree 2" in imported.stdout and "3 nodes" in imported.stdout
    markdown = autoalign(workspace_path, "loom", "export", "2", "--format", "markdown").stdout
    assert "The hardest part of alignment is" in markdown and "#bookmark" in markdown
    listing = autoalign(workspace_path, "loom", "list").stdout
    assert "The hardest part of alignment is" in listing
    trees = [json.loads(line) for line in autoalign(workspace_path, "loom", "list", "--json").stdout.splitlines()]
    assert sorted((tree["id"], tree["node_count"]) for tree in trees) == [(1, 3), (2, 3)]
    assert {tree["title"] for tree in trees} == {"The hardest part of alignment is", "tree"}  # imported: its file name


def test_imports_the_other_looms_files(workspace_path):
    for name in ("socketteer_full.json", "loomsidian_data.json", "exoloom.json"):
        result = autoalign(workspace_path, "loom", "import", str(FIXTURES / "loom" / name))
        assert "nodes)" in result.stdout


def test_bad_input_is_a_message_and_exit_1(workspace_path, tmp_path):
    autoalign(workspace_path, "loom", "new", "x")
    cases = [
        (("loom", "show", "7"), "no Loom tree 7"),
        (("loom", "show", "1", "--node", "99"), "no node 99"),
        (("loom", "gen", "1", "--temperature", "-2"), "temperature"),
        (("loom", "gen", "1", "--model", "nowhere"), "no model profile 'nowhere'"),
        (("loom", "tag", "1", "1", " "), "tag cannot be empty"),
        (("loom", "export", "1", "--format", "docx"), "formats: socketteer, markdown, text"),
        (("loom", "import", str(tmp_path / "absent.json")), "absent.json"),
    ]
    for args, message in cases:
        result = autoalign(workspace_path, *args, check=False)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    cyclic = tmp_path / "cyclic.json"
    cyclic.write_text(
        json.dumps(
            {
                "tree": {
                    "rootNodeId": "a",
                    "nodes": {
                        "a": {"content": "A", "parentId": "b", "childrenIds": ["b"]},
                        "b": {"content": "B", "parentId": "a", "childrenIds": ["a"]},
                    },
                },
                "loomType": "exoloom",
            }
        )
    )
    result = autoalign(workspace_path, "loom", "import", str(cyclic), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the root node 'a' has a parent" in result.stderr
    from autoalign.loom import Loom

    assert [t.title for t in Loom.open(workspace_path).trees()] == ["x"]
