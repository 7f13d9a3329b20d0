"""``autoalign discover ...``: laws and summary variables from measurement tables."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import orjson
import sympy
import typer
from rich.table import Table as RichTable
from rich.text import Text

from autoalign.cli import State, console, err_console
from autoalign.cli.render import print_json_lines

app = typer.Typer(no_args_is_help=True)


@app.command()
def fit(
    data: Annotated[Path, typer.Argument(help="CSV with a header row; one column is the target.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The column to explain.")],
    units: Annotated[
        Optional[Path], typer.Option(help="TOML mapping column names (target included) to SI units.")
    ] = None,
    time_budget: Annotated[float, typer.Option("--time", help="Seconds the search may take.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed (row split, search).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="The law and the Pareto front as JSON.")] = False,
) -> None:
    """Find the law ``target = f(other columns)``, checked on held-out rows; stored as a run."""
    from autoalign.discover import read_csv, read_law_units

    known = read_law_units(units) if units is not None else None
    with open_discover() as discover:
        run, result = discover.fit(
            read_csv(data), target, units=known, time_budget_s=time_budget, seed=seed, source=data.name, progress=_say
        )
    _stored(run)
    if as_json:
        _print_json(result.as_dict())
    else:
        console.print(render_law(result))
    if not result.found:
        raise typer.Exit(3)


def open_discover():
    from autoalign.discover import Discover

    return Discover.open(State.workspace)


def _say(message: str) -> None:
    err_console.print(Text(message, style="dim"), highlight=False)


def _stored(run) -> None:
    err_console.print(
        Text(f"stored as discover run {run.id} (autoalign discover runs; the web app's Discover page)", style="dim")
    )


def render_law(result) -> RichTable | Text:
    """The law (or "no law found") above the Pareto front."""
    table = RichTable("complexity", "held-out RMSE", "held-out R²", "expression", "from", title="Pareto front")
    for law in result.pareto_front:
        short = law.expression.xreplace({f: sympy.Float(f, 4) for f in law.expression.atoms(sympy.Float)})
        table.add_row(str(law.complexity), f"{law.test_rmse:.3g}", f"{law.test_r2:.6f}", Text(str(short)), law.source)
    console.print(table)
    if not result.found:
        return Text(
            f"no law found: the best candidate explains R² = {result.best_r2:.3f} of held-out rows", style="bold red"
        )
    return Text.assemble(
        ("law: ", "bold"),
        (f"{result.target} = {result.law}", "bold green"),
        f"\nheld-out R² {result.r2:.9f} · {result.seconds:.1f} s",
    )


@app.command()
def variables(
    streams: Annotated[Path, typer.Argument(help="CSV of raw sensor streams, one column per sensor.")],
    units: Annotated[Optional[Path], typer.Option(help="TOML mapping sensor names to their units.")] = None,
    time_budget: Annotated[float, typer.Option("--time", help="Seconds each law's search may take.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Variables, sensors, formulas and laws as JSON.")] = False,
) -> None:
    """Find the few summary variables in many raw streams, then the law of each dependent one;
    stored as a run."""
    from autoalign.discover import Table, read_streams

    matrix, names, known = read_streams(streams, units)
    with open_discover() as discover:
        run, result = discover.variables(
            Table(names, matrix), known, time_budget_s=time_budget, seed=seed, source=streams.name, progress=_say
        )
    _stored(run)
    if as_json:
        _print_json(result.as_dict())
    else:
        _report_streams(result)


@app.command()
def demo(
    system: Annotated[
        Optional[str],
        typer.Argument(
            help="An apparatus of the gallery or a system that changes in time; none lists them.", show_default=False
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Samples simulated.")] = 2000,
    time_budget: Annotated[float, typer.Option("--time", help="Seconds each law's search may take.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 0,
    streams: Annotated[
        bool, typer.Option("--streams", help="A system read by many imperfect sensors, not by one per variable.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The result and its check against the truth as JSON.")
    ] = False,
) -> None:
    """Simulate an apparatus of the gallery (hundreds of imperfect sensors) and rediscover its
    quantities and laws, checked against the truth the simulation kept apart."""
    from autoalign.discover.gallery import APPARATUS, apparatus
    from autoalign.discover.systems import SYSTEMS
    from autoalign.discover.systems import system as changing_system

    if system is None:
        listing = RichTable("apparatus", "what it is", "its laws", title="The gallery: autoalign discover demo NAME")
        for entry in APPARATUS.values():
            laws = "; ".join(f"{q} = {law}" for q, law in entry.derived.items())
            listing.add_row(entry.name, entry.title + (" (held out)" if entry.held_out else ""), Text(laws))
        console.print(listing)
        changing = RichTable("system", "what it is", title="Systems that change in time: their differential equations")
        for simulation in SYSTEMS:
            changing.add_row(
                simulation.name, Text(simulation.description + (" (held out)" if simulation.held_out else ""))
            )
        console.print(changing)
        return
    if system in {s.name for s in SYSTEMS}:
        law_finder_s = min(time_budget, 20.0)
        _dynamics_demo(changing_system(system).demo(seed=seed, law_finder_s=law_finder_s, streams=streams), as_json)
        return
    chosen = apparatus(system)
    with open_discover() as discover:
        run, demo_run = discover.demo(system, samples, time_budget_s=time_budget, seed=seed, progress=_say)
    _stored(run)
    result, verdict = demo_run.result, demo_run.verdict
    if as_json:
        _print_json({"apparatus": chosen.as_dict(), "result": result.as_dict(), "check": verdict.as_dict()})
        return
    _report_streams(result)
    check = RichTable(
        "summary variable", "stands for", "pure", "irrelevant sensors", title="Check against the simulation"
    )
    for group in verdict.groups:
        check.add_row(group.variable, group.quantity, f"{group.purity:.0%}", str(group.irrelevant))
    console.print(check)
    if verdict.missing:
        console.print(f"quantities no summary variable stands for: {', '.join(verdict.missing)}")
    for law in verdict.laws:
        console.print(Text(f"{law.target}: {'solved' if law.solved else 'not solved'} ({law.why})"))
    console.print(
        Text(f"true laws: {'; '.join(f'{q} = {law}' for q, law in chosen.derived.items())}"),
        Text("recovered" if verdict.passed else "not recovered", style="bold green" if verdict.passed else "bold red"),
    )


@app.command()
def dynamics(
    data: Annotated[Path, typer.Argument(help="CSV with a header row: a time column and the variables it records.")],
    time: Annotated[str, typer.Option("--time-column", "-t", help="The column of times (any order, uneven).")],
    law_finder: Annotated[
        float,
        typer.Option("--law-finder", help="Seconds of the law finder for each rate the library leaves unexplained."),
    ] = 20.0,
    max_order: Annotated[int, typer.Option(help="Highest derivative searched for (1 or 2).")] = 2,
    streams: Annotated[
        bool, typer.Option("--streams", help="The columns are raw sensors: find the state variables first.")
    ] = False,
    units: Annotated[Optional[Path], typer.Option(help="With --streams: TOML mapping sensor names to units.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (held-out rows, search).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="The equations as JSON.")] = False,
) -> None:
    """Find the differential equations of variables recorded in time (dx/dt = f(x), or
    d²x/dt² = f(x, dx/dt)); with ``--streams``, of the summary variables of many sensors."""
    from autoalign.discover import Table, read_csv, read_streams
    from autoalign.discover.dynamics import dynamics_of_stream_table, dynamics_of_table

    if not streams:
        found = dynamics_of_table(read_csv(data), time, law_finder_s=law_finder, max_order=max_order, seed=seed)
        _print_json(found.as_dict()) if as_json else _report_dynamics(found)
        return
    matrix, names, known = read_streams(data, units)
    result = dynamics_of_stream_table(
        Table(names, matrix), time, known, law_finder_s=law_finder, max_order=max_order, seed=seed
    )
    if as_json:
        _print_json(result.as_dict())
        return
    for variable in result.summary.variables:
        console.print(Text(f"{variable.name} [{variable.units or 'units unknown'}]: {len(variable.members)} sensors"))
    console.print(Text(f"irrelevant sensors: {len(result.summary.irrelevant)}"))
    _report_dynamics(result.dynamics)


def _report_dynamics(found) -> None:
    table = RichTable("equation", "held-out R² of the rate", "from", title=f"Equations (order {found.order})")
    for equation in found.equations:
        table.add_row(Text(str(equation)), f"{equation.r2:.4f}", equation.source)
    console.print(table)
    fitted = "constants fitted to the readings" if found.refitted else "constants fitted to the smoothed rates"
    console.print(
        f"readings against the equations integrated over segments: R² = {found.trajectory_r2:.5f} ({fitted});"
        f" {found.rows_used} rows used, {found.rows_dropped} dropped"
    )


def _dynamics_demo(demo, as_json: bool) -> None:
    if as_json:
        _print_json(demo.as_dict())
        return
    for variable in demo.summary.variables if demo.summary else ():
        console.print(Text(f"{variable.name} [{variable.units or 'units unknown'}]: {len(variable.members)} sensors"))
    _report_dynamics(demo.dynamics)
    for check in demo.checks:
        verdict = "recovered" if check.recovered else "not recovered"
        terms = "" if check.same_terms is None else (", same terms" if check.same_terms else ", other terms")
        console.print(
            Text(f"{check.variable}: true {check.truth}; rates within {check.error:.2%} of the truth{terms}: {verdict}")
        )
    console.print(
        Text("recovered" if demo.recovered else "not recovered", style="bold green" if demo.recovered else "bold red")
    )


def _print_json(payload: dict) -> None:
    sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")


def _report_streams(result) -> None:
    summary = result.summary
    table = RichTable("variable", "units", "sensors", "members", "quality (mean R²)", title="Summary variables")
    for variable in summary.variables:
        members = ", ".join(variable.members[:6]) + (
            f", … ({len(variable.members)})" if len(variable.members) > 6 else ""
        )
        table.add_row(
            variable.name, variable.units or "?", str(len(variable.members)), Text(members), f"{variable.quality:.4f}"
        )
    console.print(table)
    console.print(f"independent quantities: [bold]{summary.n_independent}[/bold] ({summary.method})")
    for note in summary.maybe_one:
        console.print(Text(f"note: {note}"))
    console.print(
        Text(
            f"irrelevant sensors ({len(summary.irrelevant)}): "
            + ", ".join(summary.irrelevant[:20])
            + (" …" if len(summary.irrelevant) > 20 else "")
        )
    )
    if not result.laws:
        console.print("no summary variable depends on the others: there is no law to find between them")
    for law in result.laws:
        console.print(Text(f"\n{law.result.target} depends on {', '.join(law.inputs)}", style="bold"))
        if law.rows_dropped:
            console.print(f"{law.rows_dropped} rows without a value of every variable were left out")
        console.print(render_law(law.result))
        if law.proportionality:
            console.print(Text.assemble(("in words: ", "bold"), (law.proportionality, "bold green")))


@app.command("runs")
def list_runs(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per run, as the web API gives it.")] = False,
) -> None:
    """The stored runs (fits, summary variables, demos), wherever they were started."""
    with open_discover() as discover:
        stored = discover.runs(limit)
    if as_json:
        print_json_lines(run.as_dict() for run in stored)
        return
    if not stored:
        console.print("No runs yet: `autoalign discover fit`, `variables` or `demo` store one each.")
        return
    table = RichTable("run", "kind", "status", "what", "found")
    for run in stored:
        what = run.params.get("system") or run.params.get("file") or ""
        table.add_row(str(run.id), run.kind, run.status, Text(str(what)), Text(_outcome(run)))
    console.print(table)


def _outcome(run) -> str:
    if run.status != "done" or run.result is None:
        return run.error or run.status
    laws = [run.result] if run.kind == "fit" else run.result.get("laws", [])
    return "; ".join(f"{law['target']} = {law['law']}" if law["found"] else "no law found" for law in laws) or "no law"
