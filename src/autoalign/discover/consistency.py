"""Whether a law respects the units of its variables.

Between measured quantities with known units, the data cannot tell ``W = 0.996·U·sin(I)`` from
``W = 0.995·U·I`` when the variables carry a tenth of a percent of calibration error, but the
units can: the sine of a current is not a quantity. A law passes when every sum adds terms of
one dimension, every function (sin, exp, log, ...) and every symbolic exponent gets a
dimensionless argument, and the whole has the target's dimension.

A logarithm needs a dimensionless argument too, but for one case: a term ``a·log(C)`` of a sum
with a fitted constant ``b`` is ``a·log(C/C0)``, which is how the law finder writes what it fits
to ``log y`` (``exp(a + b·log C)`` is ``e^a·C^b``). ``sin(log r)`` with r in metres is out.

A fitted float may carry any dimension (it is where the law's dimensional constants, such as
G or an activation energy over R, live), so ``exp(-7e-7·t)`` passes and ``exp(-t)`` does not.
Integers, fractions and π are pure numbers. An expression holding a float in a product
therefore takes whatever dimension it needs; a float exponent gives its base a fractional
dimension that only such a float can make whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import sympy

from autoalign.discover.units import DIMENSIONLESS, Dimension

#: Functions whose result has the dimension of their argument.
_PASS_THROUGH = (sympy.Abs,)


class _Inconsistent(Exception):
    """A node of the expression combines dimensions that cannot be combined."""


def respects_units(expression: sympy.Expr, dimensions: Mapping[sympy.Symbol, Dimension], target: Dimension) -> bool:
    """Whether ``expression`` (in the symbols of ``dimensions``) can have the dimension ``target``."""
    try:
        dimension = _dimension(expression, dimensions)
    except _Inconsistent:
        return False
    return dimension is None or dimension == target


def _dimension(node: sympy.Expr, dimensions: Mapping[sympy.Symbol, Dimension]) -> Dimension | None:
    """The dimension of ``node``; ``None`` where a fitted float lets it take any."""
    if not node.free_symbols:
        return None if node.atoms(sympy.Float) else DIMENSIONLESS
    if isinstance(node, sympy.Symbol):
        return dimensions[node]
    if isinstance(node, sympy.Add):
        offset = any(not term.free_symbols and term.atoms(sympy.Float) for term in node.args)
        return _common([_term_dimension(term, dimensions, offset) for term in node.args])
    if isinstance(node, sympy.Mul):
        factors = [_dimension(factor, dimensions) for factor in node.args]
        product = DIMENSIONLESS
        for factor in factors:
            if factor is None:
                return None
            product = product * factor
        return product
    if isinstance(node, sympy.Pow):
        return _power(node, dimensions)
    if isinstance(node, _PASS_THROUGH):
        return _dimension(node.args[0], dimensions)
    if isinstance(node, sympy.Min | sympy.Max):
        return _common([_dimension(argument, dimensions) for argument in node.args])
    for argument in node.args:
        _require_dimensionless(_dimension(argument, dimensions))
    return DIMENSIONLESS


def _term_dimension(term: sympy.Expr, dimensions: Mapping[sympy.Symbol, Dimension], offset: bool) -> Dimension | None:
    """The dimension of a term of a sum; with a fitted constant in the sum (``offset``), a term
    ``a·log(X)`` takes any consistent ``X``, since the constant holds ``-a·log(X0)``."""
    logarithm = _logarithm_in(term)
    if not offset or logarithm is None:
        return _dimension(term, dimensions)
    _dimension(logarithm.args[0], dimensions)
    return _dimension(term.xreplace({logarithm: sympy.Integer(1)}), dimensions)


def _logarithm_in(term: sympy.Expr) -> sympy.log | None:
    """The ``log(X)`` of a term that is a number times ``log(X)``, else None."""
    while isinstance(term, sympy.Mul):
        variable = [factor for factor in term.args if factor.free_symbols]
        if len(variable) != 1:
            return None
        term = variable[0]
    return term if isinstance(term, sympy.log) else None


def _power(node: sympy.Pow, dimensions: Mapping[sympy.Symbol, Dimension]) -> Dimension | None:
    base, exponent = node.args
    base_dimension = _dimension(base, dimensions)
    if exponent.free_symbols:
        _require_dimensionless(_dimension(exponent, dimensions))
        _require_dimensionless(base_dimension)
        return base_dimension
    if base_dimension is None or base_dimension.is_dimensionless:
        return base_dimension
    if not exponent.is_real or not exponent.is_number:
        raise _Inconsistent
    power = Fraction(int(exponent.p), int(exponent.q)) if exponent.is_Rational else Fraction(float(exponent))
    return base_dimension**power


def _common(parts: list[Dimension | None]) -> Dimension | None:
    """The one dimension that the known ``parts`` share (``None`` if none is known)."""
    known = {part for part in parts if part is not None}
    if len(known) > 1:
        raise _Inconsistent
    return known.pop() if known else None


def _require_dimensionless(dimension: Dimension | None) -> None:
    if dimension is not None and not dimension.is_dimensionless:
        raise _Inconsistent
