"""``LawFinder``: a scikit-learn style estimator that finds a symbolic law ``y = f(x)`` in a table.

The search, in the manner of AI Feynman:

1. **Dimensional analysis.** With SI units for the columns, Buckingham Pi turns the problem into
   a dimensionless target as a function of fewer dimensionless groups (often one or two), which
   is where small expressions are found fast. The raw variables are searched too, as a second
   view, since units are not always given or helpful.
2. **Brute force** over every small expression tree of each view (``brute_force.py``), scored
   against the target and a few transforms of it (1/y, y², √y, 1/y², log y, sin y, cos y) at once;
   sparse sums and ratios of small terms (``sparse.py``) for the same targets.
3. **Constants.** The best shapes get their constants fitted (``a·f(c·x) + b``), then snapped to
   integers, small fractions and known constants when the fit stays as good.
4. **Genetic programming** (pyoperon) on the reduced problem when nothing exact turned up and
   time is left.
5. **Units.** With units for every column and the target, candidates that break them are
   dropped (``consistency.py``), and snapping may not make one.
6. **Held-out check.** Candidates are compared on rows kept out of the search; the law is the
   one on the error/complexity Pareto front with the best information criterion.

Under noise, brute force also scores smoothed versions of the target (``smoothing.py``) and
ranks its best candidates again on thousands of rows before any constant is fitted.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import sympy
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import check_is_fitted

from autoalign.discover.brute_force import BruteForce, Candidate
from autoalign.discover.consistency import respects_units
from autoalign.discover.constants import fit_constants, refit_floats, snap
from autoalign.discover.data import DataError
from autoalign.discover.scaling import Scaling
from autoalign.discover.separability import separate
from autoalign.discover.smoothing import local_quadratic, neighbourhoods
from autoalign.discover.sparse import SparseFit, sparse_ratio, sparse_sum
from autoalign.discover.symmetry import apply_differences, translation_symmetries
from autoalign.errors import AutoalignError, NoLawFound

if TYPE_CHECKING:
    from autoalign.discover.pi_groups import PiAnalysis

#: Rows used by the enumeration (each expression is evaluated on these only).
SAMPLE_ROWS = 64
#: Rows used to fit constants (more would not change them, only cost time).
FIT_ROWS = 2000
#: The power law's exponents are tried as halves, thirds (Kepler's a ∝ T^(2/3)) and quarters
#: (Stefan-Boltzmann's T ∝ L^(1/4)), each within ``POWER_ROUNDING / denominator`` of the fit
#: (so within 0.1 of a half).
POWER_ROUNDING = 0.2
POWER_DENOMINATORS = (2, 3, 4)
#: A sum or ratio with more fitted coefficients than this does not end the search, however exact.
MAX_EXACT_COEFFICIENTS = 6
#: Rows of sparse sums, and their largest term size by number of variables (the number of terms
#: grows as variables**size; beyond the table, 3).
SUM_ROWS = 256
SUM_TERM_SIZES = {1: 5, 2: 5, 3: 4, 4: 4}
#: Shares of a view's time for the enumeration and for sums and ratios; the rest, and at least
#: ``MIN_REFINE_SHARE``, fits the constants of the best shapes.
SEARCH_SHARE = 0.4
SUMS_SHARE = 0.3
MIN_REFINE_SHARE = 0.2
#: Candidates of each view whose constants are fitted.
REFINE = 12
#: Largest size of the further candidates refined while time lasts, if a fit on
#: ``SCREEN_ROWS`` rows reaches ``PROMISING_R2``.
REFINE_SMALL_SIZE = 3
SCREEN_ROWS = 200
PROMISING_R2 = 0.999
#: Larger expressions are left as they are (even the cheap rewrites grow with size).
MAX_SIMPLIFY_OPS = 40
#: What one node of a law costs in the choice of the law, times the log of the held-out rows
#: (see :func:`_choose`).
COMPLEXITY_PRICE = 5.0
#: Held-out errors are compared above this share of the target's power (rounding error).
ERROR_FLOOR = 1e-20
#: Laws within this share of the best held-out error are among those snapped (the simplest few).
SNAP_TOLERANCE = 0.2
#: How much a snapped constant may raise a law's RMS error on the training rows: relative, at most
#: ``SNAP_MAX_TOLERANCE``, and ``SNAP_EVIDENCE`` over the number of rows (a χ² of that size in
#: the log-likelihood), so that on thousands of noisy rows an offset of 0.483 does not become
#: 3/(2π) and make a wrong law the simplest.
SNAP_MAX_TOLERANCE = 0.02
SNAP_EVIDENCE = 8.0
#: Laws whose constants are snapped: the most accurate, and the simplest of those close to them.
SNAP_ACCURATE = 8
SNAP_SIMPLE = 4
#: Share of the time left for the factors of a law that splits into a product or a sum (for the
#: one group a law depends on, when the others do not matter), and the error floor of their
#: searches, as a multiple of the split's own error.
SEPARABLE_SHARE = 0.5
SOLE_GROUP_SHARE = 0.7
SEPARATION_FLOOR = 3.0
#: Share of the noise that splines fitted to noisy rows carry: their errors below it say nothing.
SPLINE_NOISE_SHARE = 0.1
MIN_FACTOR_BUDGET_S = 3.0
#: Share of that time, beyond it, for snapping the composed law's constants.
SEPARABLE_SNAP_SHARE = 0.3
#: Share of the time budget kept for snapping the constants of the laws found.
FINISH_SHARE = 0.05
#: Below this held-out R² nothing is called a law.
MIN_R2 = 0.9


@dataclass(frozen=True, slots=True)
class Law:
    """One candidate: the expression in the original variables, its size and its errors."""

    expression: sympy.Expr
    complexity: int
    train_rmse: float
    test_rmse: float
    test_r2: float
    source: str
    #: The method that found it knows it is only an approximation (so it must not end the search).
    approximate: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "expression": str(self.expression),
            "latex": sympy.latex(self.expression),
            "complexity": self.complexity,
            "train_rmse": self.train_rmse,
            "test_rmse": self.test_rmse,
            "test_r2": self.test_r2,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class _TargetTransform:
    """A function of the target a law may be simpler in (``1/y = exp(x) - 1``), its inverse
    (to write the law back in ``y``), where it applies, and its derivative: noise of ``σ`` on
    ``y`` is noise of about ``|slope(y)|·σ`` on the transform, so least squares on the transform
    weighted by ``1/slope²`` is least squares on ``y`` (see :func:`_transform_weights`)."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[sympy.Expr], sympy.Expr]
    valid: Callable[[np.ndarray], bool]
    slope: Callable[[np.ndarray], np.ndarray]


TRANSFORMS = (
    _TargetTransform("y", lambda y: y, lambda e: e, lambda y: True, np.ones_like),
    _TargetTransform("1/y", lambda y: 1 / y, lambda e: 1 / e, lambda y: bool(np.all(y != 0)), lambda y: -1 / y**2),
    _TargetTransform("y^2", np.square, sympy.sqrt, lambda y: bool(np.all(y >= 0)), lambda y: 2 * y),
    _TargetTransform("sqrt(y)", np.sqrt, lambda e: e**2, lambda y: bool(np.all(y >= 0)), lambda y: 0.5 / np.sqrt(y)),
    # Inverse square roots of sums (the Lorentz factor, a potential 1/√(r² + d² - 2rd·cos α)).
    _TargetTransform(
        "1/y^2", lambda y: 1 / y**2, lambda e: 1 / sympy.sqrt(e), lambda y: bool(np.all(y > 0)), lambda y: -2 / y**3
    ),
    _TargetTransform("log(y)", np.log, sympy.exp, lambda y: bool(np.all(y > 0)), lambda y: 1 / y),
    # Angles given by their sine or cosine (refraction, diffraction): arcsin and arccos laws.
    _TargetTransform("sin(y)", np.sin, sympy.asin, lambda y: bool(np.all(np.abs(y) <= np.pi / 2)), np.cos),
    _TargetTransform("cos(y)", np.cos, sympy.acos, lambda y: bool(np.all((y >= 0) & (y <= np.pi))), np.sin),
)


@dataclass(slots=True)
class _View:
    """The problem in some variables: raw columns, or dimensionless groups."""

    name: str
    symbols: list[sympy.Symbol]
    x: np.ndarray
    y: np.ndarray
    to_original: Callable[[sympy.Expr], sympy.Expr]
    #: Each row's inverse noise variance in this view, relative to the others (``None``: all
    #: equal). Dividing the target by a scale divides its noise too, so a dimensionless view
    #: trusts its rows of large scale more.
    weights: np.ndarray | None = None
    #: Each variable's SI exponents, where the units are known (``None``: they are not).
    dimensions: list[tuple[float, ...]] | None = None


class LawFinder(RegressorMixin, BaseEstimator):
    """Find ``y = f(x)``: ``fit(X, y)``, then ``law_`` (sympy), ``latex_``, ``pareto_front_``,
    ``pi_analysis_`` (the dimensionless groups, ``None`` without units), ``predict(X)`` and
    ``score(X, y)`` (R²).

    A scikit-learn estimator: parameters set in ``__init__`` (so ``get_params``, ``clone`` and
    grid searches work), learned state in attributes ending in ``_``, each set anew by every
    ``fit``. ``predict`` before ``fit`` raises scikit-learn's ``NotFittedError``; after a fit
    that found nothing, :class:`NoLawFound`. ``time_budget_s`` bounds the whole search (2 cores are assumed).
    ``error_floor`` is the relative RMS error (a share of the target's RMS) the data cannot tell
    from zero: summary variables keep about 1e-3 of their sensors' calibration errors, which an
    exponent of 2.002 fits better than 2. Below it, errors are no evidence: constants snap, and
    the simpler law is chosen.
    """

    def __init__(
        self,
        *,
        time_budget_s: float = 60.0,
        max_size: int = 7,
        test_size: float = 0.25,
        use_gp: bool = True,
        random_state: int = 0,
        n_jobs: int = 1,
        error_floor: float = 0.0,
    ) -> None:
        self.time_budget_s = time_budget_s
        self.error_floor = error_floor
        self.max_size = max_size
        self.test_size = test_size
        self.use_gp = use_gp
        self.random_state = random_state
        self.n_jobs = n_jobs

    # --- scikit-learn API ----------------------------------------------------------------------

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        names: list[str] | None = None,
        units: dict[str, str] | None = None,
        target_name: str = "y",
        progress: Callable[[str], None] | None = None,
    ) -> LawFinder:
        """Search for the law. ``units`` maps column names (and ``target_name``) to SI units."""
        started = time.perf_counter()
        say = progress or (lambda _message: None)
        X, y = _check_xy(X, y)
        self.n_features_in_ = X.shape[1]
        self.names_ = names or [f"x{i}" for i in range(X.shape[1])]
        if len(self.names_) != X.shape[1]:
            raise AutoalignError(f"{len(self.names_)} names for {X.shape[1]} columns")
        self.symbols_ = [sympy.Symbol(n, real=True) for n in self.names_]
        self.scaling_ = Scaling.of(X, y, self._unit_families(units))
        if not self.scaling_.identity:
            say("values of extreme magnitude: the search runs on them divided by powers of ten")
        X, y = self.scaling_.inputs(X), self.scaling_.target(y)
        rng = np.random.default_rng(self.random_state)
        order = rng.permutation(len(y))
        n_test = max(1, int(round(len(y) * self.test_size)))
        test, train = order[:n_test], order[n_test:]
        self._x_train, self._y_train = X[train], y[train]
        self._x_test, self._y_test = X[test], y[test]

        views = self._views(X, y, units, target_name, train, say)
        laws: list[Law] = []
        # The search stops early enough for the constants to be snapped within the budget.
        deadline = started + self.time_budget_s * (1 - FINISH_SHARE)
        respects = self._unit_check(units, target_name)
        laws.extend(self._separated(views[0], train, deadline - time.perf_counter(), respects, say))
        for i, view in enumerate(views):
            if _exact(laws):
                break
            share = (deadline - time.perf_counter()) / (len(views) - i) * (0.6 if self.use_gp else 1.0)
            say(f"brute force on {view.name} ({len(view.symbols)} variables)")
            laws.extend(self._brute_force(view, train, rng, max(share, 1.0)))
        if self.use_gp and time.perf_counter() < deadline - 2 and not _exact(laws):
            view = views[0]
            say(f"genetic programming on {view.name}")
            laws.extend(self._genetic(view, train, deadline - time.perf_counter()))
        laws = _respecting(laws, respects, say)
        say("snapping constants")
        # Snapping gets its share however long the search overran (by a few tenths of a second on a
        # busy machine, which left it too little to reach the law: a 1-in-3 failure under noise).
        snap_deadline = max(started + self.time_budget_s, time.perf_counter() + FINISH_SHARE * self.time_budget_s)
        laws = _respecting(self._snapped(laws, snap_deadline, respects), respects, say)
        front = _pareto(laws)
        floor = max(ERROR_FLOOR, self.error_floor**2) * np.mean(self._y_test**2)
        chosen = _choose(front, len(self._y_test), floor)
        self.found_ = chosen is not None and chosen.test_r2 >= MIN_R2
        self._scaled_law = chosen.expression if chosen is not None and self.found_ else None
        self.pareto_front_ = [self._unscaled(law) for law in front]
        self.law_candidate_ = None if chosen is None else self._unscaled(chosen)
        self.law_ = self.law_candidate_.expression if self.law_candidate_ is not None and self.found_ else None
        self.latex_ = sympy.latex(self.law_) if self.found_ else None
        self.seconds_ = time.perf_counter() - started
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "found_")
        X = _numbers(X, "X")
        if X.ndim != 2:
            raise DataError(
                f"X must be a table, one row per sample (got shape {X.shape}). Reshape your data:"
                " X.reshape(1, -1) for one sample, X.reshape(-1, 1) for one column"
            )
        if X.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has {X.shape[1]} features, but LawFinder is expecting {self.n_features_in_} features as"
                f" input (the law takes {self.n_features_in_} columns)"
            )
        if not np.all(np.isfinite(X)):
            raise DataError("X holds NaN or infinite values; drop or fill those rows first")
        if not self.found_:
            raise NoLawFound("no law was found, so there is nothing to predict with")
        # Evaluated on the scaled columns: written out in the given ones, a law of extreme values
        # can overflow on the way to a result that is a plain float.
        return self.scaling_.target_back(self._evaluate(self._scaled_law, self.scaling_.inputs(X)))

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """R² of the law's predictions (on the scaled target, where squares do not overflow)."""
        check_is_fitted(self, "found_")
        target = self.scaling_.target(np.asarray(y, dtype=float))
        return _r2(target, self.scaling_.target(self.predict(X)))

    # --- the search ----------------------------------------------------------------------------

    def _unit_families(self, units: dict[str, str] | None) -> list[int] | None:
        """For each column, the first column of the same units (``None`` without units)."""
        if not units or any(name not in units for name in self.names_):
            return None
        from autoalign.discover.units import parse_units

        dimensions = [parse_units(units[name]) for name in self.names_]
        return [dimensions.index(d) for d in dimensions]

    def _unit_check(self, units: dict[str, str] | None, target_name: str) -> Callable[[sympy.Expr], bool] | None:
        """Whether a law respects the units of every column and the target (``consistency.py``);
        ``None`` unless all of them are known."""
        if not units or any(name not in units for name in [*self.names_, target_name]):
            return None
        from autoalign.discover.units import parse_units

        dimensions = {symbol: parse_units(units[name]) for symbol, name in zip(self.symbols_, self.names_, strict=True)}
        target = parse_units(units[target_name])
        return lambda expression: respects_units(expression, dimensions, target)

    def _unscaled(self, law: Law) -> Law:
        """A law of the scaled search in the columns as given."""
        if self.scaling_.identity:
            return law
        return replace(
            law,
            expression=self.scaling_.law_back(law.expression, self.symbols_),
            train_rmse=float(self.scaling_.target_back(law.train_rmse)),
            test_rmse=float(self.scaling_.target_back(law.test_rmse)),
        )

    def _views(
        self, X: np.ndarray, y: np.ndarray, units: dict[str, str] | None, target_name: str, train: np.ndarray, say
    ) -> list[_View]:
        """The problem in the raw variables and in dimensionless groups; first, where the target
        depends on some pairs of same-unit variables only through their differences, the same
        two views with each such pair replaced by its difference (``symmetry.py``)."""
        if units:
            from autoalign.discover.units import UnitsError

            missing = [n for n in [*self.names_, target_name] if n not in units]
            if missing:
                raise UnitsError(f"no units given for {', '.join(missing)}")
        views, analysis = self._views_of(X, y, self.names_, self.symbols_, units, target_name, lambda e: e, say)
        self.pi_analysis_ = analysis
        pairs = self._same_unit_pairs(units)
        differences = translation_symmetries(X[train], y[train], pairs, np.random.default_rng(self.random_state))
        if not differences:
            return views
        paired = {c for d in differences for c in (d.first, d.second)}
        kept = [i for i in range(len(self.names_)) if i not in paired]
        named = [self.names_[i] for i in kept]
        named += [f"{self.names_[d.first]}-{self.names_[d.second]}" for d in differences]
        symbols = [sympy.Symbol(name, real=True) for name in named]
        back = {
            symbol: self.symbols_[d.first] - self.symbols_[d.second]
            for symbol, d in zip(symbols[len(kept) :], differences, strict=True)
        }
        say(f"translation symmetry: the law depends on {', '.join(map(str, back.values()))}")
        # A difference has the units of the pair.
        like = [self.names_[i] for i in [*kept, *(d.first for d in differences)]]
        new_units = {n: units[o] for n, o in zip(named, like, strict=True)} if units else None
        if new_units is not None:
            assert units is not None  # new_units is built only from given units
            new_units[target_name] = units[target_name]
        x_new = apply_differences(X, differences)
        symmetric, _ = self._views_of(x_new, y, named, symbols, new_units, target_name, lambda e: e.xreplace(back), say)
        return [*symmetric, *views]

    def _same_unit_pairs(self, units: dict[str, str] | None) -> list[tuple[int, int]]:
        """Pairs of columns that may be subtracted: of the same units (any two, without units)."""
        pairs = list(combinations(range(len(self.names_)), 2))
        families = self._unit_families(units)
        return pairs if families is None else [(i, j) for i, j in pairs if families[i] == families[j]]

    def _views_of(
        self,
        X: np.ndarray,
        y: np.ndarray,
        names: list[str],
        symbols: list[sympy.Symbol],
        units: dict[str, str] | None,
        target_name: str,
        back: Callable[[sympy.Expr], sympy.Expr],
        say,
    ) -> tuple[list[_View], PiAnalysis | None]:
        """The raw and dimensionless views of some variables (``back`` rewrites a law in them in
        the estimator's own), and the dimensional analysis, if it applies."""
        raw = _View(f"the variables {', '.join(names)}", symbols, X, y, back)
        if not units:
            return [raw], None
        from autoalign.discover.pi_groups import buckingham_pi
        from autoalign.discover.units import UnitsError, parse_units

        raw = replace(raw, dimensions=[tuple(map(float, parse_units(units[n]).exponents)) for n in names])

        analysis = buckingham_pi({n: parse_units(units[n]) for n in [*names, target_name]}, target_name)
        if analysis.target_scale is None:
            say("dimensional analysis: the target's units are not made of the inputs'; searching raw variables")
            return [raw], None
        try:
            pi_x, pi_y = analysis.transform(X, y)
            _, inverse_scale = analysis.transform(X, np.ones(len(y)))
        except UnitsError as exc:
            say(f"dimensional analysis does not apply to these values ({exc}); searching raw variables")
            return [raw], None
        pis = [sympy.Symbol(f"pi{i + 1}", real=True) for i in range(pi_x.shape[1])]
        say(f"dimensional analysis: {X.shape[1]} variables -> {len(pis)} dimensionless groups")
        plain = dict(zip([sympy.Symbol(n) for n in names], symbols, strict=True))
        reduced = _View(
            f"{len(pis)} dimensionless groups of {', '.join(names)}",
            pis,
            pi_x,
            pi_y,
            lambda e: back(analysis.to_original(e, pis).xreplace(plain)),
            _relative(inverse_scale**-2.0),
        )
        return [reduced, raw], analysis

    def _separated(
        self,
        view: _View,
        train: np.ndarray,
        left_s: float,
        respects: Callable[[sympy.Expr], bool] | None,
        say: Callable[[str], None],
    ) -> list[Law]:
        """Where the target is a product or a sum of functions of disjoint groups of the view's
        variables (``separability.py``), each function searched for on its own table, within
        :data:`SEPARABLE_SHARE` of the ``left_s`` seconds left in all (shared by the groups as
        the squares of their sizes), and the law composed of them with its constants fitted
        again to the data. Where the target depends on one group only, the search of that
        group is the whole search, on fewer variables: it gets :data:`SOLE_GROUP_SHARE`.

        The groups are searched smallest first, each on the data with the laws found so far and
        the splines of the groups still to come divided out (taken away, for a sum): a spline is
        good to about 1e-5, a law found for one variable is often exact, and so the last group,
        the hardest, sees a table as exact as the laws before it. The composed law's constants
        are snapped at once, on the data (each factor's search had little time for it): exact,
        it ends the search."""
        x, y = view.x[train], view.y[train]
        separation = separate(x, y, None if view.weights is None else view.weights[train])
        if separation is None:
            return []
        error = max(separation.error, SPLINE_NOISE_SHARE * separation.noise)
        product = separation.kind == "product"
        groups = [[view.symbols[i] for i in group] for group in separation.groups]
        say(f"the law splits: a {separation.kind} of functions of {' | '.join(', '.join(map(str, g)) for g in groups)}")
        # A group the target does not depend on (its factor flat to within the splines' error)
        # has no factor, and leaves the others a table without its spline.
        found: dict[int, np.ndarray] = {}
        for k, values in enumerate(separation.factors):
            flat = np.std(values) <= SEPARATION_FLOOR * error * (1.0 if product else np.std(y))
            if flat:
                say(f"the target does not depend on {', '.join(map(str, groups[k]))}")
                found[k] = np.full(len(y), 1.0 if product else 0.0)
        order = sorted((k for k in range(len(groups)) if k not in found), key=lambda k: len(groups[k]))
        sole = len(order) == 1
        budget_s = left_s * (SOLE_GROUP_SHARE if sole else SEPARABLE_SHARE)
        total = sum(len(groups[k]) ** 2 for k in order)
        factors = []
        for position, k in enumerate(order):
            others = [*found.values(), *(separation.factors[j] for j in order[position + 1 :])]
            with np.errstate(all="ignore"):
                target = y / np.prod(others, axis=0) if product else y - np.sum(others, axis=0)
            if not np.all(np.isfinite(target)):
                return []
            columns = list(separation.groups[k])
            finder = LawFinder(
                time_budget_s=max(budget_s * len(columns) ** 2 / total, MIN_FACTOR_BUDGET_S),
                max_size=self.max_size,
                use_gp=self.use_gp and sole,
                random_state=self.random_state,
                # Splines, or laws found from them, make the table good to about the split's
                # error and no better; divided by flat factors alone, it is the data itself.
                error_floor=self.error_floor if sole else SEPARATION_FLOOR * error,
            )
            try:
                finder.fit(x[:, columns], target, names=[s.name for s in groups[k]])
            except AutoalignError:  # a table the search refuses (too few distinct values)
                return []
            if finder.law_candidate_ is None:
                return []
            factors.append(finder.law_candidate_.expression)
            found[k] = finder.predict(x[:, columns]) if finder.found_ else separation.factors[k]
        if not factors:
            return []
        shape = sympy.Mul(*factors) if product else sympy.Add(*factors)
        rows = slice(0, FIT_ROWS)
        fitted, _ = fit_constants(shape, view.symbols, x[rows], y[rows], scale_inputs=False)
        fitted = refit_floats(fitted, view.symbols, x[rows], y[rows])
        law = self._law(view.to_original(fitted), f"separable {separation.kind}")
        if law is None:
            return []
        return self._snapped([law], time.perf_counter() + budget_s * SEPARABLE_SNAP_SHARE, respects)

    def _brute_force(self, view: _View, train: np.ndarray, rng: np.random.Generator, budget_s: float) -> list[Law]:
        """Enumeration, then sums and ratios, then the constants of the best shapes, within
        ``budget_s`` (shares :data:`SEARCH_SHARE` and :data:`SUMS_SHARE` for the first two)."""
        started = time.perf_counter()
        x, y = view.x[train], view.y[train]
        weights = None if view.weights is None else view.weights[train]
        if x.shape[1] == 0:  # dimensional analysis left no variable: the target is a constant
            return self._refined(view, sympy.Integer(1), TRANSFORMS[0], x, y, weights, "dimensional analysis")
        sample = _sample_rows(weights, len(y), rng)
        # The target at the sampled rows, and (in one or two variables) the same smoothed, over
        # a narrow and a wide neighbourhood: under noise only a smoothed one tells the right
        # shape from its many near misses.
        transforms = [t for t in TRANSFORMS if t.valid(y)]
        with np.errstate(all="ignore"):
            targets = [t.forward(y[sample]) for t in transforms]
            scored = list(transforms)
            for neighbours in neighbourhoods(x):
                smoothed = local_quadratic(x, y, x[sample], weights, neighbours=neighbours)
                valid = [t for t in transforms if t.valid(smoothed)]
                scored += valid
                targets += [t.forward(smoothed) for t in valid]
        search = BruteForce(view.symbols, max_size=self.max_size, time_budget_s=budget_s * SEARCH_SHARE)
        candidates = search.search(x[sample], np.vstack(targets))
        exact_shape = bool(candidates) and candidates[0].r2 > 1 - 1e-12
        if candidates and not exact_shape:
            candidates = _rescored(view, candidates, scored, x, y, weights)
        laws: list[Law] = self._power_law(view, x, y, weights)
        # Sums are cheap and, when one is exact, spare the constant fitting of every shape.
        if not exact_shape:
            # At least their own share, however long the enumeration overran its own.
            planned = started + budget_s * (SEARCH_SHARE + SUMS_SHARE)
            sums_until = max(planned, time.perf_counter() + budget_s * SUMS_SHARE)
            laws.extend(self._sums(view, x, y, weights, _by_promise(transforms, candidates, scored), rng, sums_until))
            if _exact(laws):
                return laws
        stop_at = max(started + budget_s, time.perf_counter() + budget_s * MIN_REFINE_SHARE)
        for i, candidate in enumerate(self._to_refine(candidates, scored)):
            if time.perf_counter() > stop_at or (i >= REFINE and _exact(laws)):
                break
            transform = scored[candidate.target]
            if i < REFINE or _promising(view, candidate.expression, transform, x, y, weights):
                laws.extend(self._refined(view, candidate.expression, transform, x, y, weights, "brute force"))
        return laws

    @staticmethod
    def _to_refine(candidates: list[Candidate], scored: list[_TargetTransform]) -> list[Candidate]:
        """The :data:`REFINE` best candidates, then the small ones, smallest first, while time
        lasts: a constant inside a function (``1/(exp(x/(2π)) - 1)``) hides the shape from the
        affine score on the raw values, where a fit of ``a·f(c·x) + b`` finds it. A shape found
        on a transform and on its smoothed versions is fitted once (to the transform)."""
        small = sorted((c for c in candidates[REFINE:] if c.size <= REFINE_SMALL_SIZE), key=lambda c: (c.size, -c.r2))
        unique: dict[tuple[sympy.Expr, str], Candidate] = {}
        for candidate in candidates[:REFINE] + small:
            unique.setdefault((candidate.expression, scored[candidate.target].name), candidate)
        return list(unique.values())

    def _power_law(self, view: _View, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None) -> list[Law]:
        """``c·Π x_i^e_i`` with exponents rounded to halves, thirds or quarters, fitted in logs:
        the shape of most laws between summary variables (P·V ∝ N·T), cheap to test directly,
        and simpler than what a search bends to fit measurement residue. The logs are taken on the rows the view trusts
        most, where noise does not flip the sign of small values."""
        rows = _trusted_rows(weights, len(y))
        x_fit, y_fit = x[rows], y[rows]
        if x.shape[1] == 0 or not (np.all(x_fit > 0) and (np.all(y_fit > 0) or np.all(y_fit < 0))):
            return []
        sign = 1.0 if y_fit[0] > 0 else -1.0
        design = np.column_stack([np.log(x_fit), np.ones(len(y_fit))])
        solution, *_ = np.linalg.lstsq(design, np.log(sign * y_fit), rcond=None)
        shapes = []
        for denominator in POWER_DENOMINATORS:
            numerators = np.round(solution[:-1] * denominator)
            if np.max(np.abs(numerators / denominator - solution[:-1])) <= POWER_ROUNDING / denominator:
                powers = (sympy.Rational(int(n), denominator) for n in numerators)
                shapes.append(sign * sympy.Mul(*(v**p for v, p in zip(view.symbols, powers, strict=True))))
        laws = []
        for shape in dict.fromkeys(shapes):  # halves come again as quarters
            laws.extend(self._refined(view, shape, TRANSFORMS[0], x, y, weights, "power law", scale_inputs=False))
            if (proportional := self._proportional(view, shape, x, y, weights)) is not None:
                laws.append(proportional)
        return laws

    def _proportional(
        self, view: _View, shape: sympy.Expr, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None
    ) -> Law | None:
        """``a·shape`` by least squares: the power law as it is, without the offset that the
        general fit ``a·shape + b`` adds to follow calibration residue."""
        rows = slice(0, FIT_ROWS)
        with np.errstate(all="ignore"):
            values = sympy.lambdify([view.symbols], shape, modules="numpy")(list(x[rows].T))
        w = np.ones(len(y[rows])) if weights is None else weights[rows]
        denominator = float(np.sum(w * values**2))
        if not (np.isfinite(denominator) and denominator > 0):
            return None
        factor = float(np.sum(w * values * y[rows])) / denominator
        return self._law(view.to_original(sympy.Float(factor, 12) * shape), "power law")

    def _sums(
        self,
        view: _View,
        x: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray | None,
        transforms: list[_TargetTransform],
        rng: np.random.Generator,
        deadline: float,
    ) -> list[Law]:
        """Sparse sums and ratios of small terms (``sparse.py``) for the target and each of its
        transforms (``transforms``, the most promising first), until ``deadline``: first the
        sum and ratios of the most promising transform, then the sums of every other (the
        cheapest, and exact for a squared distance only on y²), then their ratios, then the
        sums' shorter forms, so that a slow machine loses the least likely laws."""
        rows = rng.choice(len(y), size=min(SUM_ROWS, len(y)), replace=False)
        size = SUM_TERM_SIZES.get(len(view.symbols), 3)
        features, terms = BruteForce(view.symbols, max_size=size).features(x[rows])
        if view.dimensions is not None:
            mask, terms = terms.respecting(view.dimensions)
            features = features[mask]
        laws: list[Law] = []
        if features.size == 0:  # every term overflowed (values near 1e30) or broke the units
            return laws
        shorter: list[tuple[sympy.Expr, _TargetTransform]] = []

        def add(found: sympy.Expr, transform: _TargetTransform, source: str, approximate: bool) -> None:
            try:
                expression = view.to_original(transform.inverse(found))
            except (TypeError, ValueError, ZeroDivisionError):
                return
            if (law := self._law(expression, source, approximate=approximate)) is not None:
                laws.append(law)

        # Denominators of monomials, and apart from them those with an angle: together, a
        # combination such as 1 - cos a - a²/2 + a⁴/24 nearly vanishes, and 0/0 fits anything.
        denominators = {"sparse ratio": terms.monomials, "sparse ratio with an angle": terms.angled}
        sources = ("sparse sum", *denominators)
        first, *rest = transforms
        tries = [(source, first) for source in sources] + [(source, t) for source in sources for t in rest]
        for source, transform in tries:
            if time.perf_counter() > deadline or _exact(laws):
                return laws
            with np.errstate(all="ignore"):
                target = transform.forward(y[rows])
            row_weights = _transform_weights(transform, y[rows], None if weights is None else weights[rows])
            fit: SparseFit | None = None
            if source == "sparse sum":
                fit = sparse_sum(features, terms, target, row_weights)
            elif len(denominators[source]):
                fit = sparse_ratio(features, terms, target, denominators[source], row_weights)
            if fit is not None:
                # A series of many terms can match a smooth law to rounding error where it
                # converges fast (1/(exp(z) - 1) by powers of z): it is kept, but ends nothing.
                series = len(fit.expression.atoms(sympy.Float)) > MAX_EXACT_COEFFICIENTS
                add(fit.expression, transform, source, not fit.exact or series)
                shorter.extend((e, transform) for e in fit.shorter)
        for found, transform in shorter:
            if time.perf_counter() > deadline:
                break
            add(found, transform, "sparse sum", True)
        return laws

    def _refined(
        self,
        view: _View,
        shape: sympy.Expr,
        transform: _TargetTransform,
        x: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray | None,
        source: str,
        *,
        scale_inputs: bool = True,
    ) -> list[Law]:
        rows = slice(0, FIT_ROWS)
        row_weights = None if weights is None else weights[rows]
        with np.errstate(all="ignore"):
            target = transform.forward(y[rows])
        fitted, _ = fit_constants(
            shape,
            view.symbols,
            x[rows],
            target,
            scale_inputs=scale_inputs and bool(shape.free_symbols),
            weights=_transform_weights(transform, y[rows], row_weights),
        )
        try:
            on_y = transform.inverse(fitted)
            laws = [self._law(view.to_original(on_y), source)]
            if transform.name != "y":
                # The weights on the transform hold to first order only, and come from noisy
                # values: the constants are fitted once more to y itself.
                refitted = refit_floats(on_y, view.symbols, x[rows], y[rows], row_weights)
                laws.append(self._law(view.to_original(refitted), source))
        except (TypeError, ValueError, ZeroDivisionError):
            return []
        found = [law for law in laws if law is not None]
        return [min(found, key=lambda law: law.train_rmse)] if found else []

    def _genetic(self, view: _View, train: np.ndarray, budget_s: float) -> list[Law]:
        from autoalign.discover.gp import operon_expressions

        expressions = operon_expressions(
            view.x[train], view.y[train], view.symbols, budget_s=budget_s, seed=self.random_state, n_jobs=self.n_jobs
        )
        laws = [self._law(view.to_original(e), "genetic programming") for e in expressions]
        return [law for law in laws if law is not None]

    def _snapped(
        self, laws: list[Law], deadline: float, respects: Callable[[sympy.Expr], bool] | None = None
    ) -> list[Law]:
        """Laws with their constants snapped, for the most accurate laws and for the simplest of
        those nearly as accurate (under noise, the law itself is seldom the most accurate: a longer
        expression fits some of the noise), those with the fewest constants first, until
        ``deadline``: a long expression from genetic programming can take seconds."""
        if not laws:
            return laws
        accurate = sorted(laws, key=lambda law: law.test_rmse)[:SNAP_ACCURATE]
        close = [law for law in laws if law.test_rmse <= accurate[0].test_rmse * (1 + SNAP_TOLERANCE) + 1e-12]
        simple = sorted(close, key=lambda law: law.complexity)[:SNAP_SIMPLE]
        chosen = sorted(dict.fromkeys([*accurate, *simple]), key=lambda law: len(law.expression.atoms(sympy.Float)))
        # Under noise, a simple number's loss must be what chance explains: on n rows a constant
        # fitted to them beats its true value by about 1/(2n) of the RMS error.
        tolerance = min(SNAP_MAX_TOLERANCE, SNAP_EVIDENCE / len(self._y_train))
        snapped = []
        for law in chosen:
            if time.perf_counter() > deadline:
                break
            expression = snap(
                law.expression,
                lambda e: self._rmse(e, self._x_train, self._y_train),
                refit=lambda e: refit_floats(e, self.symbols_, self._x_train[:FIT_ROWS], self._y_train[:FIT_ROWS]),
                tolerance=tolerance,
                floor=self.error_floor * float(np.sqrt(np.mean(self._y_train**2))),
                deadline=deadline,
                admissible=respects or (lambda _expression: True),
            )
            if expression != law.expression:
                candidate = self._law(expression, law.source + ", snapped", approximate=law.approximate)
                if candidate is not None:
                    snapped.append(candidate)
        return laws + snapped

    def _law(self, expression: sympy.Expr, source: str, *, approximate: bool = False) -> Law | None:
        if expression.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
            return None
        expression = self._simplified(_tidy(expression))
        train_rmse = self._rmse(expression, self._x_train, self._y_train)
        test_rmse = self._rmse(expression, self._x_test, self._y_test)
        if not (np.isfinite(train_rmse) and np.isfinite(test_rmse)):
            return None
        predicted = self._evaluate(expression, self._x_test)
        r2 = _r2(self._y_test, predicted)
        return Law(expression, _complexity(expression), train_rmse, test_rmse, r2, source, approximate)

    def _simplified(self, expression: sympy.Expr) -> sympy.Expr:
        """Tidy knowing which variables are positive in the data (so sqrt(c**2) is c), and hand the
        result back in the estimator's own (real) symbols. Only cheap rewrites: sympy's simplify
        can take minutes, or all memory, on expressions brute force turns up.

        Powers are also denested as if every base were positive (sqrt(1/x) -> 1/sqrt(x)); where
        that is wrong for the data, the law's errors, measured after this step, say so.
        """
        if sympy.count_ops(expression) > MAX_SIMPLIFY_OPS:
            return expression
        positive = {
            s: sympy.Symbol(s.name, positive=True)
            for s, column in zip(self.symbols_, self._x_train.T, strict=True)
            if np.all(column > 0)
        }
        simpler = sympy.powdenest(sympy.powsimp(sympy.factor_terms(expression.xreplace(positive))), force=True)
        return self._on_domain(simpler.xreplace({p: s for s, p in positive.items()}))

    def _on_domain(self, expression: sympy.Expr) -> sympy.Expr:
        """Inverses undone where the data stays on their branch: the square root of a fitted
        square (the y² view of a law) comes back as |x - u·t| where the law is x - u·t, and the
        cos(y) view as acos(cos(e)) where the law is e."""
        branches = (
            (sympy.Abs, lambda e: e, lambda v: np.all(v > 0)),  # |e| is e where e > 0, -e where -e > 0
            (sympy.Abs, lambda e: -e, lambda v: np.all(v > 0)),
            (sympy.asin, lambda e: e.args[0] if isinstance(e, sympy.sin) else None, _within(-np.pi / 2, np.pi / 2)),
            (sympy.acos, lambda e: e.args[0] if isinstance(e, sympy.cos) else None, _within(0, np.pi)),
        )
        undone = {}
        for kind, inner, on_branch in branches:
            for node in expression.atoms(kind):
                argument = inner(node.args[0])
                if node in undone or argument is None:
                    continue
                try:
                    values = self._evaluate(argument, self._x_train)
                except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError):
                    continue
                if on_branch(values):
                    undone[node] = argument
        return expression.xreplace(undone)

    def _evaluate(self, expression: sympy.Expr, x: np.ndarray) -> np.ndarray:
        function = sympy.lambdify([self.symbols_], expression, modules="numpy")
        with np.errstate(all="ignore"):
            values = np.asarray(function(list(x.T)))
        if np.iscomplexobj(values):  # a law that leaves the reals predicts nothing there
            values = np.where(np.abs(values.imag) > 1e-12 * (np.abs(values.real) + 1e-300), np.nan, values.real)
        return np.broadcast_to(values, (x.shape[0],)).astype(float)

    def _rmse(self, expression: sympy.Expr, x: np.ndarray, y: np.ndarray) -> float:
        try:
            residual = self._evaluate(expression, x) - y
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError):
            return float("inf")
        return float(np.sqrt(np.mean(residual**2))) if np.all(np.isfinite(residual)) else float("inf")


def _within(low: float, high: float) -> Callable[[np.ndarray], bool]:
    return lambda values: bool(np.all((values >= low) & (values <= high)))


def _promising(
    view: _View,
    shape: sympy.Expr,
    transform: _TargetTransform,
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
) -> bool:
    """Whether ``a·f(c·x) + b`` fits a few rows well (R² above :data:`PROMISING_R2`): a tenth of
    the cost of refining the shape, and most shapes fail it. The rows are the view's most trusted."""
    rows = _trusted_rows(weights, len(y))[:SCREEN_ROWS]
    with np.errstate(all="ignore"):
        target = transform.forward(y[rows])
    _, rmse = fit_constants(shape, view.symbols, x[rows], target)
    return bool(np.isfinite(rmse) and rmse**2 < (1 - PROMISING_R2) * np.var(target))


#: Best candidates of the sample scored again on more rows, when none is exact.
RESCORE = 300
RESCORE_ROWS = 2000


def _rescored(
    view: _View,
    candidates: list[Candidate],
    scored: list[_TargetTransform],
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
) -> list[Candidate]:
    """The best :data:`RESCORE` candidates ranked again by their affine fit to the (transformed)
    target on :data:`RESCORE_ROWS` trusted rows, the rest after them.

    Under noise, scores on the sample's few dozen rows (even smoothed) leave the right shape among
    hundreds within the noise of each other; on thousands of rows the noise averages out of the
    comparison, and only how well each shape can follow the law is left.
    """
    rows = _trusted_rows(weights, len(y))[:RESCORE_ROWS]
    row_weights = np.ones(len(rows)) if weights is None else weights[rows]
    rescored: dict[tuple[sympy.Expr, str], Candidate] = {}
    for candidate in candidates[:RESCORE]:
        transform = scored[candidate.target]
        key = (candidate.expression, transform.name)
        if key in rescored:
            continue
        with np.errstate(all="ignore"):
            target = transform.forward(y[rows])
            function = sympy.lambdify([view.symbols], candidate.expression, modules="numpy")
            try:
                values = np.broadcast_to(np.asarray(function(list(x[rows].T)), dtype=float), target.shape)
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                continue
            r2 = _weighted_r2(values, target, row_weights)
        if np.isfinite(r2):
            rescored[key] = Candidate(candidate.expression, candidate.size, r2, candidate.target)
    ranked = sorted(rescored.values(), key=lambda c: (-c.r2, c.size))
    return ranked + candidates[RESCORE:]


def _by_promise(
    transforms: list[_TargetTransform], candidates: list[Candidate], scored: list[_TargetTransform]
) -> list[_TargetTransform]:
    """The transforms of the target, those on which brute force came closest first: the sums
    and ratios of every transform take longer than their share on a busy machine, and the
    transform a law is simple in is usually the one its near misses were found on (the cos(y)
    of an aberration law, the y² of a distance)."""
    best: dict[str, float] = {}
    for candidate in candidates:
        name = scored[candidate.target].name
        if np.isfinite(candidate.r2):
            best[name] = max(best.get(name, -np.inf), candidate.r2)
    return sorted(transforms, key=lambda t: -best.get(t.name, -np.inf))


def _weighted_r2(values: np.ndarray, target: np.ndarray, weights: np.ndarray) -> float:
    """R² of the best ``a·values + b`` for ``target``, by weighted least squares."""
    ok = np.isfinite(values) & np.isfinite(target)
    if ok.sum() < len(values) * 0.99:
        return float("nan")
    w = weights[ok] / np.sum(weights[ok])
    v, t = values[ok], target[ok]
    v_centred, t_centred = v - np.sum(w * v), t - np.sum(w * t)
    covariance = np.sum(w * v_centred * t_centred)
    variances = np.sum(w * v_centred**2) * np.sum(w * t_centred**2)
    return float(covariance**2 / variances) if variances > 0 else float("nan")


#: Share of the rows a view trusts most (by weight), from which its sample is drawn.
TRUSTED_SHARE = 0.25


def _trusted_rows(weights: np.ndarray | None, n: int) -> np.ndarray:
    """The rows of largest weight: a quarter of them, at least :data:`FIT_ROWS` (or all), in
    their original (random) order; all rows when they are equally trusted."""
    if weights is None:
        return np.arange(n)
    count = min(n, max(FIT_ROWS, int(n * TRUSTED_SHARE)))
    return np.sort(np.argsort(-weights, kind="stable")[:count])


def _sample_rows(weights: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """The brute-force sample: :data:`SAMPLE_ROWS` rows drawn from the most trusted."""
    pool = _trusted_rows(weights, n)
    return rng.choice(pool, size=min(SAMPLE_ROWS, len(pool)), replace=False)


#: Largest weight a transform gives a row, over the median: where its slope vanishes (y² at
#: y = 0) the first-order noise does too, but the second-order noise does not.
MAX_WEIGHT_RATIO = 1e6


def _transform_weights(transform: _TargetTransform, y: np.ndarray, weights: np.ndarray | None) -> np.ndarray | None:
    """The rows' inverse noise variances on ``transform(y)``, relative (``None``: all equal).

    Under noise, a law fitted to ``1/y`` without them trusts the rows where ``y`` is smallest,
    whose inverse is mostly noise (``1/(exp(x) - 1)`` at ``x = 4`` is 0.02, noise of 1% of the
    target's RMS is 0.13): it is the rows of large ``y`` that pin ``exp(x) - 1`` down."""
    if transform.name == "y":
        return weights
    with np.errstate(all="ignore"):
        carried = (np.ones(len(y)) if weights is None else weights) / transform.slope(y) ** 2
    positive = carried[np.isfinite(carried) & (carried > 0)]
    cap = MAX_WEIGHT_RATIO * float(np.median(positive)) if len(positive) else 1.0
    return _relative(np.minimum(np.nan_to_num(carried, nan=0.0, posinf=cap), cap))


def _relative(weights: np.ndarray) -> np.ndarray | None:
    """Weights scaled to mean 1, or ``None`` where they are (nearly) all equal."""
    weights = np.where(np.isfinite(weights), weights, 0.0)
    if np.ptp(weights) <= 1e-9 * np.max(weights):
        return None
    return weights / np.mean(weights)


def _respecting(
    laws: list[Law], respects: Callable[[sympy.Expr], bool] | None, say: Callable[[str], None]
) -> list[Law]:
    """The laws that respect the units; all of them, said, where none does or only one that
    breaks them fits exactly: the units given are then likelier wrong than the law."""
    if respects is None:
        return laws
    kept = [law for law in laws if respects(law.expression)]
    if laws and (not kept or (_exact(laws) and not _exact(kept))):
        say("the best law found does not respect the units given (are they right?); keeping it")
        return laws
    return kept


def _exact(laws: list[Law]) -> bool:
    """Whether some law, not known to be an approximation, already fits the held-out rows to
    rounding error."""
    return any(law.test_r2 > 1 - 1e-10 and not law.approximate for law in laws)


def _numbers(values: object, name: str) -> np.ndarray:
    """``values`` as an array of floats, or a :class:`DataError` saying why they are not."""
    if values is None:
        passed = "the target y" if name == "y" else name
        raise DataError(f"LawFinder requires {name} to be passed, but {passed} is None")
    if issparse(values):
        raise DataError(f"sparse input is not supported: pass {name} as a dense array ({name}.toarray())")
    array = np.asarray(values)
    if np.iscomplexobj(array):
        raise DataError(f"Complex data not supported: {name} holds complex numbers; a law is fitted to real values")
    try:
        return np.asarray(array, dtype=float)
    except (TypeError, ValueError):
        raise DataError("the data must be numbers (text columns cannot be fitted)") from None


def _check_xy(X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    X, y = _numbers(X, "X"), _numbers(y, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("y is a column vector; it is read as a 1d array", DataConversionWarning, stacklevel=3)
    y = y.ravel()
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise DataError(f"X must be a table with one row per target value (got {X.shape} and {y.shape})")
    if X.shape[1] == 0:
        raise DataError(
            f"0 feature(s) (shape={X.shape}) while a minimum of 1 is required: no input columns to find a law in"
        )
    if X.shape[0] < max(10, 2 * X.shape[1]):
        rows = "1 sample (one row)" if X.shape[0] == 1 else f"{X.shape[0]} rows"
        raise DataError(f"{rows} for {X.shape[1]} variables: too few to tell laws apart")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise DataError("the data holds NaN or infinite values; drop or fill those rows first")
    if np.ptp(y) == 0:
        raise DataError("the target is constant: there is nothing to explain")
    return X, y


def _tidy(expression: sympy.Expr) -> sympy.Expr:
    """Drop fitted constants that do nothing (a + 1e-17, 1.0000000001*x)."""
    small = {f: 0 for f in expression.atoms(sympy.Float) if abs(float(f)) < 1e-11}
    ones = {f: 1 for f in expression.atoms(sympy.Float) if abs(float(f) - 1) < 1e-11}
    return sympy.simplify(expression.xreplace({**small, **ones})) if small or ones else expression


#: What a fitted, unsnapped constant costs in complexity: it carries many digits of information,
#: where 1/2 or π carry few, so a snapped law is preferred over an equally accurate unsnapped one.
FLOAT_COST = 4


def _complexity(expression: sympy.Expr) -> int:
    """Nodes of the expression tree, a constant subexpression (1/sqrt(2*pi)) counting as one node,
    or as ``FLOAT_COST`` if it holds a fitted float."""
    if not expression.free_symbols:
        return FLOAT_COST if expression.atoms(sympy.Float) else 1
    return 1 + sum(_complexity(arg) for arg in expression.args)


def _r2(y: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    return 1 - float(np.sum((y - predicted) ** 2)) / total if total > 0 else float("nan")


def _pareto(laws: list[Law]) -> list[Law]:
    """For each complexity the most accurate law, keeping only those no simpler law beats."""
    front: list[Law] = []
    for law in sorted(laws, key=lambda law: (law.complexity, law.test_rmse)):
        if not front or law.test_rmse < front[-1].test_rmse * (1 - 1e-9):
            front.append(law)
    return front


def _choose(front: list[Law], n_test: int, floor: float) -> Law | None:
    """The law of the front with the lowest information criterion on the held-out rows:
    ``n·log(mse + floor) + COMPLEXITY_PRICE·log(n)·complexity``.

    A fixed tolerance ("the simplest within 10% of the best") cannot tell the two reasons a more
    complex law may fit better apart. Under pure noise, on thousands of held-out rows, a 5%
    smaller error is a real difference, and the simpler law (``m/cos(πv/3c)``) is the wrong
    one. Where the variables carry errors that are not noise (summary variables built from
    miscalibrated sensors), a complex law fits those errors better on a few hundred rows and is
    still the wrong one. Pricing each node against the log-likelihood separates the two, since
    the evidence grows with the rows and the price does not. ``floor`` (a tiny share of the
    target's power) keeps rounding error from counting as evidence between exact laws.
    """
    if not front:
        return None
    price = COMPLEXITY_PRICE * np.log(max(n_test, 2))

    def criterion(law: Law) -> float:
        return n_test * np.log(law.test_rmse**2 + floor) + price * law.complexity

    return min(front, key=criterion)
