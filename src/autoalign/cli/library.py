"""``autoalign library ...`` and ``autoalign search``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from autoalign.cli import State, console, err_console, open_library
from autoalign.cli.render import byline, hit_renderable, print_json_lines

app = typer.Typer(no_args_is_help=True)


@app.command()
def add(
    paths: Annotated[
        list[Path],
        typer.Argument(help="ARD JSONL (.jsonl, .jsonl.gz), HTML, markdown, text or PDF files, or folders of them."),
    ],
    allow_skips: Annotated[bool, typer.Option(help="Exit 0 even if some records were malformed and skipped.")] = False,
) -> None:
    """Add documents to the library (idempotent; re-run to resume an interrupted ingest)."""
    library = open_library()
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[docs]:,} docs · {task.fields[rate]:,.0f} docs/s"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("ingest", total=None, docs=0, rate=0.0)
        started = time.perf_counter()

        def on_progress(p) -> None:
            elapsed = max(time.perf_counter() - started, 1e-6)
            progress.update(
                task, total=p.bytes_total, completed=p.bytes_done, docs=p.documents, rate=p.documents / elapsed
            )

        def on_issue(issue) -> None:
            progress.console.print(f"[yellow]skipped[/yellow] {escape(str(issue))}", highlight=False, soft_wrap=True)

        def on_wait(message: str) -> None:
            progress.console.print(f"[yellow]{escape(message)}[/yellow]", highlight=False, soft_wrap=True)

        report = library.add(paths, on_progress=on_progress, on_issue=on_issue, on_wait=on_wait)
    for event in report.events[:50]:
        err_console.print(f"[dim]{escape(event)}[/dim]", highlight=False, soft_wrap=True)
    if len(report.events) > 50:
        err_console.print(f"[dim]… and {len(report.events) - 50} more events (table ingest_log)[/dim]")
    console.print(
        f"[bold green]done[/bold green] in {report.seconds:.1f}s: {report.added:,} added, "
        f"{report.replaced:,} replaced, {report.unchanged:,} unchanged, {report.duplicates:,} duplicates, "
        f"{report.kept_newer:,} older versions ignored, {len(report.issues):,} skipped · "
        f"{report.chunks:,} chunks · {report.documents_per_second:,.0f} docs/s, "
        f"{report.megabytes_per_second:.1f} MB/s"
    )
    pending = library.pending_embeddings() if report.chunks else 0
    if pending:
        console.print(
            f"[dim]{pending:,} chunks await vectors: `autoalign library embed` (lexical search works now)[/dim]"
        )
    library.close()
    if report.issues and not allow_skips:
        err_console.print(f"[red]{len(report.issues)} record(s) skipped[/red]; pass --allow-skips to accept that")
        raise typer.Exit(2)


@app.command()
def embed(
    ray: Annotated[
        Optional[str], typer.Option("--ray", help="Address of a Ray cluster to embed on (e.g. 10.0.0.5:6379).")
    ] = None,
    background: Annotated[
        bool, typer.Option(help="Run as a background process; follow it with `autoalign library status`.")
    ] = False,
    batch_size: Annotated[Optional[int], typer.Option(min=1, max=4096, help="Passages per batch.")] = None,
) -> None:
    """Embed the chunks that have no vector yet (resumable: re-run after an interruption)."""
    library = open_library()
    if background:
        pid = library.embed_in_background(ray_address=ray, batch_size=batch_size)
        if pid is None:
            console.print("every passage has its vector already: nothing to embed")
            return
        console.print(
            f"embedding in the background (process {pid}, log {library.workspace.path / 'embed.log'});"
            " follow it with `autoalign library status`"
        )
        return
    with Progress(
        TextColumn("[bold]embed"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("embed", total=None)
        report = library.embed(
            ray_address=ray,
            batch_size=batch_size,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(
        f"[bold green]done[/bold green]: {report.embedded:,} passages embedded with {report.embedder} "
        f"in {report.seconds:.1f}s ({report.passages_per_second:,.1f}/s)"
    )
    library.close()


@app.command()
def status() -> None:
    """Documents, chunks, vectors and the embedding job's progress."""
    library = open_library()
    stats = library.stats()
    console.print(f"workspace [bold]{escape(str(library.workspace.path))}[/bold]")
    console.print(f"{stats.documents:,} documents, {stats.chunks:,} chunks")
    for name, count in stats.embedded.items() or [("(none)", 0)]:
        share = count / stats.chunks if stats.chunks else 0
        console.print(f"vectors {name}: {count:,} ({share:.0%})")
    if job := stats.embed_job:
        console.print(f"embedding job: {job.state}, {job.done:,}/{job.total:,} {escape(job.message)}")
    table = Table("source", "documents")
    for source, count in stats.sources:
        table.add_row(source, f"{count:,}")
    console.print(table)


@app.command()
def show(uid: Annotated[str, typer.Argument(help="Document id, as search prints it.")]) -> None:
    """Print a document's metadata and text."""
    library = open_library()
    doc = library.document(uid)
    console.print(f"[bold]{escape(doc.info.title)}[/bold]", highlight=False)
    console.print(byline(doc.info))
    if doc.info.url:
        console.print(doc.info.url, style="underline blue", markup=False)
    console.print(doc.text, markup=False, highlight=False)


@app.command()
def related(
    uid: Annotated[str, typer.Argument(help="Document id.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100)] = 10,
) -> None:
    """Documents related to a document."""
    library = open_library()
    for item in library.related(uid, k=k):
        console.print(
            f"[bold]{escape(item.document.title)}[/bold] [dim]({escape(item.document.uid)}, {item.score:.3f})[/dim]",
            highlight=False,
        )
        console.print(byline(item.document))


@app.command()
def reindex() -> None:
    """Rebuild the lexical index from the database."""
    library = open_library()
    count = library.reindex(on_wait=lambda message: err_console.print(escape(message), highlight=False))
    library.close()
    console.print(f"reindexed {count:,} chunks")


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="Number of passages.")] = 10,
    mode: Annotated[str, typer.Option(help="hybrid, lexical or semantic.")] = "hybrid",
    source: Annotated[Optional[str], typer.Option(help="Only this source (e.g. alignment_newsletter).")] = None,
    author: Annotated[Optional[str], typer.Option(help="Only documents by this author (words of the name).")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="Published on or after (YYYY[-MM[-DD]]).")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Published on or before (YYYY[-MM[-DD]]).")] = None,
    per_document: Annotated[
        int, typer.Option("--per-doc", min=0, help="At most this many passages from one document (0: no limit).")
    ] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of text.")] = False,
) -> None:
    """Search the library; each passage is cited to document, section and character span."""
    library = open_library()
    hits = library.search(
        query,
        k=k,
        mode=mode,
        source=source,
        author=author,
        date_from=date_from,
        date_to=date_to,
        max_per_document=per_document or None,
    )
    if as_json:
        print_json_lines(hit.as_dict() for hit in hits)
        return
    if not hits:
        console.print("no passages found")
        return
    for number, hit in enumerate(hits, start=1):
        console.print(hit_renderable(number, hit))


__all__ = ["app", "search", "State"]
