"""Fitting the constants of an expression, and snapping them to the numbers physics uses.

A law found from data carries constants such as 0.49999998 or 3.1415929; the law is 1/2 or π.
Snapping replaces a constant by the simplest nearby number (an integer, a small fraction, or one
of a few known constants and their simple multiples) when the fit stays as good.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import sympy
from scipy.optimize import least_squares

#: Known constants a snapped value may be a simple multiple of.
KNOWN = (
    sympy.pi,
    sympy.pi**2,
    sympy.E,
    sympy.sqrt(2),
    sympy.sqrt(3),
    sympy.sqrt(sympy.pi),
    sympy.sqrt(2 * sympy.pi),
)
MAX_DENOMINATOR = 12
#: Larger numerators are not "simple numbers": 146815/9 is a rounded float, not a law's constant.
MAX_NUMERATOR = 64
#: Largest numerator and denominator of a multiple of a known constant, and of π alone, whose
#: eighths are physics' own: 8πG in gravitation, 3/(8π) in cosmology.
SMALL_MULTIPLE = 4
SMALL_MULTIPLE_OF_PI = 8
#: How far (relative) a simple fraction may be from a constant to be tried in its place. Under
#: noise of 1%, a law's constants come out a percent or two off (1/(0.984·exp(0.1616·x) - 0.984)
#: for 1/(exp(x/2π) - 1)); whether the simple number fits as well is the loss's to say. Multiples
#: of known constants are many more, and so closer: within 3%, one of them is near any number.
SNAP_WINDOW = 0.03
KNOWN_WINDOW = 0.01


def snap_candidates(value: float) -> list[sympy.Expr]:
    """Simple numbers near ``value``, simplest first (zero, for a term that is not needed)."""
    found: list[sympy.Expr] = []
    for base in (sympy.Integer(1), *KNOWN):
        ratio = Fraction(value / float(base)).limit_denominator(MAX_DENOMINATOR)
        if ratio != 0 and abs(ratio.numerator) <= MAX_NUMERATOR:
            found.append(sympy.Rational(ratio.numerator, ratio.denominator) * base)
    for base in KNOWN:  # 1/(4π) and the like
        ratio = Fraction(value * float(base)).limit_denominator(MAX_DENOMINATOR)
        if ratio != 0 and abs(ratio.numerator) <= MAX_NUMERATOR:
            found.append(sympy.Rational(ratio.numerator, ratio.denominator) / base)
    # Many fractions times many constants can hit any number: beyond small multiples of a known
    # constant (π/2, 3/(4π)), a match is numerology, not a law's constant.
    found = [e for e in found if e.is_Rational or _small_multiple(e)]

    def closeness(e: sympy.Expr) -> tuple[bool, bool, int]:
        error = abs(float(e) - value) / (abs(value) + 1e-300)
        return error > 1e-6, error > 1e-3, sympy.count_ops(e)

    found.sort(key=closeness)

    def near(e: sympy.Expr) -> bool:
        window = SNAP_WINDOW if e.is_Rational else KNOWN_WINDOW
        return abs(float(e) - value) <= window * abs(value) + 1e-12

    return [sympy.Integer(0)] + [e for e in found if near(e)]


def _small_multiple(expression: sympy.Expr) -> bool:
    coefficient, base = expression.as_coeff_Mul()
    largest = SMALL_MULTIPLE_OF_PI if base in (sympy.pi, 1 / sympy.pi) else SMALL_MULTIPLE
    return abs(coefficient.p) <= largest and coefficient.q <= largest


def snap(
    expression: sympy.Expr,
    loss: Callable[[sympy.Expr], float],
    *,
    refit: Callable[[sympy.Expr], sympy.Expr] = lambda e: e,
    tolerance: float = 0.02,
    floor: float = 0.0,
    deadline: float = float("inf"),
    admissible: Callable[[sympy.Expr], bool] = lambda _expression: True,
) -> sympy.Expr:
    """Replace float constants by simple numbers, one at a time, while ``loss`` (an RMSE) stays
    within ``tolerance`` (relative) of the unsnapped expression's, or grows by no more than
    ``floor`` (an RMSE the data cannot tell from zero), added in quadrature; what is snapped by
    ``deadline`` (a ``time.perf_counter()`` value) is kept.

    After each replacement ``refit`` re-fits the constants still free: dropping an offset of
    1.8 K from a law of temperatures is only fair once the scale has adjusted to its absence.
    A replacement must leave the expression ``admissible`` (the estimator's check of units: a
    coefficient that carries metres cannot become 2π).
    """
    best_loss = loss(expression)
    allowed = max(best_loss * (1 + tolerance), float(np.hypot(best_loss, floor))) + 1e-12
    kept: set[float] = set()  # values that would not snap (a refit gives them new Float objects)
    for _ in range(2 * len(expression.atoms(sympy.Float))):
        pending = [f for f in expression.atoms(sympy.Float) if round(float(f), 9) not in kept]
        if not pending:
            break
        constant = max(pending, key=lambda f: abs(float(f)))
        for option in snap_candidates(float(constant)):
            if time.perf_counter() > deadline:
                return expression
            trial = expression.xreplace({constant: option})
            if trial.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan) or not admissible(trial):
                continue
            if trial.atoms(sympy.Float):
                trial = refit(trial)
            trial_loss = loss(trial)
            if np.isfinite(trial_loss) and trial_loss <= allowed:
                expression = trial
                break
        else:
            kept.add(round(float(constant), 9))
    return expression


def root_weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    """What each of ``n`` rows is multiplied by in a weighted least-squares fit: the roots of
    the weights (inverse noise variances), scaled to a mean square of 1; ones without weights."""
    return np.ones(n) if weights is None else np.sqrt(weights / np.mean(weights))


def refit_floats(
    expression: sympy.Expr,
    variables: list[sympy.Symbol],
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
) -> sympy.Expr:
    """The expression with its float constants re-fitted to the data (least squares from their
    current values, weighted by ``weights``, the rows' inverse noise variances, if given);
    unchanged when the fit fails."""
    floats = sorted(expression.atoms(sympy.Float), key=float)
    if not floats:
        return expression
    parameters = sympy.symbols(f"k0:{len(floats)}")
    function = sympy.lambdify(
        [parameters, variables], expression.xreplace(dict(zip(floats, parameters, strict=True))), modules="numpy"
    )

    row_scales = root_weights(weights, len(y))

    def residuals(theta: np.ndarray) -> np.ndarray:
        return _residuals(function, theta, x, y) * row_scales

    try:
        with np.errstate(all="ignore"):
            result = least_squares(residuals, np.array([float(f) for f in floats]), method="lm", max_nfev=200)
    except (ValueError, np.linalg.LinAlgError):
        return expression
    return expression.xreplace({f: sympy.Float(t, 12) for f, t in zip(floats, result.x, strict=True)})


def fit_constants(
    expression: sympy.Expr,
    variables: list[sympy.Symbol],
    x: np.ndarray,
    y: np.ndarray,
    *,
    scale_inputs: bool = True,
    weights: np.ndarray | None = None,
) -> tuple[sympy.Expr, float]:
    """Fit ``a * f(c_1 x_1, ..., c_k x_k) + b`` to the data; returns the fitted expression and RMSE
    (weighted by ``weights``, the rows' inverse noise variances, if given).

    The outer ``a`` and ``b`` absorb units and offsets; the inner ``c_i`` let a shape found
    without constants (``exp(-x**2)``) take the scale the data needs (``exp(-x**2/2)``).
    """
    used = [v for v in variables if v in expression.free_symbols]
    scales = sympy.symbols(f"c0:{len(used)}") if scale_inputs else ()
    a, b = sympy.symbols("a_ b_")
    inner = expression.xreplace({v: c * v for c, v in zip(scales, used, strict=True)}) if scale_inputs else expression
    model = a * inner + b
    parameters = [a, b, *scales]
    function = sympy.lambdify([parameters, variables], model, modules="numpy")

    row_scales = root_weights(weights, len(y))

    def residuals(theta: np.ndarray) -> np.ndarray:
        return _residuals(function, theta, x, y) * row_scales

    start_values = _affine_start(expression, variables, x, y)
    best: tuple[float, np.ndarray] | None = None
    for start_scales in _scale_starts(len(scales)):
        theta0 = np.array([*start_values, *start_scales], dtype=float)
        try:
            with np.errstate(all="ignore"):
                result = least_squares(residuals, theta0, method="lm", max_nfev=400)
        except (ValueError, np.linalg.LinAlgError):
            continue
        rmse = float(np.sqrt(np.mean(result.fun**2)))
        if best is None or rmse < best[0]:
            best = (rmse, result.x)
    if best is None:
        return expression, float("inf")
    rmse, theta = best
    values = dict(zip(parameters, (sympy.Float(t, 12) for t in theta), strict=True))
    return model.xreplace(values), rmse


def _affine_start(expression: sympy.Expr, variables: list[sympy.Symbol], x: np.ndarray, y: np.ndarray) -> list[float]:
    function = sympy.lambdify([variables], expression, modules="numpy")
    with np.errstate(all="ignore"):
        f = np.broadcast_to(np.asarray(function(list(x.T)), dtype=float), y.shape)
    ok = np.isfinite(f)
    if ok.sum() < 2 or np.std(f[ok]) == 0:
        return [1.0, 0.0]
    slope, intercept = np.polyfit(f[ok], y[ok], 1)
    return [float(slope), float(intercept)]


def _scale_starts(count: int) -> list[tuple[float, ...]]:
    """Starting points for the inner scales: all ones, then a sign flip or a halving or doubling
    of one of the first three (least squares from ones alone misses minima behind a sign)."""
    starts = [(1.0,) * count]
    for j in range(min(count, 3)):
        for value in (-1.0, 0.5, 2.0):
            starts.append(tuple(value if i == j else 1.0 for i in range(count)))
    return starts


def _residuals(function: Callable, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Model minus data, with values the model cannot take (complex, infinite, NaN) made large but
    finite, so least squares steers away from them instead of failing."""
    with np.errstate(all="ignore"):
        try:
            out = np.asarray(function(theta, list(x.T)), dtype=float) - y
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return np.full(y.shape, 1e6)
    return np.clip(np.where(np.isfinite(out), out, 1e6), -1e6, 1e6)
