"""``autoalign loom ...``: trees of continuations from the terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import orjson
import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree as RichTree

from autoalign.cli import State, console, err_console
from autoalign.cli.render import print_json_lines

app = typer.Typer(no_args_is_help=True)

TreeArg = Annotated[str, typer.Argument(help="Tree number or uid (see `autoalign loom list`).")]
NodeOpt = Annotated[Optional[int], typer.Option("--node", "-n", help="Node number (default: the current node).")]


def open_loom():
    from autoalign.loom import Loom

    return Loom.open(State.workspace)


@app.command("list")
def list_trees(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per tree, as the web API gives it.")] = False,
) -> None:
    """List the trees of the workspace, most recently changed first."""
    trees = open_loom().trees()
    if as_json:
        print_json_lines(info.as_dict() for info in trees)
        return
    if not trees:
        console.print('No trees yet: `autoalign loom new "Your prompt"`.')
        return
    table = Table("tree", "title", "nodes", "current")
    for info in trees:
        table.add_row(str(info.id), Text(info.title), f"{info.node_count:,}", str(info.current_id))
    console.print(table)


@app.command()
def new(
    prompt: Annotated[str, typer.Argument(help="The root text; '-' reads it from standard input.")],
    title: Annotated[str, typer.Option(help="Title (default: the prompt's first words).")] = "",
) -> None:
    """Start a tree whose root holds PROMPT."""
    text = sys.stdin.read() if prompt == "-" else prompt
    tree = open_loom().new_tree(text, title=title)
    info = tree.info()
    console.print(f"tree {info.id} ({Text(info.title)}): root node {info.root_id}")


@app.command()
def gen(
    tree: TreeArg,
    node: NodeOpt = None,
    n: Annotated[Optional[int], typer.Option("--count", "-c", help="Continuations.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Tokens per continuation.")] = None,
    temperature: Annotated[Optional[float], typer.Option()] = None,
    top_p: Annotated[Optional[float], typer.Option()] = None,
    stop: Annotated[Optional[list[str]], typer.Option(help="Stop sequence (repeatable).")] = None,
    seed: Annotated[Optional[int], typer.Option()] = None,
    model: Annotated[Optional[str], typer.Option(help="Model profile from the configuration.")] = None,
) -> None:
    """Generate continuations of a node; each becomes a child of it as soon as it is finished."""
    from autoalign.loom import ContinuationDone, Started
    from autoalign.models import TokenEvent

    loom = open_loom()
    target = loom.tree(tree)
    at = node if node is not None else target.info().current_id
    given = {"n": n, "max_tokens": max_tokens, "temperature": temperature, "top_p": top_p, "seed": seed}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if stop:
        overrides["stop"] = [s.encode().decode("unicode_escape") for s in stop]
    if model:
        overrides["model"] = model
    shown = None
    kept = 0
    try:
        for event in loom.generate(target, at, overrides=overrides):
            if isinstance(event, Started):
                err_console.print(f"[dim]{event.n} continuation(s) of node {at} with {event.model}[/dim]")
            elif isinstance(event, TokenEvent):
                if shown != event.index:
                    console.print(Text(f"\n[{event.index + 1}] ", style="bold cyan"), end="")
                    shown = event.index
                console.print(Text(event.token.text), end="", soft_wrap=True)
            elif isinstance(event, ContinuationDone):
                kept += event.node is not None
                where = f"node {event.node.id}" if event.node else "empty, not kept"
                console.print(Text(f"  ⟶ {where} ({event.finish_reason})", style="dim"))
                shown = None
    except KeyboardInterrupt:
        err_console.print(f"[yellow]interrupted[/yellow]: {kept} finished continuation(s) kept")
        raise typer.Exit(130) from None


@app.command()
def show(
    tree: TreeArg,
    node: NodeOpt = None,
    outline: Annotated[bool, typer.Option("--outline", help="The tree below the node instead of its text.")] = False,
    depth: Annotated[int, typer.Option(help="Levels shown by --outline.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="The path's nodes as JSON.")] = False,
) -> None:
    """Print the text at a node (its path from the root), or an outline of the tree below it."""
    target = open_loom().tree(tree)
    at = node if node is not None else target.info().current_id
    if as_json:
        sys.stdout.write(orjson.dumps([n.as_dict() for n in target.path(at)], option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    elif outline:
        console.print(_outline(target, at, depth))
    else:
        text = Text()
        for i, part in enumerate(target.path(at)):
            text.append(part.text, style="bold" if i == 0 else ("cyan" if part.source == "AI" else ""))
        console.print(text)
        console.print(Text(f"node {at} · {len(target.children(at))} children", style="dim"))


def _outline(target, node_id: int, depth: int) -> RichTree:
    def label(node) -> Text:
        first = " ".join(node.text.split())[:70] or "(empty)"
        tags = f" [{', '.join(node.tags)}]" if node.tags else ""
        return Text.assemble((f"{node.id} ", "dim"), first, (tags, "yellow"))

    top = RichTree(label(target.node(node_id)))
    frontier = [(top, node_id, 0)]
    while frontier:
        branch, at, level = frontier.pop()
        if level >= depth:
            continue
        for child in target.children(at, limit=50):
            frontier.append((branch.add(label(child)), child.id, level + 1))
    return top


@app.command()
def tag(
    tree: TreeArg,
    node: Annotated[int, typer.Argument(help="Node number.")],
    name: Annotated[str, typer.Argument(help="bookmark, canonical, archived, or any tag of yours.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove the tag instead.")] = False,
) -> None:
    """Tag a node (or remove a tag)."""
    target = open_loom().tree(tree)
    updated = target.untag(node, name) if remove else target.tag(node, name)
    console.print(f"node {node}: tags {', '.join(updated.tags) or '(none)'}")


@app.command()
def go(tree: TreeArg, node: Annotated[int, typer.Argument(help="Node number.")]) -> None:
    """Make a node the current one (where `gen` and the web page start)."""
    open_loom().tree(tree).go_to(node)
    console.print(f"current node: {node}")


@app.command("export")
def export_tree(
    tree: TreeArg,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="socketteer, markdown or text.")] = "socketteer",
    node: Annotated[
        Optional[int], typer.Option("--path", help="markdown/text: only the path to this node, as prose.")
    ] = None,
) -> None:
    """Export a tree: socketteer/loom JSON (keeps everything), markdown or plain text."""
    from autoalign.loom.formats import render_tree, write_tree_file

    target = open_loom().tree(tree)
    data = target.export_data()
    path_uid = target.node(node).uid if node is not None else None
    if output is None:
        sys.stdout.write(render_tree(data, fmt, path_uid=path_uid))
        return
    write_tree_file(data, output, fmt, path_uid=path_uid)
    console.print(f"wrote {output} ({fmt}, {len(data.nodes):,} nodes)")


@app.command("import")
def import_tree(
    file: Annotated[Path, typer.Argument(help="socketteer/loom JSON, Loomsidian data.json or exoloom JSON.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="auto, socketteer, simple, loomsidian, exoloom.")] = "auto",
) -> None:
    """Import tree files of other Loom tools: all of a file or, on any error, nothing."""
    from autoalign.loom.formats import read_tree_file

    loom = open_loom()
    trees = read_tree_file(file, fmt)
    for data in trees:
        info = loom.import_data(data).info()
        console.print(f"tree {info.id}: {Text(info.title)} ({info.node_count:,} nodes)")
