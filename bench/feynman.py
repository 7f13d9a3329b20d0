"""The Feynman benchmark: the 100 equations of AI Feynman's FeynmanEquations.csv, judged as SRBench does.

For each equation, data are drawn uniformly over each variable's range (seeded per equation) and
the target computed from the formula; Gaussian noise with std ``level × RMS(y)`` goes on the
training target only, and the model is scored on an independently drawn, noiseless test set
(SRBench adds noise to the training split only). "Solved" as SRBench: test R² > 0.5 and, after
the model's floats are rounded to 3 decimals (below 1e-4 to 0), ``simplify(model - truth)`` or
``simplify(model / truth)`` is a constant (the ratio non-zero). simplify runs under a time limit;
a timeout counts as not solved and is reported as such. Two aids, both reported: the rounded
floats enter simplify as the exact decimals they print as, and the symbols know their sign over
the data's ranges, differences of two variables whose ranges do not overlap included
(``solved_real`` is the verdict with real symbols only).

Systems, under the same per-equation budget, each single-threaded, equations run in parallel:
``ours`` (``LawFinder`` with the units of ``bench/data/feynman_units.toml``), ``gplearn`` and
``operon`` (no units, as in SRBench; see ``feynman_peers.py``).

    python bench/feynman.py --first 5 --budget 20                 # smoke run, all systems, all noises
    python bench/feynman.py --systems ours --noise 0 --jobs 2     # ours, all 100 equations
    python bench/feynman.py --sample 20 --seed 1 --noise 0 0.01   # a seeded subset
    python bench/feynman.py --summary --noise 0 0.01 --sample 20 --seed 1
    python bench/feynman.py --first 4 --ray local                 # tasks as Ray remote functions
    python bench/feynman.py --set bonus --systems ours --noise 0 --out bench/out/bonus  # the 20 bonus equations

``--set bonus`` runs AI Feynman's 20 bonus equations instead (``bench/data/feynman_bonus.csv``, same
columns, Filenames ``test_1`` .. ``test_20``; units in ``bench/data/feynman_bonus_units.toml``).
``--units /dev/null`` (an empty table) runs ours without units.

Results go to ``OUT/results.jsonl``, one line per (system, equation, noise, budget, rows, seed) as
each finishes; a rerun skips what is there, so an interrupted run resumes.
"""

from __future__ import annotations

import os

# One thread per task: equations run in parallel, and BLAS or OpenMP threads would fight over cores.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import tomllib  # noqa: E402
import traceback  # noqa: E402
import zlib  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor, as_completed  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sympy  # noqa: E402
from _common import busy_others, machine, percentile, table  # noqa: E402
from feynman_peers import PEERS, Fitted  # noqa: E402
from sympy.parsing.sympy_parser import parse_expr  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CSV_PATH = REPO.parent / "shared" / "data" / "feynman" / "FeynmanEquations.csv"
UNITS_PATH = BENCH / "data" / "feynman_units.toml"
#: ``--set``: the equations' CSV and the default units file of each set.
SETS = {
    "feynman": (CSV_PATH, UNITS_PATH),
    "bonus": (BENCH / "data" / "feynman_bonus.csv", BENCH / "data" / "feynman_bonus_units.toml"),
}
SYSTEMS = ("ours", "gplearn", "operon")
NOISES = (0.0, 0.001, 0.01, 0.1)

#: Names in the Formula column that are functions or constants, not variables. ``arcsin`` is numpy's
#: spelling; ``ln`` is the natural log. ``I``, ``E``, ``S``, ``N``, ``gamma``, ``beta`` are variables
#: there and must not become sympy's imaginary unit, Euler's number or special functions.
FUNCTIONS: dict[str, object] = {
    "pi": sympy.pi,
    "exp": sympy.exp,
    "sqrt": sympy.sqrt,
    "log": sympy.log,
    "ln": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
    "arcsin": sympy.asin,
    "asin": sympy.asin,
    "arccos": sympy.acos,
    "acos": sympy.acos,
    "arctan": sympy.atan,
    "atan": sympy.atan,
}


# --- the equations ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Equation:
    """One row of FeynmanEquations.csv, with the formula as text (tasks cross process boundaries)."""

    name: str
    output: str
    formula: str
    variables: tuple[str, ...]
    lows: tuple[float, ...]
    highs: tuple[float, ...]

    def symbols(self) -> list[sympy.Symbol]:
        return [sympy.Symbol(v, real=True) for v in self.variables]

    def truth(self) -> sympy.Expr:
        return parse_formula(self.formula, self.variables)


def parse_formula(formula: str, variables: Iterable[str]) -> sympy.Expr:
    """The Formula cell as sympy. ``~`` is the CSV's unary minus; every variable is a real symbol
    named like the column, as in ``LawFinder.law_``."""
    local = {**FUNCTIONS, **{v: sympy.Symbol(v, real=True) for v in variables}}
    return parse_expr(formula.replace("~", "-"), local_dict=local)


def load_equations(path: Path = CSV_PATH) -> list[Equation]:
    """All rows. The variables are every non-empty ``vN_name``: the ``# variables`` column is wrong
    in six rows (I.18.12, I.18.14, I.38.12, II.37.1, III.10.19, III.19.51)."""
    equations = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["Filename"]:
                continue
            slots = [i for i in range(1, 11) if (row.get(f"v{i}_name") or "").strip()]
            equation = Equation(
                name=row["Filename"].strip(),
                output=row["Output"].strip(),
                formula=row["Formula"].strip(),
                variables=tuple(row[f"v{i}_name"].strip() for i in slots),
                lows=tuple(float(row[f"v{i}_low"]) for i in slots),
                highs=tuple(float(row[f"v{i}_high"]) for i in slots),
            )
            unknown = {str(s) for s in equation.truth().free_symbols} - set(equation.variables)
            if unknown:
                raise SystemExit(f"{equation.name}: formula uses {unknown}, not among its variables")
            equations.append(equation)
    return equations


def load_units(path: Path = UNITS_PATH) -> dict[str, dict[str, str]]:
    """Equation name -> {variable or output: SI units string}; empty if the file is missing."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {name: {k: str(v) for k, v in table.items()} for name, table in data.items() if isinstance(table, dict)}


def select(equations: list[Equation], args: argparse.Namespace) -> list[Equation]:
    """``--equations``, ``--first`` or ``--sample``/``--seed``, in CSV order."""
    if args.equations:
        wanted = [e.strip() for e in args.equations.split(",") if e.strip()]
        by_name = {e.name: e for e in equations}
        missing = [w for w in wanted if w not in by_name]
        if missing:
            raise SystemExit(f"unknown equations: {', '.join(missing)}")
        return [by_name[w] for w in wanted]
    if args.first:
        return equations[: args.first]
    if args.sample:
        chosen = set(random.Random(args.seed).sample([e.name for e in equations], args.sample))
        return [e for e in equations if e.name in chosen]
    return equations


# --- data ---------------------------------------------------------------------------------------


def _seed(*parts: object) -> list[int]:
    """A stable seed sequence (``hash`` of a string changes between runs)."""
    return [zlib.crc32(str(p).encode()) for p in parts]


def generate(equation: Equation, rows: int, seed: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` rows uniform over the ranges and the exact target; train and test draw independently.
    Rows where the formula is not finite are redrawn (none are, over the CSV's ranges)."""
    rng = np.random.default_rng(_seed(seed, equation.name, split))
    function = sympy.lambdify([equation.symbols()], equation.truth(), modules="numpy")
    xs, ys, have = [], [], 0
    while have < rows:
        x = rng.uniform(equation.lows, equation.highs, size=(rows, len(equation.variables)))
        with np.errstate(all="ignore"):
            y = np.broadcast_to(np.asarray(function(list(x.T)), dtype=float), (rows,))
        keep = np.isfinite(y)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
    return np.concatenate(xs)[:rows], np.concatenate(ys)[:rows]


def add_noise(y: np.ndarray, level: float, seed: int, name: str) -> np.ndarray:
    """SRBench's target noise: Gaussian with std ``level × sqrt(mean(y²))``."""
    if level == 0:
        return y
    rng = np.random.default_rng(_seed(seed, name, "noise", level))
    return y + rng.normal(0.0, level * float(np.sqrt(np.mean(y**2))), size=y.shape)


def r2(y: np.ndarray, predicted: np.ndarray) -> float:
    predicted = np.asarray(predicted, dtype=float)
    if predicted.shape != y.shape or not np.all(np.isfinite(predicted)):
        return float("nan")
    return 1 - float(np.sum((y - predicted) ** 2)) / float(np.sum((y - y.mean()) ** 2))


# --- SRBench's symbolic check -------------------------------------------------------------------


def round_floats(expression: sympy.Expr) -> sympy.Expr:
    """SRBench's ``round_floats``: every float to 3 decimals, those below 1e-4 in size to 0."""
    replace = {}
    for number in expression.atoms(sympy.Float):
        replace[number] = sympy.Integer(0) if abs(number) < 1e-4 else sympy.Float(round(float(number), 3), 3)
    return expression.xreplace(replace)


def rationalize(expression: sympy.Expr) -> sympy.Expr:
    """Each (rounded) float as the exact decimal it prints as: ``0.5`` -> ``1/2``. The verdict is
    the same in exact arithmetic, but simplify fails on floats where it succeeds on rationals
    (``0.5*(1 - cos(n*theta))/sin(0.5*theta)**2`` is not seen to equal ``sin(n*theta/2)**2/sin(theta/2)**2``)."""
    return expression.xreplace({f: sympy.Rational(str(f)) for f in expression.atoms(sympy.Float)})


def _numerically_constant(values: np.ndarray, scale: float) -> bool | None:
    """Whether values are one number up to rounding; ``None`` if some are not finite (undecided)."""
    if not np.all(np.isfinite(values)):
        return None
    spread = float(np.ptp(values.real) + np.ptp(values.imag))
    return spread <= 1e-8 * max(scale, float(np.max(np.abs(values))), 1e-300)


def _values(expression: sympy.Expr, symbols: list[sympy.Symbol], x: np.ndarray) -> np.ndarray:
    """Complex values, so that sqrt and log of negatives (unprotected GP programs) are not errors."""
    with np.errstate(all="ignore"):
        values = sympy.lambdify([symbols], expression, "numpy")(list(x.astype(complex).T))
    return np.broadcast_to(np.asarray(values, dtype=complex), (x.shape[0],))


def numeric_verdict(model: sympy.Expr, truth: sympy.Expr, symbols: list[sympy.Symbol], x: np.ndarray) -> bool | None:
    """False when model - truth and model / truth both visibly vary over the test rows: then no
    simplification can make either a constant, and sympy need not be asked (it can take minutes on
    a long GP program). True/None: leave the decision to sympy."""
    try:
        m, t = _values(model, symbols, x), _values(truth, symbols, x)
    except Exception:  # lambdify of an odd GP program: let sympy decide
        return None
    with np.errstate(all="ignore"):
        verdicts = [_numerically_constant(m - t, float(np.max(np.abs(t)))), _numerically_constant(m / t, 1.0)]
    if any(v is None for v in verdicts):
        return None
    return any(verdicts)


def _is_constant(expression: sympy.Expr) -> bool:
    """A finite constant: ``nan`` or ``zoo`` (a GP program dividing by ``x - x``) is no match."""
    if expression.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return False
    return not expression.free_symbols or bool(expression.is_constant())


def symbolic_match(model: sympy.Expr, truth: sympy.Expr) -> str:
    """``"difference"`` or ``"ratio"`` if simplify makes that a constant, else ``"no"``."""
    difference = sympy.simplify(model - truth, ratio=1)
    if _is_constant(difference):
        return "difference"
    ratio = sympy.simplify(model / truth, ratio=1)
    if _is_constant(ratio) and ratio != 0:
        return "ratio"
    return "no"


class _Timeout(Exception):
    pass


def with_time_limit(function: Callable[[], str], seconds: float) -> str:
    """``function()`` or ``"timeout"``. sympy can hang, so it gets an alarm; off the main thread (a
    Ray worker might run tasks there) a forked child does the work instead and is killed on time."""
    if threading.current_thread() is threading.main_thread():

        def alarm(_signum, _frame):
            raise _Timeout

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return function()
        except _Timeout:
            return "timeout"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=lambda: send.send(function()))
    child.start()
    answer = receive.recv() if receive.poll(seconds) else "timeout"
    child.kill()
    child.join()
    return answer


def on_domain(expression: sympy.Expr, equation: Equation) -> sympy.Expr:
    """The expression in symbols that know their sign over the data's ranges (all Feynman ranges
    are >= 0): ``c*m_0/sqrt(c**2 - v**2)`` is ``m_0/sqrt(1 - v**2/c**2)`` only for ``c > 0``, and
    with real symbols alone simplify cannot see it."""
    signs = {}
    for name, low in zip(equation.variables, equation.lows, strict=True):
        if low > 0:
            signs[sympy.Symbol(name, real=True)] = sympy.Symbol(name, positive=True)
        elif low >= 0:
            signs[sympy.Symbol(name, real=True)] = sympy.Symbol(name, nonnegative=True)
    return expression.xreplace(signs)


def ordered_pairs(equation: Equation) -> list[tuple[str, str]]:
    """Pairs ``(a, b)`` of variables whose ranges do not overlap, ``a`` above ``b``: over the data
    ``a - b > 0``, and ``sqrt(E - U)·sqrt(2 - L²/(m·r²·(E - U)))`` is ``sqrt(2·(E - U) - L²/(m·r²))``,
    which simplify sees only once ``E`` is written ``U + s`` with ``s > 0``."""
    ranges = dict(zip(equation.variables, zip(equation.lows, equation.highs, strict=True), strict=True))
    return [(a, b) for a, (low, _) in ranges.items() for b, (_, high) in ranges.items() if low > high >= 0]


def with_gap(expression: sympy.Expr, equation: Equation, above: str, below: str) -> sympy.Expr:
    """The expression on the domain with ``above`` written ``below + s``, ``s`` positive."""
    gap = sympy.Symbol(f"{above}_minus_{below}", positive=True)
    positive = on_domain(sympy.Symbol(below, real=True), equation)
    return on_domain(expression, equation).xreplace({sympy.Symbol(above, positive=True): positive + gap})


def _checked(model: sympy.Expr, truth: sympy.Expr, limit_s: float) -> str:
    try:
        return with_time_limit(lambda: symbolic_match(model, truth), limit_s)
    except Exception as error:  # a sympy failure is a failed check, not a crash
        return f"error: {type(error).__name__}"


def judge(model: sympy.Expr | None, equation: Equation, r2_test: float, x_test: np.ndarray, limit_s: float) -> dict:
    """The SRBench verdict with how it was reached and how long the check took. ``check`` decides,
    with the variables' signs known (see :func:`on_domain`); ``check_real`` is the verdict with
    real symbols only, computed when ``check`` matched, to show what the signs change."""
    started = time.perf_counter()
    if model is None:
        return {"check": "no model", "check_real": "no model", "solved": False, "check_seconds": 0.0}
    rounded = round_floats(model)
    exact = rationalize(rounded)
    truth = equation.truth()
    if numeric_verdict(exact, truth, equation.symbols(), x_test[:200]) is False:
        check = check_real = "numerically no"
    else:
        check = _checked(on_domain(exact, equation), on_domain(truth, equation), limit_s)
        for above, below in ordered_pairs(equation) if check not in ("difference", "ratio") else ():
            check = _checked(with_gap(exact, equation, above, below), with_gap(truth, equation, above, below), limit_s)
            if check in ("difference", "ratio"):
                break
        check_real = _checked(exact, truth, limit_s) if check in ("difference", "ratio") else check
    return {
        "check": check,
        "check_real": check_real,
        "solved": bool(r2_test > 0.5 and check in ("difference", "ratio")),
        "solved_real": bool(r2_test > 0.5 and check_real in ("difference", "ratio")),
        "rounded": str(rounded),
        "check_seconds": round(time.perf_counter() - started, 3),
    }


# --- one task -----------------------------------------------------------------------------------


def fit_ours(
    x: np.ndarray, y: np.ndarray, equation: Equation, units: dict[str, str] | None, budget_s: float, seed: int
):
    """``LawFinder`` with units. Its model is ``law_`` or, when it declines to call anything a law
    (own held-out R² below 0.9, as noise 0.1 can cause on a target with a large mean),
    ``law_candidate_``: the benchmark judges the best expression it produced; ``claimed`` says which."""
    from autoalign.discover import LawFinder

    finder = LawFinder(time_budget_s=budget_s, random_state=seed, use_gp=True, n_jobs=1)
    started = time.perf_counter()
    finder.fit(x, y, names=list(equation.variables), units=units or None, target_name=equation.output)
    seconds = time.perf_counter() - started
    candidate = finder.law_candidate_
    expression = finder.law_ if finder.found_ else (candidate.expression if candidate else None)
    symbols = equation.symbols()

    def predict(rows: np.ndarray) -> np.ndarray:
        function = sympy.lambdify([symbols], expression, modules="numpy")
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(function(list(rows.T)), dtype=float), (rows.shape[0],))

    extra = {
        "autoalign_from": str(Path(sys.modules["autoalign"].__file__).parent.parent),
        "claimed": bool(finder.found_),
        "source": candidate.source if candidate else None,
        "own_r2": candidate.test_r2 if candidate else None,
        "pi_groups": len(finder.pi_analysis_.groups) if finder.pi_analysis_ is not None else None,
        "units": bool(units),
        "seconds_reported": finder.seconds_,
        "front": [str(law.expression) for law in finder.pareto_front_[:8]],
    }
    return Fitted(expression, predict, seconds, extra)


def run_task(task: dict) -> dict:
    """Fit one system to one equation at one noise level and judge it; never raises."""
    equation = Equation(**{k: tuple(v) if isinstance(v, list) else v for k, v in task["equation"].items()})
    record = {key: task[key] for key in ("system", "noise", "budget", "rows", "seed", "src")}
    record.update(equation=equation.name, variables=len(equation.variables), truth=str(equation.truth()))
    started = time.perf_counter()
    try:
        x, y = generate(equation, task["rows"], task["seed"], "train")
        x_test, y_test = generate(equation, task["test_rows"], task["seed"], "test")
        y_noisy = add_noise(y, task["noise"], task["seed"], equation.name)
        if task["system"] == "ours":
            fitted = fit_ours(x, y_noisy, equation, task.get("units"), task["budget"], task["seed"])
        else:
            fitted = PEERS[task["system"]](x, y_noisy, equation.symbols(), task["budget"], task["seed"])
        with np.errstate(all="ignore"):
            r2_test = r2(y_test, fitted.predict(x_test)) if fitted.expression is not None else float("nan")
        record.update(
            status="ok",
            seconds=round(fitted.seconds, 3),
            model=str(fitted.expression),
            r2_test=r2_test,
            **judge(fitted.expression, equation, r2_test, x_test, task["simplify_timeout"]),
            **fitted.extra,
        )
    except Exception as error:  # one failing task must not stop the benchmark
        record.update(status="error", solved=False, error=f"{type(error).__name__}: {error}")
        record["seconds"] = round(time.perf_counter() - started, 3)
        record["traceback"] = _where(error)
    return record


def _where(error: Exception) -> str:
    """The traceback's frames outside site-packages: where in autoalign or bench/ it went wrong."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "site-packages" not in f.filename]
    return "".join(traceback.format_list(frames[-8:]))


# --- running many -------------------------------------------------------------------------------


def task_key(record: dict) -> tuple:
    """What identifies a result: a rerun with another budget, size, seed or (for ours) source
    snapshot does not reuse it."""
    src = record.get("src") if record["system"] == "ours" else None
    noise = float(record["noise"])
    return (record["system"], record["equation"], noise, record["budget"], record["rows"], record["seed"], src)


def read_results(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def snapshot_source(out: Path, name: str | None) -> tuple[Path, str]:
    """A frozen copy of ``src/autoalign`` under ``out``, named by its content hash, that every task
    imports (children get it first on ``PYTHONPATH``; Ray ships it as a ``py_module``). The
    package is being worked on while the benchmark runs for hours: without the copy, tasks of one
    run would measure different code. ``name`` reuses an existing snapshot (``--src``)."""
    if name:
        folder = out / name
        if not (folder / "autoalign").is_dir():
            raise SystemExit(f"no source snapshot {folder}")
        return folder, name
    package = REPO / "src" / "autoalign"
    digest = hashlib.sha256()
    files = sorted(p for p in package.rglob("*.py"))
    for path in files:
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    name = f"src-{digest.hexdigest()[:12]}"
    folder = out / name
    if not folder.exists():
        staging = out / f".{name}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        for path in files:
            target = staging / "autoalign" / path.relative_to(package)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        staging.rename(folder)
    return folder, name


def make_tasks(args: argparse.Namespace, equations: list[Equation], src: str, done: set[tuple]) -> list[dict]:
    """Every (noise, equation, system) not yet in the results, lowest noise first."""
    units = load_units(Path(args.units))
    tasks = []
    for noise in args.noise:
        for equation in equations:
            for system in args.systems:
                task = {
                    "system": system,
                    "equation": asdict(equation),
                    "noise": float(noise),
                    "budget": args.budget,
                    "rows": args.rows,
                    "test_rows": args.test_rows,
                    "seed": args.data_seed,
                    "simplify_timeout": args.simplify_timeout,
                    "units": units.get(equation.name) if system == "ours" else None,
                    "src": src if system == "ours" else None,
                }
                if task_key({**task, "equation": equation.name}) not in done:
                    tasks.append(task)
    return tasks


def _in_child(task: dict, hard_limit_s: float, pythonpath: Path) -> dict:
    """Run a task in its own Python process: a crash or hang (Operon is C++, sympy can loop) then
    costs one record, not the run, and memory does not build up across tasks."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--task", json.dumps(task)],
            capture_output=True,
            text=True,
            timeout=hard_limit_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return _failed(task, f"killed after {hard_limit_s:.0f} s", time.perf_counter() - started)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return _failed(task, f"exit code {done.returncode}: {done.stderr[-1500:]}", time.perf_counter() - started)


def _failed(task: dict, reason: str, seconds: float) -> dict:
    """The record of a task that returned nothing; its time is the wall time it held a core."""
    equation = task["equation"]
    record = {key: task[key] for key in ("system", "noise", "budget", "rows", "seed", "src")}
    truth = str(parse_formula(equation["formula"], equation["variables"]))
    record.update(equation=equation["name"], variables=len(equation["variables"]), truth=truth)
    record.update(status="error", solved=False, error=reason, seconds=round(seconds, 3))
    return record


def run_local(tasks: list[dict], jobs: int, hard_limit_s: float, src: Path, write: Callable[[dict], None]) -> None:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_in_child, task, hard_limit_s, src) for task in tasks]
        for future in as_completed(futures):
            write(future.result())


def run_ray(tasks: list[dict], address: str, jobs: int, src: Path, write: Callable[[dict], None]) -> None:
    """Each task a Ray remote function (one CPU, a fresh worker each: ``max_calls=1``). ``local``
    starts a Ray instance on this machine with ``--jobs`` CPUs; an address joins a cluster. The
    source snapshot and bench/ travel with the job; the nodes need numpy, sympy, gplearn and
    pyoperon installed. There is no hard kill here: a hung task holds its CPU until Ray ends."""
    import ray

    threads = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    runtime_env = {
        "env_vars": threads,
        "working_dir": str(BENCH),
        "excludes": ["out/"],
        "py_modules": [str(src / "autoalign")],
    }
    if address == "local":
        ray.init(num_cpus=jobs, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    remote = ray.remote(num_cpus=1, max_calls=1)(run_task)
    pending = {remote.remote(task): (task, time.perf_counter()) for task in tasks}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            task, started = pending.pop(ref)
            try:
                write(ray.get(ref))
            except Exception as error:  # a dead worker costs one record
                write(_failed(task, f"ray: {type(error).__name__}: {error}", time.perf_counter() - started))
    ray.shutdown()


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    results = out / "results.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    src_folder, src = snapshot_source(out, args.src)
    equations = select(load_equations(Path(args.csv)), args)
    done = {task_key(r) for r in read_results(results) if r.get("status") == "ok"}
    tasks = make_tasks(args, equations, src, done)
    if "ours" in args.systems and not load_units(Path(args.units)):
        print(f"warning: {args.units} missing: ours runs without units", flush=True)
    print(f"{len(tasks)} tasks to run, source snapshot {src}; machine {machine()}", flush=True)
    print(f"other busy processes: {busy_others()}", flush=True)
    lock = threading.Lock()
    started = time.perf_counter()
    count = 0

    def write(record: dict) -> None:
        nonlocal count
        record["loadavg"] = os.getloadavg()[0]
        with lock, results.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
            count += 1
            mark = "SOLVED" if record.get("solved") else record.get("check", record.get("error", ""))[:60]
            print(
                f"[{count}/{len(tasks)} {time.perf_counter() - started:6.0f}s] {record['system']:7} "
                f"{record['equation']:10} noise={record['noise']:<6} {record.get('seconds', 0):6.1f}s "
                f"R2={record.get('r2_test', float('nan')):.4f} {mark}  {str(record.get('model'))[:80]}",
                flush=True,
            )

    if args.ray:
        run_ray(tasks, args.ray, args.jobs, src_folder, write)
    else:
        run_local(tasks, args.jobs, 2 * args.budget + 2 * args.simplify_timeout + 120, src_folder, write)
    print(f"done in {time.perf_counter() - started:.0f} s; busy others now: {busy_others()}", flush=True)
    args.src = src


def rejudge(args: argparse.Namespace) -> None:
    """Judge the stored models again with the current :func:`judge` (after the check changed, or
    with a longer ``--simplify-timeout``), rewriting results.jsonl in place. Run it when no run
    is appending to that file. The test R² is kept: a peer's comes from its own ``predict``."""
    path = Path(args.out) / "results.jsonl"
    names = {e.name for e in select(load_equations(Path(args.csv)), args)}
    equations = {e.name: e for e in load_equations(Path(args.csv))}
    records = read_results(path)
    changed = 0
    for record in records:
        if record.get("status") != "ok" or record["equation"] not in names:
            continue
        equation = equations[record["equation"]]
        x_test, _ = generate(equation, 200, record["seed"], "test")
        local = {**FUNCTIONS, **{v: sympy.Symbol(v, real=True) for v in equation.variables}}
        model = None if record["model"] == "None" else parse_expr(record["model"], local_dict=local)
        verdict = judge(model, equation, record["r2_test"], x_test, args.simplify_timeout)
        changed += verdict["solved"] != record.get("solved")
        record.update(verdict)
    staging = path.with_suffix(".rejudged")
    staging.write_text("".join(json.dumps(r) + "\n" for r in records))
    staging.replace(path)
    print(f"judged again; {changed} verdicts changed")


# --- summary ------------------------------------------------------------------------------------


def selected_records(args: argparse.Namespace) -> list[dict]:
    """The results for the selected equations, budget, rows and data seed; for ours only those of
    one source snapshot (``--src``, else the newest in the file); the latest line of a key wins."""
    names = {e.name for e in select(load_equations(Path(args.csv)), args)}
    setting = (args.budget, args.rows, args.data_seed)
    lines = [
        r
        for r in read_results(Path(args.out) / "results.jsonl")
        if r["equation"] in names and (r["budget"], r["rows"], r["seed"]) == setting
    ]
    ours_src = [r.get("src") for r in lines if r["system"] == "ours"]
    src = args.src or (ours_src[-1] if ours_src else None)
    records = {task_key(r): r for r in lines if r["system"] != "ours" or r.get("src") == src}
    return list(records.values())


def summary_row(system: str, noise: float, group: list[dict]) -> list[object]:
    """Time statistics count every attempt, a failed or killed one at the wall time it took."""
    ok = [r for r in group if r.get("status") == "ok"]
    solved = [r for r in ok if r["solved"]]
    times = [r.get("seconds", float("nan")) for r in group]
    r2s = [r["r2_test"] for r in ok if r["r2_test"] == r["r2_test"]]
    return [
        system,
        noise,
        f"{len(solved)}/{len(group)}",
        f"{100 * len(solved) / len(group):.1f}%",
        sum(bool(r.get("solved_real")) for r in ok),
        statistics.median(times),
        percentile(times, 90),
        statistics.median(r["seconds"] for r in solved) if solved else float("nan"),
        statistics.median(r2s) if r2s else float("nan"),
        sum(value > 0.999 for value in r2s),
        sum(r.get("check") == "timeout" for r in ok),
        len(group) - len(ok),
    ]


def summarize(args: argparse.Namespace) -> None:
    """Per system and noise: solved / attempted, rate, time and R² statistics; then ours' unsolved
    equations with the law it found, for whoever improves the search."""
    records = selected_records(args)
    rows = []
    for system in args.systems:
        for noise in args.noise:
            group = [r for r in records if r["system"] == system and float(r["noise"]) == float(noise)]
            if group:
                rows.append(summary_row(system, noise, group))
    headers = ["system", "noise", "solved", "rate", "solved, real symbols", "median s", "p90 s", "median s solved"]
    headers.append("median R2")
    print(table([*headers, "R2>0.999", "simplify timeouts", "errors"], rows))
    for noise in args.noise:
        ours = [r for r in records if r["system"] == "ours" and float(r["noise"]) == float(noise)]
        unsolved = sorted((r for r in ours if not r["solved"]), key=lambda r: r["equation"])
        if unsolved:
            print(f"\nours, noise {noise}, source {unsolved[0].get('src')}: {len(unsolved)} unsolved")
        for r in unsolved:
            print(
                f"  {r['equation']:10} vars={r.get('variables')} pi={r.get('pi_groups')} {r.get('seconds', 0):5.1f}s "
                f"R2={r.get('r2_test', float('nan')):.4f} {r.get('check', r.get('error', ''))[:40]} "
                f"[{r.get('source')}]\n      truth: {r.get('truth')}\n      found: {r.get('model')}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--noise", nargs="+", type=float, default=list(NOISES))
    choose = parser.add_mutually_exclusive_group()
    choose.add_argument("--equations", help="comma-separated Filenames, e.g. I.6.2a,I.8.14")
    choose.add_argument("--first", type=int, help="the first N rows of the CSV")
    choose.add_argument("--sample", type=int, help="a random subset of N equations, seeded by --seed")
    parser.add_argument("--seed", type=int, default=0, help="seeds the --sample subset")
    parser.add_argument("--data-seed", type=int, default=0, help="seeds the data, the noise and the searches")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per equation and system")
    parser.add_argument("--rows", type=int, default=10_000, help="training rows per equation")
    parser.add_argument("--test-rows", type=int, default=10_000, help="noiseless held-out rows for R²")
    parser.add_argument("--simplify-timeout", type=float, default=30.0, help="seconds for each sympy check")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="tasks run at once")
    parser.add_argument("--ray", metavar="ADDRESS", help="run tasks on a Ray cluster ('local': start one here)")
    parser.add_argument("--out", default=str(BENCH / "out" / "feynman"), help="folder of results.jsonl")
    parser.add_argument("--set", choices=sorted(SETS), default="feynman", help="the 100 equations or the 20 bonus ones")
    parser.add_argument("--units", help="TOML: one table of SI units per equation (default: the set's)")
    parser.add_argument("--src", help="a source snapshot folder in --out to run or summarize (default: the newest)")
    parser.add_argument("--rejudge", action="store_true", help="judge the stored models again (no run going)")
    parser.add_argument("--summary", action="store_true", help="print the summary of what is in --out")
    parser.add_argument("--task", help=argparse.SUPPRESS)  # one task as JSON, run in a child process
    args = parser.parse_args(argv)
    csv_path, units_path = SETS[args.set]
    args.csv = str(csv_path)
    args.units = args.units or str(units_path)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.task:
        task = json.loads(args.task)
        # A search that runs away with memory fails alone instead of waking the OOM killer, which on
        # a shared machine may pick someone else's process.
        limit = int(task.get("max_memory_gib", 8) * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        record = run_task(task)
        sys.stdout.write("RESULT " + json.dumps(record) + "\n")  # json keeps NaN, which orjson would null
    elif args.rejudge:
        rejudge(args)
    elif args.summary:
        summarize(args)
    else:
        run(args)
        summarize(args)


if __name__ == "__main__":
    main()
