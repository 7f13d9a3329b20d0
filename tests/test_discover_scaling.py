"""Values of extreme magnitude (1e200, 1e-300): scaled for the search, laws written back exactly."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from autoalign.discover import LawFinder, find_summary_variables
from autoalign.discover.scaling import Scaling
from autoalign.discover.variables import StreamsError
from tests.test_cli import autoalign


def uniform(n: int = 400, columns: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(1, 5, (n, columns))


def test_scaling_leaves_ordinary_tables_alone_and_shares_one_power_within_units() -> None:
    u = uniform()
    assert Scaling.of(u * 1e5, u[:, 0] * 1e-7).identity
    scaling = Scaling.of(u * [1e200, 1e-300], u[:, 0], families=[0, 1])
    assert scaling.x_exponents == (200, -300) and scaling.y_exponent == 0
    # The same units: one power of ten, so x0 - x1 stays a difference.
    shared = Scaling.of(u * [1e200, 1e202], u[:, 0], families=[0, 0])
    assert shared.x_exponents[0] == shared.x_exponents[1]
    x0, x1 = sympy.symbols("x0 x1")
    assert str(scaling.law_back(x0 * x1, [x0, x1])) == "1.0e+100*x0*x1"
    assert scaling.law_back(x0 * x1, [x0, x1]).subs({x0: 2e200, x1: 3e-300}) == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("make", "truth"),
    [
        (lambda u: (u * 1e200, u[:, 0] * u[:, 1] * 1e200), "1.0e-200*x0*x1"),
        (lambda u: (u * [1e200, 1e-300], u[:, 0] * u[:, 1] * 1e-100), "x0*x1"),
        (lambda u: (u * 1e200, (u[:, 0] + u[:, 1]) * 1e200), "x0 + x1"),
        (lambda u: (u * 1e-300, np.sin(u[:, 0])), "sin(1.0e+300*x0)"),
    ],
)
def test_laws_between_extreme_values_are_found_and_predict_finite_values(make, truth) -> None:
    x, y = make(uniform())
    finder = LawFinder(time_budget_s=10).fit(x, y)
    assert finder.found_, finder.pareto_front_
    assert str(finder.law_) == truth
    assert finder.score(x, y) > 1 - 1e-9
    prediction = finder.predict(x)
    assert np.all(np.isfinite(prediction)) and np.allclose(prediction, y, rtol=1e-9)
    assert all(np.isfinite(law.test_rmse) for law in finder.pareto_front_)


def test_large_values_below_the_scaling_limit_leave_no_term_and_no_crash() -> None:
    """A mass in kilograms of stars (1e29) is not rescaled, and every sum's term overflows: the
    sums are skipped, the rest of the search goes on (a crash in the orbits of the gallery)."""
    x = uniform()[:, :1] * 1e29
    finder = LawFinder(time_budget_s=3, use_gp=False).fit(x, np.sqrt(x[:, 0]), names=["m"])
    assert finder.found_, finder.pareto_front_
    assert finder.score(x, np.sqrt(x[:, 0])) > 1 - 1e-9


def test_predict_checks_the_number_of_columns() -> None:
    x = uniform()
    finder = LawFinder(time_budget_s=5).fit(x, x[:, 0] * x[:, 1])
    with pytest.raises(Exception, match="takes 2 columns"):
        finder.predict(x[:, :1])


def test_streams_of_unknown_units_near_1e200_give_their_quantities_and_law() -> None:
    rng = np.random.default_rng(2)
    u = uniform(400, 2, seed=2)
    a, b = u[:, 0], u[:, 1]
    columns = [a * 1e200 * (i + 1) for i in range(5)] + [b * 1e-300 * (i + 1) for i in range(5)]
    columns += [a * b * 1e-100 * (i + 1) for i in range(5)]
    matrix = np.column_stack(columns) * (1 + 1e-3 * rng.standard_normal((400, 15)))
    names = [f"{kind}{i}" for kind in "abc" for i in range(5)]
    summary = find_summary_variables(matrix, names)
    assert sorted(sorted(v.members) for v in summary.variables) == [names[0:5], names[5:10], names[10:15]]
    assert summary.n_independent == 2
    assert any("divided by 1e200" in note for note in summary.unit_notes)
    # The formula maps raw readings (not the scaled ones) to the variable.
    for variable in summary.variables:
        readings = {c.sensor: matrix[:, names.index(c.sensor)] for c in variable.calibrations}
        assert np.allclose(variable.evaluate(readings), variable.values, rtol=1e-6, equal_nan=True)


def test_streams_of_known_units_beyond_the_fits_reach_are_a_clear_error() -> None:
    u = uniform(200, 3)
    with pytest.raises(StreamsError, match="declare units in which they are nearer 1"):
        find_summary_variables(u * [1e80, 1, 1], ["m", "v", "w"], {"m": "kg", "v": "m/s"})


def test_cli_fit_on_extreme_values_prints_the_law(tmp_path, workspace_path) -> None:
    u = uniform(300)
    path = tmp_path / "extreme.csv"
    np.savetxt(
        path, np.c_[u * [1e200, 1e-300], u[:, 0] ** 2 * u[:, 1] * 1e100], delimiter=",", header="m,r,F", comments=""
    )
    result = autoalign(workspace_path, "discover", "fit", str(path), "--target", "F", "--time", "10")
    assert "F = m**2*r" in result.stdout and "nan" not in result.stdout
