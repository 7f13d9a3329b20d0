"""Helpers shared by the benchmark scripts: paths, timing, memory, tables, result files.

Everything a benchmark writes goes under ``bench/out/`` (git-ignored): the shared corpus belongs to
its authors, so neither it nor text derived from it may enter the repository.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
#: The shared corpus; ``BENCH_CORPUS`` points elsewhere (a small copy, for a quick trial of the scripts).
CORPUS = Path(os.environ.get("BENCH_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "data" / "corpus")
OUT = BENCH / "out"
SYNTH = OUT / "ard_synth.jsonl"
SCALE_WS = OUT / "scale_ws"
PEERS = OUT / "peers"
REAL_WS = OUT / "real_ws"


def machine() -> dict[str, object]:
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as handle:
            mem = int(handle.readline().split()[1]) // 1024 // 1024
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "mem_gib": mem,
        "python": platform.python_version(),
        "loadavg_1_5_15": os.getloadavg(),
    }


def busy_others() -> list[str]:
    """Other processes using a CPU right now (their share would skew timings on 2 cores)."""
    me = os.getpid()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in (me, os.getppid()):
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            if stat[0] == "R" and command:  # kernel threads have no command line
                found.append(command[:120])
        except OSError:
            continue
    return found


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(args: Sequence[str], *, env: dict[str, str] | None = None) -> tuple[dict, float, float]:
    """Run ``python args...`` in a child process; returns (its JSON result, its peak RSS in MiB, wall s).

    The child prints its result as one JSON line prefixed with ``RESULT `` on stdout; everything else
    it prints is passed through. Peak RSS comes from ``wait4`` on that one child.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    result: dict = {}
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("RESULT "):
            result = orjson.loads(line[7:])
        else:
            print(line, end="", flush=True)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed with exit code {process.returncode}")
    return result, usage.ru_maxrss / 1024, wall


def emit_result(result: dict) -> None:
    """For a child process: hand the result to :func:`run_child`."""
    sys.stdout.write("RESULT " + orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # ceil(q/100 * n)
    return ordered[min(rank, len(ordered)) - 1]


def folder_size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def fresh(path: Path) -> Path:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table (also readable on a terminal)."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in body]
    return "\n".join(lines)


def write_json(name: str, payload: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    payload = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), **payload}
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    return path


_WORD = re.compile(r"\w+")


def fts5_query(text: str) -> str:
    """Plain text as an FTS5 query with BM25-like OR semantics: every word quoted, joined by OR."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(text))
    return " OR ".join(f'"{w}"' for w in words)


def real_library(*, rebuild: bool = False):
    """The shared corpus ingested and embedded (MiniLM) in ``bench/out/real_ws``; built when missing.

    Returns ``(library, timings)``; timings are empty when an existing complete workspace was reused.
    """
    from autoalign.library import Library

    timings: dict[str, float] = {}
    if not rebuild and (REAL_WS / "autoalign.db").exists():
        library = Library.open(REAL_WS)
        stats = library.stats()
        if stats.chunks and library.pending_embeddings() == 0:
            return library, timings
        library.close()
    fresh(REAL_WS)
    library = Library.open(REAL_WS)
    started = time.perf_counter()
    report = library.add([CORPUS])
    timings["ingest_seconds"] = time.perf_counter() - started
    timings["documents"] = report.added
    timings["chunks"] = report.chunks
    # Reopen: closing waits for the lexical index's merges, so BM25 statistics no longer count the
    # chunks of replaced documents and the results do not depend on when merges happened to run.
    library.close()
    library = Library.open(REAL_WS)
    timings["ingest_and_merge_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    library.embedder  # noqa: B018 - load the model outside the timed embedding
    timings["model_load_seconds"] = time.perf_counter() - started
    embedded = library.embed()
    timings["embed_seconds"] = embedded.seconds
    timings["embedded"] = embedded.embedded
    timings["passages_per_second"] = embedded.passages_per_second
    return library, timings
