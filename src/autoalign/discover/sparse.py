"""Laws that are sums of a few simple terms, found by sparse regression over enumerated terms.

Brute force finds one expression scaled and shifted; a law such as ``x1*y1 + x2*y2 + x3*y3`` or,
squared, a distance ``(x2 - x1)**2 + (y2 - y1)**2`` (six terms once expanded) is far beyond the
sizes it reaches, yet each term is tiny. Orthogonal matching pursuit over every small expression
picks the terms one at a time, refitting all coefficients by least squares at each step (as FFX
and SINDy do), and stops when the fit is exact or a term no longer helps.
"""

from __future__ import annotations

import numpy as np
import sympy

#: Terms a sum may have.
MAX_TERMS = 8
#: Squared error, relative to the target's, below which a sum is exact (rounding error only).
EXACT = 1e-20
#: Greedy paths tried, each from one of the best single terms.
STARTS = 24
#: A new term must cut the residual by this share, or the sum stops growing.
MIN_GAIN = 1e-3


def sparse_sum(features: np.ndarray, expressions: list[sympy.Expr], target: np.ndarray) -> sympy.Expr | None:
    """``c0 + Σ c_i·term_i`` over at most :data:`MAX_TERMS` of ``features`` (rows are terms,
    columns the sample), or None when no sum explains the target better than one term would.

    Terms are chosen by orthogonal least squares: each step takes the term that most reduces the
    error once made orthogonal to those already chosen (plain matching pursuit goes astray when
    terms are correlated, as x1**2, x1*x2 and x2**2 are). A greedy path can still start wrong, so
    it is run from each of the :data:`STARTS` best single terms and the best path kept.
    """
    usable = np.all(np.isfinite(features), axis=1) & (np.ptp(features, axis=1) > 0)
    features = features[usable]
    expressions = [e for e, ok in zip(expressions, usable, strict=True) if ok]
    if not expressions or not np.all(np.isfinite(target)) or np.ptp(target) == 0:
        return None
    constant = np.ones((len(target), 1)) / np.sqrt(len(target))
    first_gains = _gains(features, constant, target - constant @ (constant.T @ target))
    paths = [_greedy(features, target, int(start)) for start in np.argsort(-first_gains)[:STARTS]]
    scale = float(np.var(target)) * len(target)
    chosen, _ = min(paths, key=lambda path: (path[1] > EXACT * scale, len(path[0]), path[1]))
    if len(chosen) < 2:
        return None
    design = np.column_stack([features[chosen].T, np.ones(len(target))])
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    terms = [sympy.Float(c, 12) * expressions[i] for c, i in zip(coefficients[:-1], chosen, strict=True)]
    return sympy.Add(*terms, sympy.Float(coefficients[-1], 12))


def _gains(features: np.ndarray, basis: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """How much each term would cut the squared residual, made orthogonal to ``basis`` first."""
    orthogonal = features - (features @ basis) @ basis.T
    norms = np.einsum("ij,ij->i", orthogonal, orthogonal)
    floor = 1e-12 * np.einsum("ij,ij->i", features, features)
    with np.errstate(all="ignore"):
        return np.where(norms > floor, (orthogonal @ residual) ** 2 / norms, 0.0)


def _greedy(features: np.ndarray, target: np.ndarray, start: int) -> tuple[list[int], float]:
    """Orthogonal least squares from ``start``: the chosen terms and the squared error left."""
    n = len(target)
    basis = np.ones((n, 1)) / np.sqrt(n)
    residual = target - basis @ (basis.T @ target)
    scale = float(residual @ residual)
    chosen: list[int] = []
    while len(chosen) < MAX_TERMS and float(residual @ residual) > EXACT * scale:
        if chosen:
            gains = _gains(features, basis, residual)
            gains[chosen] = 0
            best = int(np.argmax(gains))
            if gains[best] < MIN_GAIN * float(residual @ residual):
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
        residual = residual - column * (column @ residual)
    return chosen, float(residual @ residual)
