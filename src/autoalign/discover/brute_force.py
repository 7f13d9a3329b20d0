"""Exhaustive search over small expression trees, level by level of size, fully vectorized.

Every expression of size ``c`` (its node count) is built from those of smaller sizes with one
operator and evaluated on a small sample of the rows at once: a level is a matrix with one row per
expression. Expressions that compute the same values on the sample are the same expression for
the search, so each level keeps one (the first, hence the smallest) of each. That is what makes
exhaustive search reach useful sizes: without it, ``x*y`` and ``y*x`` and ``x/(1/y)`` would each
seed their own subtrees.

Each expression ``f`` is scored by how well an affine map ``a*f + b`` fits the target (the
squared correlation), so scale and offset never need to be searched for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

#: Unary operators: name -> (numpy function, sympy builder).
UNARY: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[sympy.Expr], sympy.Expr]]] = {
    "neg": (np.negative, lambda a: -a),
    "inv": (lambda a: 1.0 / a, lambda a: 1 / a),
    "sq": (np.square, lambda a: a**2),
    "sqrt": (np.sqrt, sympy.sqrt),
    "exp": (np.exp, sympy.exp),
    "log": (np.log, sympy.log),
    "sin": (np.sin, sympy.sin),
    "cos": (np.cos, sympy.cos),
}
#: Binary operators: name -> (numpy function, sympy builder, commutative).
BINARY = {
    "add": (np.add, lambda a, b: a + b, True),
    "sub": (np.subtract, lambda a, b: a - b, False),
    "mul": (np.multiply, lambda a, b: a * b, True),
    "div": (np.divide, lambda a, b: a / b, False),
}
#: Significant digits two expressions must share on every sample row to count as the same.
SIGNATURE_DIGITS = 9
#: Candidate expressions evaluated at once (x 64 sample rows x 8 bytes: about 100 MB).
BLOCK_ROWS = 200_000
#: Rows of a level looked at for each target's best, as a multiple of those kept: the rest of
#: them are the same shapes scaled or shifted.
AFFINE_COPIES = 8
#: Largest magnitude kept; bigger values come from overflowing compositions, not laws.
MAX_MAGNITUDE = 1e12


@dataclass(frozen=True, slots=True)
class Candidate:
    """An expression and how well ``a*f + b`` fits target number ``target`` on the sample."""

    expression: sympy.Expr
    size: int
    r2: float
    target: int


@dataclass(slots=True)
class _Level:
    """The expressions of one size: their values on the sample and how each was built.

    Row ``r`` applies operator ``op[r]`` to row ``left[r]`` of level ``left_size[r]`` (and row
    ``right[r]`` of level ``right_size[r]`` for binary operators); leaves keep their variable's
    index in ``left`` (-1 for the constant 1).
    """

    values: np.ndarray
    op: np.ndarray
    left_size: np.ndarray
    left: np.ndarray
    right_size: np.ndarray
    right: np.ndarray

    def __len__(self) -> int:
        return len(self.op)


_LEAF = "leaf"
_OPS = [_LEAF, *UNARY, *BINARY]
_CODE = {name: code for code, name in enumerate(_OPS)}


class BruteForce:
    """Enumerate expressions over some inputs up to ``max_size`` nodes or ``time_budget_s``.

    ``variables`` are the sympy symbols used in the expressions handed back.
    """

    def __init__(
        self,
        variables: list[sympy.Symbol],
        *,
        max_size: int = 7,
        max_level_rows: int = 300_000,
        time_budget_s: float = 20.0,
        unary: tuple[str, ...] = tuple(UNARY),
        binary: tuple[str, ...] = tuple(BINARY),
    ) -> None:
        self.variables = variables
        self.max_size = max_size
        self.max_level_rows = max_level_rows
        self.time_budget_s = time_budget_s
        self.unary = unary
        self.binary = binary

    def search(self, sample_x: np.ndarray, targets: np.ndarray, keep: int = 20) -> list[Candidate]:
        """The ``keep`` best expressions of each size for each row of ``targets`` (by affine fit).

        Several targets (say y, 1/y, y²) share one enumeration: only the scoring differs.
        """
        started = time.perf_counter()
        standardized = _standardize(np.atleast_2d(targets)).T
        seen: set[bytes] = set()
        levels = {1: self._leaves(sample_x, seen)}
        found: list[Candidate] = []
        # Shapes found for each target so far, up to scale and offset: ``3*x`` and ``x - 1`` are
        # ``x`` to the affine score, and each would cost a constant fit of its own.
        shapes: list[set[bytes]] = [set() for _ in range(standardized.shape[1])]
        for size in range(1, self.max_size + 1):
            if size > 1:
                if time.perf_counter() - started > self.time_budget_s:
                    break
                levels[size] = self._grow(levels, size, seen, started + self.time_budget_s)
            level = levels[size]
            if not len(level):
                continue
            scores = _affine_r2(level.values, standardized)
            scores[~np.isfinite(scores)] = -1.0
            exact = False
            for target in range(scores.shape[1]):
                column = scores[:, target]
                ranked = np.argsort(-column)[: keep * AFFINE_COPIES]
                best = _new_shapes(ranked[column[ranked] >= 0], level.values, shapes[target], keep)
                found.extend(
                    Candidate(self._sympy(levels, size, int(row)), size, float(column[row]), target) for row in best
                )
                exact = exact or (bool(best) and column[best[0]] > 1 - 1e-12)
            if exact:
                break
        found.sort(key=lambda c: (-c.r2, c.size))
        return found

    def features(self, sample_x: np.ndarray) -> tuple[np.ndarray, Terms]:
        """Every distinct non-constant expression up to ``max_size``: values (one row each) and
        the expressions, for sparse regression over them."""
        seen: set[bytes] = set()
        levels = {1: self._leaves(sample_x, seen)}
        for size in range(2, self.max_size + 1):
            levels[size] = self._grow(levels, size, seen)
        # Dedupe drops every constant expression but the leaf 1.
        rows = [(size, row) for size, level in levels.items() for row in range(len(level))]
        rows = [(size, row) for size, row in rows if size > 1 or levels[1].left[row] >= 0]
        values = np.vstack([levels[size].values[row] for size, row in rows]) if rows else np.empty((0, 0))
        return values, Terms(self, levels, rows)

    def _leaves(self, sample_x: np.ndarray, seen: set[bytes]) -> _Level:
        n_vars = sample_x.shape[1]
        values = np.vstack([sample_x.T, np.ones((1, sample_x.shape[0]))])
        index = np.arange(-1, n_vars)[np.r_[1 : n_vars + 1, 0]]
        zeros = np.zeros(n_vars + 1, dtype=np.int64)
        return self._dedupe(_Level(values, zeros + _CODE[_LEAF], zeros, index, zeros, zeros), seen, keep_constant=True)

    def _grow(self, levels: dict[int, _Level], size: int, seen: set[bytes], deadline: float = float("inf")) -> _Level:
        """The expressions of ``size`` nodes, built in blocks of at most :data:`BLOCK_ROWS` and
        deduplicated block by block, until the level holds ``max_level_rows`` or time is up.

        Building a level whole took gigabytes at 6 to 9 variables (millions of pairs x 64 rows).
        """
        kept: list[_Level] = []
        count = 0
        with np.errstate(all="ignore"):
            for block in self._blocks(levels, size):
                if count >= self.max_level_rows or time.perf_counter() > deadline:
                    break
                fresh = self._dedupe(block, seen, limit=self.max_level_rows - count)
                kept.append(fresh)
                count += len(fresh)
        if not kept:
            empty = np.zeros(0, dtype=np.int64)
            return _Level(np.empty((0, levels[1].values.shape[1])), empty, empty, empty, empty, empty)
        return _Level(*(np.concatenate([getattr(p, f) for p in kept]) for f in _Level.__slots__))

    def _blocks(self, levels: dict[int, _Level], size: int) -> Iterator[_Level]:
        """Candidate expressions of ``size`` nodes: unary operators on the level below, then binary
        operators on every split of the remaining nodes, in blocks of bounded size."""
        below = levels[size - 1]
        rows = np.arange(len(below))
        for name in self.unary:
            yield _Level(
                UNARY[name][0](below.values),
                np.full(len(below), _CODE[name]),
                np.full(len(below), size - 1),
                rows,
                np.zeros(len(below), dtype=np.int64),
                np.zeros(len(below), dtype=np.int64),
            )
        for left_size in range(1, size - 1):
            right_size = size - 1 - left_size
            left, right = levels[left_size], levels[right_size]
            if not len(left) or not len(right):
                continue
            step = max(1, BLOCK_ROWS // len(right))
            a: np.ndarray  # a 2-d grid of row numbers, then flattened
            b: np.ndarray
            for start in range(0, len(left), step):
                a, b = np.meshgrid(np.arange(start, min(start + step, len(left))), np.arange(len(right)), indexing="ij")
                a, b = a.ravel(), b.ravel()
                for name in self.binary:
                    function, _, commutative = BINARY[name]
                    if commutative and left_size > right_size:
                        continue
                    pick = a <= b if commutative and left_size == right_size else slice(None)
                    aa, bb = a[pick], b[pick]
                    yield _Level(
                        function(left.values[aa], right.values[bb]),
                        np.full(len(aa), _CODE[name]),
                        np.full(len(aa), left_size),
                        aa,
                        np.full(len(aa), right_size),
                        bb,
                    )

    def _dedupe(
        self, level: _Level, seen: set[bytes], *, keep_constant: bool = False, limit: int | None = None
    ) -> _Level:
        """Drop non-finite, huge, constant and already-seen expressions; keep at most ``limit``."""
        values = level.values
        with np.errstate(all="ignore"):
            finite = np.isfinite(values).all(axis=1) & (np.abs(values) < MAX_MAGNITUDE).all(axis=1)
            spread = values.std(axis=1) > 1e-12 * (np.abs(values).mean(axis=1) + 1e-300)
        ok = np.flatnonzero(finite & (spread | keep_constant))
        keys = _signature(values[ok])
        _, first = np.unique(keys, return_index=True)
        kept: list[int] = []
        for index in np.sort(first).tolist():
            key = keys[index].tobytes()
            if key in seen:
                continue
            seen.add(key)
            kept.append(int(ok[index]))
            if len(kept) >= (self.max_level_rows if limit is None else limit):
                break
        pick = np.array(kept, dtype=np.int64)
        return _Level(*(getattr(level, f)[pick] for f in _Level.__slots__))

    def _sympy(self, levels: dict[int, _Level], size: int, row: int) -> sympy.Expr:
        level = levels[size]
        name = _OPS[level.op[row]]
        if name == _LEAF:
            index = int(level.left[row])
            return sympy.Integer(1) if index < 0 else self.variables[index]
        left = self._sympy(levels, int(level.left_size[row]), int(level.left[row]))
        if name in UNARY:
            return UNARY[name][1](left)
        return BINARY[name][1](left, self._sympy(levels, int(level.right_size[row]), int(level.right[row])))


class Terms(Sequence[sympy.Expr]):
    """The expressions behind the rows of :meth:`BruteForce.features`, each built on first use:
    building thousands of sympy expressions takes seconds, and a sparse fit uses a handful.

    ``monomials`` are the indices of the products of integer powers of the variables, and
    ``angled`` those of a sine or cosine of a variable, perhaps times a monomial: the two kinds of
    denominator a ratio may have (known from how each was built, without building it).
    """

    def __init__(self, search: BruteForce, levels: dict[int, _Level], rows: list[tuple[int, int]]) -> None:
        self._search, self._levels, self._rows = search, levels, rows
        self._built: dict[int, sympy.Expr] = {}
        monomial = _monomial_flags(levels)
        angled = _angled_flags(levels, monomial)
        self.monomials = np.array([i for i, (size, row) in enumerate(rows) if monomial[size][row]], dtype=np.int64)
        self.angled = np.array([i for i, (size, row) in enumerate(rows) if angled[size][row]], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._rows)

    def respecting(self, dimensions: Sequence[Sequence[float]]) -> tuple[np.ndarray, Terms]:
        """The terms that respect the units of the variables (``dimensions``: one vector of SI
        exponents per variable), as a mask over these and as terms of their own. A term of a sum
        gets a fitted coefficient, which carries whatever units it needs, so only the term's
        inside counts: ``t/cos(1/C)`` with C in 1/s is out, ``log(C)`` and ``t·√C`` are in."""
        keep = _consistent_flags(self._levels, np.asarray(dimensions, dtype=float))
        mask = np.array([keep[size][row] for size, row in self._rows], dtype=bool)
        return mask, Terms(self._search, self._levels, [r for r, k in zip(self._rows, mask, strict=True) if k])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index not in self._built:
            self._built[index] = self._search._sympy(self._levels, *self._rows[index])
        return self._built[index]


def _flag_levels(
    levels: dict[int, _Level], flag: Callable[[_Level, int, dict[int, np.ndarray]], bool]
) -> dict[int, np.ndarray]:
    """For each row of each level, ``flag(level, row, flags)``: the levels are walked smallest
    first, so ``flags`` holds the verdicts on every subexpression a row is built from."""
    flags: dict[int, np.ndarray] = {}
    for size in sorted(levels):
        level = levels[size]
        flags[size] = np.array([flag(level, row, flags) for row in range(len(level))], dtype=bool)
    return flags


def _monomial_flags(levels: dict[int, _Level]) -> dict[int, np.ndarray]:
    """For each row of each level, whether it is a product of integer powers of the variables."""
    power = {_CODE[name] for name in ("inv", "sq")}
    product = {_CODE[name] for name in ("mul", "div")}
    built = power | product

    def monomial(level: _Level, row: int, flags: dict[int, np.ndarray]) -> bool:
        op = int(level.op[row])
        if op == _CODE[_LEAF]:
            return bool(level.left[row] >= 0)
        left = op in built and bool(flags[int(level.left_size[row])][level.left[row]])
        if op in product:
            return left and bool(flags[int(level.right_size[row])][level.right[row]])
        return left

    return _flag_levels(levels, monomial)


def _angled_flags(levels: dict[int, _Level], monomial: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """For each row of each level, whether it is a sine or cosine of a variable, perhaps times a
    product of integer powers of the variables (``β·cos θ`` of the relativistic Doppler effect,
    ``cos δ`` of a grating). One such factor at most: ``sin² + cos²`` is constant."""
    angle = {_CODE[name] for name in ("sin", "cos")}
    product = {_CODE[name] for name in ("mul", "div")}

    def angled(level: _Level, row: int, flags: dict[int, np.ndarray]) -> bool:
        op = int(level.op[row])
        left_size, left = int(level.left_size[row]), int(level.left[row])
        if op in angle:
            return left_size == 1 and bool(levels[1].left[left] >= 0)  # of a variable, not of 1
        if op in product:
            right_size, right = int(level.right_size[row]), int(level.right[row])
            return bool(
                (flags[left_size][left] and monomial[right_size][right])
                or (monomial[left_size][left] and flags[right_size][right])
            )
        return False

    return _flag_levels(levels, angled)


#: Unary operators that need a dimensionless argument, and how the others scale a dimension.
_PURE_ARGUMENT = {_CODE[name] for name in ("exp", "sin", "cos")}
_SCALED = {_CODE["inv"]: -1.0, _CODE["sq"]: 2.0, _CODE["sqrt"]: 0.5}


def _consistent_flags(levels: dict[int, _Level], dimensions: np.ndarray) -> dict[int, np.ndarray]:
    """For each row of each level, whether its expression, as a term of a sum with a constant,
    respects the variables' units (``consistency.py``, whose rules these are), found from how
    each was built, level by level, without building it. A logarithm of a quantity with units
    (``log C``, ``-log C``) passes as the term itself and nowhere deeper."""
    flags: dict[int, np.ndarray] = {}
    of: dict[int, np.ndarray] = {}
    loose: dict[int, np.ndarray] = {}  # a logarithm of a quantity with units, perhaps negated
    for size in sorted(levels):
        level = levels[size]
        ok = np.ones(len(level), dtype=bool)
        logarithm = np.zeros(len(level), dtype=bool)
        dims = np.zeros((len(level), dimensions.shape[1]))
        for row in range(len(level)):
            op = int(level.op[row])
            if op == _CODE[_LEAF]:
                if level.left[row] >= 0:
                    dims[row] = dimensions[level.left[row]]
                continue
            left_size, left = int(level.left_size[row]), int(level.left[row])
            a, ok[row] = of[left_size][left], flags[left_size][left]
            if op == _CODE["neg"]:
                dims[row], logarithm[row] = a, loose[left_size][left]
                continue
            ok[row] = ok[row] and not loose[left_size][left]
            if op in _SCALED:
                dims[row] = _SCALED[op] * a
            elif op in _PURE_ARGUMENT:
                ok[row] = ok[row] and not np.any(a)
            elif op == _CODE["log"]:
                logarithm[row] = bool(np.any(a))
            else:
                right_size, right = int(level.right_size[row]), int(level.right[row])
                b = of[right_size][right]
                ok[row] = ok[row] and flags[right_size][right] and not loose[right_size][right]
                if op in (_CODE["add"], _CODE["sub"]):
                    ok[row] = ok[row] and np.array_equal(a, b)
                    dims[row] = a
                else:
                    dims[row] = a + b if op == _CODE["mul"] else a - b
        flags[size], of[size], loose[size] = ok, dims, logarithm
    return flags


def _standardize(values: np.ndarray) -> np.ndarray:
    centered = values - values.mean(axis=1, keepdims=True)
    norms = np.sqrt((centered**2).sum(axis=1, keepdims=True))
    with np.errstate(all="ignore"):
        return centered / norms


def _affine_r2(values: np.ndarray, targets_standardized: np.ndarray) -> np.ndarray:
    """R² of the best ``a*f + b`` for every row ``f`` and target column: the squared correlation."""
    return (_standardize(values) @ targets_standardized) ** 2


def _new_shapes(rows: np.ndarray, values: np.ndarray, seen: set[bytes], keep: int) -> list[int]:
    """The first ``keep`` of ``rows`` whose shape (:func:`_affine_signature`) is not in ``seen``
    (added to it)."""
    new: list[int] = []
    for row, shape in zip(rows, _affine_signature(values[rows]), strict=True):
        if len(new) == keep:
            break
        if shape not in seen:
            seen.add(shape)
            new.append(int(row))
    return new


def _affine_signature(values: np.ndarray) -> list[bytes]:
    """Each row standardized (centred, unit norm, its first clearly nonzero value positive) and
    rounded: rows equal up to scale, sign and offset share one."""
    standardized = _standardize(values)
    first = np.argmax(np.abs(standardized) > 1e-6, axis=1)
    signs = np.sign(standardized[np.arange(len(values)), first])[:, None]
    rounded = np.round(standardized * signs * 1e8) + 0.0
    return [row.tobytes() for row in np.nan_to_num(rounded)]


def _signature(values: np.ndarray) -> np.ndarray:
    """Rows rounded to ``SIGNATURE_DIGITS`` significant digits, each as one opaque (void) item."""
    with np.errstate(all="ignore"):
        magnitude = np.where(values == 0, 0.0, np.floor(np.log10(np.abs(values))))
        scale = 10.0 ** (SIGNATURE_DIGITS - 1 - magnitude)
        rounded = np.ascontiguousarray(np.round(values * scale) / scale + 0.0)
    return rounded.view(np.dtype((np.void, rounded.dtype.itemsize * rounded.shape[1]))).ravel()
