"""SI dimensions and the parser that reads them from unit strings such as ``"kg*m/s^2"`` or ``"N/m^2"``.

Dimensional analysis only needs the *dimension* of a unit, never its scale: ``km``, ``mm`` and ``m`` are
all a length, ``g`` and ``kg`` both a mass, ``eV`` and ``J`` both an energy. Prefixes and non-coherent
units are therefore accepted and their factors dropped. Exponents are exact fractions, so square roots
(``m^(1/2)``) stay exact through the linear algebra of :mod:`autoalign.discover.pi_groups`.

The parser is our own rather than pint's. It imports in a few milliseconds and parses in about 10 µs (pint:
0.4 s to import and build its registry, then about 60 µs a parse); it keeps exponents exact (pint turns
``m^(1/3)`` into a float); and it knows no physical constants, which pint silently reads as units (there ``c``,
``k`` and ``e`` are constants and ``G`` is the CGS gauss), so a mistaken name fails with a message
instead of yielding a wrong dimension.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

from autoalign.errors import UnitsError

BASE_SYMBOLS = ("m", "kg", "s", "A", "K", "mol", "cd")
"""The seven SI base units, in the order of :attr:`Dimension.exponents`."""


@dataclass(frozen=True)
class Dimension:
    """A product of SI base dimensions, held as one exact exponent per base unit (see :data:`BASE_SYMBOLS`)."""

    exponents: tuple[Fraction, ...] = (Fraction(0),) * len(BASE_SYMBOLS)

    def __post_init__(self) -> None:
        if len(self.exponents) != len(BASE_SYMBOLS):
            raise ValueError(f"a Dimension needs {len(BASE_SYMBOLS)} exponents, got {len(self.exponents)}")
        object.__setattr__(self, "exponents", tuple(Fraction(e) for e in self.exponents))

    @classmethod
    def of(cls, **powers: int | Fraction) -> Dimension:
        """``Dimension.of(kg=1, m=2, s=-2)``: the dimension with those base-unit powers."""
        unknown = set(powers) - set(BASE_SYMBOLS)
        if unknown:
            raise ValueError(f"not SI base units: {sorted(unknown)}; use {', '.join(BASE_SYMBOLS)}")
        return cls(tuple(Fraction(powers.get(symbol, 0)) for symbol in BASE_SYMBOLS))

    def __mul__(self, other: Dimension) -> Dimension:
        return Dimension(tuple(a + b for a, b in zip(self.exponents, other.exponents, strict=True)))

    def __truediv__(self, other: Dimension) -> Dimension:
        return Dimension(tuple(a - b for a, b in zip(self.exponents, other.exponents, strict=True)))

    def __pow__(self, power: int | Fraction) -> Dimension:
        if not isinstance(power, int | Fraction):
            raise TypeError(f"a dimension can only be raised to an int or Fraction power, not {power!r}")
        return Dimension(tuple(e * power for e in self.exponents))

    @property
    def is_dimensionless(self) -> bool:
        return not any(self.exponents)

    def __str__(self) -> str:
        return format_powers(zip(BASE_SYMBOLS, self.exponents, strict=True))

    def __repr__(self) -> str:
        return f"Dimension({str(self)!r})"


DIMENSIONLESS = Dimension()


def format_powers(powers: Iterable[tuple[str, Fraction]]) -> str:
    """``[("kg", 1), ("m", 2), ("s", -2)]`` -> ``"kg*m^2/s^2"``; parseable again by :func:`parse_units`."""

    def factor(name: str, power: Fraction) -> str:
        if power == 1:
            return name
        return f"{name}^{power}" if power.denominator == 1 else f"{name}^({power})"

    powers = [(name, Fraction(p)) for name, p in powers if p]
    numerator = "*".join(factor(name, p) for name, p in powers if p > 0) or "1"
    denominator = [factor(name, -p) for name, p in powers if p < 0]
    if not denominator:
        return numerator
    if len(denominator) == 1:
        return f"{numerator}/{denominator[0]}"
    return f"{numerator}/({'*'.join(denominator)})"


# Unit symbol -> (dimension, whether an SI prefix may precede it).
_UNITS: dict[str, tuple[Dimension, bool]] = {
    "m": (Dimension.of(m=1), True),
    "g": (Dimension.of(kg=1), True),
    "s": (Dimension.of(s=1), True),
    "A": (Dimension.of(A=1), True),
    "K": (Dimension.of(K=1), True),
    "mol": (Dimension.of(mol=1), True),
    "cd": (Dimension.of(cd=1), True),
    "rad": (DIMENSIONLESS, True),
    "sr": (DIMENSIONLESS, True),
    "Hz": (Dimension.of(s=-1), True),
    "N": (Dimension.of(kg=1, m=1, s=-2), True),
    "Pa": (Dimension.of(kg=1, m=-1, s=-2), True),
    "J": (Dimension.of(kg=1, m=2, s=-2), True),
    "W": (Dimension.of(kg=1, m=2, s=-3), True),
    "C": (Dimension.of(A=1, s=1), True),
    "V": (Dimension.of(kg=1, m=2, s=-3, A=-1), True),
    "F": (Dimension.of(kg=-1, m=-2, s=4, A=2), True),
    "Ohm": (Dimension.of(kg=1, m=2, s=-3, A=-2), True),
    "S": (Dimension.of(kg=-1, m=-2, s=3, A=2), True),
    "Wb": (Dimension.of(kg=1, m=2, s=-2, A=-1), True),
    "T": (Dimension.of(kg=1, s=-2, A=-1), True),
    "H": (Dimension.of(kg=1, m=2, s=-2, A=-2), True),
    "lm": (Dimension.of(cd=1), True),
    "lx": (Dimension.of(cd=1, m=-2), True),
    "Bq": (Dimension.of(s=-1), True),
    "Gy": (Dimension.of(m=2, s=-2), True),
    "Sv": (Dimension.of(m=2, s=-2), True),
    "kat": (Dimension.of(mol=1, s=-1), True),
    "eV": (Dimension.of(kg=1, m=2, s=-2), True),
    "L": (Dimension.of(m=3), True),
    "bar": (Dimension.of(kg=1, m=-1, s=-2), True),
    "degC": (Dimension.of(K=1), False),
    "min": (Dimension.of(s=1), False),
    "h": (Dimension.of(s=1), False),
    "dimensionless": (DIMENSIONLESS, False),
}
_UNITS["ohm"] = _UNITS["Ω"] = _UNITS["Ohm"]

_PREFIXES: tuple[str, ...]
_PREFIXES = ("da", "Q", "R", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "µ", "μ", "u", "n", "p")
_PREFIXES += ("f", "a", "z", "y", "r", "q")

_SUPERSCRIPTS = str.maketrans("⁻⁺⁰¹²³⁴⁵⁶⁷⁸⁹", "-+0123456789")
_SUPERSCRIPT_RUN = re.compile(r"[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>[^\W\d]+)|(?P<op>\*\*|[*/^()·⋅+-]))")


def _unit(name: str) -> Dimension | None:
    """The dimension of one unit symbol, with or without an SI prefix; an exact symbol wins over a prefix."""
    if name in _UNITS:
        return _UNITS[name][0]
    for prefix in _PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            dimension, prefixable = _UNITS.get(name[len(prefix) :], (None, False))
            if prefixable:
                return dimension
    return None


class _Parser:
    """Recursive descent over ``product := factor (('*' | '/' | space) factor)*``, ``factor := atom [^ power]``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        source = _SUPERSCRIPT_RUN.sub(lambda match: "^" + match.group().translate(_SUPERSCRIPTS), text)
        position = 0
        while position < len(source):
            match = _TOKEN.match(source, position)
            if match is None or match.end() == position:
                if source[position:].strip():
                    self.fail(f"unexpected character {source[position:].lstrip()[0]!r}")
                break
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0

    def fail(self, reason: str) -> NoReturn:
        raise UnitsError(f"cannot read units {self.text!r}: {reason}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def peek_value(self) -> str | None:
        token = self.peek()
        return None if token is None else token[1]

    def take(self, value: str | None = None, expected: str = "a unit") -> tuple[str, str]:
        token = self.peek()
        if token is None:
            self.fail(f"it ends where {expected if value is None else repr(value)} was expected")
        if value is not None and token[1] != value:
            self.fail(f"expected {value!r} but found {token[1]!r}")
        self.index += 1
        return token

    def parse(self) -> Dimension:
        if not self.tokens:
            return DIMENSIONLESS
        dimension = self.product()
        if (token := self.peek()) is not None:
            self.fail(f"unexpected {token[1]!r}")
        return dimension

    def product(self) -> Dimension:
        dimension = self.factor()
        divided = False
        while (token := self.peek()) is not None and token[1] != ")":
            if token[1] in ("*", "·", "⋅", "/"):
                self.take()
                divided = divided or token[1] == "/"
                dimension = dimension / self.factor() if token[1] == "/" else dimension * self.factor()
            elif token[0] in ("name", "number") or token[1] == "(":
                if divided:
                    self.fail(f"{token[1]!r} after a '/' is ambiguous; use parentheses, e.g. 'W/(m^2*K)' or 'W*K/m^2'")
                dimension = dimension * self.factor()
            else:
                self.fail(f"unexpected {token[1]!r}")
        return dimension

    def factor(self) -> Dimension:
        kind, value = self.take()
        if value == "(":
            dimension = self.product()
            self.take(")")
        elif kind == "number":
            if value != "1":
                self.fail(
                    f"{value!r} is not a unit; only the dimension matters, so write units without numeric factors"
                    " and fractional powers as m^(1/2)"
                )
            dimension = DIMENSIONLESS
        elif kind == "name":
            found = _unit(value)
            if found is None:
                self.fail(_unknown(value))
            dimension = found
        else:
            self.fail(f"expected a unit but found {value!r}")
        if (token := self.peek()) is not None and token[1] in ("^", "**"):
            self.take()
            dimension = dimension ** self.power()
        return dimension

    def power(self) -> Fraction:
        parenthesised = self.peek_value() == "("
        if parenthesised:
            self.take()
        sign = -1 if self.peek_value() == "-" else 1
        if self.peek_value() in ("+", "-"):
            self.take()
        kind, value = self.take(expected="a power")
        if kind != "number":
            self.fail(f"expected a number after '^' but found {value!r}")
        power = Fraction(value)
        if parenthesised:
            if self.peek_value() == "/":
                self.take()
                kind, value = self.take(expected="a number")
                if kind != "number" or Fraction(value) == 0:
                    self.fail(f"expected a non-zero number as the denominator of a power but found {value!r}")
                power /= Fraction(value)
            self.take(")")
        return sign * power


def _unknown(name: str) -> str:
    """The reason for an unknown unit symbol, suggesting the symbol the user probably meant."""
    folded = {symbol.lower(): symbol for symbol in _UNITS}
    hint = (
        f"; unit symbols are case-sensitive: did you mean {folded[name.lower()]!r}?" if name.lower() in folded else ""
    )
    return f"unknown unit {name!r}{hint} (known: SI base and derived units such as m, kg, s, N, J, Pa, with prefixes)"


def parse_units(text: str) -> Dimension:
    """The dimension of a unit expression: ``"kg*m/s^2"``, ``"m^2 kg s^-2"``, ``"N/m^2"``, ``"J/(kg*K)"``, ``"1"``.

    Products are written with ``*``, ``·`` or a space, quotients with ``/`` (left to right), powers with ``^`` or
    ``**`` (``s^-2``, ``m^(1/2)``, ``s^0.5``, ``m²``). ``""``, ``"1"``, ``"dimensionless"``, ``"rad"`` and ``"sr"``
    are dimensionless. SI prefixes are accepted (``km``, ``mg``, ``kPa``, ``µs``) and their scale ignored; an
    exact unit symbol wins over a prefixed reading (``"Pa"`` is the pascal, ``"Tm"`` the terametre: write
    ``"T*m"`` for tesla metres). Raises :class:`UnitsError` saying what is wrong.
    """
    if not isinstance(text, str):
        raise UnitsError(f"units must be text such as 'm/s', not {type(text).__name__} {text!r}")
    return _Parser(text).parse()


def parse_units_table(table: Mapping[str, object], source: str) -> dict[str, Dimension]:
    """Column name -> dimension for a mapping of column name -> units string (``x = 1`` also reads as "1").

    Every bad entry is reported in one :class:`UnitsError`, each line naming ``source`` and the column.
    """
    dimensions: dict[str, Dimension] = {}
    problems: list[str] = []
    for name, value in table.items():
        try:
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise UnitsError(f'expected a units string such as "m/s" or "1", got {type(value).__name__}')
            dimensions[name] = parse_units(str(value))
        except UnitsError as error:
            problems.append(f"{source}: {name!r}: {error}")
    if problems:
        raise UnitsError("\n".join(problems))
    return dimensions


def read_units_text(path: str | Path) -> dict[str, object]:
    """Column name -> units as written (checked by whoever parses them), from a TOML file of
    ``column = "units"`` lines, at top level or in ``[units]``. The text matters where scale does
    (kPa, degC), as in sensor calibration."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnitsError(f"units file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UnitsError(f"cannot read units file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise UnitsError(f"units file {path} is not valid TOML: {error}") from None
    return dict(data["units"] if isinstance(data.get("units"), dict) else data)


def read_units_file(path: str | Path) -> dict[str, Dimension]:
    """Column name -> dimension, from a file :func:`read_units_text` reads."""
    return parse_units_table(read_units_text(path), str(path))
