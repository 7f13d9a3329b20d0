"""Genetic programming through pyoperon, for problems too big for brute force.

Operon (C++) evolves expression trees with constants fitted by Levenberg-Marquardt; here it runs
on the problem as dimensional analysis reduced it, under the time left in the budget. Its models
come back as strings with many raw constants; sympy parses and simplifies them, and the estimator
snaps their constants like any other candidate.
"""

from __future__ import annotations

import numpy as np
import sympy

SYMBOLS = "add,sub,mul,div,constant,variable,sqrt,exp,log,sin,cos,square"


def operon_expressions(
    x: np.ndarray, y: np.ndarray, variables: list[sympy.Symbol], *, budget_s: float, seed: int, n_jobs: int = 1
) -> list[sympy.Expr]:
    """The final model and its Pareto front, as sympy expressions in ``variables``."""
    from pyoperon.sklearn import SymbolicRegressor

    if x.shape[1] == 0 or budget_s < 1:
        return []
    regressor = SymbolicRegressor(
        allowed_symbols=SYMBOLS,
        max_time=max(1, int(budget_s)),
        generations=1_000_000,
        max_evaluations=10**9,
        max_length=40,
        n_threads=n_jobs,
        random_state=seed,
        objectives=["r2", "length"],
    )
    regressor.fit(x, y)
    names = [f"v{i}" for i in range(x.shape[1])]
    local = {name: symbol for name, symbol in zip(names, variables, strict=True)}
    models = [regressor.model_, *(entry["tree"] for entry in regressor.pareto_front_)]
    found = []
    for model in models:
        text = regressor.get_model_string(model, 12, names)
        try:
            found.append(sympy.sympify(text, locals=local))
        except (sympy.SympifyError, TypeError):
            continue
    return found
