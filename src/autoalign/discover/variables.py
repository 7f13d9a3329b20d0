"""Summary variables from many raw sensor streams: which sensors measure one quantity, and what it is.

A table of streams from a real apparatus holds many sensors per quantity, each with its own offset,
gain, mild nonlinearity, noise and units, plus sensors that measure nothing of interest. The law
finder needs the opposite: one clean column per quantity, in physical units. The steps, and why:

1. **Checks.** Non-finite cells become missing (a logger writes inf for an overflow, NaN for a
   dropout); columns that are constant, near-constant (over half their readings are one value, so
   their ranks are mostly ties) or mostly missing carry no usable variation and are dropped and
   reported.
2. **Rank correlations.** Spearman's rho, pairwise over the rows both sensors have, compares sensors
   independently of units, offsets, gains, monotone nonlinearities and outliers: ranking is the
   robust standardization here. Two sensors of one quantity have |rho| near 1, whatever their units.
3. **Groups.** Average-linkage clustering on 1 - |rho|, cut where a merge stops looking like one
   quantity: a sensor joins a set when its correlation with the set, divided by the set's own
   reliability (the square root of its mean within-set |rho|), is at least :data:`SAME_QUANTITY`,
   and two sets merge when their cross-correlation divided by both reliabilities is. This corrects
   for each set's noise (the psychometric disattenuation), so the effective |rho| threshold is
   chosen from the data: a noisy set of load cells and a crisp set of gauges are held to the same
   standard, and two distinct quantities that correlate strongly (pressure and volume: |rho| 0.8)
   stay apart. Sets of at least two sensors are groups; redundancy is the evidence that a quantity
   is real, so a lone sensor is "derived" when the summary variables predict it (cross-validated
   R² >= :data:`EXPLAINED`) and "irrelevant" otherwise.
4. **Summary variables.** Each group's scale and zero come from its members with known units of the
   group's most common dimension, converted to SI (kPa -> Pa, °C -> K, mm -> m) and averaged with a
   10% trimmed mean (members reading backwards, such as an encoder measuring the distance to the
   other end, are left out of it): calibration errors of many sensors average out, which is what
   fixes absolute zero and scale, as ``P V ∝ N T`` needs. Each member's calibration curve (its
   reading as a polynomial of degree 1 to 3 in that anchor, chosen by BIC among monotone fits) is
   then fitted, forward because the anchor has little noise and the single sensor much, and the
   summary variable is the trimmed mean of all members' readings mapped back through their
   inverted curves: offsets, gains and nonlinearities are removed, members in other or unknown
   units contribute too, and noise averages down. Without any known units the anchor is the
   trimmed mean of the members' raw readings (of the members with a typical spread), so the zero
   of a common unit survives, and the variable's units are unknown.
5. **Independent quantities.** A summary variable that a polynomial of degree <= 3 in the others
   (in raw values, or in logarithms where all are positive, which makes power laws linear)
   predicts with cross-validated R² >= :data:`FUNCTION_OF_OTHERS` is a function of them; such
   variables are removed one at a time, best predicted first, and the number left is the number
   of independent quantities (the degrees of freedom behind the sensors). For the ideal-gas piston:
   4 groups (P, T, x, N), 3 independent quantities, since any one of them follows from the others.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations, combinations_with_replacement, product
from typing import cast

import numpy as np
from numpy.polynomial import Polynomial
from threadpoolctl import threadpool_limits

from autoalign.discover.grouping import NOT_LINEAR, SAME_QUANTITY, Grouping, group_sensors
from autoalign.discover.pint_units import unit_registry
from autoalign.discover.scaling import LIMIT, magnitude_exponent
from autoalign.errors import NotFoundError, StreamsError

#: Fewer rows give rank correlations too noisy to tell one quantity from two (sd ~ 0.2 at 30 rows).
MIN_ROWS = 30
#: A column missing in more than this share of its rows is dropped.
MAX_MISSING = 0.5
#: Share of readings cut at each end when averaging sensors, so one or two bad sensors cannot pull.
TRIM = 0.1
#: Highest degree of a sensor's calibration polynomial.
MAX_DEGREE = 3
#: Cross-validated R² at or above which a summary variable is a function of the others.
FUNCTION_OF_OTHERS = 0.99
#: A smaller set of inputs may leave this many times the unexplained share that all inputs leave...
AS_MUCH = 3.0
#: ...or this share, whichever is larger, and still be all that a variable is a function of.
UNEXPLAINED_FLOOR = 1e-4
#: Cross-validated R² at or above which a lone sensor is explained by the summary variables.
EXPLAINED = 0.9
#: Folds of the cross-validation.
FOLDS = 5
#: Points on which a calibration curve is checked for monotonicity and inverted.
GRID = 2048
#: How far beyond the calibrated range (as a share of it) a reading is still inverted.
EXTRAPOLATE = 0.25
#: Readings of known units beyond 10**±KNOWN_LIMIT in SI are refused: squared in the fits, they overflow.
KNOWN_LIMIT = 50

#: Dimension (pint dimensionality) -> (quantity, symbol of its summary variables, SI units).
_NAMED = {
    (("[length]", -1), ("[mass]", 1), ("[time]", -2)): ("pressure", "P", "Pa"),
    (("[temperature]", 1),): ("temperature", "T", "K"),
    (("[length]", 1),): ("length", "x", "m"),
    (("[length]", 2),): ("area", "A", "m^2"),
    (("[length]", 3),): ("volume", "V", "m^3"),
    (("[substance]", 1),): ("amount", "N", "mol"),
    (("[mass]", 1),): ("mass", "m", "kg"),
    (("[time]", 1),): ("time", "t", "s"),
    (("[time]", -1),): ("rate", "w", None),  # rad/s or 1/s: pint's own SI string says which
    (("[length]", 1), ("[time]", -1)): ("speed", "v", "m/s"),
    (("[length]", 1), ("[time]", -2)): ("acceleration", "a", "m/s^2"),
    (("[length]", 1), ("[mass]", 1), ("[time]", -2)): ("force", "F", "N"),
    (("[length]", 2), ("[mass]", 1), ("[time]", -2)): ("energy", "E", "J"),
    (("[length]", -3), ("[mass]", 1)): ("density", "rho", "kg/m^3"),
    ((), "rad"): ("angle", "theta", "rad"),  # angles are dimensionless: told apart by their SI unit
    (("[current]", 1),): ("current", "I", "A"),
    (("[current]", -1), ("[length]", 2), ("[mass]", 1), ("[time]", -3)): ("voltage", "U", "V"),
    (("[current]", -2), ("[length]", 2), ("[mass]", 1), ("[time]", -3)): ("resistance", "R", "ohm"),
    (("[length]", 2), ("[mass]", 1), ("[time]", -3)): ("power", "W", "W"),
    (("[length]", 3), ("[time]", -1)): ("flow", "Q", "m^3/s"),
    (("[length]", -1), ("[mass]", 1), ("[time]", -1)): ("viscosity", "mu", "Pa*s"),
    (("[mass]", 1), ("[time]", -2)): ("stiffness", "k", "N/m"),
    (("[mass]", 1), ("[time]", -1)): ("mass flow", "mdot", "kg/s"),
    (("[length]", -3), ("[substance]", 1)): ("concentration", "c", "mol/m^3"),
    (("[length]", -3), ("[substance]", 1), ("[time]", -1)): ("reaction rate", "r", "mol/(m^3*s)"),
}


@dataclass(frozen=True)
class Calibration:
    """One sensor's reading as a function of its group's summary variable."""

    sensor: str
    units: str | None  # as declared for the sensor
    curve: Polynomial  # reading = curve(variable), fitted over the variable's observed range
    r2: float  # of the reading against curve(variable)
    sets_scale: bool  # its readings, converted to SI, were averaged to fix the variable's scale and zero
    #: The curve is of the readings divided by 10**reading_exponent (readings of unknown units near
    #: 1e200 or 1e-300, whose squares in the fit would overflow or vanish).
    reading_exponent: int = 0

    def invert(self, readings: np.ndarray) -> np.ndarray:
        """The variable's value that each reading implies (NaN for readings far outside the calibrated
        range, where the curve was never checked)."""
        readings = readings / 10.0**self.reading_exponent if self.reading_exponent else readings
        low, high = self.curve.domain
        margin = (high - low) * EXTRAPOLATE
        grid = np.linspace(low - margin, high + margin, GRID)
        curve = self.curve(grid)
        if curve[0] > curve[-1]:
            grid, curve = grid[::-1], curve[::-1]
        return np.interp(readings, curve, grid, left=np.nan, right=np.nan)

    def describe(self, variable: str) -> str:
        """The curve as an equation, e.g. ``s017 = 1520 + 0.998·P1 + 3.1e-08·P1^2``."""
        terms = [
            f"{c:.4g}" + ("" if k == 0 else f"·{variable}" + ("" if k == 1 else f"^{k}"))
            for k, c in enumerate(self.curve.convert().coef)
        ]
        reading = f"{self.sensor}/1e{self.reading_exponent}" if self.reading_exponent else self.sensor
        return f"{reading} = " + " + ".join(terms).replace("+ -", "- ")


@dataclass(frozen=True)
class SummaryVariable:
    """One quantity, measured by a group of sensors and summarized from all of them."""

    name: str  # from the units' dimension ("P1" for a pressure), "q1" when unknown
    units: str | None  # SI units, None when no member's units were known
    quantity: str | None  # "pressure", "temperature", ... from the units; None when unknown
    calibrations: tuple[Calibration, ...]
    values: np.ndarray
    quality: float  # mean R² of the members against the variable
    noise: float  # standard error of a value (median over samples), from the members' scatter around it
    scale: str  # how the absolute scale and zero were fixed

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(c.sensor for c in self.calibrations)

    def evaluate(self, readings: Mapping[str, np.ndarray]) -> np.ndarray:
        """The variable from the members' raw readings (the formula, applied): trimmed mean over the
        members of each reading mapped back through its inverted calibration curve."""
        return _trimmed_mean(_inverted(self.calibrations, readings))

    def formula(self) -> str:
        """The variable in terms of its sensors, readable: the averaging and each member's curve."""
        lines = [
            f"{self.name} [{self.units or 'units unknown'}] = {TRIM:.0%}-trimmed mean, over the"
            f" {len(self.calibrations)} sensors below, of each reading mapped back through its calibration curve"
            f" (the {self.name} that solves reading = curve({self.name}))",
            f"  scale and zero: {self.scale}",
        ]
        return "\n".join(lines + [f"  {c.describe(self.name)}" for c in self.calibrations])


@dataclass(frozen=True)
class Dependence:
    """A summary variable found to be a function of others (so not an independent quantity)."""

    variable: str
    of: tuple[str, ...]
    r2: float  # cross-validated
    space: str  # "raw", "log" or "mixed" (some inputs logged): where the polynomial was fitted


@dataclass(frozen=True)
class SummaryVariables:
    """What the streams hold: summary variables, how many quantities are independent, what was left."""

    variables: tuple[SummaryVariable, ...]
    n_independent: int
    independent: tuple[str, ...]  # the summary variables left when the dependent ones are removed
    dependences: tuple[Dependence, ...]
    derived: dict[str, float]  # lone sensors the summary variables predict, with the cross-validated R²
    irrelevant: tuple[str, ...]  # lone sensors nothing here explains
    dropped: dict[str, str]  # sensor -> why it was not used
    missing: dict[str, int]  # sensor -> cells that were NaN or infinite, treated as missing
    unit_notes: tuple[str, ...]  # units that could not be understood (treated as unknown)
    #: Pairs of summary variables that rank alike and may be one quantity seen through a monotone
    #: law (or one quantity read by strongly nonlinear sensors), kept apart by the data; said plainly.
    maybe_one: tuple[str, ...]
    method: str  # how groups and the number of independent quantities were decided

    def table(self) -> tuple[np.ndarray, list[str], list[str | None]]:
        """The summary variables as a (n_samples, k) matrix with their names and SI units, for the law finder."""
        rows = len(self.variables[0].values) if self.variables else 0
        return _columns(self.variables, rows), [v.name for v in self.variables], [v.units for v in self.variables]

    def predictors(self, target: str, seed: int = 0) -> tuple[str, ...]:
        """The fewest independent variables that ``target`` is as much a function of as of all of
        them (cross-validated, noise-corrected R² leaving at most :data:`AS_MUCH` times the
        unexplained share that all leave, and at least :data:`UNEXPLAINED_FLOOR`), the best such
        set of the smallest size. A law is then sought in these alone: a pendulum's period in its
        length, not in the bob's mass as well; an orbit's period in its distance and the star's
        mass, though the distance alone predicts it to R² 0.99 over a survey of similar stars."""
        wanted = self.variable(target)
        pool = [self.variable(name) for name in self.independent if name != target]

        def unexplained(subset: Sequence[SummaryVariable]) -> float:
            r2, _ = predictability(
                wanted.values,
                _columns(subset, len(wanted.values)),
                seed,
                wanted.noise**2,
                np.array([v.noise**2 for v in subset]),
            )
            return max(1.0 - r2, 0.0)

        allowed = max(AS_MUCH * unexplained(pool), UNEXPLAINED_FLOOR)
        for size in range(1, len(pool)):
            share, names = min(
                (unexplained(subset), tuple(v.name for v in subset)) for subset in combinations(pool, size)
            )
            if share <= allowed:
                return names
        return tuple(v.name for v in pool)

    def variable(self, name: str) -> SummaryVariable:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise NotFoundError(f"no summary variable {name!r}; there are {', '.join(v.name for v in self.variables)}")


@dataclass(frozen=True)
class _Unit:
    """A unit understood: how to convert to SI, and what kind of quantity it measures."""

    factor: float
    offset: float
    dimension: tuple
    quantity: str | None
    symbol: str
    si: str


def find_summary_variables(
    matrix: np.ndarray,
    names: Sequence[str],
    units: Sequence[str | None] | Mapping[str, str] | None = None,
    *,
    seed: int = 0,
) -> SummaryVariables:
    """Group redundant sensors, build one summary variable per group, and count independent quantities.

    ``matrix`` is (n_samples, n_sensors) of numbers (NaN or inf where a reading is missing);
    ``units`` gives each sensor's units, aligned with ``names`` or as a mapping from name to units
    (pint syntax: "kPa", "°C", "mm", "m/s^2"); None or a missing entry means unknown. ``seed``
    fixes the cross-validation folds. Raises :class:`StreamsError` for a table that cannot be used.
    """
    # Every product here is small (hundreds of rows, tens of columns): BLAS threads only contend,
    # which made the whole run four times slower on a busy two-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        return _find(matrix, names, units, seed)


def _find(
    matrix: np.ndarray, names: Sequence[str], units: Sequence[str | None] | Mapping[str, str] | None, seed: int
) -> SummaryVariables:
    x, names, declared = _checked(matrix, names, units)
    finite = np.isfinite(x)
    missing = {names[j]: int(c) for j, c in enumerate((~finite).sum(axis=0)) if c}
    x = np.where(finite, x, np.nan)
    dropped = _unusable(x, names)
    kept = [j for j in range(len(names)) if names[j] not in dropped]
    if len(kept) < 2:
        raise StreamsError(
            f"fewer than two usable columns: {len(dropped)} of {len(names)} are constant or mostly missing"
            f" ({_some([f'{name}: {why}' for name, why in dropped.items()])})"
        )
    parsed, notes = _parsed_units(declared)
    exponents = _reading_exponents(x, names, parsed, kept)
    for j, e in exponents.items():
        x[:, j] /= 10.0**e
        notes.append(f"{names[j]} (units unknown) reads near 1e{e}: its readings are divided by 1e{e}")
    grouping = group_sensors(x[:, kept], [_dimension(parsed[j]) for j in kept])
    rho = grouping.rho
    variables, lone = [], []
    counts: Counter[str] = Counter()
    for cluster in sorted(grouping.clusters, key=lambda c: (-len(c), c[0])):
        if len(cluster) == 1:
            lone.append(kept[cluster[0]])
            continue
        members = [kept[i] for i in cluster]
        variables.append(
            _summarize(
                x[:, members],
                [names[j] for j in members],
                [declared[j] for j in members],
                [parsed[j] for j in members],
                rho[np.ix_(cluster, cluster)],
                counts,
                {i: exponents[j] for i, j in enumerate(members) if j in exponents},
            )
        )
    values, noise = _columns(variables, len(x)), np.array([v.noise**2 for v in variables])
    derived: dict[str, float] = {}
    for j in lone:
        r2, _ = predictability(x[:, j], values, seed, predictor_noise=noise)
        if r2 >= EXPLAINED:
            derived[names[j]] = min(r2, 1.0)
    independent, dependences = _independent(values, noise, [v.name for v in variables], seed)
    return SummaryVariables(
        variables=tuple(variables),
        n_independent=len(independent),
        independent=tuple(independent),
        dependences=tuple(dependences),
        derived=derived,
        irrelevant=tuple(names[j] for j in lone if names[j] not in derived),
        dropped=dropped,
        missing=missing,
        unit_notes=tuple(notes),
        maybe_one=_maybe_one(grouping, variables, [names[j] for j in kept]),
        method=(
            f"groups: average-linkage clusters of Spearman |rho|, merged while the noise-corrected correlation"
            f" is >= {SAME_QUANTITY}; independent quantities: summary variables left after removing those that a"
            f" polynomial (degree <= 3, raw or log) of the others predicts with {FOLDS}-fold cross-validated"
            f" R² >= {FUNCTION_OF_OTHERS}"
        ),
    )


def _maybe_one(grouping: Grouping, variables: Sequence[SummaryVariable], names: list[str]) -> tuple[str, ...]:
    """What to say of the sets that the ranks would have merged and the data kept apart, named by
    the summary variables that hold most of each."""
    owner = {sensor: v.name for v in variables for sensor in v.members}
    units = {v.name: v.units for v in variables}

    def holder(columns: list[int]) -> str | None:
        return Counter(owner.get(names[i]) for i in columns).most_common(1)[0][0]

    said: dict[tuple[str, ...], str] = {}
    for first, second, why in grouping.kept_apart:
        one, other = holder(first), holder(second)
        if one is None or other is None or one == other or why != NOT_LINEAR:
            continue
        if units[one] and units[other] and units[one] != units[other]:
            continue  # their units say they are two quantities
        key = tuple(sorted((one, other)))
        said.setdefault(
            key,
            f"{key[0]} and {key[1]} rank alike and could be one quantity seen through a monotone law;"
            f" kept apart because {why}",
        )
    return tuple(said.values())


# --- checks ------------------------------------------------------------------------------------


def _checked(
    matrix: np.ndarray, names: Sequence[str], units: Sequence[str | None] | Mapping[str, str] | None
) -> tuple[np.ndarray, list[str], list[str | None]]:
    """The matrix as floats, the names as a list and the units aligned with them, or a clear error."""
    names = [str(n) for n in names]
    array = np.asarray(matrix)
    if array.ndim != 2:
        raise StreamsError(f"the streams must be a table (rows of samples, one column per sensor), not {array.ndim}-D")
    if array.shape[1] != len(names):
        raise StreamsError(f"{len(names)} names for {array.shape[1]} columns")
    duplicates = sorted(n for n, c in Counter(names).items() if c > 1)
    if duplicates or "" in names:
        raise StreamsError(f"sensor names must be unique and non-empty; repeated: {', '.join(duplicates) or 'none'}")
    if array.shape[0] < MIN_ROWS:
        raise StreamsError(f"{array.shape[0]} rows: at least {MIN_ROWS} samples are needed to tell sensors apart")
    x = _as_floats(array, names)
    if units is None:
        declared: list[str | None] = [None] * len(names)
    elif isinstance(units, Mapping):
        unknown = sorted(set(units) - set(names))
        if unknown:
            raise StreamsError(f"units given for sensors that are not in the table: {_some(unknown)}")
        declared = [units.get(n) or None for n in names]
    else:
        declared = [u or None for u in units]
        if len(declared) != len(names):
            raise StreamsError(f"{len(declared)} units for {len(names)} sensors")
    return x, names, declared


def _as_floats(array: np.ndarray, names: list[str]) -> np.ndarray:
    if array.dtype.kind in "biuf":
        return array.astype(float)
    if array.dtype.kind == "c":
        raise StreamsError("the streams hold complex numbers; give real and imaginary parts as separate sensors")
    blank = np.vectorize(lambda cell: cell is None or (isinstance(cell, str) and not cell.strip()), otypes=[bool])
    array = np.where(blank(array), np.nan, array)  # an empty cell is a missing reading
    bad = []
    for j, name in enumerate(names):
        for i, cell in enumerate(array[:, j]):
            try:
                float(cell)
            except (TypeError, ValueError):
                bad.append(f"{name} (row {i + 1}: {str(cell)[:20]!r})")
                break
    if bad:
        raise StreamsError(f"{len(bad)} columns hold text, not numbers: {_some(bad)}")
    return array.astype(float)


def _reading_exponents(x: np.ndarray, names: list[str], parsed: list[_Unit | None], kept: list[int]) -> dict[int, int]:
    """Powers of ten to divide the readings of unknown units by, where they are extreme (their
    units were unknown, so nothing is lost); a clear error where readings of known units are so
    extreme in SI that the calibration fits would overflow."""
    exponents, extreme = {}, []
    for j in kept:
        column = x[:, j][np.isfinite(x[:, j])]
        if (unit := parsed[j]) is None:
            if abs(e := magnitude_exponent(column)) > LIMIT:
                exponents[j] = e
        elif abs(magnitude_exponent(column * unit.factor + unit.offset)) > KNOWN_LIMIT:
            extreme.append(names[j])
    if extreme:
        raise StreamsError(
            f"{_some(extreme)} read values beyond 1e±{KNOWN_LIMIT} in SI units, where the calibration fits overflow:"
            " declare units in which they are nearer 1 (for a star's mass, 'solar_mass' rather than 'kg'),"
            " or leave their units unknown"
        )
    return exponents


def _some(items: list[str], shown: int = 5) -> str:
    """The first few items of a list for a message, and how many more there are."""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _unusable(x: np.ndarray, names: list[str]) -> dict[str, str]:
    """Columns that carry no usable variation, with the reason."""
    dropped = {}
    for j, name in enumerate(names):
        column = x[:, j][np.isfinite(x[:, j])]
        if len(column) < len(x) * (1 - MAX_MISSING) or len(column) < MIN_ROWS:
            dropped[name] = f"mostly missing ({len(x) - len(column)} of {len(x)} readings)"
        elif np.ptp(column) == 0:
            dropped[name] = "constant"
        elif np.median(np.abs(column - np.median(column))) == 0:
            dropped[name] = "near-constant (over half its readings are one value)"
    return dropped


# --- units -------------------------------------------------------------------------------------


@cache
def _unit(text: str) -> _Unit | None:
    """``text`` understood through pint, or None when it cannot be."""
    registry = unit_registry()
    try:
        zero = registry.Quantity(0.0, text).to_base_units()
        one = registry.Quantity(1.0, text).to_base_units()
    except Exception:  # pint raises assorted types on malformed text (AssertionError, TypeError, its own)
        return None
    si = f"{one.units:~C}".replace("**", "^") or "1"
    dimension = tuple(sorted((k, int(v)) for k, v in one.dimensionality.items()))
    quantity, symbol, named = _NAMED.get(((), "rad") if si == "rad" else dimension, (None, "q", None))
    return _Unit(float(one.magnitude - zero.magnitude), float(zero.magnitude), dimension, quantity, symbol, named or si)


def _dimension(unit: _Unit | None) -> tuple | None:
    """What sensors must share to measure one quantity: the dimension, with angles apart."""
    if unit is None:
        return None
    return ((), "rad") if unit.si == "rad" else unit.dimension


def _parsed_units(declared: list[str | None]) -> tuple[list[_Unit | None], list[str]]:
    parsed = [_unit(u) if u else None for u in declared]
    failed = {u for u, p in zip(declared, parsed, strict=True) if u and not p}
    notes = sorted(f"units {u!r} not understood; treated as unknown" for u in failed)
    return parsed, notes


# --- summary variables -------------------------------------------------------------------------


def _summarize(
    x: np.ndarray,
    names: list[str],
    declared: list[str | None],
    parsed: list[_Unit | None],
    rho: np.ndarray,
    counts: Counter[str],
    exponents: Mapping[int, int],
) -> SummaryVariable:
    """One group's summary variable: anchor its scale, calibrate every member to it, average them back.
    ``exponents`` holds the powers of ten that members' readings (in ``x``) were divided by."""
    signs = np.sign(rho[np.argmax(np.abs(rho).sum(axis=0))])  # orientation against the most central member
    anchor, unit, scale, in_anchor = _anchor(x, declared, parsed, signs)
    calibrations = []
    for j, name in enumerate(names):
        curve, r2 = _calibration_curve(anchor, x[:, j])
        calibrations.append(Calibration(name, declared[j], curve, r2, j in in_anchor, exponents.get(j, 0)))
    symbol = unit.symbol if unit else "q"
    counts[symbol] += 1
    readings = {name: x[:, j] * 10.0 ** exponents.get(j, 0) for j, name in enumerate(names)}
    inverted = _inverted(calibrations, readings)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with fewer than two members left
        error = np.nanvar(inverted, axis=1, ddof=1) / np.isfinite(inverted).sum(axis=1)
    return SummaryVariable(
        name=f"{symbol}{counts[symbol]}",
        units=unit.si if unit else None,
        quantity=unit.quantity if unit else None,
        calibrations=tuple(calibrations),
        values=_trimmed_mean(inverted),
        quality=float(np.mean([c.r2 for c in calibrations])),
        noise=float(np.sqrt(np.nanmedian(error))),
        scale=scale,
    )


def _inverted(calibrations: Sequence[Calibration], readings: Mapping[str, np.ndarray]) -> np.ndarray:
    """(n_samples, members): the variable's value implied by each member's reading."""
    return np.column_stack([c.invert(np.asarray(readings[c.sensor], dtype=float)) for c in calibrations])


def _anchor(
    x: np.ndarray, declared: list[str | None], parsed: list[_Unit | None], signs: np.ndarray
) -> tuple[np.ndarray, _Unit | None, str, set[int]]:
    """The group's first estimate, which fixes the scale and zero of its summary variable.

    With known units: the trimmed mean of the members of the most common dimension that read the
    same way round, in SI. Without: the trimmed mean of the raw readings of the members that read the
    same way round with a spread within a factor of 3 of the median spread (a common unit, if any).
    """
    known = {j: u for j, u in enumerate(parsed) if u}
    if known:
        dimension = Counter(u.dimension for u in known.values()).most_common(1)[0][0]
        candidates = [j for j, u in known.items() if u.dimension == dimension]
        way = 1.0 if signs[candidates].sum() >= 0 else -1.0
        chosen = [j for j in candidates if signs[j] == way]
        unit = known[chosen[0]]
        columns = np.column_stack([x[:, j] * known[j].factor + known[j].offset for j in chosen])
        units = sorted({cast(str, declared[j]) for j in chosen})  # a unit is parsed only where one is declared
        scale = (
            f"trimmed mean of {len(chosen)} sensors in {', '.join(units)} converted"
            f" to {unit.si}, assuming their calibration errors average out"
        )
        return _trimmed_mean(columns), unit, scale, set(chosen)
    way = 1.0 if signs.sum() >= 0 else -1.0
    spread = np.nanmedian(np.abs(x - np.nanmedian(x, axis=0)), axis=0)
    typical = np.median(spread[signs == way])
    chosen = [j for j in range(x.shape[1]) if signs[j] == way and typical / 3 <= spread[j] <= typical * 3]
    scale = f"units unknown: trimmed mean of the raw readings of {len(chosen)} sensors with a typical spread"
    return _trimmed_mean(x[:, chosen]), None, scale, set(chosen)


def _calibration_curve(anchor: np.ndarray, reading: np.ndarray) -> tuple[Polynomial, float]:
    """The reading as a polynomial in the anchor: the lowest-BIC fit of degree 1 to MAX_DEGREE that is
    monotone over the anchor's range widened by EXTRAPOLATE (so that it can be inverted)."""
    ok = np.isfinite(anchor) & np.isfinite(reading)
    a, y = anchor[ok], reading[ok]
    n = len(y)
    best: tuple[float, Polynomial, float] | None = None
    for degree in range(1, MAX_DEGREE + 1):
        curve = Polynomial.fit(a, y, degree)
        low, high = curve.domain
        margin = (high - low) * EXTRAPOLATE
        slope = curve.deriv()(np.linspace(low - margin, high + margin, GRID))
        if degree > 1 and not (np.all(slope > 0) or np.all(slope < 0)):
            continue
        rss = float(np.sum((y - curve(a)) ** 2))
        bic = n * np.log(rss / n + 1e-300) + (degree + 1) * np.log(n)
        if best is None or bic < best[0]:
            best = (bic, curve, 1.0 - rss / float(np.sum((y - y.mean()) ** 2)))
    assert best is not None  # degree 1 is always kept
    return best[1], best[2]


def _trimmed_mean(columns: np.ndarray) -> np.ndarray:
    """Row-wise mean after cutting TRIM of the finite values at each end; NaN where a row has none."""
    ordered = np.sort(columns, axis=1)  # NaN sort last
    count = np.isfinite(ordered).sum(axis=1)
    cut = np.floor(TRIM * count).astype(int)
    cumulative = np.concatenate([np.zeros((len(ordered), 1)), np.cumsum(np.nan_to_num(ordered), axis=1)], axis=1)
    rows = np.arange(len(ordered))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (cumulative[rows, count - cut] - cumulative[rows, cut]) / (count - 2 * cut)


# --- independence ------------------------------------------------------------------------------


def _columns(variables: Sequence[SummaryVariable], rows: int) -> np.ndarray:
    return np.column_stack([v.values for v in variables]) if variables else np.empty((rows, 0))


def _independent(
    values: np.ndarray, noise: np.ndarray, names: list[str], seed: int
) -> tuple[list[str], list[Dependence]]:
    """How many summary variables are left after removing, one at a time, each that is a
    function of the others still left (``noise``: the variances of their values' errors).

    Of the variables a law links, any one is a function of the others, and which one is removed
    (made the law's target) matters twice. It must not change the count: with an orbit's
    period gone, its distance and the star's mass are left, independent; with the mass gone,
    the period follows the distance to R² 0.99 over a survey of similar stars, and would go
    too. And of the removals that keep the count, the least precisely measured goes (its noise
    over its small values): noise in a target only scatters the law's fit, noise in a predictor
    bends it (a lens's magnification, read to 1e-4 where it is 0.03, makes a poor input to
    ``u/(1 + 1/m)`` and a fine output of ``f/(u - f)``)."""
    # Noise is judged against a variable's small values, where it weighs most in a law of
    # products and powers: the magnification at 0.03, a flow through the narrowest capillary.
    small = np.nanpercentile(np.abs(values), 5, axis=0) if values.size else np.ones(values.shape[1])
    scale = np.where(small > 0, small, np.nanstd(values, axis=0))
    relative_noise = np.sqrt(noise) / np.where(scale > 0, scale, np.inf)

    @cache  # each candidate's removal is followed through, asking the same questions again
    def score(i: int, others: tuple[int, ...]) -> tuple[float, str]:
        return predictability(values[:, i], values[:, list(others)], seed, noise[i], noise[list(others)])

    def removable(left: tuple[int, ...]) -> list[int]:
        """The variables a function of the others, best predicted first, if any is."""
        if len(left) < 2:
            return []
        r2 = {i: score(i, tuple(j for j in left if j != i))[0] for i in left}
        best = max(r2.values())
        if best < FUNCTION_OF_OTHERS:
            return []
        return sorted(
            (i for i in left if 1 - r2[i] <= max(AS_MUCH * (1 - best), UNEXPLAINED_FLOOR)), key=lambda i: -r2[i]
        )

    def count(left: tuple[int, ...]) -> int:
        """Independent variables left by removing the best predicted, step by step."""
        while choices := removable(left):
            left = tuple(j for j in left if j != choices[0])
        return len(left)

    left = tuple(range(values.shape[1]))
    dependences = []
    while choices := removable(left):
        after = {i: count(tuple(j for j in left if j != i)) for i in choices}
        worst = max(choices, key=lambda i: (after[i], relative_noise[i]))
        left = tuple(j for j in left if j != worst)
        r2, space = score(worst, left)
        dependences.append(Dependence(names[worst], tuple(names[j] for j in left), min(r2, 1.0), space))
    return [names[i] for i in left], dependences


def predictability(
    target: np.ndarray,
    predictors: np.ndarray,
    seed: int,
    target_noise: float = 0.0,
    predictor_noise: np.ndarray | None = None,
) -> tuple[float, str]:
    """Cross-validated R² of the best polynomial (degree <= 3) predicting ``target`` from ``predictors``,
    fitted in raw values and, where the values are positive, in logarithms (see :func:`_spaces`);
    and which space won.

    The variables' own noise (variances ``target_noise`` and ``predictor_noise``) is not held against
    the fit: the residual it accounts for (the target's noise, plus each predictor's through the
    fitted slope) is taken off before the R² is computed, so that an exact law measured by few or
    noisy sensors still counts as exact.
    """
    ok = np.isfinite(target) & np.all(np.isfinite(predictors), axis=1)
    y, x = target[ok], predictors[ok]
    if x.shape[1] == 0 or len(y) < MIN_ROWS:
        return 0.0, "raw"
    spaces = _spaces(bool(np.all(y > 0)), np.all(x > 0, axis=0))
    folds = np.random.default_rng(seed).permutation(len(y)) % FOLDS
    noise = np.zeros(x.shape[1]) if predictor_noise is None else np.asarray(predictor_noise)
    best = (-np.inf, "raw")
    for space, logged, log_target in spaces:
        model = _PolynomialModel(x, logged, log_target, len(y) * (FOLDS - 1) // FOLDS)
        predicted = np.empty_like(y)
        for fold in range(FOLDS):
            predicted[folds == fold] = model.fit(x[folds != fold], y[folds != fold]).predict(x[folds == fold])
        slopes = model.fit(x, y).slopes(x)
        explained_by_noise = target_noise + float(np.mean(slopes**2 @ noise))
        with np.errstate(invalid="ignore", over="ignore"):
            r2 = 1.0 - (np.mean((y - predicted) ** 2) - explained_by_noise) / np.var(y)
        if np.isfinite(r2):  # a log-space fit can overflow on its way back
            best = max(best, (float(r2), space))
    return best


#: Up to this many positive predictors, every mix of raw and logged ones is tried.
MIXED_UP_TO = 4


def _spaces(positive_target: bool, positive: np.ndarray) -> list[tuple[str, np.ndarray, bool]]:
    """Where to fit: (name, which predictors are logged, whether the target is). Raw and all-log
    always; with few predictors every mix, since a law may be a power in one variable and an
    exponential in another (a count rate that decays in time and falls as the distance squared)."""
    none = np.zeros(len(positive), dtype=bool)
    spaces = [("raw", none, False)]
    if positive_target:
        spaces.append(("log", positive, True))
    columns = np.flatnonzero(positive)
    if len(columns) > MIXED_UP_TO:
        return spaces
    for log_target in (False, True) if positive_target else (False,):
        for mask in product((False, True), repeat=len(columns)):
            logged = none.copy()
            logged[columns[list(mask)]] = True
            if (log_target and np.array_equal(logged, positive)) or (not log_target and not logged.any()):
                continue  # the raw and all-log spaces, already in
            spaces.append(("mixed", logged, log_target))
    return spaces


class _PolynomialModel:
    """Least squares on all monomials, up to the highest degree (<= 3) that keeps ten training rows per
    term, of the standardized inputs (some of them logged), predicting the target or its logarithm."""

    def __init__(self, x: np.ndarray, logged: np.ndarray, log_target: bool, n_train: int) -> None:
        self.logged, self.log_target = logged, log_target
        z = self._inputs(x)
        self.mean, self.std = z.mean(axis=0), np.where(z.std(axis=0) > 0, z.std(axis=0), 1.0)
        self.terms: list[tuple[int, ...]] = [()]
        for degree in range(1, 4):
            more = list(combinations_with_replacement(range(x.shape[1]), degree))
            if len(self.terms) + len(more) > n_train / 10:
                break
            self.terms += more

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.logged, np.log(np.where(self.logged, x, 1.0)), x)

    def _features(self, x: np.ndarray) -> np.ndarray:
        z = (self._inputs(x) - self.mean) / self.std
        return np.column_stack([np.prod(z[:, list(term)], axis=1) for term in self.terms])

    def fit(self, x: np.ndarray, y: np.ndarray) -> _PolynomialModel:
        with np.errstate(invalid="ignore", divide="ignore"):
            target = np.log(y) if self.log_target else y
        features = self._features(x)
        gram = features.T @ features
        # The normal equations with a whisper of ridge: the features are standardized, so this is
        # well conditioned, and it is a hundred times faster than an SVD-based least squares.
        gram[np.diag_indices_from(gram)] += 1e-9 * np.trace(gram) / len(gram)
        self.coef = np.linalg.solve(gram, features.T @ target)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            out = self._features(x) @ self.coef
            return np.exp(out) if self.log_target else out

    def slopes(self, x: np.ndarray) -> np.ndarray:
        """(n, inputs): the fitted function's partial derivatives at each row, by central differences."""
        step = 1e-4 * np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        columns = []
        for j in range(x.shape[1]):
            up, down = x.copy(), x.copy()
            up[:, j] += step[j]
            down[:, j] -= step[j]
            columns.append((self.predict(up) - self.predict(down)) / (2 * step[j]))
        return np.nan_to_num(np.column_stack(columns))
