"""Dynamics: the differential equations of variables recorded in time.

In the manner of SINDy (sparse identification of nonlinear dynamics), with three differences
that the benchmark (``bench/dynamics.py``) measured against pysindy on the same recordings:

1. **Derivatives** come from a smoothing spline per variable whose smoothness is chosen by
   generalized cross-validation (``scipy.interpolate.make_smoothing_spline``). It takes uneven
   times as they are and needs no window to be tuned; finite differences of noisy readings
   (pysindy's default) amplify 1% noise into rates that are mostly noise, worse for a second
   derivative.
2. **The order** is found, not given: the first order whose equations predict the rates of rows
   held out of the fit is enough; otherwise the state is the variables and their rates, and the
   equations are for the second derivatives (a pendulum, a damped spring).
3. **Every small set of terms** of the library (polynomials to degree 3, sine and cosine of the
   variables) is fitted, not a thresholded path through them: with a handful of variables that
   is thousands of least-squares fits of a few columns, solved at once from the Gram matrix; the
   sets of each size within ``TOLERANCE`` of that size's best held-out error are kept. Thresholds
   (STLSQ) depend on the scale of each term and keep ``θ - θ³/6`` where the law is ``sin θ``.

The law finder (``LawFinder``) is called for a rate the library leaves unexplained: a ratio such
as Michaelis-Menten's ``-V·S/(K + S)`` is in no polynomial library. Last, the constants are
refitted against the readings themselves, by integrating the equations over a few segments of
the record from fitted starts: the rates from a smoothed curve are biased low where it bends
most, and the readings are not. The readings also choose among the kept sets (an information
criterion on their misfit) and prune terms they do not need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, combinations_with_replacement

import numpy as np
import sympy
from scipy.integrate import solve_ivp
from scipy.interpolate import make_smoothing_spline
from scipy.optimize import least_squares

from autoalign.discover.data import Table
from autoalign.discover.variables import SummaryVariables, find_summary_variables
from autoalign.errors import DynamicsError

#: Highest derivative searched for.
MAX_ORDER = 2
#: Share of the record at each end left out of the fits: a spline's rates are poor at its ends.
EDGE = 0.05
#: Held-out R² of every rate at which an order is enough.
ENOUGH = 0.99
#: A set of terms whose held-out error is within this factor of the best set's is as good.
TOLERANCE = 1.1
#: Most terms in one equation, and the largest degree of the polynomial terms.
MAX_TERMS = 4
DEGREE = 3
#: Sets of terms of one size kept for the readings to choose among.
TIES = 4
#: What each constant costs in the choice by the readings, times the log of their number (BIC: 1).
CONSTANT_PRICE = 2.0
#: Misfit (a share of each variable's spread) below which a better fit is no evidence: summary
#: variables averaged from many sensors have almost no noise, but keep about this much of their
#: calibration errors, which extra terms would otherwise be chosen to follow.
MISFIT_FLOOR = 5e-3
#: A term whose removal, before any refit, multiplies the misfit by more than this is kept
#: without trying (refits of broken equations are the slowest part of the search).
HOPELESS = 10.0
#: Start of a constant put in place of a term when terms are pruned.
STAND_IN = 1e-3
#: Rounds of choosing one equation at a time, the others held (several variables only).
PASSES = 2
#: Laws of the law finder's Pareto front kept as candidates.
FROM_LAW_FINDER = 4
#: Largest law (in nodes) of the law finder taken as a candidate.
LAW_FINDER_COMPLEXITY = 20
#: Below this held-out R² of a rate, the law finder is asked for it (if it has time).
EXPLAINED = 0.999
#: Segments of the record integrated from their own fitted starts when the constants are refitted.
SEGMENTS = 4
#: Evaluations of the readings' misfit per parameter in one refit (a Jacobian takes one each).
REFIT_EVALUATIONS = 20
#: Significant digits of the constants shown.
DIGITS = 4
MIN_ROWS = 30


@dataclass(frozen=True, slots=True)
class Equation:
    """``variable`` (a derivative: ``N'``, ``theta''``) as a function of the state."""

    variable: str
    expression: sympy.Expr
    #: Held-out R² of the rate it predicts, against the rates of the smoothed readings.
    r2: float
    source: str  # "library" or "law finder"

    def __str__(self) -> str:
        return f"{self.variable} = {self.expression}"


@dataclass(frozen=True, slots=True)
class Dynamics:
    """The equations found, of the given ``order``, in the ``state`` (variables, then rates)."""

    order: int
    state: tuple[str, ...]
    equations: tuple[Equation, ...]
    #: R² of the readings against the equations integrated over ``SEGMENTS`` segments, each from
    #: a fitted start (so drift over the whole record is not counted).
    trajectory_r2: float
    refitted: bool  # whether the constants were fitted to the readings (else: to the smoothed rates)
    rows_used: int
    rows_dropped: int

    def laws(self) -> dict[str, sympy.Expr]:
        """The right-hand side of each variable's equation, by the variable's name."""
        return {e.variable[: -self.order]: e.expression for e in self.equations}

    def as_dict(self) -> dict[str, object]:
        return {
            "order": self.order,
            "state": list(self.state),
            "equations": [
                {
                    "variable": e.variable,
                    "expression": str(e.expression),
                    "latex": sympy.latex(e.expression),
                    "held_out_r2": e.r2,
                    "source": e.source,
                }
                for e in self.equations
            ],
            "trajectory_r2": self.trajectory_r2,
            "refitted": self.refitted,
            "rows_used": self.rows_used,
            "rows_dropped": self.rows_dropped,
        }


def dynamics_of_table(
    table: Table, time: str, *, law_finder_s: float = 0.0, max_order: int = MAX_ORDER, seed: int = 0
) -> Dynamics:
    """``discover dynamics``: the equations of every column of ``table`` but the time column."""
    others = table.without(time)
    return find_dynamics(
        table.column(time), others.values, others.names, law_finder_s=law_finder_s, max_order=max_order, seed=seed
    )


@dataclass(frozen=True, slots=True)
class StreamsDynamics:
    """``discover dynamics --streams``: the summary variables of many sensors, and their equations."""

    summary: SummaryVariables
    dynamics: Dynamics

    def as_dict(self) -> dict[str, object]:
        return {
            "variables": [
                {"name": v.name, "units": v.units, "quantity": v.quantity, "sensors": list(v.members)}
                for v in self.summary.variables
            ],
            "irrelevant": list(self.summary.irrelevant),
            "dynamics": self.dynamics.as_dict(),
        }


def dynamics_of_stream_table(
    table: Table,
    time: str,
    units: Mapping[str, str] | None = None,
    *,
    law_finder_s: float = 0.0,
    max_order: int = MAX_ORDER,
    seed: int = 0,
) -> StreamsDynamics:
    """``discover dynamics --streams``: every column but the time column is a raw sensor."""
    sensors = table.without(time)
    known = {name: unit for name, unit in (units or {}).items() if name != time}
    return dynamics_of_streams(
        table.column(time),
        sensors.values,
        sensors.names,
        known,
        law_finder_s=law_finder_s,
        max_order=max_order,
        seed=seed,
    )


def dynamics_of_streams(
    t: np.ndarray,
    matrix: np.ndarray,
    names: Sequence[str],
    units: Mapping[str, str] | None = None,
    *,
    law_finder_s: float = 0.0,
    max_order: int = MAX_ORDER,
    seed: int = 0,
) -> StreamsDynamics:
    """The state variables of many sensors recorded in time (the summary variables: each
    group of sensors of one quantity, calibrated against each other and averaged) and the
    differential equations between them, over the rows where every variable has a value."""
    summary = find_summary_variables(matrix, names, units, seed=seed)
    if not summary.variables:
        raise DynamicsError("no two sensors measure one quantity: there are no state variables to follow in time")
    values, variable_names, _ = summary.table()
    found = find_dynamics(t, values, variable_names, law_finder_s=law_finder_s, max_order=max_order, seed=seed)
    return StreamsDynamics(summary, found)


def find_dynamics(
    t: np.ndarray,
    values: np.ndarray,
    names: Sequence[str],
    *,
    max_order: int = MAX_ORDER,
    law_finder_s: float = 0.0,
    refit: bool = True,
    seed: int = 0,
) -> Dynamics:
    """The differential equations of the variables ``values[:, j]`` (named ``names[j]``)
    recorded at times ``t`` (any order, uneven; rows with a missing value are dropped and
    counted). ``law_finder_s`` gives the law finder that many seconds for each rate the library
    leaves unexplained (0: never)."""
    if max_order not in range(1, MAX_ORDER + 1):
        raise DynamicsError(f"the order can be 1 or 2 (a spline's third derivative is too rough), not {max_order}")
    t, x, dropped = _checked(t, values, names)
    names = [str(n) for n in names]
    positions, rates = smoothed_rates(t, x, max_order)
    inner = _inner(t)
    rng = np.random.default_rng(seed)
    held_out = rng.random(len(inner)) < 0.25
    found: list[tuple[int, list[sympy.Symbol], list[list[Equation]]]] = []
    for order in range(1, max_order + 1):
        symbols = _state_symbols(names, order)
        state = np.column_stack([positions, *rates[: order - 1]])[inner]
        library = _Library(symbols, positions)
        options = []
        for j, name in enumerate(names):
            target = rates[order - 1][inner, j]
            candidates = library.candidates(state, target, held_out, f"{name}{chr(39) * order}")
            best = max(c.r2 for c in candidates)
            if best < EXPLAINED and law_finder_s > 0:
                variable = candidates[0].variable
                candidates += _law_finder(symbols, state, target, held_out, law_finder_s, seed, variable, best)
            options.append(candidates)
        found.append((order, symbols, options))
        if _fit(options) >= ENOUGH:
            break
    enough = [f for f in found if _fit(f[2]) >= ENOUGH]
    order, symbols, options = enough[0] if enough else max(found, key=lambda f: _fit(f[2]))
    trajectory = _Trajectory(t, x, positions, rates, symbols, order)
    equations, starts, refitted = _chosen(trajectory, options, refit)
    return Dynamics(
        order=order,
        state=tuple(str(s) for s in symbols),
        equations=tuple(equations),
        trajectory_r2=trajectory.r2([e.expression for e in equations], starts),
        refitted=refitted,
        rows_used=len(t),
        rows_dropped=dropped,
    )


# --- input ---------------------------------------------------------------------------------------


def _checked(t: np.ndarray, values: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Times sorted, rows with a missing value or a repeated time dropped (counted), or a clear error."""
    try:
        t = np.asarray(t, dtype=float).ravel()
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DynamicsError("times and readings must be numbers") from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != len(t):
        raise DynamicsError(f"one row of readings per time is needed (got {len(t)} times and shape {x.shape})")
    if x.shape[1] != len(names) or x.shape[1] == 0:
        raise DynamicsError(f"{len(names)} names for {x.shape[1]} variables")
    ok = np.isfinite(t) & np.all(np.isfinite(x), axis=1)
    order = np.argsort(t[ok], kind="stable")
    t, x = t[ok][order], x[ok][order]
    distinct = np.r_[True, np.diff(t) > 0]
    t, x = t[distinct], x[distinct]
    if len(t) < MIN_ROWS:
        raise DynamicsError(f"{len(t)} usable rows: at least {MIN_ROWS} readings in time are needed")
    flat = [str(n) for n, column in zip(names, x.T, strict=True) if np.ptp(column) == 0]
    if flat:
        raise DynamicsError(f"{', '.join(flat)} never change: there is no dynamics to find in them")
    return t, x, len(ok) - len(t)


def smoothed_rates(t: np.ndarray, x: np.ndarray, max_order: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each variable on its smoothing spline (smoothness by generalized cross-validation), and
    its first ``max_order`` derivatives."""
    splines = [make_smoothing_spline(t, column) for column in x.T]
    positions = np.column_stack([s(t) for s in splines])
    rates = [np.column_stack([s.derivative(k)(t) for s in splines]) for k in range(1, max_order + 1)]
    return positions, rates


def _inner(t: np.ndarray) -> np.ndarray:
    """Rows away from the record's ends (by time)."""
    span = t[-1] - t[0]
    return np.flatnonzero((t >= t[0] + EDGE * span) & (t <= t[-1] - EDGE * span))


def _state_symbols(names: list[str], order: int) -> list[sympy.Symbol]:
    """The variables, then (for a second order) their rates: ``x``, ``x'``."""
    return [sympy.Symbol(f"{n}{chr(39) * k}", real=True) for k in range(order) for n in names]


# --- the library ---------------------------------------------------------------------------------


class _Library:
    """Candidate terms in the state: a constant, monomials up to :data:`DEGREE`, and the sine and
    cosine of each variable (not of a rate) whose values could be an angle in radians."""

    def __init__(self, symbols: list[sympy.Symbol], positions: np.ndarray) -> None:
        terms: list[sympy.Expr] = [sympy.Integer(1)]
        for degree in range(1, DEGREE + 1):
            terms += [sympy.Mul(*c) for c in combinations_with_replacement(symbols, degree)]
        for s, column in zip(symbols, positions.T, strict=False):  # the variables come first
            if np.max(np.abs(column)) <= 2 * np.pi:  # an angle; sin(T) of a temperature is noise
                terms += [sympy.sin(s), sympy.cos(s)]
        self.terms = terms
        self._functions = [sympy.lambdify([symbols], term, modules="numpy") for term in terms]

    def columns(self, state: np.ndarray) -> np.ndarray:
        rows = len(state)
        return np.column_stack([np.broadcast_to(f(list(state.T)), (rows,)) for f in self._functions])

    def candidates(self, state: np.ndarray, target: np.ndarray, held_out: np.ndarray, variable: str) -> list[Equation]:
        """For each number of terms, the sets whose held-out error is within :data:`TOLERANCE` of
        that size's best (at most :data:`TIES`), fewest terms first: the rates are noisy, and
        the readings choose among near ties (:func:`_chosen`)."""
        features = self.columns(state)
        norms = np.linalg.norm(features, axis=0)
        usable = np.flatnonzero(norms > 0)
        features = features[:, usable] / norms[usable]
        train, test = ~held_out, held_out
        gram, moment = features[train].T @ features[train], features[train].T @ target[train]
        gram_test, moment_test = features[test].T @ features[test], features[test].T @ target[test]
        power_test = float(target[test] @ target[test])
        variance = float(np.var(target[test])) * int(test.sum())
        found = []
        for size in range(1, min(MAX_TERMS, len(usable)) + 1):
            subsets = np.array(list(combinations(range(len(usable)), size)))
            coefficients = _solve_all(gram, moment, subsets)
            if coefficients is None:
                continue
            g = gram_test[subsets[:, :, None], subsets[:, None, :]]
            m = moment_test[subsets]
            error = power_test - 2 * np.einsum("si,si->s", coefficients, m)
            error = error + np.einsum("si,sij,sj->s", coefficients, g, coefficients)
            error = np.where(np.isfinite(error), error, np.inf)
            ranked = np.argsort(error)[:TIES]
            for k in ranked[error[ranked] <= error[ranked[0]] * TOLERANCE + 1e-300]:
                scales = coefficients[k] / norms[usable][subsets[k]]
                terms = (sympy.Float(c) * self.terms[usable[i]] for c, i in zip(scales, subsets[k], strict=True))
                r2 = 1 - max(float(error[k]), 0.0) / variance
                found.append(Equation(variable, _rounded(sympy.Add(*terms)), r2, "library"))
        return found


def _solve_all(gram: np.ndarray, moment: np.ndarray, subsets: np.ndarray) -> np.ndarray | None:
    """Least-squares coefficients of every subset of columns at once (``None`` if any is singular
    beyond the tiny ridge)."""
    g = gram[subsets[:, :, None], subsets[:, None, :]]
    m = moment[subsets]
    ridge = 1e-12 * np.eye(subsets.shape[1])
    try:
        return np.linalg.solve(g + ridge, m[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return None


def _law_finder(
    symbols: list[sympy.Symbol],
    state: np.ndarray,
    target: np.ndarray,
    held_out: np.ndarray,
    seconds: float,
    seed: int,
    variable: str,
    better_than: float,
) -> list[Equation]:
    """The laws of the law finder's Pareto front (at most :data:`FROM_LAW_FINDER`, simplest first)
    that predict held-out rates better than ``better_than``, as more candidates. Its own choice
    is made on the noisy rates; the readings choose better (:func:`_chosen`)."""
    from autoalign.discover.estimator import LawFinder

    finder = LawFinder(time_budget_s=seconds, use_gp=False, random_state=seed)
    finder.fit(state[~held_out], target[~held_out], names=[str(s) for s in symbols])
    found = []
    for law in finder.pareto_front_:
        if law.complexity > LAW_FINDER_COMPLEXITY:  # slow to integrate, and not a law anyone would read
            continue
        predict = sympy.lambdify([finder.symbols_], law.expression, modules="numpy")
        with np.errstate(all="ignore"):
            residual = target[held_out] - predict(list(state[held_out].T))
        r2 = 1 - float(np.mean(residual**2)) / float(np.var(target[held_out]))
        if np.isfinite(r2) and r2 > better_than:
            expression = law.expression.xreplace(dict(zip(finder.symbols_, symbols, strict=True)))
            found.append(Equation(variable, _rounded(expression), r2, "law finder"))
    return found[:FROM_LAW_FINDER]


def _fit(options: list[list[Equation]]) -> float:
    """How well an order does: the worst, over the variables, of the best held-out R² of a rate."""
    return min(max(c.r2 for c in candidates) for candidates in options)


def _chosen(
    trajectory: _Trajectory, options: list[list[Equation]], refit: bool
) -> tuple[list[Equation], np.ndarray, bool]:
    """One equation per variable, chosen by the readings: each candidate's constants (and the
    segments' starts) fitted to the readings, the one with the lowest information criterion
    kept, one variable at a time. Without ``refit``: the first candidate of each."""
    chosen = [candidates[0] for candidates in options]
    starts = trajectory.starts
    if not refit:
        return chosen, starts, False
    best = None
    for _ in range(PASSES if len(options) > 1 else 1):
        before = list(chosen)
        for j, candidates in enumerate(options):
            for candidate in candidates:
                trial = [*chosen[:j], candidate, *chosen[j + 1 :]]
                fitted = trajectory.refit([e.expression for e in trial])
                if fitted is None:
                    continue
                expressions, fitted_starts = fitted
                score = trajectory.criterion(expressions, fitted_starts)
                if best is None or score < best[0]:
                    best = (score, trial, expressions, fitted_starts)
            if best is not None:
                chosen = list(best[1])
        if chosen == before:
            break
    if best is None:
        return chosen, starts, False
    score, _, expressions, starts = best
    expressions, starts = _pruned(trajectory, expressions, starts, score)
    equations = [Equation(e.variable, _rounded(x), e.r2, e.source) for e, x in zip(chosen, expressions, strict=True)]
    return equations, starts, True


def _pruned(
    trajectory: _Trajectory, expressions: list[sympy.Expr], starts: np.ndarray, score: float
) -> tuple[list[sympy.Expr], np.ndarray]:
    """Terms dropped, one at a time, while the readings' criterion improves without them: the
    near ties of the noisy rates can all carry a small term that the readings do not need."""
    while True:
        trials = []
        misfit = trajectory.misfit(expressions, starts)
        for j, expression in enumerate(expressions):
            terms = sympy.Add.make_args(expression)
            if len(terms) < 2:
                continue
            constant = any(not term.free_symbols for term in terms)
            for term in terms:
                # Without the term, or (where there is no constant yet) with a constant in its
                # place: a cos(x) near 1 may be standing in for an offset of the variable's zero.
                replacements = [expression - term]
                if not constant and term.free_symbols:
                    replacements.append(expression - term + sympy.Float(STAND_IN))
                for replacement in replacements:
                    trial = [*expressions[:j], replacement, *expressions[j + 1 :]]
                    if trajectory.misfit(trial, starts) > HOPELESS * (misfit + MISFIT_FLOOR**2):
                        continue  # a term the equation needs: no refit brings the readings back
                    fitted = trajectory.refit(trial)
                    if fitted is not None:
                        trials.append((trajectory.criterion(*fitted), fitted))
        if not trials:
            return expressions, starts
        best_score, (best_expressions, best_starts) = min(trials, key=lambda trial: trial[0])
        if best_score >= score:
            return expressions, starts
        score, expressions, starts = best_score, best_expressions, best_starts


def _rounded(expression: sympy.Expr) -> sympy.Expr:
    return expression.xreplace({f: sympy.Float(f, DIGITS) for f in expression.atoms(sympy.Float)})


# --- refitting against the readings ------------------------------------------------------------


class _Trajectory:
    """The equations integrated over :data:`SEGMENTS` segments of the record, each from its own
    start, and compared with the readings."""

    def __init__(
        self,
        t: np.ndarray,
        x: np.ndarray,
        positions: np.ndarray,
        rates: list[np.ndarray],
        symbols: list[sympy.Symbol],
        order: int,
    ) -> None:
        self.t, self.x, self.symbols, self.order = t, x, symbols, order
        self.scale = x.std(axis=0)
        bounds = np.linspace(0, len(t), SEGMENTS + 1).astype(int)
        self.segments = [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b - a >= 3]
        state = np.column_stack([positions, *rates[: order - 1]])
        self.starts = np.concatenate([state[s[0]] for s in self.segments])

    def _right_hand_side(self, expressions: list[sympy.Expr]) -> Callable[[float, np.ndarray], np.ndarray]:
        functions = [sympy.lambdify([self.symbols], e, modules="numpy") for e in expressions]
        n = len(expressions)

        def rhs(_t: float, s: np.ndarray) -> np.ndarray:
            top = np.array([float(f(list(s))) for f in functions])
            return top if self.order == 1 else np.concatenate([s[n:], top])

        return rhs

    def residuals(self, expressions: list[sympy.Expr], starts: np.ndarray) -> np.ndarray:
        """Scaled differences between the readings and the integrated equations (large where
        an integration fails)."""
        rhs = self._right_hand_side(expressions)
        width = len(self.symbols)
        out = []
        for i, segment in enumerate(self.segments):
            times = self.t[segment]
            with np.errstate(all="ignore"):
                solution = solve_ivp(
                    rhs, (times[0], times[-1]), starts[i * width : (i + 1) * width], t_eval=times, rtol=1e-6, atol=1e-9
                )
            n = self.x.shape[1]
            if solution.status != 0 or solution.y.shape[1] != len(times):
                out.append(np.full(len(times) * n, 1e3))
                continue
            out.append(((solution.y[:n].T - self.x[segment]) / self.scale).ravel())
        return np.concatenate(out)

    def criterion(self, expressions: list[sympy.Expr], starts: np.ndarray) -> float:
        """Bayesian information criterion of the readings given the equations: their misfit
        (above :data:`MISFIT_FLOOR`), and a price for each constant."""
        residual = self.residuals(expressions, starts)
        constants = _constants(expressions)
        n = len(residual)
        return n * np.log(np.mean(residual**2) + MISFIT_FLOOR**2) + CONSTANT_PRICE * constants * np.log(n)

    def misfit(self, expressions: list[sympy.Expr], starts: np.ndarray) -> float:
        """Mean squared difference from the readings, as a share of their variance."""
        with np.errstate(over="ignore"):  # a broken equation's misfit may be inf: it is then rejected
            return float(np.mean(self.residuals(expressions, starts) ** 2))

    def r2(self, expressions: list[sympy.Expr], starts: np.ndarray) -> float:
        residual = self.residuals(expressions, starts)
        return float(1 - np.mean(residual**2))

    def refit(self, expressions: list[sympy.Expr]) -> tuple[list[sympy.Expr], np.ndarray] | None:
        """The equations with their constants, and the segments' starts, fitted to the readings."""
        constants: list[float] = []
        shapes = [_with_placeholders(e, constants) for e in expressions]
        if not constants:
            return None
        placeholders = [sympy.Symbol(f"_c{i}") for i in range(len(constants))]

        def residuals(parameters: np.ndarray) -> np.ndarray:
            values = dict(zip(placeholders, parameters[: len(constants)], strict=True))
            return self.residuals([s.xreplace(values) for s in shapes], parameters[len(constants) :])

        start = np.concatenate([constants, self.starts])
        try:
            fitted = least_squares(residuals, start, max_nfev=REFIT_EVALUATIONS * len(start), x_scale="jac")
        except (ValueError, OverflowError, ZeroDivisionError):
            return None
        values = {p: sympy.Float(v) for p, v in zip(placeholders, fitted.x[: len(constants)], strict=True)}
        return [s.xreplace(values) for s in shapes], fitted.x[len(constants) :]


def _with_placeholders(expression: sympy.Expr, constants: list[float]) -> sympy.Expr:
    """``expression`` with each float, at each place it occurs, replaced by its own symbol
    (``_c0``, ``_c1``...; their values appended to ``constants``): two terms whose constants
    happen to be equal must not be tied together in the fit."""
    if isinstance(expression, sympy.Float):
        constants.append(float(expression))
        return sympy.Symbol(f"_c{len(constants) - 1}")
    if not expression.args:
        return expression
    return expression.func(*(_with_placeholders(a, constants) for a in expression.args))


def _constants(expressions: list[sympy.Expr]) -> int:
    """The numbers an equation holds that were fitted: its floats, and the fractions the law
    finder snapped them to (12/11 was a fitted float once; 1, 2 and -1 are structure)."""
    counted: list[float] = []
    for e in expressions:
        _with_placeholders(e, counted)
    snapped = [r for e in expressions for r in e.atoms(sympy.Rational) if not (r.is_Integer and abs(int(r)) <= 2)]
    return len(counted) + len(snapped)
