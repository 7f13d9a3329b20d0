"""``autoalign ask`` and ``autoalign assist ...``: the research assistants from the terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from autoalign.cli import State, console
from autoalign.cli.render import Indented, byline, where
from autoalign.errors import AutoalignError
from autoalign.web.urls import reader_path

app = typer.Typer(no_args_is_help=True)

ModelOpt = Annotated[
    Optional[str], typer.Option("--model", "-m", help="Model profile (default: the configured default).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
OutOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the result as markdown here.")]
DocsArg = Annotated[list[str], typer.Argument(help="Document ids, as search and the reader show them.")]


def open_assistant(model: str | None = None):
    from autoalign.assist import Assistant

    return Assistant.open(State.workspace, model=model)


def web_address(assistant) -> str:
    """Where the running ``autoalign serve`` shows this workspace, else where it would by the settings."""
    if running := assistant.library.workspace.web_address():
        return running
    web = assistant.library.settings.web
    return f"http://{web.host}:{web.port}"


def read_text(text: str) -> str:
    """The argument, or standard input when it is ``-``."""
    return sys.stdin.read() if text == "-" else text


def show(assistant, result, *, as_json: bool = False, output: Path | None = None) -> None:
    """Print a result (sections, cited items, references, each with the web reader's link to its
    span) or its JSON; write markdown if asked."""
    from autoalign.assist import Assistant

    web = web_address(assistant)
    if output is not None:
        try:
            output.write_text(Assistant.markdown(result), encoding="utf-8")
        except OSError as exc:
            raise AutoalignError(f"cannot write {output}: {exc.strerror}") from None
    if as_json:
        sys.stdout.write(orjson.dumps(result.as_dict()).decode() + "\n")
        return
    console.print(Text(f"{result.kind} #{result.id} · {result.model}", style="dim"))
    for number, section in enumerate(result.sections, 1):
        console.print(Text(section.title, style="bold"))
        for index, item in enumerate(section.items, 1):
            line = Text.assemble((f"{number}.{index} ", "dim"), item.text)
            for cited in item.citations:
                line.append(f" [{cited}]", style="bold cyan")
            if item.note:
                line.append(f"  ({item.note})", style="yellow")
            console.print(Indented(line))
        console.print()
    for number, span in enumerate(result.references, 1):
        doc = span.document
        heading = Text.assemble((f"[{number}] ", "bold cyan"), (doc.title, "bold"))
        lines = [heading, byline(doc), where(span.section, span.start, span.end, doc.uid)]
        if doc.url:
            lines.append(Text(doc.url, style="underline blue"))
        lines.append(Text(f"reader: {web}{reader_path(span.document.uid, span.start, span.end)}", style="dim"))
        console.print(Group(*lines))
    if output is not None:
        console.print(Text(f"written to {output}", style="dim"))


def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words ('-' reads standard input).")],
    model: ModelOpt = None,
    as_json: JsonOpt = False,
    output: OutOpt = None,
) -> None:
    """Answer a question from the library, every sentence cited to an exact passage."""
    assistant = open_assistant(model)
    show(assistant, assistant.ask(read_text(question)), as_json=as_json, output=output)


@app.command("summarize")
def summarize(
    documents: DocsArg,
    sentences: Annotated[Optional[int], typer.Option(min=1, max=30, help="Sentences in the summary.")] = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
    output: OutOpt = None,
) -> None:
    """Summarize one document or a set, each sentence cited."""
    assistant = open_assistant(model)
    show(assistant, assistant.summarize(documents, sentences=sentences), as_json=as_json, output=output)


@app.command("explain")
def explain(documents: DocsArg, model: ModelOpt = None, as_json: JsonOpt = False, output: OutOpt = None) -> None:
    """Explain documents: what they say, their terms as the library defines them, what to read next."""
    assistant = open_assistant(model)
    show(assistant, assistant.explain(documents), as_json=as_json, output=output)


@app.command("distill")
def distill(
    document: Annotated[str, typer.Argument(help="Document id.")],
    model: ModelOpt = None,
    as_json: JsonOpt = False,
    output: OutOpt = None,
) -> None:
    """Distill a post: claims, assumptions, key terms, prerequisites and open questions, all cited."""
    assistant = open_assistant(model)
    show(assistant, assistant.distill(document), as_json=as_json, output=output)


@app.command("brainstorm")
def brainstorm(
    question: Annotated[str, typer.Argument(help="The question or topic ('-' reads standard input).")],
    n: Annotated[int, typer.Option("-n", min=1, max=20, help="Ideas to draft.")] = 6,
    seed: Annotated[Optional[int], typer.Option(help="Seed, for ideas that can be drafted again.")] = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
    output: OutOpt = None,
) -> None:
    """Research ideas that combine related work from the library, deduplicated and grouped by theme."""
    assistant = open_assistant(model)
    show(assistant, assistant.brainstorm(read_text(question), n=n, seed=seed), as_json=as_json, output=output)


@app.command("grow")
def grow(
    result: Annotated[int, typer.Argument(help="The brainstorm's number.")],
    idea: Annotated[str, typer.Argument(help="The idea as printed, THEME.IDEA (e.g. 1.2).")],
) -> None:
    """Grow a brainstormed idea as a Loom tree, to continue and branch it."""
    section, _, item = idea.partition(".")
    if not (section.isdigit() and item.isdigit()):
        raise AutoalignError(f"{idea!r} is not an idea number such as 1.2 (theme 1, idea 2)")
    tree = open_assistant().grow(result, int(section) - 1, int(item) - 1)
    console.print(f"Loom tree {tree.id}: `autoalign loom show {tree.id}`, or open /loom/{tree.id} in the web app")


@app.command("duck")
def duck(
    text: Annotated[str, typer.Argument(help="Your draft or argument ('-' reads standard input).")],
    session: Annotated[Optional[int], typer.Option(help="Go on with this session (see `assist sessions`).")] = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Talk an argument through with a rubber duck that questions it and brings the library's passages."""
    assistant = open_assistant(model)
    session_id, reply = assistant.duck(read_text(text), session=session)
    show(assistant, reply, as_json=as_json)
    if not as_json:
        console.print(Text(f"session {session_id}: go on with --session {session_id}", style="dim"))


@app.command("sessions")
def sessions() -> None:
    """List the rubber-duck sessions, most recent first."""
    table = Table("session", "title")
    for session_id, title, _updated in open_assistant().sessions():
        table.add_row(str(session_id), Text(title))
    console.print(table)


@app.command("complete")
def complete(
    draft: Annotated[str, typer.Argument(help="The draft to continue ('-' reads standard input).")],
    max_tokens: Annotated[int, typer.Option(min=1, max=256, help="Longest suggestion, in tokens.")] = 24,
    model: ModelOpt = None,
) -> None:
    """Suggest how the draft goes on (what the web editor shows as ghost text)."""
    sys.stdout.write(open_assistant(model).autocomplete(read_text(draft), max_tokens=max_tokens) + "\n")


@app.command("history")
def history(kind: Annotated[Optional[str], typer.Option(help="Only results of this kind.")] = None) -> None:
    """List stored results, newest first."""
    from autoalign.assist import KINDS

    if kind is not None and kind not in KINDS:
        raise AutoalignError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    table = Table("result", "kind", "prompt", "model")
    for info in open_assistant().history(kind=kind):
        table.add_row(str(info.id), info.kind, Text(" ".join(info.prompt.split())[:80]), info.model)
    console.print(table)


@app.command("show")
def show_result(
    result: Annotated[int, typer.Argument(help="The result's number (see `assist history`).")],
    as_json: JsonOpt = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print it as markdown.")] = False,
    output: OutOpt = None,
) -> None:
    """Show a stored result again, or export it as markdown."""
    assistant = open_assistant()
    stored = assistant.result(result)
    if markdown:
        sys.stdout.write(assistant.markdown(stored))
        return
    show(assistant, stored, as_json=as_json, output=output)
