"""Simulated apparatus: hidden physical state read by many imperfect sensors, for Discover's tests.

A real bench has many sensors per quantity, each with its own calibration errors (an offset, a
gain error about its calibration point, a small quadratic term), noise and units, some of them
undeclared, some reading backwards, some dropping out, plus channels that measure nothing of
interest. :func:`read` makes such sensors from one hidden quantity; :func:`assemble` shuffles
every apparatus's sensors into one :class:`SensorTable`, the ground truth kept apart from the
streams. The piston (``piston.py``) and the gallery (``gallery.py``) are built from these parts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from autoalign.discover.pint_units import unit_registry

#: The quantity of sensors that measure nothing of interest.
IRRELEVANT = "irrelevant"


@dataclass(frozen=True)
class SensorTable:
    """Sensor streams and, kept apart for tests and reports only, what each sensor really measures.

    ``values`` is (n_samples, n_sensors) with NaN where a sensor dropped out; ``units`` holds each
    sensor's declared units or None where they are unknown. ``quantities`` names the true quantity
    of each sensor (a key of ``state``, or :data:`IRRELEVANT`), and ``state`` the hidden values in
    SI units.
    """

    names: list[str]
    values: np.ndarray
    units: list[str | None]
    quantities: list[str]
    state: dict[str, np.ndarray]

    def known_units(self) -> dict[str, str]:
        """Sensor name -> units, for the sensors whose units are known (what a user would have)."""
        return {name: unit for name, unit in zip(self.names, self.units, strict=True) if unit}

    def truth(self) -> dict[str, str]:
        """Sensor name -> the quantity it really measures."""
        return dict(zip(self.names, self.quantities, strict=True))

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


#: A conversion from a quantity's SI values to a sensor's readings.
Conversion = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Reading:
    """How a share of a kind's sensors report: in ``units`` (pint syntax, converted from SI),
    declared or not, optionally backwards (``reversed_from``: the reading is that value, in SI,
    minus the quantity, as an encoder measuring the distance to the far end), or through an
    explicit ``conversion`` when no unit names it (an amplifier's volts)."""

    units: str | None
    share: float
    declared: bool = True
    reversed_from: float | None = None
    conversion: Conversion | None = None

    def convert(self, si: np.ndarray, si_units: str) -> np.ndarray:
        if self.reversed_from is not None:
            si = self.reversed_from - si
        if self.conversion is not None:
            return self.conversion(si)
        return si if self.units is None else _from_si(self.units, si_units)(si)


@dataclass(frozen=True)
class SensorKind:
    """One kind of sensor: how it reads its quantity (errors in SI) and in which units it reports."""

    quantity: str  # the key of the state it reads
    count: int
    si_units: str
    pivot: float  # the calibration point, where a gain error does no harm
    scale: float  # the size of the quantity, for the quadratic term
    offset_sd: float
    gain_sd: float
    curvature_sd: float
    noise_sd: float
    readings: tuple[Reading, ...]
    noise_relative: bool = False  # noise_sd is then a share of the value (counting, photometry)


def kind(
    quantity: str,
    values: np.ndarray,
    count: int,
    si_units: str,
    readings: Sequence[Reading],
    *,
    noise: float = 0.003,
    offset: float = 0.003,
    gain: float = 0.005,
    curvature: float = 0.005,
    relative_noise: float | None = None,
    pivot: float = 0.0,
) -> SensorKind:
    """A kind whose errors are given as shares of the quantity's spread (``noise`` and ``offset``
    of its standard deviation), so a gallery entry needs no numbers of its own scale. Gain errors
    act about ``pivot``, where the sensors were calibrated: zero for quantities with a natural
    zero, the ice point for thermometers. ``relative_noise``, where given, replaces ``noise`` by noise proportional to
    the value (a share of it), as counting and photometry have over decades."""
    spread = float(np.std(values))
    return SensorKind(
        quantity=quantity,
        count=count,
        si_units=si_units,
        pivot=pivot,
        scale=float(np.max(np.abs(values))),
        offset_sd=offset * spread,
        gain_sd=gain,
        curvature_sd=curvature,
        noise_sd=noise * spread if relative_noise is None else relative_noise,
        readings=tuple(readings),
        noise_relative=relative_noise is not None,
    )


def read(kind: SensorKind, true: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str | None]]:
    """``kind.count`` sensors of ``true`` (SI), each with its own calibration errors, noise and units."""
    n, k = len(true), kind.count
    deviation = (true - kind.pivot)[:, None]
    si = (
        true[:, None]
        + rng.normal(0, kind.offset_sd, k)
        + rng.normal(0, kind.gain_sd, k) * deviation
        + rng.normal(0, kind.curvature_sd, k) * deviation**2 / kind.scale
        + rng.normal(0, kind.noise_sd, (n, k)) * (np.abs(true[:, None]) if kind.noise_relative else 1.0)
    )
    shares = np.array([reading.share for reading in kind.readings])
    counts = np.round(shares / shares.sum() * k).astype(int)
    counts[0] += k - counts.sum()
    readings, declared, start = np.empty_like(si), [], 0
    for reading, count in zip(kind.readings, counts, strict=True):
        readings[:, start : start + count] = reading.convert(si[:, start : start + count], kind.si_units)
        declared += [reading.units if reading.declared else None] * count
        start += count
    return readings, declared


def _from_si(units: str, si_units: str) -> Conversion:
    """SI values -> values in ``units`` (affine, so °C and °F work), through pint."""
    registry = unit_registry()
    zero = registry.Quantity(0.0, si_units).to(units).magnitude
    one = registry.Quantity(1.0, si_units).to(units).magnitude
    return lambda si: zero + (one - zero) * si


def cycle(phase: np.ndarray, cycles: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """A smooth signal scaled to [0, 1]: sinusoids making the given (incommensurate) numbers of
    cycles as ``phase`` goes from 0 to 1, with random phases, so that separate quantities are
    close to uncorrelated."""
    phases = rng.uniform(0, 2 * np.pi, len(cycles))
    weights = np.array([1.0, 0.6, 0.4])[: len(cycles)]
    signal = (weights * np.sin(2 * np.pi * np.outer(phase, cycles) + phases)).sum(axis=1)
    return (signal - signal.min()) / np.ptp(signal)


def wander(t: np.ndarray, count: int, level: float, size: float, rng: np.random.Generator) -> np.ndarray:
    """Mean-reverting fluctuations with a correlation time of a few samples' worth of seconds (so
    independent channels do not correlate by chance, as random walks would)."""
    a = np.exp(-(t[1] - t[0]) / 5.0) if len(t) > 1 else 0.0
    noise = rng.normal(0, size * np.sqrt(1 - a * a), (len(t), count))
    return level + lfilter([1.0], [1.0, -a], noise, axis=0)


def irrelevant(
    n: int, rng: np.random.Generator, lookalikes: Sequence[tuple[float, float, str]] = ()
) -> tuple[np.ndarray, list[str | None]]:
    """Channels unrelated to the apparatus, independent of each other: noise of several shapes, a
    stuck channel, a spiky one, a mostly missing one, and ``lookalikes``: (level, size, units) of
    slowly wandering channels in the units of the real sensors (a room thermometer beside the
    oven's), two of each."""
    t = np.arange(n, dtype=float)
    stuck_spiky = np.full(n, 4.2)
    stuck_spiky[rng.random(n) < 0.05] = 9.9
    mostly_missing = wander(t, 1, 20.0, 1.0, rng)[:, 0]
    mostly_missing[rng.random(n) < 0.7] = np.nan
    blocks: list[tuple[np.ndarray, str | None]] = [
        (wander(t, 2, level, size, rng), units) for level, size, units in lookalikes
    ]
    blocks += [
        (wander(t, 4, 45.0, 5.0, rng), "%"),  # humidity
        (rng.normal(0, 1, (n, 6)), None),
        (rng.standard_t(2, (n, 3)), None),  # heavy-tailed noise
        (rng.uniform(0, 1, (n, 3)), "mV"),
        (np.full((n, 1), 17.0), "V"),  # stuck
        (stuck_spiky[:, None], None),
        (mostly_missing[:, None], "°C"),
    ]
    return stack(blocks)


def stack(blocks: Sequence[tuple[np.ndarray, str | None]]) -> tuple[np.ndarray, list[str | None]]:
    """Blocks of channels, each with the units of all its channels, as one matrix and its units."""
    values = np.hstack([block for block, _ in blocks])
    units = [unit for block, unit in blocks for _ in range(block.shape[1])]
    return values, units


def drop_out(
    values: np.ndarray, quantities: list[str], rng: np.random.Generator, counts: Sequence[tuple[str, int]]
) -> None:
    """``count`` sensors of each named quantity lose 2 to 5% of their samples (NaN), in place."""
    for quantity, count in counts:
        candidates = [i for i, q in enumerate(quantities) if q == quantity]
        for column in rng.choice(candidates, min(count, len(candidates)), replace=False):
            values[rng.random(len(values)) < rng.uniform(0.02, 0.05), column] = np.nan


def assemble(
    state: dict[str, np.ndarray],
    kinds: Sequence[tuple[SensorKind, np.ndarray]],
    unrelated: Callable[[], tuple[np.ndarray, list[str | None]]],
    rng: np.random.Generator,
    dropouts: Sequence[tuple[str, int]] = (),
) -> SensorTable:
    """Read every kind (each with the true values it reads, in SI), then add the unrelated channels
    (made after the reads, from the same generator), drop some readings out, and shuffle the
    columns so that their order says nothing."""
    columns: list[np.ndarray] = []
    units: list[str | None] = []
    quantities: list[str] = []
    for sensor_kind, true in kinds:
        readings, declared = read(sensor_kind, true, rng)
        columns.append(readings)
        units += declared
        quantities += [sensor_kind.quantity] * sensor_kind.count
    values, unrelated_units = unrelated()
    columns.append(values)
    units += unrelated_units
    quantities += [IRRELEVANT] * values.shape[1]
    matrix = np.hstack(columns)
    drop_out(matrix, quantities, rng, dropouts)
    order = rng.permutation(matrix.shape[1])
    return SensorTable(
        names=[f"s{i:03d}" for i in range(matrix.shape[1])],
        values=matrix[:, order],
        units=[units[i] for i in order],
        quantities=[quantities[i] for i in order],
        state=state,
    )
