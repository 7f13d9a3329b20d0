"""Discover: from raw measurements to the few variables that matter and the law between them.

>>> from autoalign.discover import LawFinder
>>> finder = LawFinder(time_budget_s=30).fit(X, y, names=["P", "V", "T"])   # doctest: +SKIP
>>> finder.law_, finder.score(X, y)                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import sympy

from autoalign.discover.data import DataError, Table, read_csv
from autoalign.discover.estimator import Law, LawFinder, NoLawFound
from autoalign.discover.variables import SummaryVariables, find_summary_variables

__all__ = [
    "DataError",
    "Discover",
    "Law",
    "LawFinder",
    "LawResult",
    "NoLawFound",
    "StreamLaw",
    "StreamsResult",
    "SummaryVariables",
    "Table",
    "discover_streams",
    "find_summary_variables",
    "read_csv",
    "read_law_units",
    "read_streams",
]


@dataclass(frozen=True, slots=True)
class LawResult:
    """What ``discover fit`` reports: the law (if any) and the Pareto front it was chosen from."""

    target: str
    law: sympy.Expr | None
    r2: float | None
    best_r2: float
    pareto_front: list[Law]
    seconds: float

    @property
    def found(self) -> bool:
        return self.law is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "found": self.found,
            "law": str(self.law) if self.found else None,
            "latex": sympy.latex(self.law) if self.found else None,
            "held_out_r2": self.r2,
            "seconds": self.seconds,
            "pareto_front": [law.as_dict() for law in self.pareto_front],
        }


def fit_table(
    table: Table,
    target: str,
    *,
    units: dict[str, str] | None = None,
    time_budget_s: float = 60.0,
    seed: int = 0,
    error_floor: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> LawResult:
    """Find ``target = f(every other column)`` in a table (``error_floor``: see ``LawFinder``)."""
    y = table.column(target)
    inputs = table.without(target)
    finder = LawFinder(time_budget_s=time_budget_s, random_state=seed, error_floor=error_floor).fit(
        inputs.values, y, names=inputs.names, units=units, target_name=target, progress=progress
    )
    candidate = finder.law_candidate_
    return LawResult(
        target=target,
        law=finder.law_,
        r2=candidate.test_r2 if candidate is not None and finder.found_ else None,
        best_r2=candidate.test_r2 if candidate else float("nan"),
        pareto_front=finder.pareto_front_,
        seconds=finder.seconds_,
    )


#: An additive constant smaller than this share of the target's typical size does not hide a
#: proportionality (it is what calibration errors left in summary variables look like).
NEGLIGIBLE_OFFSET = 0.02


def proportionality(target: str, law: sympy.Expr, typical: float) -> str | None:
    """``T1 ∝ P1·x1/N1`` rendered as ``N1·T1 ∝ P1·x1`` for a law ``T1 = c·P1·x1/N1`` (a constant
    times a product of powers, plus at most a negligible offset, which the text then states);
    None for any other shape of law. ``typical`` is the target's typical magnitude."""
    offset, rest = law.as_coeff_Add()
    _, product = rest.as_coeff_Mul()
    powers = product.as_powers_dict()
    if not powers or not all(base.is_Symbol and exponent.is_Rational for base, exponent in powers.items()):
        return None
    if abs(float(offset)) > NEGLIGIBLE_OFFSET * typical:
        return None

    def side(terms: list[tuple[str, sympy.Rational]]) -> str:
        return "·".join(name if exponent == 1 else f"{name}^{exponent}" for name, exponent in terms) or "1"

    left = [(target, sympy.Integer(1))] + [(b.name, -e) for b, e in powers.items() if e < 0]
    right = [(b.name, e) for b, e in powers.items() if e > 0]
    text = f"{side(left)} ∝ {side(right)}"
    if offset:
        text += f" (up to an offset of {float(offset):.3g} in {target}, {abs(float(offset)) / typical:.1%} of its size)"
    return text


@dataclass(frozen=True, slots=True)
class StreamLaw:
    """The law of one dependent summary variable in the fewest independent ones that predict it."""

    result: LawResult
    inputs: tuple[str, ...]
    rows_used: int
    rows_dropped: int  # rows where the target or an input was missing (every sensor of it dropped out)
    proportionality: str | None

    def as_dict(self) -> dict[str, object]:
        return self.result.as_dict() | {
            "inputs": list(self.inputs),
            "rows_used": self.rows_used,
            "rows_dropped": self.rows_dropped,
            "proportionality": self.proportionality,
        }


@dataclass(frozen=True, slots=True)
class StreamsResult:
    """Summary variables found in raw streams, and a law for each one that depends on the others."""

    summary: SummaryVariables
    laws: tuple[StreamLaw, ...]

    def as_dict(self) -> dict[str, object]:
        """Everything a script needs to judge the result: each variable with its sensors, units and
        formula, the independent quantities, the dependences and every law."""
        summary = self.summary
        return {
            "variables": [
                {
                    "name": v.name,
                    "units": v.units,
                    "quantity": v.quantity,
                    "members": list(v.members),
                    "member_units": [c.units for c in v.calibrations],
                    "quality": v.quality,
                    "noise": v.noise,
                    "scale": v.scale,
                    "formula": v.formula(),
                }
                for v in summary.variables
            ],
            "n_independent": summary.n_independent,
            "independent": list(summary.independent),
            "dependences": [
                {"variable": d.variable, "of": list(d.of), "r2": d.r2, "space": d.space} for d in summary.dependences
            ],
            "maybe_one_quantity": list(summary.maybe_one),
            "derived_sensors": summary.derived,
            "irrelevant_sensors": list(summary.irrelevant),
            "dropped_sensors": summary.dropped,
            "missing_cells": summary.missing,
            "unit_notes": list(summary.unit_notes),
            "method": summary.method,
            "laws": [law.as_dict() for law in self.laws],
        }


def discover_streams(
    matrix: np.ndarray,
    names: list[str],
    units: dict[str, str] | None = None,
    *,
    time_budget_s: float = 60.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> StreamsResult:
    """From raw sensor streams to summary variables, then, for each summary variable that depends
    on the others, its law in the fewest independent variables that predict it (``discover
    variables`` and ``discover demo``). ``time_budget_s`` is for each law's search."""
    say = progress or (lambda _message: None)
    summary = find_summary_variables(matrix, names, units, seed=seed)
    say(
        f"{len(summary.variables)} summary variables, {summary.n_independent} independent;"
        f" {len(summary.irrelevant)} sensors irrelevant"
    )
    laws = []
    for dependence in summary.dependences:
        inputs = summary.predictors(dependence.variable, seed)
        say(f"{dependence.variable} depends on {', '.join(inputs)}: looking for the law")
        laws.append(_law_between(summary, dependence.variable, inputs, time_budget_s, seed, progress))
    return StreamsResult(summary, tuple(laws))


#: The relative error of a law between summary variables that their sensors' calibration errors
#: leave in them (the gallery's laws, refitted to the truth, are off by 1e-5 to 1e-4).
SUMMARY_ERROR_FLOOR = 1e-3


def _law_between(
    summary: SummaryVariables,
    target: str,
    inputs: tuple[str, ...],
    time_budget_s: float,
    seed: int,
    progress: Callable[[str], None] | None,
) -> StreamLaw:
    """Fit ``target`` on ``inputs`` over the rows where all of them have a value."""
    variables = [summary.variable(name) for name in (target, *inputs)]
    values = np.column_stack([v.values for v in variables])
    complete = np.all(np.isfinite(values), axis=1)
    known = {v.name: v.units for v in variables}
    law = fit_table(
        Table([v.name for v in variables], values[complete]),
        target,
        units=cast(dict[str, str], known) if all(known.values()) else None,
        time_budget_s=time_budget_s,
        seed=seed,
        error_floor=SUMMARY_ERROR_FLOOR,
        progress=progress,
    )
    typical = float(np.median(np.abs(values[complete, 0])))
    return StreamLaw(
        result=law,
        inputs=inputs,
        rows_used=int(complete.sum()),
        rows_dropped=int((~complete).sum()),
        proportionality=proportionality(target, law.law, typical) if law.found else None,
    )


def read_streams(path: Path, units_path: Path | None = None) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """A CSV of raw streams (empty cells are dropouts) and, optionally, its units TOML."""
    table = read_csv(path)
    units: dict[str, str] = {}
    if units_path is not None:
        from autoalign.discover.units import read_units_text

        units = {name: str(text) for name, text in read_units_text(units_path).items()}
    return table.values, table.names, units


def read_law_units(path: Path) -> dict[str, str]:
    """A units TOML for ``discover fit``: each column's SI dimension, as the law finder takes it."""
    from autoalign.discover.units import read_units_file

    return {name: str(dimension) for name, dimension in read_units_file(path).items()}


# Last: the capability uses the functions above (a run of it is one of them, stored).
from autoalign.discover.workbench import Discover  # noqa: E402
