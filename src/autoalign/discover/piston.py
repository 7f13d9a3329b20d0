"""A simulated piston: an ideal gas watched by some 200 imperfect and partly irrelevant sensors.

The test bed for finding summary variables and laws from raw streams. The hidden state is honest
physics: the piston position ``x`` (measured from the cylinder head, so the volume is ``V = A x``)
follows a compression cycle; the temperature ``T`` follows a heater's set point plus the heating
of fast compression, relaxing back with a short time constant; the amount of gas ``N`` leaks out
exponentially and is refilled at random times to random levels, so it varies independently of
``V`` and ``T``; and the pressure obeys the ideal gas law ``P = N R T / V``.

Each sensor reads its quantity through its own calibration errors (an offset, a gain error about
its calibration point, a small quadratic term) and noise, in its own units; some units are left
unknown, some sensors read backwards or drop out, and about 40 sensors measure things unrelated to
the gas (the lab's humidity, vibration, a drifting clock, pure noise, stuck and mostly missing
channels), a few of them in the same units as the gas sensors. Everything is vectorized: 2000
samples of 200 sensors take a few milliseconds.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from autoalign.discover.apparatus import Reading, SensorKind, SensorTable, assemble, cycle, stack, wander
from autoalign.errors import AutoalignError

__all__ = ["SensorTable", "simulate_piston"]

R = 8.314462618  # J/(mol K)
AREA = 0.01  # m², the piston's face
MOLAR_MASS = 0.028  # kg/mol, nitrogen
GAMMA = 1.4  # heat capacity ratio of a diatomic gas
DURATION = 600.0  # s, the whole record
RELAX = 1.0  # s, how fast the gas returns to the heater's temperature after compression heats it
LEAK = 150.0  # s, time constant of the leak
REFILLS = 8  # refills in the record, one at a random time in each eighth of it

#: What each kind of sensor measures, as the key of the hidden state it reads.
QUANTITIES = {"pressure": "P", "temperature": "T", "position": "x", "amount": "N", "mass": "m"}


# Calibration errors and noise are in SI units; each kind's readings say in which units a share of its
# sensors report, and whether anybody wrote those units down.
_PRESSURE = SensorKind(
    quantity="pressure",
    count=60,
    pivot=0.0,
    scale=5e5,
    offset_sd=1.5e3,
    gain_sd=0.01,
    curvature_sd=0.01,
    noise_sd=1e3,
    si_units="Pa",
    readings=(Reading("Pa", 0.55), Reading("kPa", 0.35), Reading("bar", 0.10, declared=False)),
)
_TEMPERATURE = SensorKind(  # thermometers calibrated at the ice point
    quantity="temperature",
    count=40,
    pivot=273.15,
    scale=150.0,
    offset_sd=0.4,
    gain_sd=0.005,
    curvature_sd=0.01,
    noise_sd=0.3,
    si_units="K",
    readings=(Reading("K", 0.55), Reading("°C", 0.35), Reading("°F", 0.10, declared=False)),
)
_POSITION = SensorKind(
    quantity="position",
    count=40,
    pivot=0.0,
    scale=0.25,
    offset_sd=5e-4,
    gain_sd=0.003,
    curvature_sd=0.005,
    noise_sd=2e-4,
    si_units="m",
    readings=(
        Reading("m", 0.50),
        Reading("mm", 0.30),
        Reading("mm", 0.10, reversed_from=0.30),  # encoders that read the distance to the crank end
        Reading("mm", 0.10, declared=False),
    ),
)
_AMOUNT_METER = SensorKind(  # flow-integrating meters, started from the amount filled in
    quantity="amount",
    count=12,
    pivot=0.0,
    scale=0.1,
    offset_sd=4e-4,
    gain_sd=0.01,
    curvature_sd=0.005,
    noise_sd=4e-4,
    si_units="mol",
    readings=(Reading("mol", 1.0),),
)
_LOAD_CELL = SensorKind(  # weigh the gas (N times the molar mass) on a tared cylinder
    quantity="mass",
    count=8,
    pivot=0.0,
    scale=3e-3,
    offset_sd=3e-5,
    gain_sd=0.01,
    curvature_sd=0.005,
    noise_sd=3e-5,
    si_units="kg",
    readings=(Reading("kg", 0.75), Reading("g", 0.25)),
)


def simulate_piston(n_samples: int = 2000, *, seed: int = 0) -> SensorTable:
    """Simulate ``n_samples`` equally spaced readings of every sensor over a ten-minute run."""
    if n_samples < 10:
        raise AutoalignError(f"simulate at least 10 samples, not {n_samples}")
    rng = np.random.default_rng(seed)
    state = _state(n_samples, rng)
    kinds = [
        (_PRESSURE, state["P"]),
        (_TEMPERATURE, state["T"]),
        (_POSITION, state["x"]),
        (_AMOUNT_METER, state["N"]),
        (_LOAD_CELL, state["m"]),
    ]
    return assemble(state, kinds, lambda: _irrelevant(state["t"], rng), rng, [("pressure", 3), ("temperature", 2)])


def _state(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The hidden trajectories: x from a compression cycle, T from heater and compression, N from leak
    and refills, P from the ideal gas law."""
    t = np.linspace(0.0, DURATION, n)
    dt = t[1] - t[0]
    x = 0.08 + 0.16 * cycle(t / DURATION, (23.7, 17.1, 31.3), rng)
    V = AREA * x
    T_set = 280.0 + 170.0 * cycle(t / DURATION, (6.3, 4.1, 9.7), rng)
    # Compression heats the gas (dT = -(γ-1) T dlnV) and the walls cool it back towards the set point
    # within RELAX seconds: an exact discretization of that first-order lag for a step-wise forcing.
    a = np.exp(-dt / RELAX)
    heating = -(GAMMA - 1.0) * T_set * np.diff(np.log(V), prepend=np.log(V[0]))
    T = T_set + lfilter([1.0 - a], [1.0, -a], heating * RELAX / dt)
    refill_at = (np.arange(REFILLS) + rng.uniform(0.2, 0.8, REFILLS)) * DURATION / REFILLS
    levels = rng.uniform(0.09, 0.12, REFILLS + 1)  # mol, right after each refill (and at the start)
    segment = np.searchsorted(refill_at, t, side="right")
    since = t - np.concatenate([[0.0], refill_at])[segment]
    N = levels[segment] * np.exp(-since / LEAK)
    return {"t": t, "x": x, "V": V, "T": T, "N": N, "m": N * MOLAR_MASS, "P": N * R * T / V}


def _irrelevant(t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str | None]]:
    """Sensors unrelated to the gas, each independent of all others."""
    n = len(t)

    def vibration(count: int) -> np.ndarray:
        frequency = rng.uniform(5, 50, count)
        return 0.3 * np.sin(2 * np.pi * frequency * t[:, None] + rng.uniform(0, 2 * np.pi, count)) + rng.normal(
            0, 0.1, (n, count)
        )

    stuck_spiky = np.full(n, 4.2)
    stuck_spiky[rng.random(n) < 0.05] = 9.9
    mostly_missing = wander(t, 1, 20.0, 1.0, rng)[:, 0]
    mostly_missing[rng.random(n) < 0.7] = np.nan
    groups: list[tuple[np.ndarray, str | None]] = [
        (wander(t, 6, 45.0, 5.0, rng), "%"),  # humidity
        (vibration(6), "m/s^2"),
        ((t * 1.0003 + np.cumsum(rng.normal(0, 0.05, n)))[:, None], "s"),  # a clock that drifts
        (wander(t, 5, 230.0, 2.0, rng), "V"),  # mains voltage
        (wander(t, 3, 21.0, 0.5, rng), "°C"),  # the lab's air
        (wander(t, 2, 101325.0, 150.0, rng), "Pa"),  # the lab's barometers
        (rng.normal(0, 1, (n, 10)), None),
        (rng.standard_t(2, (n, 4)), None),  # heavy-tailed noise
        (rng.uniform(0, 1, (n, 3)), None),
        (np.full((n, 1), 17.0), "V"),  # stuck
        (stuck_spiky[:, None], None),
        (mostly_missing[:, None], "°C"),
    ]
    return stack(groups)
