"""The apparatus gallery: does Discover recover each bench's quantities and laws from its streams?

For every apparatus of ``autoalign.discover.gallery`` and every seed: simulate the streams, run
``discover_streams`` with the units a user would have (``--no-units``: none at all), and judge
the result against the truth kept apart (``autoalign.discover.judge``): each group at least 95%
pure, no irrelevant sensor used, every quantity found, and every law solved as SRBench judges,
up to the constants that the sensors' calibration errors move. Entries marked held out were not
used to tune Discover; the table reports them apart.

    python bench/gallery.py --seeds 0 1 2 --budget 50          # all entries, 3 seeds
    python bench/gallery.py --only pendulum orbits --seeds 0   # a few
    python bench/gallery.py --no-units --seeds 0 --budget 30   # no units known at all

Results go to ``OUT/results.jsonl`` (one line per apparatus and seed, as each finishes; a rerun
skips what is there) and the table to standard output.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import busy_others, machine, table  # noqa: E402

from autoalign.discover.gallery import APPARATUS  # noqa: E402
from autoalign.discover.judge import run_demo  # noqa: E402

BENCH = Path(__file__).resolve().parent


def run_one(name: str, seed: int, samples: int, budget: float, units: bool) -> dict:
    apparatus = APPARATUS[name]
    started = time.perf_counter()
    demo = run_demo(apparatus, samples, time_budget_s=budget, seed=seed, units=units)
    seconds = time.perf_counter() - started  # the simulation (milliseconds) and the judging included
    sensors, result, verdict = demo.table, demo.result, demo.verdict
    return {
        "apparatus": name,
        "seed": seed,
        "held_out": apparatus.held_out,
        "units": units,
        "sensors": len(sensors.names),
        "samples": samples,
        "budget_per_law_s": budget,
        "seconds": round(seconds, 2),
        "verdict": verdict.as_dict(),
        "laws": [law.as_dict() | {"pareto_front": None} for law in result.laws],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=list(APPARATUS), choices=list(APPARATUS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--budget", type=float, default=50.0, help="seconds for each law's search")
    parser.add_argument("--no-units", action="store_true", help="give Discover no units at all")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "gallery")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / "results.jsonl"
    done = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            row = json.loads(line)
            done[(row["apparatus"], row["seed"], row["units"])] = row
    print(f"machine: {machine()}; also running: {busy_others() or 'nothing'}", flush=True)
    units = not args.no_units
    for name in args.only:
        for seed in args.seeds:
            if (name, seed, units) in done:
                continue
            row = run_one(name, seed, args.samples, args.budget, units)
            done[(name, seed, units)] = row
            with results_path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            v = row["verdict"]
            print(f"{name} seed {seed}: {'PASS' if v['passed'] else 'fail'} in {row['seconds']} s", flush=True)
    rows = []
    for name in args.only:
        runs = [done[(name, s, units)] for s in args.seeds]
        laws = "; ".join(sorted({f"{law['target']} = {law['law']}" for r in runs[:1] for law in r["verdict"]["laws"]}))
        rows.append(
            [
                name + (" (held out)" if APPARATUS[name].held_out else ""),
                runs[0]["sensors"],
                f"{sum(r['verdict']['groups_ok'] for r in runs)}/{len(runs)}",
                f"{sum(r['verdict']['laws_ok'] for r in runs)}/{len(runs)}",
                f"{max(r['seconds'] for r in runs):.0f}",
                laws[:140],
            ]
        )
    print(table(["apparatus", "sensors", "groups ok", "laws ok", "max s", f"laws (seed {args.seeds[0]})"], rows))
    for held_out in (False, True):
        chosen = [done[(n, s, units)] for n in args.only for s in args.seeds if APPARATUS[n].held_out == held_out]
        if chosen:
            passed = sum(r["verdict"]["passed"] for r in chosen)
            print(f"{'held-out' if held_out else 'tuning'} entries: {passed}/{len(chosen)} runs passed")


if __name__ == "__main__":
    main()
