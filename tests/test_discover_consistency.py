"""Laws that respect their variables' units, power laws in thirds and quarters, and sums offered
with fewer terms: what keeps laws between summary variables from fitting calibration residue."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from autoalign.discover import SUMMARY_ERROR_FLOOR, LawFinder, find_summary_variables
from autoalign.discover.brute_force import BruteForce
from autoalign.discover.consistency import respects_units
from autoalign.discover.gallery import APPARATUS
from autoalign.discover.sparse import sparse_sum
from autoalign.discover.units import BASE_SYMBOLS, Dimension, parse_units

U, I, t, m, x, C = sympy.symbols("U I t m x C", real=True)  # noqa: E741 (I is a current)
DIMENSIONS = {U: parse_units("V"), I: parse_units("A"), t: parse_units("s"), m: parse_units("kg"), x: parse_units("m")}
DIMENSIONS[C] = parse_units("1/s")


@pytest.mark.parametrize(
    ("law", "units", "respects"),
    [
        ("U*I", "W", True),
        ("0.995*U*I + 0.0004", "W", True),  # the float carries watts
        ("U + I", "W", False),
        ("0.996*U*sin(I)", "W", False),  # the sine of a current
        ("2.1*U*sin(0.47*I)", "W", True),  # 0.47 per ampere
        ("asin(sin(U*I))", "W", False),
        ("6.3*exp(-7.2e-7*t)/sqrt(C)", "m", True),
        ("44*exp(-t/cos(1/C))/(7*C**0.499)", "m", False),
        ("x**(3/2)/sqrt(m)", "s", False),  # Kepler without G
        ("0.2*x**(3/2)/sqrt(m)", "s", True),
        ("x**t", "m", False),
        ("exp(2.1 - 0.5*log(C))", "m", True),  # a fitted log y: e^2.1 / sqrt(C)
        ("log(U + I)", "1", False),
        ("0.7*log(C) + 2.5", "1", True),  # 0.7·log(C/C0)
        ("0.7*log(C)", "1", False),
        ("sin(log(x)) + 0.5", "1", False),
        ("log(0.3*x)", "1", True),
        ("Abs(U)*I", "W", True),
        ("x**1.0004", "m", False),
        ("0.9*x**1.0004", "m", True),
        ("(U/I)**(1/2)", "ohm^(1/2)", True),
    ],
)
def test_a_law_respects_units_where_every_sum_function_and_power_does(law: str, units: str, respects: bool) -> None:
    expression = sympy.sympify(law, locals={str(s): s for s in DIMENSIONS})
    assert respects_units(expression, DIMENSIONS, parse_units(units)) is respects


dimensions = st.builds(
    lambda powers: Dimension(tuple(Fraction(p) for p in powers)),
    st.lists(st.integers(-3, 3), min_size=len(BASE_SYMBOLS), max_size=len(BASE_SYMBOLS)),
)


@given(st.lists(st.tuples(dimensions, st.fractions(-3, 3, max_denominator=4)), min_size=1, max_size=4), dimensions)
def test_a_monomial_respects_units_exactly_when_its_powers_make_the_target(factors, target) -> None:
    symbols = sympy.symbols(f"v0:{len(factors)}", positive=True)
    powers = [sympy.Rational(p.numerator, p.denominator) for _, p in factors]
    law = sympy.Mul(*(s**p for s, p in zip(symbols, powers, strict=True)))
    product = Dimension()
    for dimension, power in factors:
        product = product * dimension**power
    mapping = {s: d for s, (d, _) in zip(symbols, factors, strict=True)}
    assert respects_units(law, mapping, target) is (product == target)
    assert respects_units(sympy.Float(2.5) * law, mapping, target)  # a fitted constant carries the rest


def _circuit_variables(seed: int) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, str]]:
    """The gallery circuit's heat as a function of its voltage and current, from the streams."""
    table = APPARATUS["circuit"].simulate(2000, seed=seed)
    summary = find_summary_variables(table.values, table.names, table.known_units(), seed=seed)
    truth = table.truth()
    named = {truth[v.members[0]]: v for v in summary.variables}
    heat, voltage, current = named["P"], named["V"], named["I"]
    values = np.column_stack([heat.values, voltage.values, current.values])
    values = values[np.all(np.isfinite(values), axis=1)]
    units = {heat.name: heat.units, voltage.name: voltage.units, current.name: current.units}
    return values[:, 1:], values[:, 0], [voltage.name, current.name], units


def test_laws_between_summary_variables_respect_their_units() -> None:
    """On these streams the heat was once found as 0.996·U·sin(I): the sine of a current fits
    the calibration residue better than U·I does, and only the units tell them apart."""
    X, y, names, units = _circuit_variables(seed=1)
    target = next(name for name in units if name not in names)
    finder = LawFinder(time_budget_s=10, error_floor=SUMMARY_ERROR_FLOOR).fit(
        X, y, names=names, units=units, target_name=target
    )
    dimensions = {s: parse_units(units[s.name]) for s in finder.symbols_}
    assert finder.pareto_front_
    for law in finder.pareto_front_:
        assert respects_units(law.expression, dimensions, parse_units(units[target])), law.expression
    voltage, current = finder.symbols_
    ratio = sympy.simplify(finder.law_ / (voltage * current))
    assert not ratio.free_symbols and float(ratio) == pytest.approx(1.0, abs=0.01)


def test_an_exact_law_that_breaks_the_units_given_is_kept_and_said() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, (500, 2))
    messages: list[str] = []
    finder = LawFinder(time_budget_s=5).fit(
        X,
        X[:, 0] + X[:, 1] ** 2,
        names=["a", "b"],
        units={"a": "m", "b": "m", "y": "m"},  # b**2 is m^2: the units are wrong
        progress=messages.append,
    )
    assert finder.found_ and str(finder.law_) == "a + b**2"
    assert any("does not respect the units" in message for message in messages)


def test_power_laws_in_thirds_are_found_directly() -> None:
    """Kepler's third law solved for the distance: a ∝ T^(2/3)·M^(1/3), with no pure-number
    form in these units (G is a fitted constant) and 1e-4 of relative noise."""
    rng = np.random.default_rng(3)
    period, mass = rng.uniform(5e6, 1.8e8, 1000), rng.uniform(1.6e30, 2.5e30, 1000)
    distance = (6.674e-11 * mass * period**2 / (4 * np.pi**2)) ** (1 / 3) * (1 + 1e-4 * rng.standard_normal(1000))
    finder = LawFinder(time_budget_s=10, error_floor=SUMMARY_ERROR_FLOOR).fit(
        np.column_stack([period, mass]),
        distance,
        names=["T", "M"],
        units={"T": "s", "M": "kg", "a": "m"},
        target_name="a",
    )
    T, M = finder.symbols_
    assert finder.law_.as_powers_dict()[T] == sympy.Rational(2, 3)
    assert finder.law_.as_powers_dict()[M] == sympy.Rational(1, 3)


def test_terms_of_sums_respect_units_by_the_same_rules_as_laws() -> None:
    """The sparse sums' terms are judged from how brute force built them, without sympy: every
    term kept must respect the units written out (a fitted coefficient in front carries the
    units of the whole). The converse can fail where sympy rewrites a term as it builds it:
    log(√(exp(t))) is written t/2."""
    sample = np.random.default_rng(0).uniform(1, 5, (64, 2))
    _, terms = BruteForce([t, C], max_size=4).features(sample)
    mask, kept = terms.respecting([tuple(map(float, DIMENSIONS[s].exponents)) for s in (t, C)])
    anything = parse_units("m")
    verdicts = [
        respects_units(
            sympy.Add(sympy.Mul(sympy.Float(1.5), terms[i], evaluate=False), sympy.Float(0.5), evaluate=False),
            DIMENSIONS,
            anything,
        )
        for i in range(len(terms))
    ]
    assert all(verdict for keep, verdict in zip(mask, verdicts, strict=True) if keep)
    assert sum(verdicts) - mask.sum() < 0.05 * len(terms)
    assert 0 < len(kept) < len(terms)
    assert t * C in list(kept) and sympy.log(C) in list(kept) and 1 / C + t in list(kept)
    assert sympy.sin(t) not in list(kept) and t + C not in list(kept) and sympy.log(C) ** 2 not in list(kept)


def test_sparse_sums_offer_their_shorter_forms() -> None:
    """A sum that picked up a term fitting residue is offered without it as well, so that the
    held-out rows, not the sample, decide."""
    x = np.random.default_rng(1).uniform(1, 5, (256, 2))
    a, b = sympy.symbols("a b", real=True)
    features, terms = BruteForce([a, b], max_size=4).features(x)
    target = x[:, 0] ** 2 + 3 * x[:, 0] * x[:, 1] + np.sin(x[:, 1]) + 1e-3 * np.cos(3 * x[:, 0])
    fit = sparse_sum(features, terms, target)
    assert fit is not None and not fit.exact
    # A coefficient for each term and the constant (a term may be written as several: a·(a - 1)).
    constants = [len({abs(float(f)) for f in e.atoms(sympy.Float)}) for e in (fit.expression, *fit.shorter)]
    assert len(constants) >= 2 and all(more > fewer for more, fewer in zip(constants, constants[1:], strict=False))
    assert constants[-1] <= 3  # two terms and the constant
