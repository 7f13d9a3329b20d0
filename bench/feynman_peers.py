"""The peers of the Feynman benchmark, gplearn and pyoperon, fitted under a wall-clock budget.

Each returns its model as a sympy expression in the equation's own symbols (so the same symbolic
check judges every system) and a ``predict`` function (so the test R² is the peer's own
prediction, as SRBench computes it). Neither gets units: SRBench gives none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy
from sympy.parsing.sympy_parser import parse_expr

#: SRBench's gplearn function set (experiment/methods/gplearn.py).
GPLEARN_FUNCTIONS = ("add", "sub", "mul", "div", "log", "sqrt", "sin", "cos")
#: SRBench's generation cap for a population of 1000; the time budget usually binds first.
GPLEARN_MAX_GENERATIONS = 500
#: Operon's operators: enough to write every Feynman formula (ours brute-forces the same set and tanh).
OPERON_SYMBOLS = "add,sub,mul,div,constant,variable,sin,cos,exp,log,sqrt,square"


@dataclass(slots=True)
class Fitted:
    """A fitted model: its expression (``None`` if it could not be read), predictor and notes."""

    expression: sympy.Expr | None
    predict: Callable[[np.ndarray], np.ndarray]
    seconds: float
    extra: dict[str, object] = field(default_factory=dict)


def _gplearn_functions() -> dict[str, Callable]:
    """gplearn's primitives as sympy, without their protection (``log|x|``, ``sqrt|x|``,
    division by ~0 = 1), as SRBench converts them: the symbolic check judges the formula the
    program writes, not its guards."""
    return {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "sqrt": sympy.sqrt,
        "log": sympy.log,
        "sin": sympy.sin,
        "cos": sympy.cos,
        "neg": lambda a: -a,
        "inv": lambda a: 1 / a,
        "abs": sympy.Abs,
    }


def gplearn_to_sympy(program: str, symbols: list[sympy.Symbol]) -> sympy.Expr:
    """``add(X0, mul(0.5, X1))`` -> ``X0 + 0.5*X1`` in ``symbols``."""
    local = {f"X{i}": symbol for i, symbol in enumerate(symbols)}
    return parse_expr(program, local_dict={**_gplearn_functions(), **local})


def fit_gplearn(x: np.ndarray, y: np.ndarray, symbols: list[sympy.Symbol], budget_s: float, seed: int) -> Fitted:
    """SRBench's gplearn settings (population 1000, tournament 20, MAE, parsimony 0.001), grown one
    generation at a time with ``warm_start`` and stopped before the next generation would overrun
    the budget: gplearn has no time limit of its own."""
    from gplearn.genetic import SymbolicRegressor

    regressor = SymbolicRegressor(
        population_size=1000,
        generations=0,
        tournament_size=20,
        init_depth=(2, 6),
        init_method="half and half",
        metric="mean absolute error",
        parsimony_coefficient=0.001,
        p_crossover=0.9,
        p_subtree_mutation=0.01,
        p_hoist_mutation=0.01,
        p_point_mutation=0.01,
        p_point_replace=0.05,
        max_samples=1.0,
        function_set=GPLEARN_FUNCTIONS,
        warm_start=True,
        n_jobs=1,
        random_state=seed,
    )
    started = time.perf_counter()
    slowest = 0.0
    generations = 0
    while generations < GPLEARN_MAX_GENERATIONS:
        before = time.perf_counter()
        generations += 1
        regressor.set_params(generations=generations)
        regressor.fit(x, y)
        slowest = max(slowest, time.perf_counter() - before)
        if time.perf_counter() - started + slowest > budget_s or regressor.run_details_["best_fitness"][-1] <= 0:
            break
    seconds = time.perf_counter() - started
    program = str(regressor._program)
    try:
        expression = gplearn_to_sympy(program, symbols)
    except (sympy.SympifyError, SyntaxError, TypeError, ValueError):
        expression = None
    return Fitted(expression, regressor.predict, seconds, {"generations": generations, "program": program})


def fit_operon(x: np.ndarray, y: np.ndarray, symbols: list[sympy.Symbol], budget_s: float, seed: int) -> Fitted:
    """pyoperon with ``max_time`` = the budget and no generation or evaluation cap below it, so the
    clock is what stops it; one thread, like every system here."""
    from pyoperon.sklearn import SymbolicRegressor

    regressor = SymbolicRegressor(
        allowed_symbols=OPERON_SYMBOLS,
        population_size=1000,
        max_length=50,
        generations=10**6,
        max_evaluations=10**10,
        max_time=max(1, int(budget_s)),
        n_threads=1,
        random_state=seed,
    )
    started = time.perf_counter()
    regressor.fit(x, y)
    seconds = time.perf_counter() - started
    names = [f"v{i}" for i in range(len(symbols))]
    text = regressor.get_model_string(regressor.model_, 12, names)
    try:
        expression = parse_expr(text.replace("^", "**"), local_dict=dict(zip(names, symbols, strict=True)))
    except (sympy.SympifyError, SyntaxError, TypeError, ValueError):
        expression = None
    return Fitted(expression, regressor.predict, seconds, {"model_string": text})


PEERS: dict[str, Callable[..., Fitted]] = {"gplearn": fit_gplearn, "operon": fit_operon}
