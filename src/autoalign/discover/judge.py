"""Judging what Discover found on a simulated apparatus against the truth kept beside its streams.

Groups: each summary variable stands for the quantity most of its sensors measure; it is pure
when at least :data:`PURE` of them do, and no irrelevant sensor may be in any. Laws: a law found
between summary variables is rewritten in the apparatus's base quantities (each variable by the
truth of the quantity it stands for) and is solved when, as SRBench judges, it differs from the
truth of its target by a constant factor or a constant term. Summary variables carry the
calibration errors of their sensors (a scale off by a part in a thousand, so constants inside
functions are off too), so the found law's numbers are refitted to the truth first, keeping its
form and its exponents; a law of another form cannot be refitted to it.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy
from scipy.optimize import least_squares

from autoalign.discover import StreamsResult, discover_streams
from autoalign.discover.apparatus import IRRELEVANT, SensorTable
from autoalign.discover.gallery import Apparatus

#: Share of a group's sensors that must measure its quantity.
PURE = 0.95
#: Relative RMS error, after the refit, below which a law is the truth.
EXACT = 1e-6
#: Points of the simulated state the refit is done on.
POINTS = 400


@dataclass(frozen=True)
class GroupVerdict:
    variable: str
    quantity: str
    purity: float
    sensors: int
    irrelevant: int


@dataclass(frozen=True)
class LawVerdict:
    target: str
    law: str | None
    solved: bool
    why: str


@dataclass(frozen=True)
class Verdict:
    groups: tuple[GroupVerdict, ...]
    missing: tuple[str, ...]  # true quantities that no summary variable stands for
    laws: tuple[LawVerdict, ...]
    expected_laws: int

    @property
    def groups_ok(self) -> bool:
        return not self.missing and all(g.purity >= PURE and not g.irrelevant for g in self.groups)

    @property
    def laws_ok(self) -> bool:
        return len(self.laws) == self.expected_laws and all(law.solved for law in self.laws)

    @property
    def passed(self) -> bool:
        return self.groups_ok and self.laws_ok

    def as_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "groups_ok": self.groups_ok,
            "laws_ok": self.laws_ok,
            "groups": [g.__dict__ for g in self.groups],
            "missing_quantities": list(self.missing),
            "laws": [law.__dict__ for law in self.laws],
            "expected_laws": self.expected_laws,
        }


@dataclass(frozen=True)
class Demo:
    """A gallery demo: the simulated streams, what Discover found in them, and the verdict."""

    table: SensorTable
    result: StreamsResult
    verdict: Verdict


def run_demo(
    apparatus: Apparatus,
    samples: int,
    *,
    time_budget_s: float,
    seed: int = 0,
    units: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Demo:
    """Simulate ``apparatus``, find its summary variables and laws with the units a user would
    have (none with ``units=False``), and judge them: what the CLI, the page and the benchmark run."""
    say = progress or (lambda _message: None)
    table = apparatus.simulate(samples, seed=seed)
    say(f"simulated {len(table.names)} sensor streams of {apparatus.title.lower()}, {samples} samples (seed {seed})")
    result = discover_streams(
        table.values,
        table.names,
        table.known_units() if units else None,
        time_budget_s=time_budget_s,
        seed=seed,
        progress=progress,
    )
    return Demo(table, result, judge(apparatus, table, result))


def judge(apparatus: Apparatus, table: SensorTable, result: StreamsResult) -> Verdict:
    """The verdict on ``result``, found in the streams of ``table`` simulated from ``apparatus``."""
    truth = table.truth()
    groups = []
    for variable in result.summary.variables:
        counts = Counter(truth[m] for m in variable.members)
        quantity, count = counts.most_common(1)[0]
        groups.append(
            GroupVerdict(
                variable.name, quantity, count / len(variable.members), len(variable.members), counts[IRRELEVANT]
            )
        )
    stands_for = {g.variable: g.quantity for g in groups}
    missing = tuple(q for q in apparatus.quantities if q not in stands_for.values())
    laws = tuple(_judge_law(apparatus, table, law.result.target, law.result.law, stands_for) for law in result.laws)
    return Verdict(tuple(groups), missing, laws, len(apparatus.derived))


def _judge_law(
    apparatus: Apparatus, table: SensorTable, target: str, law: sympy.Expr | None, stands_for: dict[str, str]
) -> LawVerdict:
    if law is None:
        return LawVerdict(target, None, False, "no law found")
    base = {q: sympy.Symbol(q) for q in apparatus.base}
    in_base = {q: sympy.sympify(expression, locals=base) for q, expression in apparatus.derived.items()} | base
    quantity = stands_for.get(target)
    if quantity == IRRELEVANT or quantity not in in_base:
        return LawVerdict(target, str(law), False, f"{target} stands for no quantity of the apparatus")
    rewritten = law.xreplace(
        {s: in_base.get(stands_for.get(s.name, ""), sympy.Symbol("unknown")) for s in law.free_symbols}
    )
    if sympy.Symbol("unknown") in rewritten.free_symbols:
        return LawVerdict(target, str(law), False, "the law uses a variable that stands for no quantity")
    rows = np.random.default_rng(0).choice(len(table.values), min(POINTS, len(table.values)), replace=False)
    points = {q: apparatus.values(table, q)[rows] for q in apparatus.base}
    error = _refitted_error(rewritten, in_base[quantity], points)
    solved = error < EXACT
    why = "the truth, up to its constants" if solved else f"another form (relative error {error:.2g} after refitting)"
    return LawVerdict(target, str(law), solved, why)


def _refitted_error(found: sympy.Expr, truth: sympy.Expr, points: dict[str, np.ndarray]) -> float:
    """Relative RMS error of ``found`` against ``truth`` once the floats of ``found`` (other than
    exponents), a factor and a term are fitted; ``inf`` when it cannot be evaluated."""
    symbols = sorted(truth.free_symbols | found.free_symbols, key=str)
    floats = sorted(
        (f for f in found.atoms(sympy.Float) if not any(p.exp == f for p in found.atoms(sympy.Pow))), key=float
    )
    constants = sympy.symbols(f"c0:{len(floats)}")
    form = found.xreplace(dict(zip(floats, constants, strict=True)))
    try:
        evaluate = sympy.lambdify([constants, symbols], form, "numpy")
        target = np.asarray(sympy.lambdify([symbols], truth, "numpy")([points[s.name] for s in symbols]), dtype=float)
    except (TypeError, ValueError, KeyError, NameError):
        return np.inf
    inputs = [points[s.name] for s in symbols]
    scale = float(np.sqrt(np.mean(target**2))) or 1.0

    def residual(theta: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.real(np.asarray(evaluate(theta[2:], inputs), dtype=complex)) * np.ones_like(target)
        out = (theta[0] * values + theta[1] * scale - target) / scale
        return np.where(np.isfinite(out), out, 1e6)

    start = np.array([1.0, 0.0, *[float(f) for f in floats]])
    fit = least_squares(residual, start, method="lm", max_nfev=2000, x_scale="jac")
    return float(np.sqrt(np.mean(fit.fun**2)))
