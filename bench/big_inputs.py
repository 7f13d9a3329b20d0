"""Time on inputs at the sizes the tests use to check behaviour (the tests assert no times).

- The reader's window around a cite in a 50 MB document, next to rendering the whole document
  (what a reader without a window would do).
- A Loom tree 100,000 nodes deep: parse, import, export and the Markdown outline, next to the
  standard library's ``json`` writing the same tree (which refuses that depth).

    python bench/big_inputs.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import busy_others, machine, table

from autoalign.loom import Loom
from autoalign.loom.formats import parse_tree, to_markdown
from autoalign.web.text import reader_view, render_blocks

DOCUMENT_BYTES = 50_000_000
DEPTH = 100_000


def seconds(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def reader_rows() -> list[list[object]]:
    paragraph = "The measurement was repeated under the same conditions. " * 20 + "\n\n"
    text = "# Results\n\n" + paragraph * (DOCUMENT_BYTES // len(paragraph))
    cite = (len(text) // 2, len(text) // 2 + 300)
    window_s, view = seconds(lambda: reader_view(text, cite))
    whole_s, blocks = seconds(lambda: render_blocks(text, [cite]))
    shown = sum(len(block) for _, block in view.blocks)
    return [
        ["reader window around the cite (ours)", f"{window_s:.3f}", f"{shown:,} characters of HTML"],
        ["the whole document rendered (peer)", f"{whole_s:.3f}", f"{sum(len(b) for _, b in blocks):,} characters"],
    ]


def chain(depth: int) -> dict:
    """A tree that is one path ``depth`` nodes long, as the socketteer format nests it."""
    root: dict = {"id": "n0", "text": "Once", "children": []}
    node = root
    for i in range(1, depth):
        child = {"id": f"n{i}", "text": " more", "children": []}
        node["children"].append(child)
        node = child
    return root


def loom_rows() -> list[list[object]]:
    tree_data = chain(DEPTH)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as folder:
        loom = Loom.open(Path(folder) / "ws")
        parse_s, (data,) = seconds(lambda: parse_tree(tree_data))
        import_s, tree = seconds(lambda: loom.import_data(data))
        export_s, exported = seconds(tree.export_data)
        outline_s, _ = seconds(lambda: to_markdown(exported))
        rows += [
            ["parse (ours)", f"{parse_s:.2f}", f"{DEPTH:,} nested objects"],
            ["import into SQLite (ours)", f"{import_s:.2f}", f"{len(exported.nodes):,} nodes"],
            ["export (ours)", f"{export_s:.2f}", ""],
            ["Markdown outline (ours)", f"{outline_s:.2f}", ""],
        ]
    try:
        json_s, _ = seconds(lambda: json.dumps(tree_data))
        rows.append(["json.dumps of the same tree (peer)", f"{json_s:.2f}", "written"])
    except RecursionError:
        rows.append(["json.dumps of the same tree (peer)", "", "RecursionError: refuses the depth"])
    return rows


def main() -> None:
    print(f"machine {machine()}; busy others at start: {busy_others()}", file=sys.stderr)
    print(f"## A {DOCUMENT_BYTES // 1_000_000} MB document in the reader\n")
    print(table(["what", "seconds", "size"], reader_rows()))
    print(f"\n## A Loom chain {DEPTH:,} deep\n")
    print(table(["step", "seconds", "size"], loom_rows()))
    print(f"\nbusy others at the end: {busy_others()}", file=sys.stderr)


if __name__ == "__main__":
    main()
