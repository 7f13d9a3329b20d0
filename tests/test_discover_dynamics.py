"""Dynamics: differential equations from noisy recordings at uneven times, through the real
splines, least squares and integrators, the CLI included."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from autoalign.discover.dynamics import DynamicsError, find_dynamics
from autoalign.discover.systems import SYSTEMS, system
from tests.test_cli import autoalign


@pytest.mark.parametrize("name", ["decay", "swing", "damped", "predators"])
def test_library_systems_are_recovered_from_one_percent_noise(name) -> None:
    demo = system(name).demo(samples=400, noise=0.01, seed=3, law_finder_s=0)
    assert demo.dynamics.order == system(name).order
    assert demo.recovered, demo.as_dict()
    assert all(c.same_terms for c in demo.checks)


def test_a_rate_outside_the_library_is_left_to_the_law_finder() -> None:
    enzyme = system("enzyme")
    without = enzyme.demo(samples=400, noise=0.01, seed=0, law_finder_s=0)
    assert not without.recovered  # no polynomial of degree 3 follows -V·S/(K + S) within 5%
    found = enzyme.demo(samples=400, noise=0.01, seed=0, law_finder_s=15)
    assert found.recovered, found.as_dict()
    assert found.dynamics.equations[0].source == "law finder"


def test_the_check_refuses_an_approximation_and_other_terms() -> None:
    swing = system("swing")
    theta = sympy.Symbol("theta", real=True)
    small_angles = swing.check({"theta": -6.54 * theta})[0]
    assert not small_angles.recovered and small_angles.error > 0.05 and small_angles.same_terms is False
    assert not swing.check({})[0].recovered
    assert swing.check(swing.true_equations())[0].recovered
    assert len({s.name for s in SYSTEMS}) == len(SYSTEMS) >= 9
    assert sum(s.held_out for s in SYSTEMS) >= 3


def test_rows_are_sorted_missing_ones_dropped_and_bad_recordings_refused() -> None:
    recording = system("cooling").record(300, 0.01, seed=1)
    order = np.random.default_rng(0).permutation(300)
    t, x = recording.t[order].copy(), recording.values[order].copy()
    x[5, 0] = np.nan
    found = find_dynamics(t, x, ["T"])
    assert found.rows_dropped == 1 and found.rows_used == 299
    assert system("cooling").check(found.laws())[0].recovered
    with pytest.raises(DynamicsError, match="at least 30"):
        find_dynamics(t[:10], x[:10], ["T"])
    with pytest.raises(DynamicsError, match="never change"):
        find_dynamics(t, np.ones_like(x), ["T"])
    with pytest.raises(DynamicsError, match="1 or 2"):
        find_dynamics(t, x, ["T"], max_order=3)
    with pytest.raises(DynamicsError, match="2 names for 1 variables"):
        find_dynamics(t, x, ["T", "U"])


def test_cli_finds_the_equation_in_a_csv_and_runs_a_demo(tmp_path, workspace_path) -> None:
    recording = system("decay").record(300, 0.01, seed=2)
    path = tmp_path / "decay.csv"
    np.savetxt(path, np.c_[recording.t, recording.values], delimiter=",", header="time,N", comments="")
    result = autoalign(workspace_path, "discover", "dynamics", str(path), "--time-column", "time", "--json")
    payload = json.loads(result.stdout)
    assert payload["order"] == 1 and payload["equations"][0]["variable"] == "N'"
    n = sympy.Symbol("N")
    law = sympy.sympify(payload["equations"][0]["expression"], locals={"N": n})
    assert law.free_symbols == {n} and abs(float(law.coeff(n)) + 0.35) < 0.35 * 0.02
    missing = autoalign(workspace_path, "discover", "dynamics", str(path), "--time-column", "t", check=False)
    assert missing.returncode == 1 and "no column 't'" in missing.stderr and "Traceback" not in missing.stderr
    listing = autoalign(workspace_path, "discover", "demo")
    assert "swing" in listing.stdout and "pendulum" in listing.stdout
    demo = autoalign(workspace_path, "discover", "demo", "decay", "--time", "5")
    assert "N' = -0.35" in demo.stdout and "recovered" in demo.stdout


def test_state_variables_are_found_in_many_sensors_then_their_equation() -> None:
    demo = system("swing").demo(samples=600, seed=1, law_finder_s=0, streams=True)
    assert demo.summary is not None
    (theta,) = demo.summary.variables
    assert theta.units == "rad" and len(theta.members) == 24
    assert demo.recovered, demo.as_dict()
    assert not set(theta.members) & set(demo.summary.irrelevant)


def test_cli_reads_raw_sensor_streams_with_their_units(tmp_path, workspace_path) -> None:
    t, table = system("decay").streams(samples=400, seed=4)
    path = tmp_path / "bench.csv"
    rows = [",".join(["time", *table.names])]
    rows += [
        ",".join([f"{t[i]:.10g}"] + [f"{v:.10g}" if np.isfinite(v) else "" for v in table.values[i]])
        for i in range(len(t))
    ]
    path.write_text("\n".join(rows) + "\n")
    result = autoalign(
        workspace_path, "discover", "dynamics", str(path), "--time-column", "time", "--streams", "--json"
    )
    payload = json.loads(result.stdout)
    (variable,) = payload["variables"]
    assert len(variable["sensors"]) == 24 and payload["dynamics"]["order"] == 1
    (equation,) = payload["dynamics"]["equations"]
    q = sympy.Symbol(variable["name"])
    law = sympy.sympify(equation["expression"], locals={variable["name"]: q})
    assert law.free_symbols == {q} and abs(float(law.coeff(q)) + 0.35) < 0.35 * 0.02
