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
fit most, while the split is not yet the target's shape. A product needs a target of one sign.

Under noise no additive model comes within the tolerance: the held-out rows are noisy too. The
noise is then measured by a model with more freedom, the same groups with the tensor products
of every pair of variables in different groups beside them, and a split holds where what the
additive model misses beyond that noise is within the tolerance, or a small share of the noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import scipy.linalg
from sklearn.preprocessing import SplineTransformer

from autoalign.discover.constants import root_weights

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
#: Knots of each variable in the pair interactions of the model that measures the noise.
PAIR_KNOTS = 5
#: Share of the noise (RMS) that the additive model may miss beyond it and still be the shape:
#: under noise of 1%, a law that does not split leaves a few percent.
NOISE_SHARE = 0.25

Kind = Literal["product", "sum"]


@dataclass(frozen=True, slots=True)
class Separation:
    """A split of the target: for each group (column indices), its factor's values on the rows
    given (for a product, positive and scaled to a geometric mean of 1; for a sum, centred).
    ``error`` is what the additive model misses beyond the noise, ``noise`` the noise, both
    relative RMS on held-out rows (of log|y| for a product)."""

    kind: Kind
    groups: tuple[tuple[int, ...], ...]
    factors: tuple[np.ndarray, ...]
    error: float
    noise: float = 0.0


Groups = tuple[tuple[int, ...], ...]


def separate(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> Separation | None:
    """The split of ``y`` over the columns of ``x`` into a product, or failing that a sum, of
    functions of two or more groups; ``None`` when neither is the target's shape. ``weights``
    are the rows' inverse noise variances on ``y``, if they differ."""
    if x.shape[1] < 2 or len(y) < 200:
        return None
    base = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    kinds: list[Kind] = ["product", "sum"] if (np.all(y > 0) or np.all(y < 0)) else ["sum"]
    for kind in kinds:
        target = np.log(np.abs(y)) if kind == "product" else y
        if np.ptp(target) == 0 or not np.all(np.isfinite(target)):
            continue
        # Noise σ on y is noise σ/|y| on log|y|.
        row_weights = base * y**2 if kind == "product" else base
        scaled = _in_logs_where_smoother(x, target, row_weights)
        found = _greedy_groups(scaled, target, row_weights)
        if found is not None:
            groups, error, noise = found
            return Separation(kind, groups, _factors(scaled, target, row_weights, groups, kind), error, noise)
    return None


class _HeldOut:
    """Held-out RMS errors, relative to the spread, of the additive model over some groups, and
    what it misses beyond the noise."""

    def __init__(self, x: np.ndarray, target: np.ndarray, weights: np.ndarray) -> None:
        n_fit = min(FIT_ROWS, len(target) // 2)
        self._fit = _Splines(x[:n_fit], target[:n_fit], weights[:n_fit])
        self._rows = n_fit
        check = slice(n_fit, n_fit + CHECK_ROWS)
        self._x, self._y = x[check], target[check]
        self._w = weights[check] / np.sum(weights[check])
        self._spread = float(np.sqrt(np.sum(self._w * (self._y - np.sum(self._w * self._y)) ** 2)))

    def error(self, groups: Groups, pairs: tuple[tuple[int, int], ...] = ()) -> float:
        predicted = self._fit.predict(groups, self._x, pairs)
        return float(np.sqrt(np.sum(self._w * (predicted - self._y) ** 2)) / self._spread)

    def beyond_noise(self, groups: Groups) -> tuple[float, float]:
        """What the additive model over ``groups`` misses beyond the noise, and the noise.

        A model fitted to n rows with p columns has a held-out mean square of about
        ``(σ² + m²)·(1 + p/n)``, σ the noise and m its misfit; the model with the pairs has
        (nearly) no misfit, which leaves both σ and the additive model's m."""
        pairs = tuple((a, b) for g, h in combinations(groups, 2) for a in g for b in h)
        plain = self.error(groups) ** 2 / (1 + self._fit.columns(groups) / self._rows)
        noise = self.error(groups, pairs) ** 2 / (1 + self._fit.columns(groups, pairs) / self._rows)
        return float(np.sqrt(max(plain - noise, 0.0))), float(np.sqrt(noise))

    def holds(self, groups: Groups) -> tuple[bool, float, float]:
        """Whether the additive model over ``groups`` is the target's shape; its misfit, and the noise."""
        error = self.error(groups)
        if error <= TOLERANCE:
            return True, error, 0.0
        misfit, noise = self.beyond_noise(groups)
        return misfit <= max(TOLERANCE, NOISE_SHARE * noise), misfit, noise


def _in_logs_where_smoother(x: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``x`` with those of its positive columns in logs that the additive model of every column
    alone follows better so: a power ``r⁻⁵`` over r from 0.1 to 8 is a line in log r, where no
    spline in r follows it; an angle from 0 to 6 is best left as it is."""
    scaled = x.copy()
    alone = tuple((i,) for i in range(x.shape[1]))
    best = _HeldOut(scaled, target, weights).error(alone)
    for i in np.flatnonzero(np.all(x > 0, axis=0)):
        trial = scaled.copy()
        trial[:, i] = np.log(x[:, i])
        error = _HeldOut(trial, target, weights).error(alone)
        if error < best:
            scaled, best = trial, error
    return scaled


def _greedy_groups(x: np.ndarray, target: np.ndarray, weights: np.ndarray) -> tuple[Groups, float, float] | None:
    """Groups (at least two) whose additive model is the shape of ``target`` (:meth:`_HeldOut.holds`),
    with its misfit and the noise."""
    held_out = _HeldOut(x, target, weights)
    groups: Groups = tuple((i,) for i in range(x.shape[1]))
    holds, misfit, noise = held_out.holds(groups)
    while not holds and len(groups) > 2:
        merges = [
            tuple(g for k, g in enumerate(groups) if k not in (a, b)) + (tuple(sorted(groups[a] + groups[b])),)
            for a, b in combinations(range(len(groups)), 2)
            if len(groups[a]) + len(groups[b]) <= MAX_GROUP
        ]
        if not merges:
            return None
        groups = min(merges, key=held_out.error)
        holds, misfit, noise = held_out.holds(groups)
    return (groups, misfit, noise) if holds else None


def _factors(
    x: np.ndarray, target: np.ndarray, weights: np.ndarray, groups: Groups, kind: Kind
) -> tuple[np.ndarray, ...]:
    """Each group's part of the additive model fitted on all rows, evaluated on them."""
    parts = _Splines(x, target, weights).parts(groups, x)
    if kind == "product":
        return tuple(np.exp(part - np.mean(part)) for part in parts)
    return tuple(part - np.mean(part) for part in parts)


class _Splines:
    """The additive model of ``target`` over groups of the columns of ``x``: each column's cubic
    spline basis (knots at its quantiles; more knots alone than in a tensor product), one block
    for each group (a member's basis, or the tensor product of the members'), and optionally
    one for each of some pairs of columns, fitted by weighted least squares."""

    def __init__(self, x: np.ndarray, target: np.ndarray, weights: np.ndarray) -> None:
        self._root = root_weights(weights, len(target))
        self._target = target * self._root
        knots_by_size: list[tuple[int | str, int]] = [*KNOTS.items(), ("pair", PAIR_KNOTS)]
        self._transformers = {
            (size, i): SplineTransformer(n_knots=knots, degree=3, knots="quantile", extrapolation="continue").fit(
                x[:, [i]]
            )
            for size, knots in knots_by_size
            for i in range(x.shape[1])
        }
        self._own = {key: t.transform(x[:, [key[1]]]) for key, t in self._transformers.items()}

    def _block(self, group: tuple[int, ...], x: np.ndarray | None, size: int | str | None = None) -> np.ndarray:
        """The group's columns on ``x`` (``None``: the rows fitted), less the first, which with
        the others and the intercept would make a constant twice."""

        def basis(i: int) -> np.ndarray:
            key = (size or len(group), i)
            return self._own[key] if x is None else self._transformers[key].transform(x[:, [i]])

        block = basis(group[0])
        for column in group[1:]:
            other = basis(column)
            block = (block[:, :, None] * other[:, None, :]).reshape(len(block), -1)
        return block[:, 1:]

    def _blocks(self, groups: Groups, pairs: tuple[tuple[int, int], ...], x: np.ndarray | None) -> list[np.ndarray]:
        return [self._block(g, x) for g in groups] + [self._block(p, x, "pair") for p in pairs]

    def columns(self, groups: Groups, pairs: tuple[tuple[int, int], ...] = ()) -> int:
        return sum(b.shape[1] for b in self._blocks(groups, pairs, None)) + 1

    def _coefficients(self, groups: Groups, pairs: tuple[tuple[int, int], ...]) -> list[np.ndarray]:
        """Least-squares coefficients of each block, and the intercept last."""
        blocks = self._blocks(groups, pairs, None)
        design = np.column_stack([*blocks, np.ones(len(self._target))]) * self._root[:, None]
        # Normal equations with a whisker of ridge: B-spline columns are well conditioned, and
        # this is ten times faster than an SVD, which the greedy search calls dozens of times.
        gram = design.T @ design
        gram[np.diag_indices_from(gram)] += RIDGE * np.trace(gram) / len(gram)
        solution = scipy.linalg.solve(gram, design.T @ self._target, assume_a="pos")
        return np.split(solution, np.cumsum([b.shape[1] for b in blocks]))

    def predict(self, groups: Groups, x: np.ndarray, pairs: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
        *parts, intercept = self._coefficients(groups, pairs)
        blocks = self._blocks(groups, pairs, x)
        return sum((b @ c for b, c in zip(blocks, parts, strict=True)), np.full(len(x), intercept[0]))

    def parts(self, groups: Groups, x: np.ndarray) -> list[np.ndarray]:
        *parts, _ = self._coefficients(groups, ())
        return [self._block(g, x) @ c for g, c in zip(groups, parts, strict=True)]
