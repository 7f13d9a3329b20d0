"""The ``autoalign`` command line: thin commands that call the capabilities' Python API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from autoalign.errors import AutoalignError

app = typer.Typer(
    name="autoalign",
    help="A workbench for alignment research: a cited library, Loom, assistants and discovery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# Wrapped to the window in a terminal; piped to a file or another program, lines are left whole,
# so that a URL or an id stays one word for grep and for the next program.
console = Console(soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())


class State:
    """Options shared by every command, set by the top-level callback."""

    workspace: Path | None = None


def _print_version(value: bool) -> None:
    if value:
        from autoalign import __version__

        console.print(f"autoalign {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    workspace: Annotated[
        Optional[Path],
        typer.Option(
            "--workspace",
            "-w",
            envvar="AUTOALIGN_WORKSPACE",
            help="Workspace folder (default: the per-user workspace).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    State.workspace = workspace


def open_library():
    """The library of the chosen workspace (imported late to keep ``--help`` fast)."""
    from autoalign.library import Library

    return Library.open(State.workspace)


def _register() -> None:
    from autoalign.cli import assist, discover, jobs, library, loom, web

    app.add_typer(library.app, name="library", help="Build and inspect the research library.")
    app.add_typer(loom.app, name="loom", help="Trees of continuations of a language model.")
    app.add_typer(discover.app, name="discover", help="Summary variables and laws from measurements.")
    app.add_typer(assist.app, name="assist", help="Research assistants grounded in the library.")
    app.add_typer(jobs.app, name="jobs", help="Long jobs of every capability: progress, cancel.")
    app.command("search")(library.search)
    app.command("ask")(assist.ask)
    app.command("serve")(web.serve)


def main() -> None:
    """Entry point: user errors become a red message and exit code 1, never a traceback."""
    _register()
    try:
        app()
    except AutoalignError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/yellow]: work committed so far is kept")
        sys.exit(130)
