"""Simulated systems that change in time, with their differential equations kept apart.

Each system integrates its true equations from a start, reads every variable at uneven times
(readings arrive when they arrive, as on a real bench) and adds noise of a given share of each
variable's spread. ``find_dynamics`` sees the readings only; the judge compares what it found
with ``truth``. The first three are tuned on; the held-out ones were written after the method
was fixed and are only measured.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import sympy
from scipy.integrate import solve_ivp

from autoalign.discover.apparatus import Reading, SensorTable, assemble, irrelevant, kind
from autoalign.discover.dynamics import Dynamics, dynamics_of_streams, find_dynamics
from autoalign.discover.variables import SummaryVariables
from autoalign.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class Recording:
    """A system's noisy readings: ``values[:, j]`` is variable ``names[j]`` at times ``t``."""

    t: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class System:
    """A simulator and its truth: ``truth[name]`` is the right-hand side of the highest derivative
    of ``name`` (``order`` 1: dx/dt; 2: d²x/dt²) in the symbols of ``state_symbols``."""

    name: str
    description: str
    names: tuple[str, ...]
    order: int
    truth: dict[str, str]
    rhs: Callable[[float, np.ndarray], list[float]]
    start: tuple[float, ...]
    duration: float
    held_out: bool = False
    #: Per variable, the SI units and the units its sensors report in (``None``: undeclared),
    #: for :meth:`streams`; a variable without an entry is read in units nobody declared.
    sensor_units: tuple[tuple[str, tuple[str | None, ...]], ...] = ()

    def record(self, samples: int = 400, noise: float = 0.01, seed: int = 0) -> Recording:
        """``samples`` readings at uneven times over the duration, with Gaussian noise of
        ``noise`` times each variable's standard deviation."""
        rng = np.random.default_rng(seed)
        t = np.sort(rng.uniform(0, self.duration, samples))
        solution = solve_ivp(self.rhs, (0, self.duration), self.start, t_eval=t, rtol=1e-10, atol=1e-12)
        exact = solution.y[: len(self.names)].T
        values = exact + noise * exact.std(axis=0) * rng.standard_normal(exact.shape)
        return Recording(t, values, self.names)

    def streams(self, samples: int = 600, seed: int = 0, sensors: int = 24) -> tuple[np.ndarray, SensorTable]:
        """The system as a bench would record it: at uneven times, each variable read by
        ``sensors`` imperfect sensors (calibration errors, noise, units of several kinds, some
        undeclared, a few dropouts), beside the usual irrelevant channels. Returns the times
        and the table, whose truth names each sensor's variable."""
        rng = np.random.default_rng(seed)
        exact = self.record(samples, noise=0.0, seed=seed)
        state = {name: exact.values[:, j] for j, name in enumerate(self.names)}
        kinds = []
        for j, name in enumerate(self.names):
            si, reported = self.sensor_units[j] if j < len(self.sensor_units) else ("1", (None,))
            readings = [Reading(u or si, 1.0, declared=u is not None) for u in reported]
            kinds.append((kind(name, state[name], sensors, si, readings), state[name]))
        table = assemble(state, kinds, lambda: irrelevant(samples, rng), rng, [(n, 2) for n in self.names])
        return exact.t, table

    def true_equations(self) -> dict[str, sympy.Expr]:
        return {name: sympy.sympify(text, locals=_symbols(self.names)) for name, text in self.truth.items()}

    def check(self, found: Mapping[str, sympy.Expr], *, offset: bool = False) -> list[EquationCheck]:
        """Each true equation against the one found for its variable (by name, in the symbols
        ``x`` and ``x'``): its rates on the true, noise-free trajectory, and its terms. With
        ``offset``, a constant term beyond the truth's is allowed: variables summarized from
        sensors have their zero off by the sensors' mean calibration offset, which a constant
        in the equation follows."""
        t = np.linspace(0, self.duration, CHECK_POINTS)
        solution = solve_ivp(self.rhs, (0, self.duration), self.start, t_eval=t, rtol=1e-10, atol=1e-12)
        symbols = _symbols(self.names)
        state = [symbols[n] for n in self.names] + ([symbols[f"{n}_t"] for n in self.names] if self.order == 2 else [])
        checks = []
        for name, truth in self.true_equations().items():
            expected = _values(truth, state, solution.y)
            expression = found.get(name)
            if expression is None:
                checks.append(EquationCheck(name, None, truth, float("inf"), False, False))
                continue
            error = float(np.sqrt(np.mean((_values(expression, state, solution.y) - expected) ** 2)))
            error /= float(np.sqrt(np.mean(expected**2)))
            extra = _shapes(expression) - _shapes(truth) - ({sympy.Integer(1)} if offset else set())
            same_terms = not extra and _shapes(truth) <= _shapes(expression) if _in_library(truth, state) else None
            recovered = bool(np.isfinite(error) and error <= MAX_ERROR and same_terms is not False)
            checks.append(EquationCheck(name, expression, truth, error, same_terms, recovered))
        return checks

    def demo(
        self, samples: int = 400, noise: float = 0.01, seed: int = 0, law_finder_s: float = 20.0, streams: bool = False
    ) -> SystemDemo:
        """Record the system, find its equations from the readings alone, and check them. With
        ``streams``, it is read by many sensors (:meth:`streams`) and the state variables are
        found first; each is checked as the variable most of its sensors read."""
        if not streams:
            recording = self.record(samples, noise, seed)
            found = find_dynamics(recording.t, recording.values, recording.names, law_finder_s=law_finder_s, seed=seed)
            return SystemDemo(self, found, self.check(found.laws()), None)
        t, table = self.streams(samples, seed)
        result = dynamics_of_streams(
            t, table.values, table.names, table.known_units(), law_finder_s=law_finder_s, seed=seed
        )
        truth = table.truth()
        renamed = {}
        for variable in result.summary.variables:
            read = Counter(truth[m] for m in variable.members).most_common(1)[0][0]
            renamed[sympy.Symbol(variable.name, real=True)] = sympy.Symbol(read, real=True)
            renamed[sympy.Symbol(variable.name + "'", real=True)] = sympy.Symbol(read + "'", real=True)
        laws = {
            str(renamed.get(sympy.Symbol(n, real=True), n)): e.xreplace(renamed)
            for n, e in result.dynamics.laws().items()
        }
        return SystemDemo(self, result.dynamics, self.check(laws, offset=True), result.summary)


@dataclass(frozen=True, slots=True)
class SystemDemo:
    system: System
    dynamics: Dynamics
    checks: list[EquationCheck]
    summary: SummaryVariables | None  # the state variables, when the system was read by many sensors

    @property
    def recovered(self) -> bool:
        return all(c.recovered for c in self.checks)

    def as_dict(self) -> dict[str, object]:
        return {
            "system": self.system.name,
            "description": self.system.description,
            "truth": {name: str(e) for name, e in self.system.true_equations().items()},
            "variables": None
            if self.summary is None
            else [{"name": v.name, "units": v.units, "sensors": list(v.members)} for v in self.summary.variables],
            "dynamics": self.dynamics.as_dict(),
            "check": [
                {
                    "variable": c.variable,
                    "found": str(c.found),
                    "truth": str(c.truth),
                    "error": c.error,
                    "same_terms": c.same_terms,
                    "recovered": c.recovered,
                }
                for c in self.checks
            ],
            "recovered": self.recovered,
        }


#: Points of the true trajectory on which a found equation is checked.
CHECK_POINTS = 1000
#: Largest RMS error of the rates, as a share of the true rates' RMS, of a recovered equation.
MAX_ERROR = 0.05


@dataclass(frozen=True, slots=True)
class EquationCheck:
    """One equation found against the truth: the rates' relative RMS error on the true
    trajectory and, where the truth is a sum of library terms, whether the terms are the same."""

    variable: str
    found: sympy.Expr | None
    truth: sympy.Expr
    error: float
    same_terms: bool | None  # None: the truth is no sum of library terms (a ratio), so not asked
    recovered: bool


def _values(expression: sympy.Expr, state: list[sympy.Symbol], y: np.ndarray) -> np.ndarray:
    function = sympy.lambdify([state], expression, modules="numpy")
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(function(list(y[: len(state)])), dtype=float), (y.shape[1],))


def _shapes(expression: sympy.Expr) -> set[sympy.Expr]:
    """The terms of the expanded expression without their constants."""
    return {term.as_coeff_Mul()[1] for term in sympy.Add.make_args(sympy.expand(expression))}


def _in_library(expression: sympy.Expr, state: list[sympy.Symbol]) -> bool:
    """Whether every term is a monomial of the state or the sine or cosine of a variable."""
    return all(shape.is_polynomial(*state) or isinstance(shape, sympy.sin | sympy.cos) for shape in _shapes(expression))


def _symbols(names: tuple[str, ...]) -> dict[str, sympy.Symbol]:
    """The state's symbols by name: each variable and its rate (``x_t`` in the truth's text)."""
    symbols = {n: sympy.Symbol(n, real=True) for n in names}
    symbols |= {f"{n}_t": sympy.Symbol(f"{n}'", real=True) for n in names}
    return symbols


def _swing(t: float, s: np.ndarray) -> list[float]:
    theta, omega = s
    return [omega, -(9.81 / 1.5) * np.sin(theta)]


def _damped(t: float, s: np.ndarray) -> list[float]:
    x, v = s
    return [v, -4.0 * x - 0.3 * v]


def _predators(t: float, s: np.ndarray) -> list[float]:
    prey, predators = s
    return [1.1 * prey - 0.4 * prey * predators, 0.1 * prey * predators - 0.4 * predators]


SYSTEMS = (
    System(
        "decay",
        "a radioactive sample: dN/dt = -k·N",
        ("N",),
        1,
        {"N": "-0.35*N"},
        lambda t, s: [-0.35 * s[0]],
        (1000.0,),
        10.0,
    ),
    System(
        "swing",
        "a pendulum released at 70 degrees: θ'' = -(g/L)·sin θ",
        ("theta",),
        2,
        {"theta": "-6.54*sin(theta)"},
        _swing,
        (1.2, 0.0),
        12.0,
        sensor_units=(("rad", ("rad", "deg", "deg", None)),),
    ),
    System(
        "damped",
        "a mass on a spring with friction: x'' = -(k/m)·x - (c/m)·x'",
        ("x",),
        2,
        {"x": "-4*x - 0.3*x_t"},
        _damped,
        (1.0, 0.0),
        15.0,
        sensor_units=(("m", ("m", "cm", "mm", "inch", None)),),
    ),
    System(
        "predators",
        "hares and lynxes (Lotka-Volterra): two coupled rates with products",
        ("prey", "predators"),
        1,
        {"prey": "1.1*prey - 0.4*prey*predators", "predators": "0.1*prey*predators - 0.4*predators"},
        _predators,
        (10.0, 5.0),
        30.0,
    ),
    System(
        "cooling",
        "a cup of tea in a 20 °C room (Newton): dT/dt = -k·(T - 20)",
        ("T",),
        1,
        {"T": "-0.08*(T - 20)"},
        lambda t, s: [-0.08 * (s[0] - 20.0)],
        (90.0,),
        40.0,
    ),
    System(
        "enzyme",
        "a substrate used up by an enzyme (Michaelis-Menten): dS/dt = -V·S/(K + S)",
        ("S",),
        1,
        {"S": "-2*S/(0.5 + S)"},
        lambda t, s: [-2.0 * s[0] / (0.5 + s[0])],
        (8.0,),
        6.0,
    ),
    # Held out: written after the method was fixed, measured only.
    System(
        "logistic",
        "bacteria in a flask (logistic growth): dP/dt = r·P·(1 - P/K)",
        ("P",),
        1,
        {"P": "0.9*P - 0.0009*P**2"},
        lambda t, s: [0.9 * s[0] * (1 - s[0] / 1000.0)],
        (20.0,),
        12.0,
        held_out=True,
    ),
    System(
        "duffing",
        "a stiffening spring with friction (Duffing): x'' = -x - 0.5·x³ - 0.2·x'",
        ("x",),
        2,
        {"x": "-x - 0.5*x**3 - 0.2*x_t"},
        lambda t, s: [s[1], -s[0] - 0.5 * s[0] ** 3 - 0.2 * s[1]],
        (2.0, 0.0),
        20.0,
        held_out=True,
    ),
    System(
        "drag",
        "a ball dropped through air (quadratic drag): dv/dt = g - k·v²",
        ("v",),
        1,
        {"v": "9.81 - 0.05*v**2"},
        lambda t, s: [9.81 - 0.05 * s[0] ** 2],
        (0.0,),
        8.0,
        held_out=True,
    ),
)


def system(name: str) -> System:
    for candidate in SYSTEMS:
        if candidate.name == name:
            return candidate
    raise NotFoundError(f"no system {name!r}; the systems are {', '.join(s.name for s in SYSTEMS)}")
