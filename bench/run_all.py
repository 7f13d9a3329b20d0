"""Run every benchmark in order and report the wall time of each step (``make bench``).

    .venv/bin/python bench/run_all.py

1. make_corpus.py     the synthetic 100M-token ARD-scale corpus (bench/out/ard_synth.jsonl)
2. ingest_scale.py    `library add` of it, next to plain tantivy, bm25s and FTS5 builds
3. retrieval_eval.py  retrieval quality on the real shared corpus (ingests and embeds it)
4. query_latency.py   lexical, hybrid and semantic latency at scale (reuses 2 and 3)

Results go to bench/out/*.json, timings to bench/out/run_all.json.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH, REPO, SYNTH, busy_others, table, write_json

STEPS = [
    ["make_corpus.py", "--tokens", "100000000", "--out", str(SYNTH)],
    ["ingest_scale.py"],
    ["retrieval_eval.py"],
    ["query_latency.py"],
]


def main() -> None:
    timings = []
    for step in STEPS:
        print(f"\n######## {' '.join(step)}", flush=True)
        if others := busy_others():
            print(f"warning: other processes are running and may skew timings: {others}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(BENCH / step[0]), *step[1:]], cwd=REPO)
        seconds = time.perf_counter() - started
        timings.append({"step": step[0], "seconds": seconds, "exit_code": code})
        if code != 0:
            print(f"{step[0]} failed with exit code {code}")
            break
    print()
    print(table(["step", "wall s", "exit code"], [[t["step"], t["seconds"], t["exit_code"]] for t in timings]))
    write_json("run_all.json", {"steps": timings, "total_seconds": sum(t["seconds"] for t in timings)})
    sys.exit(max(t["exit_code"] for t in timings))


if __name__ == "__main__":
    main()
