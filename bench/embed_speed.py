"""Passages per second of the MiniLM embedder: torch reference against ONNX at several batch sizes.

Run: ``.venv/bin/python bench/embed_speed.py [--passages 300] [--batch-sizes 1 4 8 16 32 64]
[--rounds 3]``

All variants embed the same real passages in the same process, after a warm-up, so the rows
compare directly; each row is the best of ``--rounds`` interleaved rounds. The ONNX export is
cached as in normal use (``$XDG_CACHE_HOME/autoalign``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPUS, write_json

from autoalign.embed.minilm import DEFAULT_BATCH_SIZE, MiniLMEmbedder, available_threads

PAPERS = CORPUS / "ai_alignment_papers.jsonl"


def load_passages(count: int) -> list[str]:
    passages = []
    with PAPERS.open(encoding="utf-8") as lines:
        for line in lines:
            if text := json.loads(line).get("text", "").strip():
                passages.append(text)
                if len(passages) == count:
                    break
    return passages


def passages_per_second(embedder: MiniLMEmbedder, passages: list[str]) -> float:
    start = time.perf_counter()
    embedder.embed(passages)
    return len(passages) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16, 32, 64])
    parser.add_argument("--rounds", type=int, default=3, help="best of; rounds interleave variants")
    args = parser.parse_args()

    passages = load_passages(args.passages)
    print(f"{len(passages)} passages from {PAPERS.name}, {available_threads()} threads")
    variants = {("torch (sentence-transformers)", 32): MiniLMEmbedder("torch", batch_size=32)}
    for size in args.batch_sizes:
        variants[("onnx", size)] = MiniLMEmbedder(batch_size=size)
    for embedder in variants.values():
        embedder.embed(passages[:8])  # warm-up: first runs allocate and pick kernels
    # Interleaved rounds, best of each: on a shared machine, load from other processes comes
    # and goes, and the best round is the one least disturbed.
    rates = {variant: 0.0 for variant in variants}
    for _ in range(args.rounds):
        for variant, embedder in variants.items():
            rates[variant] = max(rates[variant], passages_per_second(embedder, passages))
    print(f"{'variant':<32}{'batch':>6}{'passages/s':>12}")
    for (label, batch_size), rate in rates.items():
        default = "  (default)" if label == "onnx" and batch_size == DEFAULT_BATCH_SIZE else ""
        print(f"{label:<32}{batch_size:>6}{rate:>12.1f}{default}")
    rows = [
        {
            "variant": label,
            "batch_size": size,
            "passages_per_second": rate,
            "default": label == "onnx" and size == DEFAULT_BATCH_SIZE,
        }
        for (label, size), rate in rates.items()
    ]
    command = ".venv/bin/python bench/embed_speed.py " + " ".join(sys.argv[1:])
    payload = {"command": command.strip(), "passages": len(passages), "threads": available_threads(), "rows": rows}
    print(f"results: {write_json('embed_speed.json', payload)}")


if __name__ == "__main__":
    main()
