"""Generation throughput of the embedded model, and the Loom's overhead over raw llama-cpp-python.

    .venv/bin/python bench/loom_generate.py [--rounds 3]

Workload: 4 continuations of 64 tokens of a ~400-token prompt, temperature 0.9, no top-k or
min-p cut, Gemma 3 270M (base, Q4_K_M), 2 threads, a 1,024-token context for every system.
Systems, measured in alternation within each round so that drifts in machine load hit all alike:

- raw: llama-cpp-python's ``create_completion``, called 4 times (its prompt cache reused);
- raw + logprobs: the same with ``logprobs=5``, which needs a second model with ``logits_all=True``
  (one continuation per round: it is 30 times slower);
- model: autoalign's ``LlamaCppModel.complete(n=4)``, without and with 5 alternatives per token;
- Loom: ``Loom.generate`` into a tree in a workspace (SQLite writes included), without and with
  logprobs.

Each round starts every system on a prompt it has not seen (a round- and system-specific first
line), so each pays for its prompt once, as in use. Reported: generated tokens per second over
the whole call (prompt included), the overhead against the matching raw peer, prompt evaluation
speed (a fresh 1,000-token prompt) and the wall time to 4 continuations.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import busy_others, machine, table, write_json

from autoalign.loom import Loom
from autoalign.models import Sampling, TokenEvent
from autoalign.models.llama_cpp import LlamaCppModel, embedded_model_path

N, MAX_TOKENS, THREADS, N_CTX = 4, 64, 2, 1024
BASE_PROMPT = (
    "The following is an essay on the difficulty of specifying goals for learning systems. "
    "It discusses reward misspecification, the ways optimizers exploit gaps between a proxy and "
    "the intended objective, and what researchers have proposed to close those gaps. "
) * 6


def raw_run(llm, prompt: str, logprobs: int | None, n: int = N) -> int:
    tokens = 0
    for _ in range(n):
        out = llm.create_completion(
            prompt,
            max_tokens=MAX_TOKENS,
            temperature=0.9,
            top_p=1.0,
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
            logprobs=logprobs,
        )
        tokens += out["usage"]["completion_tokens"]
    return tokens


def main() -> None:
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    from llama_cpp import Llama

    path = embedded_model_path()
    raw = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=THREADS, logits_all=False, verbose=False)
    raw_lp = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=THREADS, logits_all=True, verbose=False)
    model = LlamaCppModel(path, n_ctx=N_CTX, threads=THREADS)
    workspace = Path(tempfile.mkdtemp(prefix="loom-bench-"))
    loom = Loom.open(workspace)
    loom_model = lambda _profile: model  # noqa: E731  # the Loom runs on the very same model object

    def loom_run(prompt: str, logprobs: int) -> int:
        from autoalign.loom.generate import generate

        tree = loom.new_tree(prompt, settings={"prompt_length": N_CTX - MAX_TOKENS - 8})
        root = tree.info().root_id
        overrides = {"n": N, "max_tokens": MAX_TOKENS, "temperature": 0.9, "logprobs": logprobs}
        return sum(isinstance(e, TokenEvent) for e in generate(tree, root, loom_model, overrides=overrides))

    def model_run(prompt: str, logprobs: int) -> int:
        continuations = model.complete(prompt, Sampling(max_tokens=MAX_TOKENS, temperature=0.9, logprobs=logprobs), N)
        return sum(len(c.tokens) for c in continuations)

    systems = {
        "raw llama-cpp-python": lambda p: raw_run(raw, p, None),
        "autoalign model": lambda p: model_run(p, 0),
        "autoalign Loom": lambda p: loom_run(p, 0),
        # One continuation only: at about 2.5 tokens/s, four would take minutes per round.
        "raw llama-cpp-python, logprobs=5 (logits_all)": lambda p: raw_run(raw_lp, p, 5, n=1),
        "autoalign model, logprobs=5": lambda p: model_run(p, 5),
        "autoalign Loom, logprobs=5": lambda p: loom_run(p, 5),
    }
    # Warm-up: load pages, build caches.
    for name, run in systems.items():
        run(f"Warm-up for {name}.\n" + BASE_PROMPT[:200])
    rates: dict[str, list[float]] = {name: [] for name in systems}
    walls: dict[str, list[float]] = {name: [] for name in systems}
    counted: dict[str, int] = {name: 0 for name in systems}
    for r in range(rounds):
        for name, run in systems.items():
            prompt = f"Round {r}, {name}.\n" + BASE_PROMPT
            started = time.perf_counter()
            tokens = run(prompt)
            wall = time.perf_counter() - started
            counted[name] += tokens
            rates[name].append(tokens / wall)
            walls[name].append(wall)
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)

    # Prompt evaluation speed: a fresh 1,000-token prompt, raw eval.
    prompt_tokens = raw.tokenize((BASE_PROMPT * 3).encode())[:1000]
    evals = []
    for _ in range(3):
        raw.reset()
        started = time.perf_counter()
        raw.eval(prompt_tokens)
        evals.append(len(prompt_tokens) / (time.perf_counter() - started))

    def overhead(name: str, peer: str) -> float:
        return 1 - statistics.median(rates[name]) / statistics.median(rates[peer])

    peers = {
        "autoalign model": "raw llama-cpp-python",
        "autoalign Loom": "raw llama-cpp-python",
        "autoalign model, logprobs=5": "raw llama-cpp-python, logprobs=5 (logits_all)",
        "autoalign Loom, logprobs=5": "raw llama-cpp-python, logprobs=5 (logits_all)",
    }
    rows = []
    for name in systems:
        peer = peers.get(name)
        rows.append(
            [
                name,
                f"{statistics.median(rates[name]):.1f}",
                f"{min(rates[name]):.1f}–{max(rates[name]):.1f}",
                f"{statistics.median(walls[name]):.2f}",
                f"{overhead(name, peer) * 100:+.1f}%" if peer else "peer",
                counted[name],
            ]
        )
    headers = ["system", "tokens/s (median)", "range", f"s to {N}x{MAX_TOKENS}", "overhead vs peer", "tokens"]
    print(table(headers, rows))
    print(f"prompt evaluation: {statistics.median(evals):,.0f} tokens/s (fresh 1,000-token prompt, median of 3)")
    print(f"overhead of Loom without logprobs: {overhead('autoalign Loom', 'raw llama-cpp-python') * 100:+.1f}%")
    write_json(
        "loom_generate",
        {
            "machine": machine(),
            "busy_others": busy_others(),
            "rounds": rounds,
            "rates": rates,
            "walls": walls,
            "prompt_tokens_per_s": evals,
        },
    )


if __name__ == "__main__":
    main()
