"""Summary variables from raw streams: the simulated piston, a pendulum, pure noise and bad tables."""

from __future__ import annotations

import tomllib
from collections import Counter

import numpy as np
import pytest

from autoalign.discover.piston import AREA, QUANTITIES, R, simulate_piston
from autoalign.discover.variables import StreamsError, find_summary_variables
from autoalign.errors import AutoalignError, NotFoundError

N_SAMPLES = 600


@pytest.fixture(scope="module")
def piston():
    return simulate_piston(N_SAMPLES, seed=0)


@pytest.fixture(scope="module")
def found(piston):
    return find_summary_variables(piston.values, piston.names, piston.units, seed=0)


def _truth_of(variable, truth: dict[str, str]) -> str:
    """The true quantity most of a variable's members measure."""
    return Counter(truth[m] for m in variable.members).most_common(1)[0][0]


def test_piston_has_five_pure_and_complete_groups(piston, found):
    """Gas meters (mol) and load cells (kg) rank alike, but their units are of different
    dimensions: the amount and the mass of the gas are two quantities, tied by a law."""
    truth = dict(zip(piston.names, piston.quantities, strict=True))
    sizes = Counter(piston.quantities)
    assert piston.values.shape == (N_SAMPLES, 203)
    assert len(found.variables) == 5
    seen = set()
    for variable in found.variables:
        quantity = _truth_of(variable, truth)
        assert quantity != "irrelevant"
        assert {truth[m] for m in variable.members} == {quantity}, f"{variable.name} mixes quantities"
        assert len(variable.members) >= 0.9 * sizes[quantity], f"{variable.name} misses {quantity} sensors"
        seen.add(quantity)
    assert seen == set(QUANTITIES)


def test_piston_irrelevant_sensors_are_flagged(piston, found):
    truth = dict(zip(piston.names, piston.quantities, strict=True))
    irrelevant = {n for n, q in truth.items() if q == "irrelevant"}
    grouped = {m for v in found.variables for m in v.members}
    assert not grouped & irrelevant
    assert set(found.irrelevant) | set(found.dropped) == irrelevant
    assert not found.derived
    assert sorted(found.dropped.values()) == [
        "constant",
        f"mostly missing ({found.missing[next(n for n, w in found.dropped.items() if w.startswith('mostly'))]}"
        f" of {N_SAMPLES} readings)",
        "near-constant (over half its readings are one value)",
    ]


def test_piston_has_three_independent_quantities(found):
    """The state has three degrees of freedom (V, T, N); the estimator counts the summary variables
    that are not a function of the others: two of the five depend on the rest (the pressure, or
    another of the gas law's four, and the mass or the amount)."""
    assert found.n_independent == 3
    assert len(found.dependences) == 2
    assert all(d.r2 > 0.99 for d in found.dependences)
    assert len({"N1", "m1"} & set(found.independent)) == 1
    assert set(found.independent) | {d.variable for d in found.dependences} == {"N1", "P1", "T1", "x1", "m1"}


def test_piston_summary_variables_match_the_truth(piston, found):
    truth = dict(zip(piston.names, piston.quantities, strict=True))
    expected_units = {"pressure": "Pa", "temperature": "K", "position": "m", "amount": "mol", "mass": "kg"}
    for variable in found.variables:
        quantity = _truth_of(variable, truth)
        true = piston.state[QUANTITIES[quantity]]
        assert variable.units == expected_units[quantity]
        assert variable.name == {"Pa": "P1", "K": "T1", "m": "x1", "mol": "N1", "kg": "m1"}[variable.units]
        assert abs(np.corrcoef(variable.values, true)[0, 1]) > 0.999
        relative = np.abs(variable.values / true - 1)
        assert np.median(relative) < 0.02, f"{variable.name}: median relative error {np.median(relative):.4f}"
        assert variable.quality > 0.99


def test_piston_ideal_gas_law_holds_on_the_summary_variables(found):
    values, names, units = found.table()
    assert values.shape == (N_SAMPLES, 5)
    assert dict(zip(names, units, strict=True)) == {"P1": "Pa", "T1": "K", "x1": "m", "N1": "mol", "m1": "kg"}
    logs = dict(zip(names, np.log(values).T, strict=True))
    design = np.column_stack([logs["N1"], logs["T1"], logs["x1"], np.ones(N_SAMPLES)])
    exponents = np.linalg.lstsq(design, logs["P1"], rcond=None)[0]
    assert np.allclose(exponents[:3], [1, 1, -1], atol=0.05), exponents
    assert np.exp(exponents[3]) == pytest.approx(R / AREA, rel=0.1)  # P = N R T / (A x)


def test_formula_names_its_sensors_and_evaluates_to_the_values(piston, found):
    readings = dict(zip(piston.names, piston.values.T, strict=True))
    for variable in found.variables:
        assert np.allclose(variable.evaluate(readings), variable.values, equal_nan=True)
        formula = variable.formula()
        assert formula.startswith(f"{variable.name} [{variable.units}]")
        assert all(f"{m} = " in formula for m in variable.members)
    pressure = found.variable("P1")
    assert "converted to Pa" in pressure.scale
    assert sum(c.sets_scale for c in pressure.calibrations) >= 40  # the gauges with known units
    assert 0 < pressure.noise < 2e3


def test_csv_round_trip(piston, tmp_path):
    csv_path, units_path = piston.to_csv(tmp_path / "streams.csv")
    assert units_path.name == "streams.units.toml"
    back = np.genfromtxt(csv_path, delimiter=",", skip_header=1)
    assert back.shape == piston.values.shape
    assert np.allclose(back, piston.values, rtol=1e-9, equal_nan=True)
    assert csv_path.read_text().splitlines()[0] == ",".join(piston.names)
    units = tomllib.loads(units_path.read_text(encoding="utf-8"))["units"]
    assert units == {n: u for n, u in zip(piston.names, piston.units, strict=True) if u}
    assert "°C" in units.values()


def test_simulator_is_seeded_and_honest():
    with pytest.raises(AutoalignError, match="at least 10 samples"):
        simulate_piston(5)
    a, b = simulate_piston(50, seed=3), simulate_piston(50, seed=3)
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert not np.array_equal(a.values, simulate_piston(50, seed=4).values, equal_nan=True)
    s = a.state
    assert np.allclose(s["P"] * s["V"], s["N"] * R * s["T"])
    assert np.allclose(s["V"], AREA * s["x"])


def _pendulum(n: int, seed: int):
    """A pendulum (L = 1 m, m = 0.5 kg) caught at random moments of swings of random size: angle
    encoders (deg, rad, unknown), gyros (rad/s, deg/s), height sensors on the bob (m, cm), strain
    gauges on the rod reading its tension in unknown units, one kinetic-energy meter, and noise."""
    rng = np.random.default_rng(seed)
    theta, omega = rng.uniform(-0.8, 0.8, n), rng.uniform(-1.5, 1.5, n)
    height = 1.0 - np.cos(theta)
    tension = 0.5 * (9.81 * np.cos(theta) + omega**2)

    def sensors(true, count, noise, converts):
        si = true[:, None] * rng.normal(1, 0.01, count) + rng.normal(0, noise, count) + rng.normal(0, noise, (n, count))
        return [(convert(si[:, i]), unit) for i in range(count) for unit, convert in [converts[i % len(converts)]]]

    columns = (
        sensors(theta, 15, 0.005, [("deg", np.degrees), ("rad", lambda v: v), (None, lambda v: 1e3 * v)])
        + sensors(omega, 12, 0.02, [("rad/s", lambda v: v), ("deg/s", np.degrees)])
        + sensors(height, 10, 0.002, [("m", lambda v: v), ("cm", lambda v: 100 * v)])
        + sensors(tension, 8, 0.02, [(None, lambda v: 0.3 * v + 1.2)])
        + [(0.5 * 0.5 * omega**2 + rng.normal(0, 0.01, n), "J")]
        + [(rng.normal(0, 1, n), None) for _ in range(12)]
    )
    kinds = ["theta"] * 15 + ["omega"] * 12 + ["height"] * 10 + ["tension"] * 8 + ["energy"] + ["noise"] * 12
    values = np.column_stack([c for c, _ in columns])
    return values, [u for _, u in columns], kinds, {"theta": theta, "omega": omega, "height": height}


def test_a_pendulum_needs_nothing_piston_specific():
    values, units, kinds, truth = _pendulum(N_SAMPLES, seed=1)
    names = [f"c{i}" for i in range(values.shape[1])]
    found = find_summary_variables(values, names, units, seed=0)
    kind_of = dict(zip(names, kinds, strict=True))
    groups = {v.name: {kind_of[m] for m in v.members} for v in found.variables}
    assert groups == {"theta1": {"theta"}, "w1": {"omega"}, "x1": {"height"}, "q1": {"tension"}}
    assert all(len(v.members) == Counter(kinds)[kind_of[v.members[0]]] for v in found.variables)
    assert found.n_independent == 2  # angle and angular speed; height and tension follow from them
    assert [kind_of[n] for n in found.derived] == ["energy"]
    assert {kind_of[n] for n in found.irrelevant} == {"noise"}
    for name, quantity, units_ in (("theta1", "theta", "rad"), ("w1", "omega", "rad/s"), ("x1", "height", "m")):
        variable = found.variable(name)
        assert variable.units == units_
        error = np.median(np.abs(variable.values - truth[quantity])) / np.ptp(truth[quantity])
        assert error < 0.01, f"{name}: median error {error:.4f} of the range"
    tension = found.variable("q1")
    assert tension.units is None and "units unknown" in tension.scale


def test_pure_noise_holds_no_quantity():
    rng = np.random.default_rng(0)
    found = find_summary_variables(rng.normal(size=(300, 40)), [f"n{i}" for i in range(40)])
    assert found.variables == () and found.n_independent == 0
    assert len(found.irrelevant) == 40
    assert found.table()[0].shape == (0, 0)
    with pytest.raises(NotFoundError, match="no summary variable 'P1'"):
        found.variable("P1")


# --- bad input -----------------------------------------------------------------------------------


def test_nan_and_inf_cells_count_as_missing(piston):
    values = piston.values.copy()
    values[::7, 0] = np.inf
    values[::11, 1] = -np.inf
    found = find_summary_variables(values, piston.names, piston.units)
    assert found.missing[piston.names[0]] >= len(values[::7])
    assert found.missing[piston.names[1]] >= len(values[::11])
    assert len(found.variables) == 5 and found.n_independent == 3
    assert all(np.isfinite(v.values).all() for v in found.variables)


@pytest.mark.parametrize(
    ("matrix", "names", "units", "message"),
    [
        (np.ones((50, 3)), ["a", "b", "c"], None, "fewer than two usable columns: 3 of 3 are constant"),
        (np.zeros((10, 3)), ["a", "b", "c"], None, "10 rows: at least 30 samples"),
        (np.ones(50), ["a"], None, "not 1-D"),
        (np.ones((50, 3)), ["a", "b"], None, "2 names for 3 columns"),
        (np.ones((50, 2)), ["a", "a"], None, "repeated: a"),
        (np.ones((50, 2)), ["a", "b"], ["K"], "1 units for 2 sensors"),
        (np.ones((50, 2)), ["a", "b"], {"c": "K"}, "not in the table: c"),
        (np.ones((50, 2)) + 1j, ["a", "b"], None, "complex numbers"),
    ],
)
def test_bad_tables_are_refused_clearly(matrix, names, units, message):
    with pytest.raises(StreamsError, match=message):
        find_summary_variables(matrix, names, units)


def test_text_columns_are_named_and_empty_cells_are_missing():
    table = np.random.default_rng(0).normal(size=(40, 3)).astype(object)
    table[5, 1] = "HIGH"
    table[7, 2] = ""
    with pytest.raises(StreamsError, match=r"1 columns hold text, not numbers: b \(row 6: 'HIGH'\)"):
        find_summary_variables(table, ["a", "b", "c"])
    assert issubclass(StreamsError, AutoalignError)
    table[5, 1] = None
    assert find_summary_variables(table, ["a", "b", "c"]).missing == {"b": 1, "c": 1}


def test_units_nobody_understands_are_treated_as_unknown(piston):
    units = [("furlongs per blorp" if u == "Pa" else u) for u in piston.units]
    found = find_summary_variables(piston.values, piston.names, units)
    assert found.unit_notes == ("units 'furlongs per blorp' not understood; treated as unknown",)
    assert found.variable("P1").units == "Pa"  # still anchored by the gauges in kPa
