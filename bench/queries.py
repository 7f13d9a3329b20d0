"""Benchmark queries: short topical ones (written for this project) and long ones (AN summaries).

The long queries are the first sentence of Alignment Newsletter summaries, read from the shared
corpus at run time (its text belongs to its authors and is never written into the repository).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import orjson

SHORT_QUERIES = [
    "reward hacking",
    "mesa-optimizer deceptive alignment",
    "inner alignment",
    "outer alignment",
    "specification gaming examples",
    "goal misgeneralization",
    "reward model overoptimization",
    "corrigibility",
    "shutdown problem",
    "instrumental convergence",
    "power-seeking AI",
    "iterated amplification",
    "AI safety via debate",
    "recursive reward modeling",
    "eliciting latent knowledge",
    "interpretability of neural networks",
    "circuits in vision models",
    "feature visualization",
    "adversarial examples robustness",
    "non-robust features",
    "distributional shift",
    "out-of-distribution detection",
    "value learning",
    "inverse reinforcement learning",
    "cooperative inverse reinforcement learning",
    "human preferences reinforcement learning",
    "learning from human feedback",
    "RLHF",
    "impact measures side effects",
    "attainable utility preservation",
    "relative reachability",
    "safe exploration",
    "quantilizers",
    "embedded agency",
    "decision theory logical uncertainty",
    "logical induction",
    "agent foundations",
    "Goodhart's law",
    "wireheading",
    "tampering with the reward function",
    "myopia",
    "AI takeover scenarios",
    "transformative AI timelines",
    "compute trends forecasting",
    "scaling laws language models",
    "biological anchors",
    "AI governance policy",
    "arms race between AI developers",
    "existential risk from artificial intelligence",
    "superintelligence control problem",
    "orthogonality thesis",
    "treacherous turn",
    "deceptive alignment training gaming",
    "gradient hacking",
    "optimization daemons",
    "ontology identification",
    "natural abstractions",
    "mechanistic interpretability transformers",
    "induction heads",
    "superposition polysemantic neurons",
    "activation patching",
    "model editing factual knowledge",
    "truthful language models",
    "honesty and lying in AI",
    "red teaming language models",
    "jailbreaks",
    "constitutional AI",
    "scalable oversight",
    "weak-to-strong generalization",
    "process supervision",
    "imitation learning",
    "cooperative AI",
    "multi-agent safety",
    "bargaining and commitment",
    "AI alignment research agenda",
    "agent incentives causal influence diagrams",
    "off-switch game",
    "uncertainty over rewards",
    "Bayesian neural networks uncertainty",
    "calibration of predictions",
    "ensembles and anomaly detection",
    "robustness certification",
    "verification of neural networks",
    "formal verification safety",
    "interruptibility",
    "safe interruptibility agents",
    "reward learning from comparisons",
    "preference elicitation",
    "amplification and distillation",
    "factored cognition",
    "humans consulting HCH",
    "oracle AI",
    "boxing an AI",
    "tool AI vs agent AI",
    "comprehensive AI services",
    "takeoff speed",
    "fast takeoff discontinuity",
    "AI forecasting surveys",
    "moral uncertainty",
    "population ethics",
    "value extrapolation",
    "coherent extrapolated volition",
    "human values are complex",
    "building blocks of interpretability",
    "zoom in circuits",
]


def long_queries(corpus: Path, n: int = 100, seed: int = 7, max_words: int = 50) -> list[str]:
    """The first sentence (at most ``max_words`` words) of ``n`` random Alignment Newsletter summaries."""
    with open(corpus / "alignment_newsletter.jsonl", "rb") as handle:
        records = [orjson.loads(line) for line in handle]
    records = [r for r in records if len((r.get("text") or "").split()) >= 8]
    chosen = random.Random(seed).sample(records, n)
    return [" ".join(first_sentences(r["text"], 1).split()[:max_words]) for r in chosen]


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def first_sentences(text: str, n: int) -> str:
    """The first ``n`` sentences of ``text``, markup-light (emphasis marks and link targets dropped)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text.strip())
    text = re.sub(r"[_*]{1,2}", "", text)
    return " ".join(_SENTENCE_END.split(text)[:n]).strip()
