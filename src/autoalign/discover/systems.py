"""Simulated systems that change in time, with their differential equations kept apart.

Each system integrates its true equations from a start, reads every variable at uneven times
(readings arrive when they arrive, as on a real bench) and adds noise of a given share of each
variable's spread. ``find_dynamics`` sees the readings only; the judge compares what it found
with ``truth``. The first three are tuned on; the held-out ones were written after the method
was fixed and are only measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy
from scipy.integrate import solve_ivp

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
    rhs: Callable[[float, np.ndarray], np.ndarray]
    start: tuple[float, ...]
    duration: float
    held_out: bool = False

    def record(self, samples: int = 400, noise: float = 0.01, seed: int = 0) -> Recording:
        """``samples`` readings at uneven times over the duration, with Gaussian noise of
        ``noise`` times each variable's standard deviation."""
        rng = np.random.default_rng(seed)
        t = np.sort(rng.uniform(0, self.duration, samples))
        solution = solve_ivp(self.rhs, (0, self.duration), self.start, t_eval=t, rtol=1e-10, atol=1e-12)
        exact = solution.y[: len(self.names)].T
        values = exact + noise * exact.std(axis=0) * rng.standard_normal(exact.shape)
        return Recording(t, values, self.names)

    def true_equations(self) -> dict[str, sympy.Expr]:
        return {name: sympy.sympify(text, locals=_symbols(self.names)) for name, text in self.truth.items()}


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
        held_out=True,
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
        held_out=True,
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
        held_out=True,
    ),
)


def system(name: str) -> System:
    for candidate in SYSTEMS:
        if candidate.name == name:
            return candidate
    raise NotFoundError(f"no system {name!r}; the systems are {', '.join(s.name for s in SYSTEMS)}")
