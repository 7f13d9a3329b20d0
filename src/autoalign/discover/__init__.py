"""Discover: from raw measurements to the few variables that matter and the law between them.

>>> from autoalign.discover import LawFinder
>>> finder = LawFinder(time_budget_s=30).fit(X, y, names=["P", "V", "T"])   # doctest: +SKIP
>>> finder.law_, finder.score(X, y)                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sympy

from autoalign.discover.data import DataError, Table, read_csv
from autoalign.discover.estimator import Law, LawFinder, NoLawFound

__all__ = ["DataError", "Law", "LawFinder", "LawResult", "NoLawFound", "Table", "find_law", "read_csv"]


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
    progress: Callable[[str], None] | None = None,
) -> LawResult:
    """Find ``target = f(every other column)`` in a table."""
    y = table.column(target)
    inputs = table.without(target)
    finder = LawFinder(time_budget_s=time_budget_s, random_state=seed).fit(
        inputs.values, y, names=inputs.names, units=units, target_name=target, progress=progress
    )
    candidate = finder.law_candidate_
    return LawResult(
        target=target,
        law=finder.law_,
        r2=candidate.test_r2 if finder.found_ else None,
        best_r2=candidate.test_r2 if candidate else float("nan"),
        pareto_front=finder.pareto_front_,
        seconds=finder.seconds_,
    )


def find_law(
    data: Path,
    target: str,
    *,
    units_path: Path | None = None,
    time_budget_s: float = 60.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> LawResult:
    """``discover fit``: read a CSV (and a units TOML), then :func:`fit_table`."""
    units = None
    if units_path is not None:
        from autoalign.discover.units import read_units_file

        units = {name: str(dimension) for name, dimension in read_units_file(units_path).items()}
    return fit_table(read_csv(data), target, units=units, time_budget_s=time_budget_s, seed=seed, progress=progress)
