"""Powers of ten that bring columns of extreme magnitude (1e200, 1e-300) near 1 before a search.

The search multiplies, squares and exponentiates columns: at 1e200 a square is already infinite,
and at 1e-300 a product is zero, so every candidate scores ``nan`` and no law is found. Dividing
such a column by a power of ten is exact in the law (the constant moves into it), so the search
runs on values near 1 and the law is written back in the columns as given. Columns of ordinary
magnitude are left alone, so tables that search well today search the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np
import sympy

#: Columns whose typical magnitude is beyond 10**±LIMIT are rescaled (a product of a few such
#: columns stays far from float overflow at 10**308).
LIMIT = 30
#: Rationals with more digits than this are shown as floats.
LONG_RATIONAL = 10**15
#: Exponents are kept within the normal floats (10**-308 is subnormal and inexact).
MAX_EXPONENT = 300


@dataclass(frozen=True, slots=True)
class Scaling:
    """The power of ten each input column and the target are divided by (0: left alone)."""

    x_exponents: tuple[int, ...]
    y_exponent: int = 0

    @classmethod
    def of(cls, X: np.ndarray, y: np.ndarray, families: list[int] | None = None) -> Scaling:
        """The scaling of a table. Columns of one *family* (the same units: they may be added or
        subtracted in the law) share one exponent, so a difference of two stays a difference."""
        exponents = [magnitude_exponent(column) for column in X.T]
        families = families if families is not None else list(range(len(exponents)))
        shared = {}
        for family in set(families):
            members = [e for e, f in zip(exponents, families, strict=True) if f == family]
            shared[family] = int(round(float(np.mean(members))))
        chosen = tuple(shared[f] if abs(shared[f]) > LIMIT else 0 for f in families)
        y_exponent = magnitude_exponent(y)
        return cls(chosen, y_exponent if abs(y_exponent) > LIMIT else 0)

    @property
    def identity(self) -> bool:
        return self.y_exponent == 0 and not any(self.x_exponents)

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """``X`` divided column by column by its powers of ten."""
        return X / 10.0 ** np.asarray(self.x_exponents, dtype=float) if any(self.x_exponents) else X

    def target(self, y: np.ndarray) -> np.ndarray:
        return y / 10.0**self.y_exponent if self.y_exponent else y

    @overload
    def target_back(self, y: np.ndarray) -> np.ndarray: ...
    @overload
    def target_back(self, y: float) -> float: ...
    def target_back(self, y: np.ndarray | float) -> np.ndarray | float:
        """Values of the scaled target (predictions, errors) in the target's own magnitude."""
        return y * 10.0**self.y_exponent if self.y_exponent else y

    def law_back(self, expression: sympy.Expr, symbols: list[sympy.Symbol]) -> sympy.Expr:
        """A law found on the scaled columns, written in the columns as given. The powers of ten
        go in as sympy integers, so those that cancel leave the law exact; the constants left
        are shown as floats (1.0e-200, not 201 digits)."""
        if self.identity:
            return expression
        ten = sympy.Integer(10)
        scaled = {s: s / ten**e for s, e in zip(symbols, self.x_exponents, strict=True) if e}
        law = ten**self.y_exponent * expression.xreplace(scaled)
        long = [r for r in law.atoms(sympy.Rational) if max(abs(r.p), r.q) > LONG_RATIONAL]
        return law.xreplace({r: sympy.Float(r, 15) for r in long})


def magnitude_exponent(values: np.ndarray) -> int:
    """The power of ten that puts the median magnitude of the non-zero values in [1, 10), where
    the values of ordinary tables lie (and a law's constants are small integers more often)."""
    magnitudes = np.abs(values[values != 0])
    if magnitudes.size == 0:
        return 0
    exponent = int(np.floor(np.median(np.log10(magnitudes))))
    return int(np.clip(exponent, -MAX_EXPONENT, MAX_EXPONENT))
