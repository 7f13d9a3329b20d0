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

from autoalign.cli import console, err_console

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
    """Find the law ``target = f(other columns)``, checked on held-out rows."""
    from autoalign.discover import find_law

    result = find_law(data, target, units_path=units, time_budget_s=time_budget, seed=seed, progress=_say)
    if as_json:
        sys.stdout.write(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        console.print(render_law(result))
    if not result.found:
        raise typer.Exit(3)


def _say(message: str) -> None:
    err_console.print(f"[dim]{message}[/dim]", highlight=False)


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
    time_budget: Annotated[float, typer.Option("--time", help="Seconds the law search may take.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Find the few summary variables in many raw streams, then the law between them."""
    from autoalign.discover import read_streams

    matrix, names, known = read_streams(streams, units)
    _report_streams(matrix, names, known, time_budget, seed)


@app.command()
def demo(
    system: Annotated[str, typer.Argument(help="The simulated system: piston.")] = "piston",
    samples: Annotated[int, typer.Option(help="Time steps simulated.")] = 2000,
    time_budget: Annotated[float, typer.Option("--time", help="Seconds the law search may take.")] = 60.0,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 0,
) -> None:
    """Simulate a gas in a piston read by 200+ noisy sensors, and rediscover the ideal gas law."""
    from autoalign.discover.piston import simulate_piston

    if system != "piston":
        raise typer.BadParameter(f"unknown system {system!r}; the demo has: piston")
    table = simulate_piston(samples, seed=seed)
    known = table.known_units()
    _say(f"simulated {len(table.names)} sensor streams over {samples} time steps (seed {seed})")
    result = _report_streams(table.values, table.names, known, time_budget, seed)
    truth = dict(zip(table.names, table.quantities, strict=True))
    check = RichTable("summary variable", "its sensors measure (ground truth)", title="Check against the simulation")
    for variable in result.summary.variables:
        measured = sorted({truth[m] for m in variable.members})
        check.add_row(variable.name, ", ".join(measured))
    wrongly_used = [n for v in result.summary.variables for n in v.members if truth[n] == "irrelevant"]
    console.print(check)
    console.print(f"irrelevant sensors used by a summary variable: {len(wrongly_used)}")


def _report_streams(matrix, names, known, time_budget: float, seed: int):
    from autoalign.discover import discover_streams

    result = discover_streams(matrix, names, known, time_budget_s=time_budget, seed=seed, progress=_say)
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
    console.print(
        Text(
            f"irrelevant sensors ({len(summary.irrelevant)}): "
            + ", ".join(summary.irrelevant[:20])
            + (" …" if len(summary.irrelevant) > 20 else "")
        )
    )
    if result.law is None:
        console.print("no summary variable depends on the others: there is no law to find between them")
        return result
    console.print(render_law(result.law))
    if result.proportionality:
        console.print(Text.assemble(("in words: ", "bold"), (result.proportionality, "bold green")))
    return result


#: The Feynman benchmark lives with the other benchmarks in the source checkout, not in the package.
BENCH_SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "feynman.py"


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context) -> None:
    """Run the Feynman benchmark (``bench/feynman.py`` of the source checkout), which made the
    figures in BENCHMARKS.md; its options pass through (``autoalign discover bench -- --help``)."""
    import subprocess

    from autoalign.errors import AutoalignError

    if not BENCH_SCRIPT.is_file():
        raise AutoalignError(
            f"the benchmark script is not here ({BENCH_SCRIPT}): it ships with the source checkout, "
            "not with an installed package; run it from a clone of the project"
        )
    raise typer.Exit(subprocess.call([sys.executable, str(BENCH_SCRIPT), *ctx.args]))
