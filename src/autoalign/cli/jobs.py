"""``autoalign jobs ...``: every long job of the workspace (embedding, Discover's runs), and cancel."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from autoalign.cli import State, console
from autoalign.cli.render import print_json_lines

app = typer.Typer(no_args_is_help=True)


def _workspace():
    from autoalign.workspace import Workspace

    return Workspace.open(State.workspace)


@app.command("list")
def list_jobs(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per job.")] = False,
) -> None:
    """The latest jobs, whichever process or page started them; a job whose process died reads
    ``interrupted`` (re-run it to resume)."""
    from autoalign import jobs

    workspace = _workspace()
    found = jobs.recent(workspace, limit=limit)
    workspace.close()
    if as_json:
        print_json_lines(job.as_dict() for job in found)
        return
    if not found:
        console.print("No jobs yet.")
        return
    table = Table("job", "kind", "state", "progress", "message")
    for job in found:
        counted = f"{job.done:,} of {job.total:,}" if job.total else ""
        table.add_row(str(job.id), job.kind, job.state, counted, Text(job.message[:100]))
    console.print(table)


@app.command()
def cancel(job_id: Annotated[int, typer.Argument(help="The job's number, as `autoalign jobs list` shows it.")]) -> None:
    """Ask a running job to stop; it stops at its next step and keeps what it has done."""
    from autoalign import jobs

    workspace = _workspace()
    job = jobs.cancel(workspace, job_id)
    workspace.close()
    if job.state == "running":
        console.print(f"job {job.id} ({job.kind}) asked to stop; it stops at its next step")
    else:
        console.print(f"job {job.id} ({job.kind}) is not running ({job.state}); nothing to cancel")
