"""Which sensors measure one quantity: rank correlation proposes, units and the data's noise decide.

Spearman's rho compares sensors whatever their units, offsets, gains and monotone nonlinearities,
which is why it proposes the groups (average linkage on 1 - |rho|). For the same reason it cannot
tell "a sensor of L" from "a sensor of f(L)": a pendulum's length and its period, or an orbit's
distance and its period over a survey of similar stars, rank alike. So a merge that the ranks
propose must also pass three tests, each of which one quantity seen by many sensors always
passes:

1. **Units.** Members with known units of different dimensions are never one quantity; members
   with unknown units join by the data but cannot bridge two known dimensions (the test is on
   the merged set, so a bridge is refused however the tree was built).
2. **Ranks as close as the noise allows.** Two sets of one quantity differ in rank only through
   their members' noise, so 1 - |rho| between them is about the average of 1 - |rho| within each.
   Two quantities tied by a law and a third varying quantity (the image distance of a zoom lens
   and its focal length) differ by far more. Sets must be within :data:`RANK_EXCESS` of it.
3. **Linearity.** Calibration curves are close to straight lines, so the consensus of one set is
   a straight line in the consensus of the other up to the members' own scatter. A law between
   two quantities (a square root, a power) is not, however well the ranks agree: such sets are
   kept apart and reported as possibly one quantity seen through a monotone law, since a set of
   strongly nonlinear sensors of one quantity would look the same.

A lone sensor cannot be tested this way (one reading says nothing about its own noise), so after
the tree each member with unknown units moves to the group that it follows most closely as a
straight line, where that is clearly closer than its own group: without that, a sensor in
undeclared milliseconds could settle among the length sensors it ranks alike with.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

#: Noise-corrected rank correlation at or above which two sets of sensors may measure one quantity.
SAME_QUANTITY = 0.95
#: How many times the sets' own rank noise (1 - |rho| within) their distance may be.
RANK_EXCESS = 4.0
#: How many times their members' scatter about their own consensus the residual of one set's
#: consensus about a straight line in the other's may be.
NONLINEARITY = 3.0
#: A member moves to another group when its residual about that group's consensus is below this
#: share of its residual about its own group's (without itself).
MOVE = 0.25


UNITS_DIFFER = "their units are of different dimensions"
NOT_LINEAR = "their relation is not a straight line within their sensors' scatter"


@dataclass(frozen=True)
class Grouping:
    """Sets of columns that measure one quantity (lone columns included), and the pairs of sets
    that the ranks alone would have merged, with the reason each was kept apart."""

    clusters: list[list[int]]
    rho: np.ndarray
    kept_apart: list[tuple[list[int], list[int], str]]


def rank_correlation(x: np.ndarray) -> np.ndarray:
    """Spearman's rho between all columns, each pair over the rows where both are present."""
    present = np.isfinite(x)
    ranks = np.where(present, rankdata(x, axis=0, nan_policy="omit"), 0.0)
    m = present.astype(float)
    n = m.T @ m
    sums = ranks.T @ m  # [a, b]: sum of a's ranks over rows where b is present
    squares = (ranks**2).T @ m
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = ranks.T @ ranks - sums * sums.T / n
        var = squares - sums**2 / n
        rho = cov / np.sqrt(var * var.T)
    rho = np.nan_to_num(rho, nan=0.0)
    np.fill_diagonal(rho, 1.0)
    return np.clip(rho, -1.0, 1.0)


def group_sensors(x: np.ndarray, dimensions: Sequence[Hashable | None]) -> Grouping:
    """Group the columns of ``x`` (NaN where missing); ``dimensions`` holds each column's physical
    dimension where its units are known, None where not."""
    rho = rank_correlation(x)
    z = _standardized(x)
    clusters, kept_apart = _clusters(np.abs(rho), _Tests(z, rho, list(dimensions)))
    return Grouping(_reassigned(z, rho, clusters, list(dimensions)), rho, kept_apart)


class _Tests:
    """The tests a merge proposed by the ranks must pass (see the module's doc)."""

    def __init__(self, z: np.ndarray, rho: np.ndarray, dimensions: list[Hashable | None]) -> None:
        self.z, self.rho, self.dimensions = z, rho, dimensions

    def refusal(self, a: list[int], b: list[int], within: tuple[float, float], between: float) -> str | None:
        """Why sets ``a`` and ``b`` are not one quantity, or None when nothing says so. ``within``:
        each set's mean |rho| between its members; ``between``: the mean |rho| across."""
        known = {self.dimensions[i] for i in a + b} - {None}
        if len(known) > 1:
            return UNITS_DIFFER
        (ca, sa), (cb, sb) = _consensus(self.z, self.rho, a), _consensus(self.z, self.rho, b)
        # Two lone sensors of one quantity scatter about a line by about 2(1 - |rho|) (in units of
        # their variance); a set, by its members' scatter about its consensus.
        reference = max(sa if len(a) > 1 else 0.0, sb if len(b) > 1 else 0.0, 2 * (1.0 - between), 1e-12)
        if _line_residual(ca, cb) > NONLINEARITY * reference:
            return NOT_LINEAR
        if len(a) < 2 or len(b) < 2:
            return None
        noise = ((1.0 - within[0]) + (1.0 - within[1])) / 2
        if 1.0 - between > RANK_EXCESS * max(noise, 1e-12):
            return "their ranks differ by more than their sensors' noise"
        return None


def _clusters(similarity: np.ndarray, tests: _Tests) -> tuple[list[list[int]], list[tuple[list[int], list[int], str]]]:
    """Average-linkage agglomeration in which every merge must pass.

    The closest pair of sets (by mean |rho| across) is merged when their mean |rho|, divided by the
    reliability of each (the square root of its mean within-set |rho|; a lone sensor is held to
    :data:`SAME_QUANTITY` itself), is at least SAME_QUANTITY (the psychometric disattenuation), and
    :class:`_Tests` finds nothing against it; a pair the tests refuse is proposed again only once
    either set has grown (a test of two lone sensors says less than one of two sets). Pairs of
    different known dimensions are refused from the start, and so is every set made from either,
    so the sets of one dimension grow without being mixed up with another's on the way.
    """
    p = len(similarity)
    mean = similarity.astype(float).copy()  # mean |rho| between the sets (rows of active sets)
    blocked = np.zeros((p, p), dtype=bool)
    dimension = list(tests.dimensions)
    for i in range(p):
        for j in range(i + 1, p):
            if dimension[i] is not None and dimension[j] is not None and dimension[i] != dimension[j]:
                blocked[i, j] = blocked[j, i] = True
    np.fill_diagonal(blocked, True)
    refused = np.zeros((p, p), dtype=bool)  # refused by the tests, until either set changes
    members: list[list[int]] = [[i] for i in range(p)]
    within = np.zeros(p)  # sum of |rho| over ordered pairs of distinct members
    active = np.ones(p, dtype=bool)
    kept_apart = []
    while True:
        sizes = np.array([len(m) for m in members], dtype=float)
        mean_within = np.where(sizes > 1, within / np.maximum(sizes**2 - sizes, 1.0), 1.0)
        reliability = np.where(sizes > 1, np.sqrt(mean_within), SAME_QUANTITY)
        reliable = mean >= SAME_QUANTITY * np.outer(reliability, reliability)
        candidate = ~blocked & ~refused & np.outer(active, active) & reliable
        if not candidate.any():
            break
        a, b = np.unravel_index(np.argmax(np.where(candidate, mean, -np.inf)), mean.shape)
        why = tests.refusal(members[a], members[b], (mean_within[a], mean_within[b]), float(mean[a, b]))
        if why is not None:
            kept_apart.append((members[a], members[b], why))
            refused[a, b] = refused[b, a] = True
            continue
        na, nb = sizes[a], sizes[b]
        within[a] = within[a] + within[b] + 2 * mean[a, b] * na * nb
        mean[a, :] = mean[:, a] = (na * mean[a, :] + nb * mean[b, :]) / (na + nb)
        blocked[a, :] |= blocked[b, :]
        blocked[:, a] = blocked[a, :]
        refused[a, :] = refused[:, a] = False  # a new set: the tests judge it afresh
        members[a] = members[a] + members[b]
        members[b] = []
        active[b] = False
    return [m for m in members if m], kept_apart


def _standardized(x: np.ndarray) -> np.ndarray:
    """Each column less its mean, over its standard deviation (NaN stays NaN)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.nanstd(x, axis=0)
        return (x - np.nanmean(x, axis=0)) / np.where(std > 0, std, 1.0)


def _consensus(z: np.ndarray, rho: np.ndarray, members: list[int]) -> tuple[np.ndarray, float]:
    """The set's consensus (the mean of its members' standardized readings, each turned to read the
    same way as the most central member) and the members' mean squared scatter about it."""
    block = rho[np.ix_(members, members)]
    signs = np.sign(block[np.argmax(np.abs(block).sum(axis=0))])
    oriented = z[:, members] * signs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row that all members missed stays NaN
        consensus = np.nanmean(oriented, axis=1)
    scatter = float(np.nanmean((oriented - consensus[:, None]) ** 2)) * len(members) / max(len(members) - 1, 1)
    return consensus, scatter


def _line_residual(x: np.ndarray, y: np.ndarray) -> float:
    """Mean squared residual of ``y`` about its least-squares line in ``x`` (y standardized)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return np.inf
    xs, ys = x[ok], y[ok]
    ys = (ys - ys.mean()) / (ys.std() or 1.0)
    design = np.column_stack([np.ones(len(xs)), xs])
    coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
    return float(np.mean((ys - design @ coef) ** 2))


def _reassigned(
    z: np.ndarray, rho: np.ndarray, clusters: list[list[int]], dimensions: list[Hashable | None]
) -> list[list[int]]:
    """Move each member with unknown units of a group of three or more to the group it follows
    most closely as a straight line, where that is clearly closer (:data:`MOVE`) than its own
    group without it, and the move brings no second dimension into the other group."""
    groups = [list(c) for c in clusters]
    big = [g for g, c in enumerate(groups) if len(c) >= 3]
    consensus = {g: _consensus(z, rho, groups[g])[0] for g in big}
    moves: list[tuple[int, int, int]] = []
    for g in big:
        for i in groups[g]:
            if dimensions[i] is not None:
                continue
            own = _line_residual(_consensus(z, rho, [j for j in groups[g] if j != i])[0], z[:, i])
            best, where = own * MOVE, None
            for h in big:
                if h == g or np.mean(np.abs(rho[i, groups[h]])) < SAME_QUANTITY:
                    continue
                if len({dimensions[j] for j in groups[h]} - {None}) > 1:
                    continue
                residual = _line_residual(consensus[h], z[:, i])
                if residual < best:
                    best, where = residual, h
            if where is not None:
                moves.append((i, g, where))
    for i, g, h in moves:
        groups[g].remove(i)
        groups[h].append(i)
    return [g for g in groups if g]
