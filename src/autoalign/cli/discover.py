"""``autoalign discover ...``: laws and summary variables from measurement tables."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import orjson
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
        table.add_row(
            str(law.complexity), f"{law.test_rmse:.3g}", f"{law.test_r2:.6f}", Text(str(law.expression)), law.source
        )
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
