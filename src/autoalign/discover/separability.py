"""Separable laws: a target that is a product, or a sum, of functions of disjoint groups of its
variables, so that each factor can be searched for on its own.

AI Feynman asks a neural network fitted to the data whether ``f(a, b)`` splits as ``g(a)·h(b)``
or ``g(a) + h(b)``. Here the question goes to an additive model instead: the target (or the log
of its magnitude, for a product) is fitted by a sum of cubic splines, one for each group of
variables (a tensor product of splines for a group of two or three). If such a sum follows the
held-out rows to within :data:`TOLERANCE` of the target's spread, the law splits that way, and
each spline, evaluated on the data, is the table of its own factor: a problem in fewer variables,
where the search reaches deeper expressions (``1/sin(θ/2)⁴`` of Rutherford scattering is one
of four factors, which a search over all four at once does not reach).

Groups are found greedily: every variable alone, then the merge of two groups that helps the
fit most, while none is yet within the tolerance. A product needs a target of one sign.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import scipy.linalg
from sklearn.preprocessing import SplineTransformer

#: Relative RMS error on held-out rows (a share of the target's standard deviation) within which
#: a sum of splines counts as the target's own shape. Splines of this size follow a smooth
#: factor to about 1e-6; a law that does not split leaves errors of a percent or more.
TOLERANCE = 1e-3
#: Knots of each variable's spline, by the size of its group (a tensor product's columns grow as
#: the power of its size).
KNOTS = {1: 16, 2: 12, 3: 5}
#: Largest group, and rows used to fit and to check the additive model.
MAX_GROUP = 3
FIT_ROWS = 4000
CHECK_ROWS = 2000
#: Ridge added to the normal equations, relative to their mean diagonal.
RIDGE = 1e-10

Kind = Literal["product", "sum"]


@dataclass(frozen=True, slots=True)
class Separation:
    """A split of the target: for each group (column indices), its factor's values on the rows
    given (for a product, positive and scaled to a geometric mean of 1; for a sum, centred)."""

    kind: Kind
    groups: tuple[tuple[int, ...], ...]
    factors: tuple[np.ndarray, ...]
    error: float


def separate(x: np.ndarray, y: np.ndarray) -> Separation | None:
    """The split of ``y`` over the columns of ``x`` into a product, or failing that a sum, of
    functions of two or more groups; ``None`` when neither fits within :data:`TOLERANCE`."""
    if x.shape[1] < 2 or len(y) < 200:
        return None
    kinds: list[Kind] = ["product", "sum"] if (np.all(y > 0) or np.all(y < 0)) else ["sum"]
    for kind in kinds:
        target = np.log(np.abs(y)) if kind == "product" else y
        if np.ptp(target) == 0 or not np.all(np.isfinite(target)):
            continue
        scaled = _in_logs_where_smoother(x, target)
        found = _greedy_groups(scaled, target)
        if found is not None:
            groups, error = found
            return Separation(kind, groups, _factors(scaled, target, groups, kind), error)
    return None


def _held_out_error(x: np.ndarray, target: np.ndarray) -> Callable[[tuple[tuple[int, ...], ...]], float]:
    """The held-out RMS error of the additive model over some groups, relative to the spread."""
    n_fit = min(FIT_ROWS, len(target) // 2)
    fit = _Splines(x[:n_fit], target[:n_fit])
    check = slice(n_fit, n_fit + CHECK_ROWS)
    x_check, y_check = x[check], target[check]
    spread = float(np.std(y_check))

    def error(groups: tuple[tuple[int, ...], ...]) -> float:
        predicted = fit.predict(groups, x_check)
        return float(np.sqrt(np.mean((predicted - y_check) ** 2)) / spread)

    return error


def _in_logs_where_smoother(x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``x`` with those of its positive columns in logs that the additive model of every column
    alone follows better so: a power ``r⁻⁵`` over r from 0.1 to 8 is a line in log r, where no
    spline in r follows it; an angle from 0 to 6 is best left as it is."""
    scaled = x.copy()
    alone = tuple((i,) for i in range(x.shape[1]))
    best = _held_out_error(scaled, target)(alone)
    for i in np.flatnonzero(np.all(x > 0, axis=0)):
        trial = scaled.copy()
        trial[:, i] = np.log(x[:, i])
        error = _held_out_error(trial, target)(alone)
        if error < best:
            scaled, best = trial, error
    return scaled


def _greedy_groups(x: np.ndarray, target: np.ndarray) -> tuple[tuple[tuple[int, ...], ...], float] | None:
    """Groups (at least two) whose additive model fits ``target`` within :data:`TOLERANCE`."""
    error = _held_out_error(x, target)
    groups: tuple[tuple[int, ...], ...] = tuple((i,) for i in range(x.shape[1]))
    current = error(groups)
    while current > TOLERANCE and len(groups) > 2:
        merges = [
            tuple(g for k, g in enumerate(groups) if k not in (a, b)) + (tuple(sorted(groups[a] + groups[b])),)
            for a, b in combinations(range(len(groups)), 2)
            if len(groups[a]) + len(groups[b]) <= MAX_GROUP
        ]
        if not merges:
            return None
        scored = [(error(m), m) for m in merges]
        current, groups = min(scored, key=lambda pair: pair[0])
    return (groups, current) if current <= TOLERANCE else None


def _factors(
    x: np.ndarray, target: np.ndarray, groups: tuple[tuple[int, ...], ...], kind: Kind
) -> tuple[np.ndarray, ...]:
    """Each group's part of the additive model fitted on all rows, evaluated on them."""
    parts = _Splines(x, target).parts(groups, x)
    if kind == "product":
        return tuple(np.exp(part - np.mean(part)) for part in parts)
    return tuple(part - np.mean(part) for part in parts)


class _Splines:
    """The additive model of ``target`` over groups of the columns of ``x``: each column's cubic
    spline basis (knots at its quantiles; more knots alone than in a tensor product), one block
    for each group (a member's basis, or the tensor product of the members'), fitted by least
    squares."""

    def __init__(self, x: np.ndarray, target: np.ndarray) -> None:
        self._target = target
        self._transformers = {
            (size, i): SplineTransformer(n_knots=knots, degree=3, knots="quantile", extrapolation="continue").fit(
                x[:, [i]]
            )
            for size, knots in KNOTS.items()
            for i in range(x.shape[1])
        }
        self._own = {key: t.transform(x[:, [key[1]]]) for key, t in self._transformers.items()}

    def _block(self, group: tuple[int, ...], x: np.ndarray | None) -> np.ndarray:
        """The group's columns on ``x`` (``None``: the rows fitted), less the first, which with
        the others and the intercept would make a constant twice."""

        def basis(i: int) -> np.ndarray:
            key = (len(group), i)
            return self._own[key] if x is None else self._transformers[key].transform(x[:, [i]])

        block = basis(group[0])
        for column in group[1:]:
            other = basis(column)
            block = (block[:, :, None] * other[:, None, :]).reshape(len(block), -1)
        return block[:, 1:]

    def _coefficients(self, groups: tuple[tuple[int, ...], ...]) -> list[np.ndarray]:
        """Least-squares coefficients of each group's block, and the intercept last."""
        blocks = [self._block(g, None) for g in groups]
        design = np.column_stack([*blocks, np.ones(len(self._target))])
        # Normal equations with a whisker of ridge: B-spline columns are well conditioned, and
        # this is ten times faster than an SVD, which the greedy search calls dozens of times.
        gram = design.T @ design
        gram[np.diag_indices_from(gram)] += RIDGE * np.trace(gram) / len(gram)
        solution = scipy.linalg.solve(gram, design.T @ self._target, assume_a="pos")
        return np.split(solution, np.cumsum([b.shape[1] for b in blocks]))

    def predict(self, groups: tuple[tuple[int, ...], ...], x: np.ndarray) -> np.ndarray:
        *parts, intercept = self._coefficients(groups)
        return sum((self._block(g, x) @ c for g, c in zip(groups, parts, strict=True)), np.full(len(x), intercept[0]))

    def parts(self, groups: tuple[tuple[int, ...], ...], x: np.ndarray) -> list[np.ndarray]:
        *parts, _ = self._coefficients(groups)
        return [self._block(g, x) @ c for g, c in zip(groups, parts, strict=True)]
