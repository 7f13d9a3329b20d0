"""Buckingham Pi: rewrite ``y = f(x_1..x_n)`` as ``y / scale = F(pi_1..pi_k)`` with dimensionless ``pi_j``.

If the inputs' dimensions have rank ``r``, the dimensionless products of inputs form a ``k = n - r`` dimensional
space and any law between dimensioned quantities can be written in ``k`` groups. Which basis of that space is
returned matters to the law finder: ``F`` is short in "natural" groups (``x2/x1``, a dimensionless input on its
own, a Reynolds number) and long in arbitrary combinations of them. So the basis is built from *circuits*
(exponent vectors with minimal support: no proper subset of their variables is dimensionless on its own)
greedily, fewest variables first, then smallest total ``|exponent|``, then earliest columns; the greedy
choice is optimal for that order because linearly independent sets form a matroid. The target's scale is
chosen the same way: the fewest variables, then the smallest exponents.

Circuits are found by trying variable subsets up to size ``r + 1``; parallel columns (same dimension up to a
power) are represented by one member beyond pairs, which keeps ten or so columns to a few hundred subsets.
Past :data:`MAX_SUBSETS` tries, the plain exact null-space basis completes whatever is missing, so the
result always has full rank.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from math import gcd, lcm
from typing import TypeVar, cast

import numpy as np
import sympy

from autoalign.discover.units import BASE_SYMBOLS, Dimension, UnitsError, format_powers

MAX_SUBSETS = 2048
"""Variable subsets tried for circuits or a target scale (all of them up to 11 columns, about 0.1 s) before
falling back to the plain null-space basis."""

Vector = tuple[Fraction, ...]
IntVector = tuple[int, ...]
_E = TypeVar("_E")


@dataclass(frozen=True)
class PiAnalysis:
    """The dimensionless groups of the inputs and the scale that makes the target dimensionless.

    ``groups[j]`` and ``target_scale`` map input names to exponents (only non-zero ones, in input order).
    ``target_scale`` is ``None`` when the target's dimension cannot be made from the inputs' dimensions;
    dimensional analysis then does not apply and the raw variables must be used.
    """

    inputs: tuple[str, ...]
    target: str
    groups: list[dict[str, Fraction]]
    target_scale: dict[str, Fraction] | None

    def transform(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(P, y_dimensionless)``: the groups' values (n, k) and ``y / prod(x**scale)`` for the columns of X.

        Raises :class:`UnitsError` where a power cannot be taken (a zero or negative value under a fractional
        or negative exponent), naming the column, so the caller can fall back to the raw variables.
        """
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.inputs) or y.shape != (X.shape[0],):
            raise ValueError(
                f"expected X of shape (n, {len(self.inputs)}) and y of shape (n,), got {X.shape}, {y.shape}"
            )
        scale = self._product(X, self._scale(), f"scale of {self.target}")
        P = np.empty((len(X), len(self.groups)))
        for j, group in enumerate(self.groups):
            P[:, j] = self._product(X, group, f"group {self._name(group)}")
        return P, y / scale

    def to_original(self, expr: sympy.Expr, group_symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
        """The law ``y = prod(x**scale) * expr`` in the inputs (plain ``sympy.Symbol(name)``), from a law in groups."""
        if len(group_symbols) != len(self.groups):
            raise ValueError(f"{len(self.groups)} group symbols are needed, got {len(group_symbols)}")
        symbols = {name: sympy.Symbol(name) for name in self.inputs}

        def product(powers: Mapping[str, Fraction]) -> sympy.Expr:
            return sympy.Mul(
                *(symbols[name] ** sympy.Rational(p.numerator, p.denominator) for name, p in powers.items())
            )

        groups = {symbol: product(group) for symbol, group in zip(group_symbols, self.groups, strict=True)}
        return product(self._scale()) * sympy.sympify(expr).xreplace(groups)

    def __str__(self) -> str:
        groups = ", ".join(f"pi{j + 1} = {self._name(group)}" for j, group in enumerate(self.groups))
        if self.target_scale is None:
            return f"{self.target}: its units are not made of the inputs' units; groups: {groups or 'none'}"
        return f"{self.target} / ({self._name(self.target_scale)}) = F({groups})"

    def _scale(self) -> dict[str, Fraction]:
        if self.target_scale is None:
            raise UnitsError(
                f"the units of {self.target!r} cannot be made from the inputs' units, so dimensional analysis"
                " does not apply; use the raw variables"
            )
        return self.target_scale

    @staticmethod
    def _name(powers: Mapping[str, Fraction]) -> str:
        return format_powers(powers.items())

    def _product(self, X: np.ndarray, powers: Mapping[str, Fraction], what: str) -> np.ndarray:
        result = np.ones(len(X))
        with np.errstate(all="ignore"):
            for name, power in powers.items():
                column = X[:, self.inputs.index(name)]
                factor = column ** float(power) if power.denominator > 1 else column ** int(power)
                bad = ~np.isfinite(factor) & np.isfinite(column)
                if bad.any():
                    raise UnitsError(
                        f"the {what} needs {format_powers([(name, power)])}, which the value {column[bad][0]:g}"
                        f" of {name} cannot take"
                    )
                result = result * factor
        return result


def buckingham_pi(
    units: Mapping[str, Dimension | None], target: str, inputs: Sequence[str] | None = None
) -> PiAnalysis:
    """The Buckingham Pi analysis of ``target`` as a function of ``inputs`` (by default every other key of ``units``).

    Raises :class:`UnitsError` naming every variable whose units are missing (absent or ``None``).
    """
    names = tuple(inputs) if inputs is not None else tuple(name for name in units if name != target)
    if target in names:
        raise UnitsError(f"the target {target!r} cannot also be an input")
    missing = [name for name in (*names, target) if units.get(name) is None]
    if missing:
        raise UnitsError(f"no units given for {', '.join(missing)}; give SI units for every column")
    # Not None: ``missing`` above is empty.
    reduced, pivots = _echelon(_integer_rows([cast(Dimension, units[name]).exponents for name in (*names, target)]))
    rows = reduced[: len(pivots)]  # independent rows: same solutions, shorter vectors
    inputs_ = [tuple(row[i] for row in rows) for i in range(len(names))]
    target_ = tuple(row[-1] for row in rows)
    groups = _group_basis(inputs_)
    scale = _target_scale(inputs_, target_)
    return PiAnalysis(
        inputs=names,
        target=target,
        groups=[_as_powers(names, group) for group in groups],
        target_scale=None if scale is None else _as_powers(names, scale),
    )


# --- choosing the basis --------------------------------------------------------------------------------------


def _group_basis(columns: list[IntVector]) -> list[IntVector]:
    """A full-rank basis of the dimensionless products, preferring small circuits (see the module docstring)."""
    needed = len(columns) - _rank(columns)
    chosen: list[IntVector] = []
    if needed:
        for candidate in _group_candidates(columns):
            if _rank([*chosen, candidate]) > len(chosen):
                chosen.append(candidate)
            if len(chosen) == needed:
                break
    return chosen


def _group_candidates(columns: list[IntVector]) -> Iterator[IntVector]:
    """Circuits by size, best first within a size; after the subset budget, the plain null-space basis."""
    n = len(columns)
    representatives = _representatives(columns)
    tried = 0
    for size in range(1, _rank(columns) + 2):
        pool = range(n) if size <= 2 else representatives
        found = []
        for subset in combinations(pool, size):
            tried += 1
            if tried > MAX_SUBSETS:
                break
            null = _nullspace([columns[i] for i in subset])
            if len(null) == 1 and all(null[0]):
                found.append(_spread(n, subset, _integral(null[0])))
        yield from sorted(found, key=_preference)
        if tried > MAX_SUBSETS:
            break
    yield from (_integral(vector) for vector in _nullspace(columns))


def _target_scale(columns: list[IntVector], target: IntVector) -> tuple[Fraction | int, ...] | None:
    """Exponents ``e`` with ``sum e_i * column_i == target``: fewest variables, then smallest; None if none exist."""
    n = len(columns)
    general = _solve(columns, target)
    if general is None:
        return None
    nonzero = [i for i in range(n) if any(columns[i])]
    tried = 0
    for size in range(_rank(columns) + 1):
        found = []
        for subset in combinations(nonzero, size):
            tried += 1
            if tried > MAX_SUBSETS:
                return general
            chosen = [columns[i] for i in subset]
            solution = _solve(chosen, target) if _rank(chosen) == size else None
            if solution is not None and all(solution):
                found.append(_spread(n, subset, solution))
        if found:
            return min(found, key=_preference)
    return general


def _preference(vector: Sequence[Fraction | int]) -> tuple:
    """Sort key: fewest variables, whole exponents, smallest total and largest |exponent|, earliest columns."""
    support = [i for i, e in enumerate(vector) if e]
    magnitudes = [abs(e) for e in vector if e]
    denominator = max((e.denominator for e in vector), default=1)
    largest = max(magnitudes, default=0)  # type: ignore[type-var]  # abs(Fraction | int) is typed unorderable
    return (len(support), denominator, sum(magnitudes), largest, support)


def _representatives(columns: list[IntVector]) -> list[int]:
    """One column per direction (dimensions equal up to a power), the one with the smallest exponents.

    A circuit of three or more variables never holds two parallel columns, and swapping a member for its
    representative changes it only by a ratio group that the pairs already supply.
    """
    best: dict[IntVector, int] = {}
    for i, column in enumerate(columns):
        if any(column):
            direction = _integral(column)
            if direction not in best or sum(map(abs, column)) < sum(map(abs, columns[best[direction]])):
                best[direction] = i
    return sorted(best.values())


def _integral(vector: Sequence[Fraction | int]) -> IntVector:
    """The vector scaled to coprime integers, signed so that most entries are positive (ties: first negative).

    The tie rule writes ratios as ``x2/x1``, the later column over the earlier one.
    """
    scale = lcm(*(Fraction(e).denominator for e in vector))
    whole = [int(e * scale) for e in vector]
    divisor = gcd(*whole) or 1
    whole = [w // divisor for w in whole]
    positives = sum(w > 0 for w in whole)
    negatives = sum(w < 0 for w in whole)
    first = next((w for w in whole if w), 0)
    if negatives > positives or (negatives == positives and first > 0):
        whole = [-w for w in whole]
    return tuple(whole)


def _spread(n: int, subset: Sequence[int], values: Sequence[_E]) -> tuple[_E | int, ...]:
    vector: list[_E | int] = [0] * n
    for i, value in zip(subset, values, strict=True):
        vector[i] = value
    return tuple(vector)


def _as_powers(names: Sequence[str], vector: Sequence[Fraction | int]) -> dict[str, Fraction]:
    return {name: Fraction(e) for name, e in zip(names, vector, strict=True) if e}


# --- exact linear algebra ------------------------------------------------------------------------------------
# Fraction-free elimination on Python ints (ten times faster than Fractions); fractions appear only in results.


def _integer_rows(columns: Sequence[Vector]) -> list[list[int]]:
    """The matrix with these columns, each row scaled to whole numbers (which changes no solution)."""
    rows = []
    for b in range(len(BASE_SYMBOLS)):
        row = [Fraction(column[b]) for column in columns]
        scale = lcm(*(value.denominator for value in row))
        rows.append([int(value * scale) for value in row])
    return rows


def _echelon(rows: Sequence[Sequence[int]]) -> tuple[list[list[int]], list[int]]:
    """Rows in reduced echelon form (pivots not normalized to 1, zeros above and below them) and pivot columns."""
    matrix = [list(row) for row in rows]
    pivots: list[int] = []
    width = len(matrix[0]) if matrix else 0
    for col in range(width):
        r = len(pivots)
        pivot = next((i for i in range(r, len(matrix)) if matrix[i][col]), None)
        if pivot is None:
            continue
        matrix[r], matrix[pivot] = matrix[pivot], matrix[r]
        lead = matrix[r]
        for i, row in enumerate(matrix):
            if i != r and row[col]:
                combined = [lead[col] * a - row[col] * b for a, b in zip(row, lead, strict=True)]
                divisor = gcd(*combined) or 1
                matrix[i] = [value // divisor for value in combined]
        pivots.append(col)
        if len(pivots) == len(matrix):
            break
    return matrix, pivots


def _rank(vectors: Sequence[IntVector]) -> int:
    return len(_echelon(vectors)[1])


def _rows(columns: Sequence[IntVector]) -> list[list[int]]:
    height = len(columns[0]) if columns else 0
    return [[column[b] for column in columns] for b in range(height)]


def _nullspace(columns: Sequence[IntVector]) -> list[Vector]:
    """A basis of ``{e : sum e_i * column_i == 0}``, one vector per non-pivot column."""
    n = len(columns)
    reduced, pivots = _echelon(_rows(columns))
    basis = []
    for free in (c for c in range(n) if c not in pivots):
        vector = [Fraction(0)] * n
        vector[free] = Fraction(1)
        for row, pivot in zip(reduced, pivots, strict=False):
            vector[pivot] = Fraction(-row[free], row[pivot])
        basis.append(tuple(vector))
    return basis


def _solve(columns: Sequence[IntVector], target: IntVector) -> Vector | None:
    """One solution of ``sum e_i * column_i == target`` (free exponents zero), or None if there is none."""
    n = len(columns)
    if not columns:
        return () if not any(target) else None
    reduced, pivots = _echelon([[*row, value] for row, value in zip(_rows(columns), target, strict=True)])
    if n in pivots:
        return None
    solution = [Fraction(0)] * n
    for row, pivot in zip(reduced, pivots, strict=False):
        solution[pivot] = Fraction(row[n], row[pivot])
    return tuple(solution)
