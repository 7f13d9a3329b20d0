"""A gallery of simulated apparatus, each with its ground truth kept apart from its streams.

Every entry is a bench of the kind a user brings: 100 to 500 sensor streams, a few quantities
behind them, units known for some sensors and unknown or non-SI for others (°F, bar, psi, days,
inches, solar masses, mV), calibration errors, sensors that read backwards, dropouts, and
irrelevant channels, some in the units of the real ones. The laws differ in shape: products and
ratios, fractional powers, square roots, exponentials, sums, a quantity that is a monotone
function of another, quantities strongly correlated over the record, two laws on one bench.

The truth of an entry is its ``base`` quantities (independent, each sampled on its own) and its
``derived`` ones, each an expression of the base ones in SI units. :mod:`autoalign.discover.judge`
compares what Discover found against it. Entries marked ``held_out`` are never used to tune
Discover; benchmarks report them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from autoalign.discover import piston
from autoalign.discover.apparatus import Reading, SensorKind, SensorTable, assemble, cycle, irrelevant, kind
from autoalign.discover.piston import simulate_piston
from autoalign.errors import AutoalignError, NotFoundError

G = 9.80665  # m/s², standard gravity
GRAVITATION = 6.674e-11  # m³/(kg s²)
SOLAR_MASS = 1.98841e30  # kg
AU = 1.495978707e11  # m
STEFAN_BOLTZMANN = 5.670374419e-8  # W/(m² K⁴)

#: What a simulation gives back: the hidden state (SI), the sensor kinds with the values each reads,
#: lookalike irrelevant channels (level, size, units), and dropouts (quantity, sensors).
Bench = tuple[
    dict[str, np.ndarray],
    list[tuple[SensorKind, np.ndarray]],
    list[tuple[float, float, str]],
    list[tuple[str, int]],
]


@dataclass(frozen=True)
class Apparatus:
    """One gallery entry: what it is, its true quantities and laws, and how to simulate it."""

    name: str
    title: str
    story: str
    quantities: dict[str, str]  # state key -> what it is, with its SI units
    base: tuple[str, ...]  # the independent quantities
    derived: dict[str, str]  # quantity -> its law, a sympy expression of the base quantities (SI)
    held_out: bool
    simulator: Callable[[int, int], SensorTable]  # (samples, seed) -> streams
    state_keys: dict[str, str] = field(default_factory=dict)  # quantity -> its key in the state, where not the same

    def values(self, table: SensorTable, quantity: str) -> np.ndarray:
        """The true values of ``quantity`` in a simulation's hidden state."""
        return np.asarray(table.state[self.state_keys.get(quantity, quantity)], dtype=float)

    def simulate(self, n_samples: int = 2000, *, seed: int = 0) -> SensorTable:
        """The streams of ``n_samples`` readings of every sensor, and the truth kept beside them."""
        if n_samples < 50:
            raise AutoalignError(f"simulate at least 50 samples, not {n_samples}")
        return self.simulator(n_samples, seed)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "story": self.story,
            "quantities": self.quantities,
            "laws": {q: law for q, law in self.derived.items()},
            "held_out": self.held_out,
        }


def _bench(build: Callable[[int, np.random.Generator], Bench]) -> Callable[[int, int], SensorTable]:
    """A simulator from a bench's state and sensor kinds, with the usual irrelevant channels."""

    def simulate(n_samples: int, seed: int) -> SensorTable:
        rng = np.random.default_rng(seed)
        state, kinds, lookalikes, dropouts = build(n_samples, rng)
        return assemble(state, kinds, lambda: irrelevant(n_samples, rng, lookalikes), rng, dropouts)

    return simulate


def _sensors(
    state: dict[str, np.ndarray], quantity: str, count: int, si_units: str, *readings: Reading, **errors: float
) -> tuple[SensorKind, np.ndarray]:
    """``count`` sensors of ``state[quantity]``, with errors given as shares (see :func:`kind`)."""
    return kind(quantity, state[quantity], count, si_units, readings, **errors), state[quantity]


def _smooth(n: int, rng: np.random.Generator, low: float, high: float, cycles: Sequence[float]) -> np.ndarray:
    """A quantity that a bench's operator sweeps smoothly between ``low`` and ``high``."""
    return low + (high - low) * cycle(np.linspace(0.0, 1.0, n), cycles, rng)


# -- the entries -----------------------------------------------------------------------------------
def _pendulum(n: int, rng: np.random.Generator) -> Bench:
    """A winch lengthens and shortens a pendulum; light gates time its swings. The period is a
    monotone function of the length (the law itself), and the bob's mass and the swing's
    amplitude vary too, without entering the law."""
    L = _smooth(n, rng, 0.3, 2.0, (3.3, 5.1, 7.7))
    state = {
        "L": L,
        "tau": 2 * np.pi * np.sqrt(L / G),
        "m": _smooth(n, rng, 0.2, 1.5, (2.1, 4.7, 6.3)),
        "amplitude": _smooth(n, rng, 0.02, 0.08, (4.4, 3.1, 8.9)),
    }
    kinds = [
        _sensors(state, "L", 30, "m", Reading("m", 0.4), Reading("cm", 0.3), Reading("inch", 0.2),
                 Reading("mm", 0.1, declared=False)),
        _sensors(state, "tau", 24, "s", Reading("s", 0.5), Reading("ms", 0.3), Reading("ms", 0.2, declared=False)),
        _sensors(state, "m", 16, "kg", Reading("kg", 0.5), Reading("g", 0.25), Reading("lb", 0.25)),
        _sensors(state, "amplitude", 12, "rad", Reading("rad", 0.5), Reading("deg", 0.5), noise=0.01),
    ]  # fmt: skip
    return state, kinds, [(1.2, 0.05, "m"), (1.0, 0.02, "s")], [("L", 2), ("tau", 2)]


def _orbits(n: int, rng: np.random.Generator) -> Bench:
    """A survey of planets around Sun-like stars: orbital period, distance and stellar mass. Over
    the survey the period and the distance are all but one quantity (rank correlation 0.99),
    since the stars' masses differ little: only the units and the residue tell them apart."""
    a = rng.uniform(0.3, 3.0, n) * AU
    M = rng.uniform(0.8, 1.25, n) * SOLAR_MASS
    state = {
        "a": a,
        "M": M,
        "T": 2 * np.pi * np.sqrt(a**3 / (GRAVITATION * M)),
        "Rp": rng.uniform(2e6, 7e7, n),  # the planet's radius: measured, and in no law here
    }
    kinds = [
        _sensors(state, "a", 30, "m", Reading("au", 0.5), Reading("km", 0.3), Reading("au", 0.2, declared=False),
                 noise=0.002),
        _sensors(state, "T", 30, "s", Reading("day", 0.5), Reading("year", 0.2), Reading("h", 0.1),
                 Reading("day", 0.2, declared=False), noise=0.002),
        _sensors(state, "M", 20, "kg", Reading("solar_mass", 0.6), Reading("kg", 0.2),
                 Reading("solar_mass", 0.2, declared=False), noise=0.004),
        _sensors(state, "Rp", 10, "m", Reading("km", 0.6), Reading("earth_radius", 0.4), noise=0.01),
    ]  # fmt: skip
    return state, kinds, [(4e8, 1e7, "km")], [("T", 2)]


def _circuit(n: int, rng: np.random.Generator) -> Bench:
    """A supply drives a load resistor on a bench; ammeters read the current and a calorimeter
    the heat: two laws, I = V/R and P = V²/R, on one bench, with the room's temperature beside."""
    V = _smooth(n, rng, 2.0, 12.0, (4.3, 6.1, 9.7))
    R = _smooth(n, rng, 50.0, 400.0, (3.7, 5.3, 8.1))
    state = {"V": V, "R": R, "I": V / R, "P": V**2 / R, "room": _smooth(n, rng, 291.0, 299.0, (2.3, 3.9, 5.1))}
    kinds = [
        _sensors(state, "V", 40, "V", Reading("V", 0.5), Reading("mV", 0.3), Reading("mV", 0.2, declared=False)),
        _sensors(state, "R", 30, "ohm", Reading("ohm", 0.5), Reading("kohm", 0.5)),
        _sensors(state, "I", 40, "A", Reading("A", 0.4), Reading("mA", 0.4),
                 Reading("mV", 0.2, declared=False, conversion=lambda i: 100.0 * i)),  # over a 0.1 Ω shunt
        _sensors(state, "P", 30, "W", Reading("W", 0.5), Reading("mW", 0.5)),
        _sensors(state, "room", 20, "K", Reading("K", 0.3), Reading("°C", 0.4), Reading("°F", 0.3), pivot=273.15),
    ]  # fmt: skip
    return state, kinds, [(5.0, 0.2, "V"), (0.05, 0.002, "A")], [("I", 3), ("P", 2)]


def _lens(n: int, rng: np.random.Generator) -> Bench:
    """A zoom lens images an object moved along a rail; every quantity is a length, so units
    cannot tell them apart: 1/f = 1/u + 1/v gives the image distance, and the magnification
    (unknown units) is v/u."""
    f = _smooth(n, rng, 0.05, 0.15, (3.1, 4.9, 7.3))
    u = _smooth(n, rng, 0.4, 1.6, (2.7, 5.7, 8.3))
    v = f * u / (u - f)
    state = {"f": f, "u": u, "v": v, "magnification": v / u}
    kinds = [
        _sensors(state, "f", 30, "m", Reading("mm", 0.6), Reading("m", 0.4)),
        _sensors(state, "u", 40, "m", Reading("m", 0.4), Reading("cm", 0.3), Reading("ft", 0.2),
                 Reading("m", 0.1, reversed_from=2.0)),
        _sensors(state, "v", 40, "m", Reading("mm", 0.5), Reading("cm", 0.3), Reading("inch", 0.2, declared=False)),
        _sensors(state, "magnification", 20, "", Reading(None, 1.0), noise=0.004),
    ]  # fmt: skip
    return state, kinds, [(0.5, 0.02, "m"), (100.0, 5.0, "mm")], [("u", 2)]


def _decay(n: int, rng: np.random.Generator) -> Bench:
    """A source with a mean life of 8 days is moved along a rail under a detector for three
    weeks: the count rate falls exponentially in time and with the square of the distance."""
    t = np.sort(rng.uniform(0.0, 21.0, n)) * 86400.0  # readings at irregular times
    d = _smooth(n, rng, 0.1, 0.4, (5.3, 7.9, 11.3))
    state = {"t": t, "d": d, "C": 40.0 * np.exp(-t / (8.0 * 86400.0)) / d**2}
    kinds = [
        _sensors(state, "t", 16, "s", Reading("day", 0.4), Reading("h", 0.3), Reading("s", 0.3), noise=0.001),
        _sensors(state, "d", 40, "m", Reading("m", 0.4), Reading("cm", 0.3), Reading("mm", 0.3, declared=False)),
        _sensors(state, "C", 50, "1/s", Reading("1/s", 0.4), Reading("1/min", 0.3),
                 Reading("mV", 0.3, declared=False, conversion=lambda c: 2.5 * c), relative_noise=0.01),
    ]  # fmt: skip
    return state, kinds, [(0.25, 0.01, "m"), (100.0, 3.0, "1/s")], [("C", 3), ("d", 2)]


def _arrhenius(n: int, rng: np.random.Generator) -> Bench:
    """A stirred reactor heated between 300 and 380 K: the rate of reaction follows Arrhenius in
    the temperature and is first order in the catalyst; the pressure varies and matters not."""
    T = _smooth(n, rng, 300.0, 380.0, (3.9, 6.7, 9.1))
    c = _smooth(n, rng, 20.0, 80.0, (2.9, 4.3, 7.9))
    state = {"T": T, "c": c, "r": 3.0e6 * c * np.exp(-6000.0 / T), "p": _smooth(n, rng, 1.0e5, 3.0e5, (3.3, 5.9, 8.7))}
    kinds = [
        _sensors(state, "T", 40, "K", Reading("K", 0.3), Reading("°C", 0.3), Reading("°F", 0.2),
                 Reading("°F", 0.2, declared=False), noise=0.002, pivot=273.15),
        _sensors(state, "c", 30, "mol/m^3", Reading("mol/L", 0.5), Reading("mol/m^3", 0.5)),
        _sensors(state, "r", 40, "mol/(m^3*s)", Reading("mol/L/s", 0.5), Reading("mol/(m^3*s)", 0.3),
                 Reading(None, 0.2, conversion=lambda r: 40.0 * r), relative_noise=0.005),
        _sensors(state, "p", 30, "Pa", Reading("bar", 0.4), Reading("psi", 0.3), Reading("kPa", 0.3)),
    ]  # fmt: skip
    return state, kinds, [(295.0, 1.0, "K"), (1.0e5, 300.0, "Pa")], [("T", 2), ("r", 3)]


def _capillary(n: int, rng: np.random.Generator) -> Bench:
    """Oil pushed through a set of capillaries (Poiseuille): the flow grows as the fourth power of
    the radius and with the pressure drop, and falls with the viscosity and the length."""
    state = {
        "dp": rng.uniform(20e3, 200e3, n),
        "r": rng.uniform(0.4e-3, 0.9e-3, n),
        "mu": rng.uniform(0.05, 0.3, n),
        "L": rng.uniform(0.2, 1.0, n),
    }
    state["Q"] = np.pi * state["dp"] * state["r"] ** 4 / (8 * state["mu"] * state["L"])
    kinds = [
        _sensors(state, "dp", 50, "Pa", Reading("kPa", 0.4), Reading("bar", 0.3), Reading("psi", 0.2),
                 Reading("kPa", 0.1, declared=False)),
        _sensors(state, "r", 40, "m", Reading("mm", 0.5), Reading("µm", 0.3), Reading("mm", 0.2, declared=False),
                 noise=0.002),
        _sensors(state, "mu", 30, "Pa*s", Reading("mPa*s", 0.5), Reading("Pa*s", 0.3), Reading("cP", 0.2)),
        _sensors(state, "L", 30, "m", Reading("m", 0.4), Reading("cm", 0.4), Reading("ft", 0.2)),
        _sensors(state, "Q", 60, "m^3/s", Reading("mL/s", 0.4), Reading("L/min", 0.4),
                 Reading("mL/s", 0.2, declared=False), relative_noise=0.005),
    ]  # fmt: skip
    return state, kinds, [(1.0e5, 2e3, "Pa"), (0.5, 0.01, "m")], [("Q", 4), ("dp", 2)]


def _oscillator(n: int, rng: np.random.Generator) -> Bench:
    """Springs and masses swapped on a test stand: the period is 2π√(m/k), and the peak speed,
    a second law on the bench, is the amplitude times √(k/m)."""
    state = {
        "m": rng.uniform(0.2, 2.0, n),
        "k": rng.uniform(20.0, 200.0, n),
        "A": rng.uniform(0.02, 0.1, n),
    }
    state["tau"] = 2 * np.pi * np.sqrt(state["m"] / state["k"])
    state["vmax"] = state["A"] * np.sqrt(state["k"] / state["m"])
    kinds = [
        _sensors(state, "m", 30, "kg", Reading("kg", 0.4), Reading("g", 0.3), Reading("lb", 0.3)),
        _sensors(state, "k", 30, "N/m", Reading("N/m", 0.7), Reading("N/mm", 0.3)),
        _sensors(state, "A", 30, "m", Reading("cm", 0.5), Reading("mm", 0.3), Reading("cm", 0.2, declared=False)),
        _sensors(state, "tau", 40, "s", Reading("s", 0.5), Reading("ms", 0.3), Reading("ms", 0.2, declared=False)),
        _sensors(state, "vmax", 30, "m/s", Reading("m/s", 0.5), Reading("km/h", 0.3), Reading("mph", 0.2)),
    ]  # fmt: skip
    return state, kinds, [(1.0, 0.05, "kg"), (0.05, 0.002, "m")], [("tau", 2), ("A", 2)]


def _stars(n: int, rng: np.random.Generator) -> Bench:
    """A catalogue of stars: radius and surface temperature, and a luminosity that follows the
    Stefan-Boltzmann law, L = 4πR²σT⁴, over almost three decades."""
    R = rng.uniform(0.5, 3.0, n) * 6.957e8
    T = rng.uniform(4000.0, 8000.0, n)
    state = {"R": R, "T": T, "L": 4 * np.pi * R**2 * STEFAN_BOLTZMANN * T**4}
    kinds = [
        _sensors(state, "R", 30, "m", Reading("solar_radius", 0.6), Reading("km", 0.4), noise=0.002),
        _sensors(state, "T", 30, "K", Reading("K", 0.8), Reading("K", 0.2, declared=False), noise=0.002, pivot=273.15),
        _sensors(state, "L", 40, "W", Reading("solar_luminosity", 0.5), Reading("W", 0.3),
                 Reading("solar_luminosity", 0.2, declared=False), relative_noise=0.004),
    ]  # fmt: skip
    return state, kinds, [(6000.0, 50.0, "K")], [("L", 2)]


def _mixing(n: int, rng: np.random.Generator) -> Bench:
    """Two water supplies mix in a tee: the outlet's temperature is the flow-weighted mean of the
    inlets' (a sum in a ratio), measured in K, °C and °F."""
    m1 = _smooth(n, rng, 0.05, 0.5, (3.1, 5.3, 7.1))
    m2 = _smooth(n, rng, 0.05, 0.5, (2.3, 6.1, 9.3))
    T1 = _smooth(n, rng, 280.0, 300.0, (4.1, 5.9, 8.3))
    T2 = _smooth(n, rng, 320.0, 360.0, (3.7, 6.7, 10.1))
    state = {"m1": m1, "m2": m2, "T1": T1, "T2": T2, "T": (m1 * T1 + m2 * T2) / (m1 + m2)}
    kinds = [
        _sensors(state, "m1", 30, "kg/s", Reading("kg/s", 0.5), Reading("kg/min", 0.5)),
        _sensors(state, "m2", 30, "kg/s", Reading("kg/s", 0.5), Reading("kg/min", 0.3),
                 Reading("kg/min", 0.2, declared=False)),
        _sensors(state, "T1", 40, "K", Reading("°C", 0.5), Reading("K", 0.3), Reading("°F", 0.2),
                 noise=0.004, pivot=273.15),
        _sensors(state, "T2", 40, "K", Reading("°C", 0.5), Reading("K", 0.3), Reading("°F", 0.2),
                 noise=0.004, pivot=273.15),
        _sensors(state, "T", 50, "K", Reading("°C", 0.4), Reading("K", 0.3), Reading("°F", 0.2),
                 Reading("°C", 0.1, declared=False), noise=0.004, pivot=273.15),
    ]  # fmt: skip
    return state, kinds, [(294.0, 0.5, "K"), (0.2, 0.005, "kg/s")], [("T", 3), ("m1", 2)]


APPARATUS: dict[str, Apparatus] = {
    entry.name: entry
    for entry in (
        Apparatus(
            "piston", "An ideal gas in a piston", (piston.__doc__ or "").split("\n\n")[1],
            {"pressure": "pressure [Pa]", "temperature": "temperature [K]", "position": "piston position [m]",
             "amount": "amount of gas [mol]", "mass": "mass of gas [kg]"},
            ("temperature", "position", "amount"),
            {"pressure": f"amount*{piston.R}*temperature/({piston.AREA}*position)",
             "mass": f"{piston.MOLAR_MASS}*amount"},
            False, lambda n, seed: simulate_piston(n, seed=seed), piston.QUANTITIES,
        ),
        Apparatus(
            "pendulum", "Pendulum on a winch", _pendulum.__doc__ or "",
            {"L": "length [m]", "tau": "period [s]", "m": "bob's mass [kg]", "amplitude": "amplitude [rad]"},
            ("L", "m", "amplitude"), {"tau": f"2*pi*sqrt(L/{G})"}, False, _bench(_pendulum),
        ),
        Apparatus(
            "orbits", "Planets of Sun-like stars", _orbits.__doc__ or "",
            {"a": "orbital distance [m]", "M": "star's mass [kg]", "T": "orbital period [s]",
             "Rp": "planet's radius [m]"},
            ("a", "M", "Rp"), {"T": f"2*pi*sqrt(a**3/({GRAVITATION}*M))"}, False, _bench(_orbits),
        ),
        Apparatus(
            "circuit", "A resistor on a bench supply", _circuit.__doc__ or "",
            {"V": "voltage [V]", "R": "resistance [ohm]", "I": "current [A]", "P": "heat [W]",
             "room": "room temperature [K]"},
            ("V", "R", "room"), {"I": "V/R", "P": "V**2/R"}, False, _bench(_circuit),
        ),
        Apparatus(
            "lens", "A zoom lens on an optical rail", _lens.__doc__ or "",
            {"f": "focal length [m]", "u": "object distance [m]", "v": "image distance [m]",
             "magnification": "magnification [1]"},
            ("f", "u"), {"v": "f*u/(u - f)", "magnification": "f/(u - f)"}, False, _bench(_lens),
        ),
        Apparatus(
            "decay", "A decaying source under a detector", _decay.__doc__ or "",
            {"t": "time [s]", "d": "distance [m]", "C": "count rate [1/s]"},
            ("t", "d"), {"C": f"40*exp(-t/{8.0 * 86400.0})/d**2"}, False, _bench(_decay),
        ),
        Apparatus(
            "arrhenius", "A heated reactor", _arrhenius.__doc__ or "",
            {"T": "temperature [K]", "c": "catalyst [mol/m^3]", "r": "reaction rate [mol/(m^3*s)]",
             "p": "pressure [Pa]"},
            ("T", "c", "p"), {"r": "3.0e6*c*exp(-6000/T)"}, True, _bench(_arrhenius),
        ),
        Apparatus(
            "capillary", "Oil through capillaries", _capillary.__doc__ or "",
            {"dp": "pressure drop [Pa]", "r": "radius [m]", "mu": "viscosity [Pa*s]", "L": "length [m]",
             "Q": "flow [m^3/s]"},
            ("dp", "r", "mu", "L"), {"Q": "pi*dp*r**4/(8*mu*L)"}, True, _bench(_capillary),
        ),
        Apparatus(
            "oscillator", "Springs and masses", _oscillator.__doc__ or "",
            {"m": "mass [kg]", "k": "spring constant [N/m]", "A": "amplitude [m]", "tau": "period [s]",
             "vmax": "peak speed [m/s]"},
            ("m", "k", "A"), {"tau": "2*pi*sqrt(m/k)", "vmax": "A*sqrt(k/m)"}, True, _bench(_oscillator),
        ),
        Apparatus(
            "stars", "A star catalogue", _stars.__doc__ or "",
            {"R": "radius [m]", "T": "surface temperature [K]", "L": "luminosity [W]"},
            ("R", "T"), {"L": f"4*pi*{STEFAN_BOLTZMANN}*R**2*T**4"}, True, _bench(_stars),
        ),
        Apparatus(
            "mixing", "Two water supplies mixing", _mixing.__doc__ or "",
            {"m1": "first flow [kg/s]", "m2": "second flow [kg/s]", "T1": "first inlet [K]",
             "T2": "second inlet [K]", "T": "outlet [K]"},
            ("m1", "m2", "T1", "T2"), {"T": "(m1*T1 + m2*T2)/(m1 + m2)"}, True, _bench(_mixing),
        ),
    )
}  # fmt: skip


def apparatus(name: str) -> Apparatus:
    """The gallery entry called ``name``, or a clear error listing the entries."""
    try:
        return APPARATUS[name]
    except KeyError:
        raise NotFoundError(f"no apparatus {name!r} in the gallery; it has {', '.join(APPARATUS)}") from None
