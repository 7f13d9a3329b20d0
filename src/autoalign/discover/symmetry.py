"""Translation symmetry: a law that depends on two quantities of the same units only through their
difference (positions ``x2 - x1``, angles ``θ1 - θ2``, frequencies ``ω - ω0``), found before the
search so that the search has one variable fewer and the difference as a single leaf.

As in AI Feynman, the test runs on a smooth surrogate of the data (here a thin-plate-spline
interpolant, accurate enough on smooth laws at the sizes of these tables, and fitted in a second
where AI Feynman trains a network) rather than on the rows themselves, since no two rows differ by
a shift of both quantities. A pair passes the screen when
moving both quantities together changes the surrogate far less than moving either one alone; it
is kept when a surrogate of the data with the difference in place of the pair predicts held-out
rows about as well as the full one (a near-cancellation in one region of the data screens in, but
does not survive that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import RBFInterpolator

#: Rows the surrogates interpolate (their cost grows as the cube), and rows they are judged on.
SURROGATE_ROWS = 2000
HELD_OUT_ROWS = 500
#: Rows the derivatives are taken at, and the step (in standard deviations of the columns).
PROBE_ROWS = 300
STEP = 1e-2
#: A pair screens in when the change along both together is below this share of the changes
#: along each alone.
SCREEN = 0.15
#: A pair is kept when the reduced surrogate's held-out error is at most this multiple of the
#: full one's.
CONFIRM = 1.5


@dataclass(frozen=True, slots=True)
class Difference:
    """Column ``first`` minus column ``second`` replaces both (``first`` is the larger on average,
    so the difference is mostly positive)."""

    first: int
    second: int


def translation_symmetries(
    x: np.ndarray, y: np.ndarray, pairs: list[tuple[int, int]], rng: np.random.Generator
) -> list[Difference]:
    """Disjoint pairs among ``pairs`` (column indices, same units) through whose difference alone
    ``y`` depends, strongest first."""
    if not pairs or len(y) < SURROGATE_ROWS // 4:
        return []
    order = rng.permutation(len(y))
    fit_rows, probe_rows = order[:SURROGATE_ROWS], order[SURROGATE_ROWS:][:HELD_OUT_ROWS]
    if len(probe_rows) < 50:
        fit_rows, probe_rows = order[: len(y) * 3 // 4], order[len(y) * 3 // 4 :]
    surrogate = _Surrogate(x[fit_rows], y[fit_rows])
    scores = sorted((surrogate.shift_ratio(x[probe_rows[:PROBE_ROWS]], i, j), i, j) for i, j in pairs)
    kept: list[Difference] = []
    used: set[int] = set()
    error = surrogate.error(x[probe_rows], y[probe_rows])
    for ratio, i, j in scores:
        if ratio > SCREEN or i in used or j in used:
            continue
        trial = [*kept, _oriented(x, i, j)]
        reduced = apply_differences(x, trial)
        reduced_error = _Surrogate(reduced[fit_rows], y[fit_rows]).error(reduced[probe_rows], y[probe_rows])
        if reduced_error <= CONFIRM * error + 1e-12 * np.std(y):
            kept, error = trial, reduced_error
            used.update((i, j))
    return kept


def apply_differences(x: np.ndarray, differences: list[Difference]) -> np.ndarray:
    """The columns not in any pair, in order, then one column per difference."""
    paired = {c for d in differences for c in (d.first, d.second)}
    rest = [x[:, c] for c in range(x.shape[1]) if c not in paired]
    return np.column_stack([*rest, *(x[:, d.first] - x[:, d.second] for d in differences)])


def _oriented(x: np.ndarray, i: int, j: int) -> Difference:
    return Difference(i, j) if np.mean(x[:, i] - x[:, j]) >= 0 else Difference(j, i)


class _Surrogate:
    """A thin-plate-spline interpolant of ``y`` on standardized columns."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.center = x.mean(axis=0)
        self.scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        self.y_scale = float(np.std(y)) or 1.0
        self.interpolant = RBFInterpolator(self._standard(x), y / self.y_scale, kernel="thin_plate_spline")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.interpolant(self._standard(x)) * self.y_scale

    def error(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.sqrt(np.mean((self(x) - y) ** 2)))

    def shift_ratio(self, x: np.ndarray, i: int, j: int) -> float:
        """Mean change along both columns at once over the mean changes along each alone, for
        the same step in the columns' own units."""
        step = STEP * min(self.scale[i], self.scale[j])

        def change(along_i: float, along_j: float) -> float:
            shift = np.zeros(x.shape[1])
            shift[i], shift[j] = along_i * step, along_j * step
            return float(np.mean(np.abs(self(x + shift) - self(x - shift))))

        alone = change(1, 0) + change(0, 1)
        return change(1, 1) / alone if alone > 0 else float("inf")

    def _standard(self, x: np.ndarray) -> np.ndarray:
        return (x - self.center) / self.scale
