"""The parsers on whatever Hypothesis makes of their input: each one answers with its result or
its own clear error (an ``AutoalignError`` subclass, a ``ParseIssue``), never anything else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from autoalign.discover.data import read_csv
from autoalign.discover.units import parse_units
from autoalign.errors import DataError, LoomFormatError, UnitsError
from autoalign.library.chunking import chunk_text
from autoalign.library.parsers import iter_path
from autoalign.library.records import ParseIssue, SourceDocument
from autoalign.loom.formats import read_tree_bytes

FAST = settings(max_examples=150, deadline=None)


def _json(value: object) -> bytes:
    return json.dumps(value).encode()  # integers of any size, which a JSON file may hold


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)
#: Dictionaries shaped somewhat like the tree formats, so the checks past "not a tree" are reached.
TREE_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "root": st.fixed_dictionaries(
            {}, optional={"text": JSON_VALUES, "children": st.lists(JSON_VALUES, max_size=3), "id": JSON_VALUES}
        ),
        "nodes": st.lists(JSON_VALUES, max_size=4) | st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=3),
        "name": JSON_VALUES,
        "loomTrees": JSON_VALUES,
    },
)


@FAST
@given(st.binary(max_size=300) | JSON_VALUES.map(_json) | TREE_LIKE.map(_json))
def test_a_tree_file_is_read_or_refused_with_a_format_error(data):
    try:
        trees = read_tree_bytes(data, title="t")
    except LoomFormatError:
        return
    for tree in trees:
        uids = {node.uid for node in tree.nodes}
        assert tree.nodes and tree.nodes[0].parent_uid is None
        assert all(node.parent_uid in uids for node in tree.nodes[1:])


@FAST
@given(st.lists(st.binary(max_size=60) | JSON_VALUES.map(_json) | st.just(b""), max_size=6))
def test_every_line_of_a_jsonl_file_is_a_document_or_an_issue(lines):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.jsonl"
        path.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))
        for item in iter_path(path):
            assert isinstance(item, SourceDocument | ParseIssue)
            if isinstance(item, SourceDocument):
                assert item.text.strip()


@FAST
@given(st.text(max_size=200))
def test_a_csv_table_is_read_or_refused_naming_the_problem(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_text(text, encoding="utf-8")
        try:
            table = read_csv(path)
        except DataError as exc:
            assert str(exc)
            return
        assert table.values.shape == (len(table.values), len(table.names))


@FAST
@given(st.text(max_size=30) | st.from_regex(r"[a-zA-Z°µ]{1,4}(\^-?[0-9]{1,2}|[0-9])?([ */·][a-zA-Z]{1,3}){0,3}"))
def test_a_unit_string_parses_or_is_refused_as_units(text):
    try:
        parse_units(text)
    except UnitsError as exc:
        assert str(exc)


@FAST
@given(st.text(st.characters(codec="utf-8"), max_size=3000), st.integers(5, 60))
def test_chunks_are_ordered_spans_of_the_text(text, max_tokens):
    chunks = chunk_text(text, min_tokens=max_tokens // 3, max_tokens=max_tokens)
    at = 0
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal
        assert at <= chunk.start < chunk.end <= len(text)
        at = chunk.end


def test_a_tree_like_value_can_be_a_tree():
    """The tree test above only tells something if trees of this shape are read at all."""
    from tests.conftest import FIXTURES

    trees = read_tree_bytes((FIXTURES / "loom" / "socketteer_full.json").read_bytes(), title="t")
    assert trees and trees[0].nodes[0].text == "The lighthouse keeper"
