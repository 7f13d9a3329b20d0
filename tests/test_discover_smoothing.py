"""Local quadratic smoothing: the target brute force scores under noise."""

from __future__ import annotations

import numpy as np

from autoalign.discover.smoothing import local_quadratic, neighbourhoods


def test_smoothing_divides_the_noise_and_keeps_the_curve() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.67, (6000, 1))
    truth = 1 / np.sqrt(1 - x[:, 0] ** 2)
    noisy = truth + rng.normal(0, 0.01, len(truth))
    at = x[:64]
    smoothed = local_quadratic(x, noisy, at)
    error = np.sqrt(np.mean((smoothed - truth[:64]) ** 2))
    assert error < 0.01 / 4
    wide = local_quadratic(x, noisy, at, neighbours=neighbourhoods(x)[-1])
    assert np.sqrt(np.mean((wide - truth[:64]) ** 2)) < error * 0.75
    # Without noise the local quadratic is all but exact: smoothing costs nothing there.
    assert np.max(np.abs(local_quadratic(x, truth, at) - truth[:64])) < 1e-5


def test_smoothing_in_two_variables_trusts_rows_by_their_weights() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(1, 5, (8000, 2))
    truth = np.exp(-x[:, 0] / 3) * x[:, 1]
    scale = rng.uniform(0.01, 1, len(truth))  # the noise of a row is 0.05 / scale
    noisy = truth + rng.normal(0, 0.05, len(truth)) / scale
    at = x[:64]
    weighted = np.sqrt(np.mean((local_quadratic(x, noisy, at, scale**2) - truth[:64]) ** 2))
    plain = np.sqrt(np.mean((local_quadratic(x, noisy, at) - truth[:64]) ** 2))
    assert weighted < plain / 3 and weighted < 0.05


def test_smoothing_applies_to_few_variables_and_many_rows() -> None:
    assert neighbourhoods(np.zeros((6400, 1))) == [64, 400]
    assert neighbourhoods(np.zeros((6400, 2))) == [160, 800]
    assert neighbourhoods(np.zeros((6000, 3))) == []
    assert neighbourhoods(np.zeros((100, 1))) == []
