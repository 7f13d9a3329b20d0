"""The gallery of apparatus: its simulations, the grouping on all of them, the hand-off to laws,
the judge, and the CLI's JSON, through the real estimator."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import sympy

from autoalign.discover import discover_streams, read_streams
from autoalign.discover.apparatus import IRRELEVANT
from autoalign.discover.gallery import APPARATUS, apparatus
from autoalign.discover.judge import _refitted_error, judge
from autoalign.discover.variables import find_summary_variables
from autoalign.errors import NotFoundError
from tests.test_cli import autoalign

SAMPLES = 1200


def test_the_gallery_has_eight_or_more_benches_of_the_kind_asked_for():
    assert len(APPARATUS) >= 8 and sum(a.held_out for a in APPARATUS.values()) >= 4
    declared = set()
    for entry in APPARATUS.values():
        table = entry.simulate(300, seed=0)
        assert 100 <= len(table.names) <= 500, entry.name
        assert IRRELEVANT in table.quantities and None in table.units, entry.name
        assert set(entry.derived) | set(entry.base) == set(entry.quantities)
        declared |= {u for u in table.units if u}
    assert {"°F", "bar", "day", "solar_mass", "inch", "psi", "mV"} <= declared
    with pytest.raises(NotFoundError, match="no apparatus 'rocket'"):
        apparatus("rocket")


def test_the_streams_written_to_csv_carry_no_truth(tmp_path):
    table = APPARATUS["orbits"].simulate(200, seed=4)
    csv_path, units_path = table.to_csv(tmp_path / "orbits.csv")
    text = csv_path.read_text() + units_path.read_text()
    assert all(q not in text for q in ("irrelevant", "orbital"))
    matrix, names, units = read_streams(csv_path, units_path)
    assert names == table.names and units == table.known_units()
    assert np.array_equal(np.isnan(matrix), np.isnan(table.values))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(APPARATUS))
def test_every_apparatus_gives_pure_groups_one_per_quantity(name):
    entry = APPARATUS[name]
    table = entry.simulate(SAMPLES, seed=7)
    found = find_summary_variables(table.values, table.names, table.known_units(), seed=0)
    truth = table.truth()
    seen = []
    for variable in found.variables:
        counts = Counter(truth[m] for m in variable.members)
        quantity, count = counts.most_common(1)[0]
        assert count / len(variable.members) >= 0.95 and not counts[IRRELEVANT], (variable.name, counts)
        seen.append(quantity)
    assert sorted(seen) == sorted(entry.quantities)
    assert found.n_independent == len(entry.base)


def test_units_keep_a_law_linked_pair_apart_and_without_units_the_data_do():
    """A pendulum's period is a monotone function of its length: ranks cannot tell them apart."""
    table = APPARATUS["pendulum"].simulate(SAMPLES, seed=2)
    truth = table.truth()
    for units in (table.known_units(), None):
        found = find_summary_variables(table.values, table.names, units, seed=0)
        groups = [Counter(truth[m] for m in v.members) for v in found.variables]
        assert sorted(g.most_common(1)[0][0] for g in groups) == ["L", "amplitude", "m", "tau"]
        assert all(len(g) == 1 for g in groups), groups
    # Without units, it says that the two could be one quantity seen through a monotone law.
    assert len(found.maybe_one) == 1 and "monotone law" in found.maybe_one[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_least_precise_of_linked_quantities_is_the_target_not_an_input(seed):
    """On the lens, any of u, v, f and the magnification m follows from two others. m is read to
    0.1% of 1 where it is 0.03: as an input it bends the law (u/(1 + 1/m) became
    u/(8·sin(cos m)/7 + 1/sin m)); as the target it only scatters the fit."""
    table = APPARATUS["lens"].simulate(SAMPLES, seed=seed)
    found = find_summary_variables(table.values, table.names, table.known_units(), seed=0)
    truth = table.truth()
    stands_for = {v.name: Counter(truth[m] for m in v.members).most_common(1)[0][0] for v in found.variables}
    assert "magnification" in stands_for.values()
    assert len(found.independent) == 2 and "magnification" not in {stands_for[n] for n in found.independent}


def test_a_quantity_that_every_sensor_missed_drops_rows_not_the_run():
    entry = APPARATUS["pendulum"]
    table = entry.simulate(SAMPLES, seed=3)
    values = table.values.copy()
    period = [j for j, q in enumerate(table.quantities) if q == "tau"]
    values[100:160, period] = np.nan  # every period sensor out for 60 samples
    result = discover_streams(values, table.names, table.known_units(), time_budget_s=8, seed=0)
    (law,) = result.laws
    assert law.rows_dropped == 60 and law.rows_used == SAMPLES - 60
    assert law.result.found and law.result.r2 > 0.999
    # The period in the length alone (or the other way round), not in the bob's mass as well.
    verdict = judge(entry, table, result)
    stands_for = {g.variable: g.quantity for g in verdict.groups}
    assert verdict.groups_ok and {stands_for[law.result.target], *(stands_for[i] for i in law.inputs)} == {"L", "tau"}


def test_two_laws_on_one_bench_are_both_found():
    entry = APPARATUS["circuit"]
    table = entry.simulate(SAMPLES, seed=0)
    result = discover_streams(table.values, table.names, table.known_units(), time_budget_s=12, seed=0)
    verdict = judge(entry, table, result)
    assert verdict.groups_ok and len(result.laws) == 2
    assert verdict.laws_ok, [law.__dict__ for law in verdict.laws]


def test_the_judge_allows_calibrated_constants_but_not_another_form():
    x, y = sympy.symbols("x y")
    points = {"x": np.linspace(1, 3, 50), "y": np.linspace(2, 5, 50)[::-1]}
    truth = 2 * sympy.pi * sympy.sqrt(x / y)
    assert _refitted_error(sympy.Float(6.31) * sympy.sqrt(sympy.Float(1.002) * x / y), truth, points) < 1e-6
    assert _refitted_error(sympy.Float(0.5) * x / y + sympy.Float(3.0), truth, points) > 1e-4
    assert _refitted_error(sympy.Float(6.3) * (x / y) ** sympy.Float(0.49), truth, points) > 1e-4


def test_cli_variables_json_on_a_hand_written_table_finds_its_law(tmp_path, workspace_path):
    entry = APPARATUS["pendulum"]
    table = entry.simulate(800, seed=5)
    csv_path, units_path = table.to_csv(tmp_path / "swing.csv")
    shown = autoalign(
        workspace_path, "discover", "variables", str(csv_path), "--units", str(units_path), "--time", "8", "--json"
    )
    payload = json.loads(shown.stdout)
    truth = table.truth()
    stands_for = {v["name"]: Counter(truth[m] for m in v["members"]).most_common(1)[0][0] for v in payload["variables"]}
    assert sorted(stands_for.values()) == ["L", "amplitude", "m", "tau"]
    assert all(len(v["member_units"]) == len(v["members"]) and v["formula"] for v in payload["variables"])
    assert payload["n_independent"] == 3
    (law,) = payload["laws"]
    assert {stands_for[law["target"]], *(stands_for[i] for i in law["inputs"])} == {"L", "tau"}
    assert law["found"] and law["held_out_r2"] > 0.999
