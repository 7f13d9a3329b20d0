"""SI units, Buckingham Pi, and the units table of the Feynman benchmark (consistent for all 100 equations)."""

from __future__ import annotations

import csv
import tomllib
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
import sympy

from autoalign.discover.pi_groups import PiAnalysis, buckingham_pi
from autoalign.discover.units import (
    DIMENSIONLESS,
    Dimension,
    UnitsError,
    parse_units,
    parse_units_table,
    read_units_file,
)
from autoalign.errors import AutoalignError
from tests.conftest import ROOT, SHARED

FEYNMAN_CSV = SHARED / "data" / "feynman" / "FeynmanEquations.csv"
FEYNMAN_UNITS = ROOT / "bench" / "data" / "feynman_units.toml"

NEWTON = Dimension.of(kg=1, m=1, s=-2)
JOULE = Dimension.of(kg=1, m=2, s=-2)


def units(**strings: str) -> dict[str, Dimension]:
    return {name: parse_units(text) for name, text in strings.items()}


# --- parsing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kg*m/s^2", NEWTON),
        ("m^2 kg s^-2", JOULE),
        ("kg·m²·s⁻²", JOULE),
        ("kg m / s**2", NEWTON),
        ("N/m^2", Dimension.of(kg=1, m=-1, s=-2)),
        ("kPa", Dimension.of(kg=1, m=-1, s=-2)),
        ("J", JOULE),
        ("eV", JOULE),
        ("MeV", JOULE),
        ("W", Dimension.of(kg=1, m=2, s=-3)),
        ("C", Dimension.of(A=1, s=1)),
        ("V", Dimension.of(kg=1, m=2, s=-3, A=-1)),
        ("T", Dimension.of(kg=1, s=-2, A=-1)),
        ("T*m", Dimension.of(kg=1, m=1, s=-2, A=-1)),
        ("Ohm", Dimension.of(kg=1, m=2, s=-3, A=-2)),
        ("Ω", Dimension.of(kg=1, m=2, s=-3, A=-2)),
        ("F", Dimension.of(kg=-1, m=-2, s=4, A=2)),
        ("H", Dimension.of(kg=1, m=2, s=-2, A=-2)),
        ("Hz", Dimension.of(s=-1)),
        ("rad/s", Dimension.of(s=-1)),
        ("K", Dimension.of(K=1)),
        ("mol", Dimension.of(mol=1)),
        ("cd", Dimension.of(cd=1)),
        ("J/(mol*K)", Dimension.of(kg=1, m=2, s=-2, mol=-1, K=-1)),
        ("(m/s)^2", Dimension.of(m=2, s=-2)),
        ("km", Dimension.of(m=1)),
        ("cm^-3", Dimension.of(m=-3)),
        ("mm", Dimension.of(m=1)),
        ("µs", Dimension.of(s=1)),
        ("g", Dimension.of(kg=1)),
        ("mg", Dimension.of(kg=1)),
        ("m^(1/2)", Dimension.of(m=Fraction(1, 2))),
        ("s^-0.5", Dimension.of(s=Fraction(-1, 2))),
        ("1/s", Dimension.of(s=-1)),
        ("rad", DIMENSIONLESS),
        ("1", DIMENSIONLESS),
        ("", DIMENSIONLESS),
        ("  ", DIMENSIONLESS),
        ("dimensionless", DIMENSIONLESS),
    ],
)
def test_parse_units(text, expected):
    assert parse_units(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("foo", "unknown unit 'foo'"),
        ("hz", "did you mean 'Hz'"),
        ("kg*/m", "expected a unit but found '/'"),
        ("m^", "ends where a power was expected"),
        ("(m/s", "ends where ')' was expected"),
        ("kg)", "unexpected ')'"),
        ("m^x", "expected a number after '^'"),
        ("m^1/2", "write units without numeric factors and fractional powers as m^(1/2)"),
        ("3 m", "'3' is not a unit"),
        ("m^(1/0)", "non-zero number"),
        ("W/m^2 K", "ambiguous; use parentheses"),
        ("m @ s", "unexpected character '@'"),
    ],
)
def test_bad_units_say_what_is_wrong(text, reason):
    with pytest.raises(UnitsError) as caught:
        parse_units(text)
    assert isinstance(caught.value, AutoalignError)
    assert repr(text) in str(caught.value) and reason in str(caught.value)


def test_units_must_be_text():
    with pytest.raises(UnitsError, match="must be text"):
        parse_units(3.5)  # type: ignore[arg-type]


def test_dimension_algebra_and_text():
    velocity = Dimension.of(m=1, s=-1)
    assert velocity * Dimension.of(s=1) == Dimension.of(m=1)
    assert Dimension.of(m=1) == JOULE / NEWTON
    assert (velocity**2).exponents[0] == 2
    assert Dimension.of(m=2) ** Fraction(1, 2) == Dimension.of(m=1)
    assert (JOULE / JOULE).is_dimensionless and not velocity.is_dimensionless
    assert str(JOULE) == "m^2*kg/s^2"
    assert str(parse_units("V")) == "m^2*kg/(s^3*A)"
    assert str(DIMENSIONLESS) == "1" and str(Dimension.of(s=-1)) == "1/s"
    assert str(Dimension.of(m=Fraction(1, 2))) == "m^(1/2)"
    for text in ["V", "F", "J/(mol*K)", "m^(1/2)", "1/s", "1", "W/m^2"]:
        assert parse_units(str(parse_units(text))) == parse_units(text)
    assert hash(parse_units("N*m")) == hash(JOULE)
    with pytest.raises(TypeError):
        JOULE**0.5  # type: ignore[operator]
    with pytest.raises(ValueError, match="not SI base units"):
        Dimension.of(ft=1)


def test_read_units_file(tmp_path):
    flat = tmp_path / "flat.toml"
    flat.write_text('F = "N"\nm = "kg"\nratio = 1\n"x position" = "cm"\n')
    assert read_units_file(flat) == {
        "F": NEWTON,
        "m": Dimension.of(kg=1),
        "ratio": DIMENSIONLESS,
        "x position": Dimension.of(m=1),
    }
    nested = tmp_path / "nested.toml"
    nested.write_text('title = "drag"\n[units]\nF = "N"\nunits = "m"\n')
    assert read_units_file(nested) == {"F": NEWTON, "units": Dimension.of(m=1)}


@pytest.mark.parametrize(
    ("content", "reasons"),
    [
        ('F = "N\n', ["is not valid TOML"]),
        (
            'F = "furlong"\nv = "m/s"\nm = 2.5\n',
            ["'F': cannot read units 'furlong'", '\'m\': expected a units string such as "m/s" or "1", got float'],
        ),
        ('F = true\n[g]\nx = "m"\n', ["'F': expected a units string", "'g': expected a units string"]),
    ],
)
def test_bad_units_files_name_every_problem(tmp_path, content, reasons):
    path = tmp_path / "units.toml"
    path.write_text(content)
    with pytest.raises(UnitsError) as caught:
        read_units_file(path)
    assert str(path) in str(caught.value)
    for reason in reasons:
        assert reason in str(caught.value)


def test_missing_or_unreadable_units_file(tmp_path):
    with pytest.raises(UnitsError, match="does not exist"):
        read_units_file(tmp_path / "nope.toml")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UnitsError, match="cannot read units file"):
        read_units_file(tmp_path / "binary.toml")


# --- Buckingham Pi -------------------------------------------------------------------------------------------


def powers(**exponents: int | Fraction) -> dict[str, Fraction]:
    return {name: Fraction(e) for name, e in exponents.items()}


def test_ideal_gas_needs_the_gas_constant():
    """P*V = n*R*T: without R no product of V, n, T is a pressure, so dimensional analysis does not apply."""
    without_r = buckingham_pi(units(V="m^3", n="mol", T="K", P="Pa"), "P")
    assert without_r.groups == [] and without_r.target_scale is None
    with pytest.raises(UnitsError, match="dimensional analysis does not apply"):
        without_r.transform(np.ones((3, 3)), np.ones(3))
    with_r = buckingham_pi(units(V="m^3", n="mol", T="K", R="J/(mol*K)", P="Pa"), "P")
    assert with_r.groups == [] and with_r.target_scale == powers(V=-1, n=1, T=1, R=1)


def test_pendulum_period_drops_the_mass():
    """T from L, g, m: the textbook group g*T^2/L shows as the target scale sqrt(L/g); the mass drops out."""
    analysis = buckingham_pi(units(L="m", g="m/s^2", m="kg", T="s"), "T")
    assert analysis.groups == []
    assert analysis.target_scale == powers(L=Fraction(1, 2), g=Fraction(-1, 2))
    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 10, size=(50, 3))
    period = 2 * np.pi * np.sqrt(X[:, 0] / X[:, 1])
    P, y = analysis.transform(X, period)
    assert P.shape == (50, 0)
    np.testing.assert_allclose(y, 2 * np.pi)
    law = analysis.to_original(2 * sympy.pi, [])
    assert law == 2 * sympy.pi * sympy.sqrt(sympy.Symbol("L")) / sympy.sqrt(sympy.Symbol("g"))


def test_drag_force_depends_on_the_reynolds_number():
    analysis = buckingham_pi(units(rho="kg/m^3", v="m/s", L="m", mu="Pa*s", F="N"), "F")
    assert analysis.groups == [powers(rho=1, v=1, L=1, mu=-1)]
    scale = analysis.target_scale
    assert scale is not None and len(scale) == 2
    assert_dimensionless(analysis, units(rho="kg/m^3", v="m/s", L="m", mu="Pa*s", F="N"))


def test_law_in_groups_round_trips_through_the_original_variables():
    """y computed from a law written in the groups comes back as that law of the groups after transform."""
    table = units(rho="kg/m^3", v="m/s", L="m", mu="Pa*s", F="N")
    analysis = buckingham_pi(table, "F")
    pi = sympy.Symbol("pi1")
    law_in_groups = 12 * pi + pi**2 / 2
    law = analysis.to_original(law_in_groups, [pi])
    assert law.free_symbols == {sympy.Symbol(name) for name in ("rho", "v", "L", "mu")}
    rng = np.random.default_rng(1)
    X = rng.uniform(0.5, 4, size=(200, 4))
    y = sympy.lambdify([sympy.Symbol(name) for name in analysis.inputs], law)(*X.T)
    P, y_dimensionless = analysis.transform(X, y)
    np.testing.assert_allclose(y_dimensionless, 12 * P[:, 0] + P[:, 0] ** 2 / 2, rtol=1e-10)
    reynolds = X[:, 0] * X[:, 1] * X[:, 2] / X[:, 3]
    np.testing.assert_allclose(P[:, 0], reynolds)


def test_same_dimensions_become_ratios_and_dimensionless_inputs_their_own_groups():
    analysis = buckingham_pi(units(x1="m", x2="m", y1="cm", angle="rad", n="1", d="m"), "d")
    assert analysis.groups == [powers(angle=1), powers(n=1), powers(x1=-1, x2=1), powers(x1=-1, y1=1)]
    assert analysis.target_scale == powers(x1=1)
    assert str(analysis) == "d / (x1) = F(pi1 = angle, pi2 = n, pi3 = x2/x1, pi4 = y1/x1)"


def test_prefers_whole_small_exponents():
    """A length target scales by the length L, not by sqrt(A); an area pairs with L^2."""
    analysis = buckingham_pi(units(A="m^2", L="m", y="m"), "y")
    assert analysis.target_scale == powers(L=1)
    assert analysis.groups == [powers(A=-1, L=2)]


def test_all_dimensionless():
    analysis = buckingham_pi(units(a="1", b="rad", y="1"), "y")
    assert analysis.groups == [powers(a=1), powers(b=1)] and analysis.target_scale == {}
    assert buckingham_pi(units(a="1", y="m"), "y").target_scale is None
    assert buckingham_pi(units(y="m/s"), "y") == PiAnalysis(inputs=(), target="y", groups=[], target_scale=None)


def test_dimensionless_target_of_dimensioned_inputs():
    analysis = buckingham_pi(units(E="J", k="J/K", T="K", n="1"), "n")
    assert analysis.target_scale == {}
    assert analysis.groups == [powers(E=-1, k=1, T=1)]


def test_missing_units_are_named():
    table = units(x="m", y="m")
    with pytest.raises(UnitsError, match="no units given for z, w"):
        buckingham_pi({**table, "w": None}, "w", inputs=["x", "z"])
    with pytest.raises(UnitsError, match="cannot also be an input"):
        buckingham_pi(table, "y", inputs=["x", "y"])


def test_inputs_fix_the_column_order():
    analysis = buckingham_pi(units(y="m", a="m", b="m"), "y", inputs=["b", "a"])
    assert analysis.inputs == ("b", "a")
    assert analysis.groups == [powers(b=-1, a=1)] and analysis.target_scale == powers(b=1)


def test_transform_names_a_power_it_cannot_take():
    analysis = buckingham_pi(units(L="m", g="m/s^2", T="s"), "T")
    with pytest.raises(UnitsError, match=r"L\^\(1/2\), which the value -1 of L cannot take"):
        analysis.transform(np.array([[1.0, 9.8], [-1.0, 9.8]]), np.ones(2))
    with pytest.raises(ValueError, match="expected X of shape"):
        analysis.transform(np.ones((2, 3)), np.ones(2))


def assert_dimensionless(analysis: PiAnalysis, table: dict[str, Dimension]) -> None:
    """Every group is dimensionless, the target over its scale too, and the groups are independent."""

    def product(exponents: dict[str, Fraction]) -> Dimension:
        result = DIMENSIONLESS
        for name, e in exponents.items():
            result = result * table[name] ** e
        return result

    for group in analysis.groups:
        assert product(group).is_dimensionless, group
    if analysis.target_scale is not None:
        assert (table[analysis.target] / product(analysis.target_scale)).is_dimensionless
    matrix = sympy.Matrix([[group.get(name, 0) for name in analysis.inputs] for group in analysis.groups])
    assert matrix.rank() == len(analysis.groups)
    dimensions = sympy.Matrix([[e for e in table[name].exponents] for name in analysis.inputs])
    assert len(analysis.groups) == len(analysis.inputs) - (dimensions.rank() if analysis.inputs else 0)


# --- the Feynman benchmark's units table ---------------------------------------------------------------------


def feynman_equations() -> list[dict[str, object]]:
    if not FEYNMAN_CSV.is_file():
        pytest.skip(f"the Feynman equations are not here ({FEYNMAN_CSV}); these tests need ../shared/data/feynman")
    with FEYNMAN_CSV.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Filename"]]
    equations = []
    for row in rows:  # "# variables" is wrong in six rows (I.18.12 has 3, says 2): count the names instead
        variables = [
            (row[f"v{i}_name"], float(row[f"v{i}_low"]), float(row[f"v{i}_high"]))
            for i in range(1, 11)
            if row[f"v{i}_name"]
        ]
        equations.append(
            {"name": row["Filename"], "output": row["Output"], "formula": row["Formula"], "variables": variables}
        )
    return equations


def feynman_formula(equation: dict[str, object]) -> sympy.Expr:
    """The formula as sympy reads it: the CSV writes negation as ``~`` (sympy's Not) and arcsin, ln as numpy does."""
    names = {name: sympy.Symbol(name) for name, _, _ in equation["variables"]}
    functions = {"arcsin": sympy.asin, "ln": sympy.log, "exp": sympy.exp, "pi": sympy.pi}
    return sympy.parse_expr(
        str(equation["formula"]).replace("~", "-"), local_dict={**functions, **names}, evaluate=False
    )


def dimension_of(expr: sympy.Expr, table: dict[str, Dimension]) -> Dimension:
    """The dimension of a formula; sums must agree and functions take and give dimensionless values."""
    if expr.is_number:
        return DIMENSIONLESS
    if expr.is_Symbol:
        return table[expr.name]
    if expr.is_Add:
        dimensions = {dimension_of(term, table) for term in expr.args}
        assert len(dimensions) == 1, f"{expr} adds {sorted(map(str, dimensions))}"
        return dimensions.pop()
    if expr.is_Mul:
        result = DIMENSIONLESS
        for factor in expr.args:
            result = result * dimension_of(factor, table)
        return result
    if expr.is_Pow and expr.exp.is_Rational:
        return dimension_of(expr.base, table) ** Fraction(int(expr.exp.p), int(expr.exp.q))
    for argument in expr.args:
        assert dimension_of(argument, table).is_dimensionless, f"{expr}: {argument} is not dimensionless"
    return DIMENSIONLESS


@pytest.fixture(scope="module")
def feynman_units() -> dict[str, dict[str, Dimension]]:
    data = tomllib.loads(FEYNMAN_UNITS.read_text(encoding="utf-8"))
    return {name: parse_units_table(table, f"{FEYNMAN_UNITS} [{name}]") for name, table in data.items()}


def test_feynman_units_cover_every_variable(feynman_units):
    equations = feynman_equations()
    assert len(equations) == 100
    assert set(feynman_units) == {equation["name"] for equation in equations}
    for equation in equations:
        expected = {equation["output"], *(name for name, _, _ in equation["variables"])}
        assert set(feynman_units[equation["name"]]) == expected, equation["name"]


def test_feynman_formulas_are_dimensionally_consistent(feynman_units):
    problems = []
    for equation in feynman_equations():
        table = feynman_units[equation["name"]]
        try:
            found = dimension_of(feynman_formula(equation), table)
        except AssertionError as error:
            problems.append(f"{equation['name']}: {error}")
            continue
        if found != table[equation["output"]]:
            problems.append(f"{equation['name']}: formula gives {found}, output is {table[equation['output']]}")
    assert not problems, "\n".join(problems)


def test_feynman_pi_groups_are_invariant_under_a_change_of_units(feynman_units, capsys):
    """Rescaling every base unit leaves the groups and the scaled target unchanged (on data from each formula).

    Also checks the same rescaling multiplies each formula's output by its units, a numeric twin of the
    symbolic consistency check, and prints how many groups each equation reduces to.
    """
    rng = np.random.default_rng(7)
    counts: dict[str, int] = {}
    for equation in feynman_equations():
        table = feynman_units[equation["name"]]
        names = [name for name, _, _ in equation["variables"]]
        analysis = buckingham_pi(table, str(equation["output"]), inputs=names)
        assert_dimensionless(analysis, table)
        assert analysis.target_scale is not None, equation["name"]
        counts[str(equation["name"])] = len(analysis.groups)

        formula = sympy.lambdify([sympy.Symbol(name) for name in names], feynman_formula(equation), "numpy")
        lows, highs = zip(*((low, high) for _, low, high in equation["variables"]), strict=True)
        X = rng.uniform(lows, highs, size=(64, len(names)))
        base_factors = rng.uniform(0.2, 5.0, size=7)

        def rescale(dimension: Dimension, factors: np.ndarray = base_factors) -> float:
            return float(np.prod([f ** float(e) for f, e in zip(factors, dimension.exponents, strict=True)]))

        X_rescaled = X * np.array([rescale(table[name]) for name in names])
        y = np.broadcast_to(np.asarray(formula(*X.T), dtype=float), (len(X),))
        y_rescaled = np.broadcast_to(np.asarray(formula(*X_rescaled.T), dtype=float), (len(X),))
        np.testing.assert_allclose(
            y_rescaled, y * rescale(table[str(equation["output"])]), rtol=1e-9, err_msg=equation["name"]
        )
        P, y_dimensionless = analysis.transform(X, y)
        P_rescaled, y_dimensionless_rescaled = analysis.transform(X_rescaled, y_rescaled)
        np.testing.assert_allclose(P_rescaled, P, rtol=1e-9, err_msg=equation["name"])
        np.testing.assert_allclose(y_dimensionless_rescaled, y_dimensionless, rtol=1e-9, err_msg=equation["name"])

    distribution = Counter(counts.values())
    inputs = Counter(len(equation["variables"]) for equation in feynman_equations())
    with capsys.disabled():
        print("\nFeynman equations by number of variables:", dict(sorted(inputs.items())))
        print("Feynman equations by number of Pi groups: ", dict(sorted(distribution.items())))
    assert sum(distribution.values()) == 100
