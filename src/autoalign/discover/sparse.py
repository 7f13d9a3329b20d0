"""Laws that are sums (or ratios of sums) of a few simple terms, found by sparse regression over
enumerated terms.

Brute force finds one expression scaled and shifted; a law such as ``x1*y1 + x2*y2 + x3*y3`` or,
squared, a distance ``(x2 - x1)**2 + (y2 - y1)**2`` (six terms once expanded) is far beyond the
sizes it reaches, yet each term is tiny. Orthogonal matching pursuit over every small expression
picks the terms one at a time, refitting all coefficients by least squares at each step (as FFX
and SINDy do), and stops when the fit is exact or a term no longer helps.

A ratio ``(c0 + Σ p_i·t_i) / (1 + Σ q_j·t_j)`` (velocity addition ``(a + b)/(1 + a·b)``, a
weighted mean, ``1/(1 - b²)``) is the same search once multiplied out: ``y = c0 + Σ p_i·t_i −
Σ q_j·(y·t_j)`` is linear in the coefficients, with the products ``y·t_j`` as further terms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy
from scipy.optimize import least_squares

from autoalign.discover.constants import root_weights

#: Terms a sum may have.
MAX_TERMS = 8
#: Squared error, relative to the target's mean square, below which a sum is exact (rounding
#: error only). Looser, a truncated series passes: 1/(exp(z) - 1) = 1/z - 1/2 + z/12 - ... matches
#: to 2e-23 with six terms where it converges.
EXACT = 1e-26
#: Function evaluations per coefficient when a ratio's coefficients are refined.
REFINE_EVALUATIONS = 20
#: Greedy paths tried, each from one of the best single terms.
STARTS = 24
#: A new term must cut the residual by this share, or by more where :func:`_price` asks more, or
#: the sum stops growing.
MIN_GAIN = 1e-3


@dataclass(frozen=True, slots=True)
class SparseFit:
    """A sum or ratio found by sparse regression. ``exact`` says the target was matched to
    rounding error; otherwise the fit is at best a good approximation (with many smooth terms,
    a series can match a smooth target to 1e-7 without being its law), which must not stop the
    search for the law."""

    expression: sympy.Expr
    exact: bool
    #: The sum with its least useful terms dropped, one at a time (sums only): on variables that
    #: carry calibration residue, the sample's criterion keeps terms that fit the residue, and
    #: the held-out rows, which judge every law, should see the shorter sums too.
    shorter: tuple[sympy.Expr, ...] = ()


def sparse_sum(
    features: np.ndarray, expressions: Sequence[sympy.Expr], target: np.ndarray, weights: np.ndarray | None = None
) -> SparseFit | None:
    """``c0 + Σ c_i·term_i`` over at most :data:`MAX_TERMS` of ``features`` (rows are terms,
    columns the sample), or None when no sum explains the target better than one term would.
    ``weights`` are the rows' inverse noise variances, if they differ."""

    def predict(chosen: list[int], coefficients: np.ndarray) -> np.ndarray:
        return coefficients[:-1] @ features[chosen] + coefficients[-1]

    every = np.arange(len(features))
    found = _select(
        features, target, min_terms=2, predict=predict, ranked=every, simplest=every, shorter=True, weights=weights
    )
    if found is None:
        return None
    chosen, coefficients, exact, shorter = found

    def written(chosen: list[int], coefficients: np.ndarray) -> sympy.Expr:
        terms = [sympy.Float(c, 12) * expressions[i] for c, i in zip(coefficients[:-1], chosen, strict=True)]
        return sympy.Add(*terms, sympy.Float(coefficients[-1], 12))

    return SparseFit(written(chosen, coefficients), exact, tuple(written(*fewer) for fewer in shorter))


def sparse_ratio(
    features: np.ndarray,
    expressions: Sequence[sympy.Expr],
    target: np.ndarray,
    monomials: np.ndarray,
    weights: np.ndarray | None = None,
) -> SparseFit | None:
    """``(c0 + Σ p_i·t_i) / (1 + Σ q_j·t_j)`` with at least one denominator term, or None.

    Denominator terms are only the ``monomials`` (indices of products of integer powers of the
    variables): with any terms, some combination can be constant (sin² + cos² = 1) or nearly so
    (powers x^(1/16), x^(1/8)... ) and make ``1 + Σ q_j·t_j`` vanish, a 0/0 that fits every target.
    Paths are judged by the ratio's own error, not the linearized
    one, which a denominator close to zero everywhere also makes small.
    """
    if not np.all(np.isfinite(target)):
        return None
    n = len(expressions)

    def parts(chosen: list[int], coefficients: np.ndarray) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
        terms = list(zip(coefficients[:-1], chosen, strict=True))
        return [(c, i) for c, i in terms if i < n], [(c, monomials[i - n]) for c, i in terms if i >= n]

    def predict(chosen: list[int], coefficients: np.ndarray) -> np.ndarray:
        numerator, denominator = parts(chosen, coefficients)
        if not denominator:  # a sum, not a ratio: no candidate here
            return np.full(len(target), np.nan)
        top = coefficients[-1] + sum((c * features[i] for c, i in numerator), np.zeros(len(target)))
        bottom = 1 + sum((c * features[i] for c, i in denominator), np.zeros(len(target)))
        with np.errstate(all="ignore"):
            return top / bottom

    # The simplest denominators start paths: ranked by how well they alone fit, the products with
    # the target would crowd out every numerator term.
    root = root_weights(weights, len(target))

    def refine(chosen: list[int], coefficients: np.ndarray) -> np.ndarray:
        """The ratio's own least squares from the linearized fit's coefficients: with noise on
        the target, the products ``y·t_j`` are noisy too and bias the linear fit."""
        try:
            with np.errstate(all="ignore"):
                result = least_squares(
                    lambda c: np.nan_to_num((predict(chosen, c) - target) * root, nan=1e6, posinf=1e6, neginf=-1e6),
                    coefficients,
                    method="lm",
                    max_nfev=REFINE_EVALUATIONS * len(coefficients),
                )
        except (ValueError, np.linalg.LinAlgError):
            return coefficients
        return result.x

    stacked = np.vstack([features, -features[monomials] * target])
    found = _select(
        stacked,
        target,
        min_terms=1,
        predict=predict,
        ranked=np.arange(n),
        simplest=np.arange(n, len(stacked)),
        refine=refine,
        weights=weights,
        # A denominator's product y·t_j is as simple as its term t_j.
        order=np.concatenate([np.arange(n), monomials]),
    )
    if found is None:
        return None
    chosen, coefficients, exact, _ = found
    numerator, denominator = parts(chosen, coefficients)
    if not denominator:
        return None
    top = sympy.Add(*(sympy.Float(c, 12) * expressions[i] for c, i in numerator), sympy.Float(coefficients[-1], 12))
    return SparseFit(top / sympy.Add(1, *(sympy.Float(c, 12) * expressions[i] for c, i in denominator)), exact)


def _select(
    features: np.ndarray,
    target: np.ndarray,
    *,
    min_terms: int,
    predict: Callable[[list[int], np.ndarray], np.ndarray],
    ranked: np.ndarray,
    simplest: np.ndarray,
    refine: Callable[[list[int], np.ndarray], np.ndarray] = lambda _chosen, coefficients: coefficients,
    shorter: bool = False,
    weights: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray, bool, list[tuple[list[int], np.ndarray]]] | None:
    """The terms (indices into ``features``) of the best sparse sum, its coefficients (the
    constant last), whether ``predict(terms, coefficients)`` matches the target to rounding
    error and, with ``shorter``, the terms and coefficients of the sums that backward
    elimination leaves, down to ``min_terms``; None when the best has fewer than ``min_terms``
    terms (a single term is brute force's job). ``weights`` are the rows' inverse noise
    variances; ``order`` each feature's place in the order of simplicity (by default, its index).

    Terms are chosen by orthogonal least squares: each step takes the term that most reduces the
    error once made orthogonal to those already chosen (plain matching pursuit goes astray when
    terms are correlated, as x1**2, x1*x2 and x2**2 are). A greedy path can still start wrong, so
    it is run from several starts and the best path kept: half of :data:`STARTS` are the best
    single terms among ``ranked``, half the first terms of ``simplest`` (terms come simplest
    first; the right first term of a law need not fit well alone).
    """
    usable = np.flatnonzero(np.all(np.isfinite(features), axis=1) & (np.ptp(features, axis=1) > 0))
    if not len(usable) or not np.all(np.isfinite(target)) or np.ptp(target) == 0:
        return None
    # Weighted least squares is plain least squares on rows scaled by the roots of their
    # weights, the constant term among them as a column of those roots.
    simplicity = np.arange(len(features)) if order is None else order
    root = root_weights(weights, len(target))
    constant = root / np.linalg.norm(root)
    scaled_target = target * root
    rows = features[usable] * root
    norms = np.einsum("ij,ij->i", rows, rows)
    centered = scaled_target - constant * (constant @ scaled_target)
    first_gains = _gains(rows @ centered, norms, (rows @ constant) ** 2)
    exact = EXACT * float(scaled_target @ scaled_target)

    def fit(chosen: list[int]) -> tuple[float, np.ndarray]:
        design = np.column_stack([features[chosen].T, np.ones(len(target))]) * root[:, None]
        coefficients, *_ = np.linalg.lstsq(design, scaled_target, rcond=None)
        coefficients = refine(chosen, coefficients)
        residual = (target - predict(chosen, coefficients)) * root
        return (float(residual @ residual) if np.all(np.isfinite(residual)) else np.inf), coefficients

    def rank(chosen: list[int]) -> tuple[bool, float, float]:
        """Exact sums first, the fewest terms first; then by the Bayesian information criterion
        (error against terms), a term's price growing with the simpler terms there are: picked
        among the thousands, it must fit much more than their best fits of the noise does."""
        error = fit(chosen)[0]
        if error <= exact:
            return False, len(chosen), error
        price = sum(_price(len(target), int(simplicity[t]) + 2) for t in chosen)
        return True, len(target) * np.log(max(error, 1e-300)) + price, error

    in_ranked = np.flatnonzero(np.isin(usable, ranked))
    best = in_ranked[np.argsort(-first_gains[in_ranked])[: STARTS // 2]]
    first = np.flatnonzero(np.isin(usable, simplest))[: STARTS // 2]
    paths = [
        [int(usable[i]) for i in _greedy(rows, norms, scaled_target, constant, simplicity[usable], int(start))]
        for start in dict.fromkeys([*best, *first])
    ]
    chosen = _pruned(min(paths, key=rank), fit, exact, _min_gain(len(target), len(features)))
    if len(chosen) < min_terms:
        return None
    error, coefficients = fit(chosen)
    fewer: list[tuple[list[int], np.ndarray]] = []
    current = chosen
    while shorter and error > exact and len(current) > min_terms:
        current = min(([t for t in current if t != term] for term in current), key=lambda terms: fit(terms)[0])
        fewer.append((current, fit(current)[1]))
    return chosen, coefficients, error <= exact, fewer


def _pruned(
    chosen: list[int], fit: Callable[[list[int]], tuple[float, np.ndarray]], exact: float, min_gain: float
) -> list[int]:
    """Drop terms the sum does as well without: a greedy path can take a few useless terms
    before the right ones (which then make them useless), each with a coefficient near zero.
    Without them an exact sum must stay exact, and another lose less than ``min_gain``."""
    error = fit(chosen)[0]
    for term in list(reversed(chosen)):
        fewer = [t for t in chosen if t != term]
        fewer_error = fit(fewer)[0]
        if fewer_error <= exact if error <= exact else fewer_error * (1 - min_gain) <= error:
            chosen, error = fewer, fewer_error
    return chosen


def _gains(correlations: np.ndarray, norms: np.ndarray, projected: np.ndarray) -> np.ndarray:
    """How much each term would cut the squared residual, made orthogonal to the chosen terms
    first: its correlation with the residual (which is orthogonal to them already) squared, over
    the squared norm it has left once its projections on them (``projected``) are taken out."""
    left = norms - projected
    with np.errstate(all="ignore"):
        return np.where(left > 1e-10 * norms, correlations**2 / left, 0.0)


def _price(rows: int, terms: int) -> float:
    """What a term costs in ``rows·log(squared error)``: log(rows), the Bayesian information
    criterion's price, plus 2·log(terms) for having been picked among so many (each of thousands
    of terms fits some of the noise: the best of them fits it well)."""
    return float(np.log(rows) + 2 * np.log(max(terms, 1)))


def _min_gain(rows: int, terms: int) -> float:
    """The share of the residual a new term must cut (equivalent to paying :func:`_price`)."""
    return max(MIN_GAIN, 1 - float(np.exp(-_price(rows, terms) / rows)))


def _greedy(
    features: np.ndarray, norms: np.ndarray, target: np.ndarray, constant: np.ndarray, order: np.ndarray, start: int
) -> list[int]:
    """Orthogonal least squares from ``start``: the chosen terms. ``norms`` are the terms'
    squared norms, ``constant`` the unit column of the constant term, ``order`` their places
    in the order of simplicity; each step costs two products of the terms with a vector.

    Each step takes the term whose cut of the error most exceeds its price (:func:`_price`,
    by its place): under noise, among thousands of terms some complex one nearly collinear
    with the right term always fits the noise a little better."""
    n = len(target)
    prices = np.log(n) + 2 * np.log(order + 2.0)
    column = constant
    basis = column[:, None]
    projected = (features @ column) ** 2
    residual = target - column * (column @ target)
    scale = float(target @ target)
    chosen: list[int] = []
    while len(chosen) < MAX_TERMS and float(residual @ residual) > EXACT * scale:
        if chosen:
            error = float(residual @ residual)
            gains = np.minimum(_gains(features @ residual, norms, projected), error)
            gains[chosen] = 0
            with np.errstate(divide="ignore"):
                surplus = n * np.log(error / np.maximum(error - gains, EXACT * scale)) - prices
            best = int(np.argmax(surplus))
            if surplus[best] < 0 or gains[best] < MIN_GAIN * error:
                break
        else:
            best = start
        column = features[best] - basis @ (basis.T @ features[best])
        norm = float(np.linalg.norm(column))
        if norm == 0:
            break
        chosen.append(best)
        column /= norm
        basis = np.column_stack([basis, column])
        projected = projected + (features @ column) ** 2
        residual = residual - column * (column @ residual)
    return chosen
