"""Separable laws: the additive spline model that tells a product or a sum of functions of groups
of variables, and the law finder that searches each factor on its own."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from autoalign.discover.estimator import LawFinder
from autoalign.discover.separability import TOLERANCE, separate


def _table(lows: list[float], highs: list[float], rows: int = 6000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lows, highs, size=(rows, len(lows)))


def test_a_product_of_one_variable_functions_splits_into_every_variable():
    x = _table([1, 1, 1, 1], [2, 2, 2, 3])
    z1, z2, a, theta = x.T
    separation = separate(x, (z1 * z2 * a / (4 * np.sin(theta / 2) ** 2)) ** 2)
    assert separation is not None
    assert separation.kind == "product"
    assert sorted(separation.groups) == [(0,), (1,), (2,), (3,)]
    assert separation.error <= TOLERANCE
    # Each factor is its function up to a constant: the θ factor against 1/sin⁴(θ/2).
    truth = 1 / np.sin(theta / 2) ** 4
    factor = separation.factors[separation.groups.index((3,))]
    assert np.corrcoef(np.log(factor), np.log(truth))[0, 1] > 0.99999


def test_a_pair_that_does_not_split_stays_one_group():
    x = _table([1, 1, 1, 1], [3, 3, 3, 2])
    i0, alpha, delta, n = x.T
    y = i0 * (np.sin(alpha / 2) * np.sin(n * delta / 2) / (alpha / 2 * np.sin(delta / 2))) ** 2
    separation = separate(x, y)
    assert separation is not None
    assert sorted(separation.groups) == [(0,), (1,), (2, 3)]


def test_a_sum_splits_where_a_product_does_not():
    x = _table([1, 1, 1], [2, 2, 2])
    a, b, c = x.T
    separation = separate(x, a**2 + np.sin(b) + c * a)
    assert separation is not None
    assert separation.kind == "sum"
    assert sorted(separation.groups) == [(0, 2), (1,)]


@pytest.mark.parametrize(
    "law",
    [
        lambda a, b, c, d: np.sin(a * b + c * d) + a * d,  # every variable meets every group
        lambda a, b, c, d: np.sqrt(1 - (a / 3) ** 2) / (1 + a / 3 * np.cos(b + c + d)),
    ],
)
def test_laws_that_do_not_split_are_left_alone(law):
    x = _table([1, 1, 1, 1], [2, 2, 2, 2])
    assert separate(x, law(*x.T)) is None


def test_too_few_rows_or_one_variable_is_no_split():
    x = _table([1, 1], [2, 2], rows=100)
    assert separate(x, x[:, 0] * x[:, 1]) is None
    x = _table([1], [2])
    assert separate(x, x[:, 0] ** 2) is None


def test_the_law_finder_solves_a_product_whose_factors_are_found_apart():
    """Rutherford's cross-section in its dimensionless groups: a search over all four variables
    at once does not reach 1/sin⁴(θ/2); each factor alone is small."""
    x = _table([1, 1, 1, 1], [2, 2, 2, 3], rows=4000, seed=1)
    z1, z2, a, theta = x.T
    y = (z1 * z2 * a / (4 * np.sin(theta / 2) ** 2)) ** 2
    finder = LawFinder(time_budget_s=30, use_gp=False).fit(x, y, names=["Z1", "Z2", "a", "theta"])
    assert finder.found_
    assert finder.score(x, y) > 1 - 1e-12
    # Its constants snapped, and the law itself (sympy does not see that 4·sin⁴(θ/2) is (1 - cos θ)²).
    assert not finder.law_.atoms(sympy.Float), finder.law_
    ratio = sympy.lambdify([finder.symbols_], finder.law_, "numpy")(list(x.T)) / y
    assert np.ptp(ratio) < 1e-9 * abs(np.mean(ratio)), finder.law_
    assert "separable" in finder.law_candidate_.source


def _noisy(y: np.ndarray, level: float = 0.01, seed: int = 0) -> np.ndarray:
    return y + np.random.default_rng(seed).normal(0, level * np.sqrt(np.mean(y**2)), len(y))


def test_under_noise_a_product_still_splits_and_a_law_that_does_not_split_is_left_alone():
    """With noise of 1% no additive model comes within the tolerance of the held-out rows; the
    noise is measured by the model with pair interactions beside it, and only what the additive
    model misses beyond it counts."""
    x = _table([0.1, 0.05], [0.9, 0.6], rows=7500)
    a, b = x.T
    separation = separate(x, _noisy((1 - a) / np.sqrt(1 - b**2)))
    assert separation is not None
    assert separation.kind == "product" and sorted(separation.groups) == [(0,), (1,)]
    assert separation.noise > 3 * separation.error
    x = _table([0.1, 1], [0.9, 3], rows=7500)
    a, c = x.T
    assert separate(x, _noisy(np.sqrt(1 + c**2 - 2 * c * np.cos(3 * a)))) is None
    assert separate(x, _noisy((a + c) / (1 + a * c))) is None


def test_weights_let_a_product_split_where_most_rows_are_noisy():
    """A dimensionless view's rows carry noise divided by their scale: the rows of small scale
    are noisier, and the split is judged on the others."""
    x = _table([0.1, 0.05], [0.9, 0.6], rows=7500, seed=2)
    a, b = x.T
    scale = np.random.default_rng(3).uniform(0.05, 1.0, len(a))
    y = (1 - a) / np.sqrt(1 - b**2)
    noisy = y + np.random.default_rng(4).normal(0, 0.002, len(y)) / scale
    separation = separate(x, noisy, scale**2)
    assert separation is not None and sorted(separation.groups) == [(0,), (1,)]
