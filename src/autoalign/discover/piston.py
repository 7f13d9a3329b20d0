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

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from autoalign.errors import AutoalignError

R = 8.314462618  # J/(mol K)
AREA = 0.01  # m², the piston's face
MOLAR_MASS = 0.028  # kg/mol, nitrogen
GAMMA = 1.4  # heat capacity ratio of a diatomic gas
DURATION = 600.0  # s, the whole record
RELAX = 1.0  # s, how fast the gas returns to the heater's temperature after compression heats it
LEAK = 150.0  # s, time constant of the leak
REFILLS = 8  # refills in the record, one at a random time in each eighth of it

#: What each kind of sensor measures, as the key of the hidden state it reads.
QUANTITIES = {"pressure": "P", "temperature": "T", "position": "x", "amount": "N"}


@dataclass(frozen=True)
class SensorTable:
    """Sensor streams and, kept apart for tests and reports only, what each sensor really measures.

    ``values`` is (n_samples, n_sensors) with NaN where a sensor dropped out; ``units`` holds each
    sensor's declared units or None where they are unknown. ``quantities`` names the true quantity
    of each sensor (a key of :data:`QUANTITIES`, or "irrelevant"), and ``state`` the hidden
    trajectories in SI units: ``t`` [s], ``x`` [m], ``V`` [m³], ``T`` [K], ``N`` [mol], ``P`` [Pa].
    """

    names: list[str]
    values: np.ndarray
    units: list[str | None]
    quantities: list[str]
    state: dict[str, np.ndarray]

    def known_units(self) -> dict[str, str]:
        """Sensor name -> units, for the sensors whose units are known (what a user would have)."""
        return {name: unit for name, unit in zip(self.names, self.units, strict=True) if unit}

    def to_csv(self, path: str | Path) -> tuple[Path, Path]:
        """Write the streams as CSV (one column per sensor, empty cells for dropouts) and the known
        units as ``<stem>.units.toml`` next to it (``[units]`` table; unknown units are left out).
        The ground truth is not written: a file is what a user would have. Returns both paths.
        """
        path = Path(path)
        rows = [",".join(self.names)]
        rows += [",".join(f"{v:.10g}" if np.isfinite(v) else "" for v in row) for row in self.values]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        units_path = path.with_name(f"{path.stem}.units.toml")
        lines = ["# Units of the sensors in " + path.name + "; sensors not listed have unknown units.", "[units]"]
        lines += [
            f"{name} = {json.dumps(unit, ensure_ascii=False)}"
            for name, unit in zip(self.names, self.units, strict=True)
            if unit
        ]
        units_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path, units_path


@dataclass(frozen=True)
class _Kind:
    """One kind of sensor: how it reads its quantity (in SI) and in which units it reports."""

    quantity: str
    count: int
    pivot: float  # the calibration point, where a gain error does no harm
    scale: float  # the size of the quantity, for the quadratic term
    offset_sd: float
    gain_sd: float
    curvature_sd: float
    noise_sd: float
    units: tuple[tuple[str | None, Callable[[np.ndarray], np.ndarray], float], ...]  # (declared, from SI, share)


def _same(si: np.ndarray) -> np.ndarray:
    """Readings already in SI units."""
    return si


# Calibration errors and noise are in SI units; each kind's units are (declared units, conversion from
# SI, share of the sensors). Unknown units are None: the readings are then in some unit nobody wrote down.
_PRESSURE = _Kind(
    quantity="pressure",
    count=60,
    pivot=0.0,
    scale=5e5,
    offset_sd=1.5e3,
    gain_sd=0.01,
    curvature_sd=0.01,
    noise_sd=1e3,
    units=(("Pa", _same, 0.55), ("kPa", lambda p: p / 1e3, 0.35), (None, lambda p: p / 1e5, 0.10)),  # bar
)
_TEMPERATURE = _Kind(  # thermometers calibrated at the ice point
    quantity="temperature",
    count=40,
    pivot=273.15,
    scale=150.0,
    offset_sd=0.4,
    gain_sd=0.005,
    curvature_sd=0.01,
    noise_sd=0.3,
    units=(("K", _same, 0.55), ("°C", lambda t: t - 273.15, 0.35), (None, lambda t: (t - 273.15) * 1.8 + 32, 0.10)),
)
_POSITION = _Kind(
    quantity="position",
    count=40,
    pivot=0.0,
    scale=0.25,
    offset_sd=5e-4,
    gain_sd=0.003,
    curvature_sd=0.005,
    noise_sd=2e-4,
    units=(
        ("m", _same, 0.50),
        ("mm", lambda x: x * 1e3, 0.30),
        ("mm", lambda x: (0.30 - x) * 1e3, 0.10),  # encoders that read the distance to the crank end
        (None, lambda x: x * 1e3, 0.10),
    ),
)
_AMOUNT_METER = _Kind(  # flow-integrating meters, started from the amount filled in
    quantity="amount",
    count=12,
    pivot=0.0,
    scale=0.1,
    offset_sd=4e-4,
    gain_sd=0.01,
    curvature_sd=0.005,
    noise_sd=4e-4,
    units=(("mol", _same, 1.0),),
)
_LOAD_CELL = _Kind(  # weigh the gas (N times the molar mass) on a tared cylinder
    quantity="amount",
    count=8,
    pivot=0.0,
    scale=3e-3,
    offset_sd=3e-5,
    gain_sd=0.01,
    curvature_sd=0.005,
    noise_sd=3e-5,
    units=(("kg", _same, 0.75), ("g", lambda m: m * 1e3, 0.25)),
)


def simulate_piston(n_samples: int = 2000, *, seed: int = 0) -> SensorTable:
    """Simulate ``n_samples`` equally spaced readings of every sensor over a ten-minute run."""
    if n_samples < 10:
        raise AutoalignError(f"simulate at least 10 samples, not {n_samples}")
    rng = np.random.default_rng(seed)
    state = _state(n_samples, rng)
    columns: list[np.ndarray] = []
    units: list[str | None] = []
    quantities: list[str] = []
    for kind, true in (
        (_PRESSURE, state["P"]),
        (_TEMPERATURE, state["T"]),
        (_POSITION, state["x"]),
        (_AMOUNT_METER, state["N"]),
        (_LOAD_CELL, state["N"] * MOLAR_MASS),
    ):
        readings, declared = _read(kind, true, rng)
        columns.append(readings)
        units += declared
        quantities += [kind.quantity] * kind.count
    irrelevant, irrelevant_units = _irrelevant(state["t"], rng)
    columns.append(irrelevant)
    units += irrelevant_units
    quantities += ["irrelevant"] * irrelevant.shape[1]
    values = np.hstack(columns)
    _drop_out(values, quantities, rng)
    order = rng.permutation(values.shape[1])  # names in column order say nothing about the kind
    return SensorTable(
        names=[f"s{i:03d}" for i in range(values.shape[1])],
        values=values[:, order],
        units=[units[i] for i in order],
        quantities=[quantities[i] for i in order],
        state=state,
    )


def _state(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The hidden trajectories: x from a compression cycle, T from heater and compression, N from leak
    and refills, P from the ideal gas law."""
    t = np.linspace(0.0, DURATION, n)
    dt = t[1] - t[0]
    x = 0.08 + 0.16 * _cycle(t, (23.7, 17.1, 31.3), rng)
    V = AREA * x
    T_set = 280.0 + 170.0 * _cycle(t, (6.3, 4.1, 9.7), rng)
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
    return {"t": t, "x": x, "V": V, "T": T, "N": N, "P": N * R * T / V}


def _cycle(t: np.ndarray, cycles: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    """A smooth signal scaled to [0, 1]: sinusoids making the given (incommensurate) numbers of cycles
    over the record, with random phases, so separate quantities are close to uncorrelated."""
    phases = rng.uniform(0, 2 * np.pi, len(cycles))
    weights = np.array([1.0, 0.6, 0.4])[: len(cycles)]
    signal = (weights * np.sin(2 * np.pi * np.outer(t / DURATION, cycles) + phases)).sum(axis=1)
    return (signal - signal.min()) / np.ptp(signal)


def _read(kind: _Kind, true: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str | None]]:
    """``kind.count`` sensors of ``true`` (SI), each with its own calibration errors, noise and units."""
    n, k = len(true), kind.count
    deviation = (true - kind.pivot)[:, None]
    si = (
        true[:, None]
        + rng.normal(0, kind.offset_sd, k)
        + rng.normal(0, kind.gain_sd, k) * deviation
        + rng.normal(0, kind.curvature_sd, k) * deviation**2 / kind.scale
        + rng.normal(0, kind.noise_sd, (n, k))
    )
    shares = np.array([share for *_, share in kind.units])
    counts = np.round(shares / shares.sum() * k).astype(int)
    counts[0] += k - counts.sum()
    readings, declared, start = np.empty_like(si), [], 0
    for (unit, convert, _), count in zip(kind.units, counts, strict=True):
        readings[:, start : start + count] = convert(si[:, start : start + count])
        declared += [unit] * count
        start += count
    return readings, declared


def _irrelevant(t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str | None]]:
    """Sensors unrelated to the gas, each independent of all others."""
    n = len(t)

    def wander(count: int, level: float, size: float) -> np.ndarray:
        """Mean-reverting fluctuations with a correlation time of a few seconds (so independent
        channels do not correlate by chance, as random walks would)."""
        a = np.exp(-(t[1] - t[0]) / 5.0)
        noise = rng.normal(0, size * np.sqrt(1 - a * a), (n, count))
        return level + lfilter([1.0], [1.0, -a], noise, axis=0)

    def vibration(count: int) -> np.ndarray:
        frequency = rng.uniform(5, 50, count)
        return 0.3 * np.sin(2 * np.pi * frequency * t[:, None] + rng.uniform(0, 2 * np.pi, count)) + rng.normal(
            0, 0.1, (n, count)
        )

    stuck_spiky = np.full(n, 4.2)
    stuck_spiky[rng.random(n) < 0.05] = 9.9
    mostly_missing = wander(1, 20.0, 1.0)[:, 0]
    mostly_missing[rng.random(n) < 0.7] = np.nan
    groups: list[tuple[np.ndarray, str | None]] = [
        (wander(6, 45.0, 5.0), "%"),  # humidity
        (vibration(6), "m/s^2"),
        ((t * 1.0003 + np.cumsum(rng.normal(0, 0.05, n)))[:, None], "s"),  # a clock that drifts
        (wander(5, 230.0, 2.0), "V"),  # mains voltage
        (wander(3, 21.0, 0.5), "°C"),  # the lab's air
        (wander(2, 101325.0, 150.0), "Pa"),  # the lab's barometers
        (rng.normal(0, 1, (n, 10)), None),
        (rng.standard_t(2, (n, 4)), None),  # heavy-tailed noise
        (rng.uniform(0, 1, (n, 3)), None),
        (np.full((n, 1), 17.0), "V"),  # stuck
        (stuck_spiky[:, None], None),
        (mostly_missing[:, None], "°C"),
    ]
    values = np.hstack([block for block, _ in groups])
    units = [unit for block, unit in groups for _ in range(block.shape[1])]
    return values, units


def _drop_out(values: np.ndarray, quantities: list[str], rng: np.random.Generator) -> None:
    """A few gauges and thermometers lose 2 to 5% of their samples (NaN), in place."""
    for quantity, count in (("pressure", 3), ("temperature", 2)):
        columns = rng.choice([i for i, q in enumerate(quantities) if q == quantity], count, replace=False)
        for column in columns:
            values[rng.random(len(values)) < rng.uniform(0.02, 0.05), column] = np.nan
