"""Dynamics: differential equations from noisy, unevenly sampled recordings, against pysindy.

For every system of ``autoalign.discover.systems`` and every seed, the same recording (400
readings at uneven times, Gaussian noise of 1% of each variable's spread by default) goes to:

- ``find_dynamics`` (ours: smoothing-spline rates, the order found, every small set of library
  terms, the law finder for rates the library leaves unexplained, constants fitted to the
  readings);
- pysindy with its defaults (finite differences, polynomials to degree 2, STLSQ threshold 0.1);
- pysindy with smoothed finite differences and our library (polynomials to degree 3; sine and
  cosine where the variables could be angles);
- pysindy with our library and our smoothing splines' rates: its sparse regression (STLSQ,
  threshold 0.1) against our choice of terms, on the same rates.

pysindy is told the order (a second-order system is given the positions and their rates from its
own differentiation); ours finds it. Each equation is judged by ``System.check``: rates within 5%
RMS of the truth on the true trajectory and, where the truth is a sum of library terms, the same
terms. Systems marked held out were written after the method was fixed and never tuned on.

    python bench/dynamics.py --seeds 0 1 2 --noise 0.01
    python bench/dynamics.py --seeds 0 1 2 --samples 600 --streams   # many sensors per variable
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import sympy  # noqa: E402
from _common import busy_others, machine, table  # noqa: E402

from autoalign.discover.dynamics import find_dynamics  # noqa: E402
from autoalign.discover.systems import SYSTEMS, System, system  # noqa: E402

BENCH = Path(__file__).resolve().parent


def ours(s: System, t: np.ndarray, x: np.ndarray, law_finder_s: float) -> dict[str, sympy.Expr]:
    return find_dynamics(t, x, s.names, law_finder_s=law_finder_s).laws()


def pysindy(s: System, t: np.ndarray, x: np.ndarray, setup: str) -> dict[str, sympy.Expr]:
    """pysindy's equation for each variable's highest derivative, in our symbols. ``setup``:
    "default" (``ps.SINDy()``), "smoothed" (smoothed finite differences, our library) or
    "our rates" (our library, and the rates of our smoothing splines: the sparse regression
    alone is compared)."""
    import pysindy as ps

    from autoalign.discover.dynamics import smoothed_rates

    if setup == "default":
        model, differentiation = ps.SINDy(), ps.FiniteDifference()
    else:
        library = ps.PolynomialLibrary(degree=3)
        if np.max(np.abs(x)) <= 2 * np.pi:  # our rule for sine and cosine terms
            library = library + ps.FourierLibrary(n_frequencies=1)
        differentiation = ps.SmoothedFiniteDifference()
        model = ps.SINDy(feature_library=library, differentiation_method=differentiation)
    positions, rates = smoothed_rates(t, x, s.order)
    state, x_dot = x, None
    if s.order == 2:
        velocity = rates[0] if setup == "our rates" else differentiation._differentiate(x, t)
        state = np.column_stack([x, velocity])
        x_dot = np.column_stack([rates[0], rates[1]]) if setup == "our rates" else None
    elif setup == "our rates":
        x_dot = rates[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(state, t=t, x_dot=x_dot)
    symbols = [sympy.Symbol(n, real=True) for n in s.names]
    symbols += [sympy.Symbol(f"{n}'", real=True) for n in s.names] if s.order == 2 else []
    local = {f"x{i}": v for i, v in enumerate(symbols)}
    features = [sympy.sympify(f.replace("^", "**").replace(" ", "*"), locals=local) for f in model.get_feature_names()]
    rows = model.coefficients()[len(s.names) :] if s.order == 2 else model.coefficients()
    return {
        name: sympy.Add(*(sympy.Float(c, 4) * f for c, f in zip(row, features, strict=True) if c != 0))
        for name, row in zip(s.names, rows, strict=True)
    }


METHODS = {
    "ours": lambda s, t, x, a: ours(s, t, x, a.law_finder),
    "pysindy default": lambda s, t, x, a: pysindy(s, t, x, "default"),
    "pysindy smoothed": lambda s, t, x, a: pysindy(s, t, x, "smoothed"),
    "pysindy, our rates": lambda s, t, x, a: pysindy(s, t, x, "our rates"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=[s.name for s in SYSTEMS])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--law-finder", type=float, default=20.0, help="seconds of the law finder per rate")
    parser.add_argument("--streams", action="store_true", help="ours only, on each system read by many sensors")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "dynamics")
    args = parser.parse_args()
    if args.streams:
        streams(args)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}; also running: {busy_others() or 'nothing'}", flush=True)
    results = []
    for name in args.only:
        s = system(name)
        for seed in args.seeds:
            recording = s.record(args.samples, args.noise, seed)
            for method, run in METHODS.items():
                started = time.perf_counter()
                try:
                    laws = run(s, recording.t, recording.values, args)
                except Exception as exc:  # a peer that fails on a recording counts as not recovering it
                    laws = {}
                    print(f"  {method} failed on {name} seed {seed}: {type(exc).__name__}: {exc}")
                seconds = time.perf_counter() - started
                checks = s.check(laws)
                row = {
                    "system": name,
                    "held_out": s.held_out,
                    "seed": seed,
                    "noise": args.noise,
                    "method": method,
                    "seconds": round(seconds, 2),
                    "recovered": all(c.recovered for c in checks),
                    "equations": {c.variable: str(c.found) for c in checks},
                    "errors": {c.variable: c.error for c in checks},
                }
                results.append(row)
                verdict = "recovered" if row["recovered"] else "missed"
                print(f"{name} seed {seed} {method}: {verdict} in {seconds:.1f} s: {row['equations']}", flush=True)
    (args.out / f"results_noise{args.noise}.json").write_text(json.dumps(results, indent=1))
    rows = []
    for name in args.only:
        line = [name + (" (held out)" if system(name).held_out else "")]
        for method in METHODS:
            mine = [r for r in results if r["system"] == name and r["method"] == method]
            line.append(f"{sum(r['recovered'] for r in mine)}/{len(mine)} ({max(r['seconds'] for r in mine):.0f} s)")
        rows.append(line)
    print(table(["system", *(f"{m} (max s)" for m in METHODS)], rows))


def streams(args: argparse.Namespace) -> None:
    """Each system read by 24 imperfect sensors per variable beside irrelevant channels
    (``System.streams``): the state variables are found first, then their equations (a zero
    offset of a summarized variable is allowed). pysindy has no step that finds the variables."""
    rows = []
    for name in args.only:
        s = system(name)
        passed, slowest = 0, 0.0
        for seed in args.seeds:
            started = time.perf_counter()
            demo = s.demo(args.samples, seed=seed, law_finder_s=args.law_finder, streams=True)
            seconds = time.perf_counter() - started
            passed += demo.recovered
            slowest = max(slowest, seconds)
            found = {c.variable: str(c.found) for c in demo.checks}
            print(f"{name} seed {seed}: {'recovered' if demo.recovered else 'missed'} in {seconds:.1f} s: {found}")
        rows.append([name + (" (held out)" if s.held_out else ""), f"{passed}/{len(args.seeds)}", f"{slowest:.0f}"])
    print(table(["system", "recovered from streams", "max s"], rows))


if __name__ == "__main__":
    main()
