"""The research assistants measured on the shared corpus: coverage, citations, summaries, latency.

    .venv/bin/python bench/assist_eval.py [--out bench/out/assist_eval] [--quick]

Runs on a COPY of the embedded workspace ``bench/out/real_ws`` (built the way retrieval_eval.py
builds it when absent), made in the output folder, so the assistants' stored results never touch
the shared workspace. Everything uses the configured default: the extractive assistants (MiniLM
embeddings) and, for brainstorm and autocomplete, the embedded Gemma 3 270M base model.

1. **Not covered.** ``bench/data/assist_uncovered.txt``: questions the library does not cover,
   off-topic and near the domain (the script checks that the named terms are absent from the
   library). Control sets that the library covers: the aisafety.info titles that are questions
   and ``bench/data/assist_questions.txt``. Reported: the share answered "not covered"
   (``Assistant.ask``, ``result.covered``), and a sweep of ``ask.COVERED`` over the best
   question-sentence cosine, computed here as ask.py computes it (same retrieval, same sentences,
   same embedder). Next to it, the share of the question's content words found in the retrieved
   passages, as a second signal.
2. **Verifier calibration.** Positives: a random sentence of a random document against the
   passage (chunk) it comes from. Negatives: the same sentence against the best-ranked passage of
   ANOTHER document (``Library.search`` with the sentence as query; documents with the same
   normalized title and passages that contain the sentence verbatim are skipped, since those
   support it), and against the sentence of that passage that the verifier scores highest. Precision
   and recall of ``Support.supported`` at the thresholds of verify.py and on a grid around them.
3. **Citation precision of ask** on the covered questions: the share of (answer sentence,
   cited span) pairs that the verifier judges supported; a seeded sample of 30 triples goes to a
   markdown file for a human to judge (support and relevance).
4. **ROUGE** of ``Assistant.summarize([paper])`` against the Alignment Newsletter summary of the
   paper (pairs matched by normalized title, as in retrieval_eval.py), next to lead-k and random-k
   sentences of the same document, k = the sentences our summary chose. rouge-score, stemmer on.
5. **Latency** of every assistant, p50/p95 after a warm-up, with a peer where there is one.

Writes ``assist_eval.json`` in the output folder and ``bench/out/assist_spotcheck.md``.
"""

from __future__ import annotations

import argparse
import importlib
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH, OUT, REAL_WS, REPO, busy_others, machine, percentile, real_library, table

from autoalign.assist import Assistant
from autoalign.assist import verify as verify_module
from autoalign.assist.evidence import document_sentences, passages, sentences_of, span_of, unique
from autoalign.assist.sentences import plain, split_sentences
from autoalign.assist.verify import Support
from autoalign.embed import Embedder
from autoalign.errors import AutoalignError
from autoalign.library import Library
from autoalign.library.highlight import query_terms

# the package exports functions named like these modules (ask, brainstorm, autocomplete's module)
ask_module = importlib.import_module("autoalign.assist.ask")
brainstorm_module = importlib.import_module("autoalign.assist.brainstorm")
complete_module = importlib.import_module("autoalign.assist.complete")

UNCOVERED_FILE = BENCH / "data" / "assist_uncovered.txt"
QUESTIONS_FILE = BENCH / "data" / "assist_questions.txt"
SPOTCHECK_FILE = OUT / "assist_spotcheck.md"
COVERED_SWEEP = [round(0.30 + 0.05 * i, 2) for i in range(10)]  # 0.30 .. 0.75
TERM_SWEEP = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
GRID_LEXICAL = [0.3, 0.4, 0.5, 0.6, 0.7]
GRID_SEMANTIC = [0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]
GRID_PARAPHRASE = [0.7, 0.75, 0.8, 0.85, 0.9, 9.0]  # 9.0: no paraphrase rule
_OPINION = re.compile(r"(?im)^[\s*_#]*(?:[A-Z][\w.-]*(?:'s|’s)\s+)?opinion[*_]*\s*:?[*_]*\s*")
DRAFTS = [
    "Reward models trained from human preferences will generalize well to new situations. "
    "Therefore RLHF is enough to align a superhuman system. The main risk is that labelers make "
    "random mistakes, which averages out with more data.",
    "Interpretability tools can reveal whether a model is deceptively aligned. If we can read a "
    "model's goals from its weights, we can simply reject models with bad goals before deployment. "
    "So transparency solves inner alignment.",
    "Debate between two AI systems lets a weak human judge supervise strong systems. Honest "
    "arguments are easier to defend than lies. This means debate scales to superhuman questions.",
    "Impact measures penalize an agent for changing the world too much. A low-impact agent cannot "
    "cause a catastrophe. We can therefore deploy powerful agents safely as long as they are low impact.",
]
COMPLETIONS = [
    "The main problem with learning a reward function from human feedback is that",
    "Mesa-optimization happens when a learned model is itself",
    "One way to detect deceptive alignment before deployment would be to",
    "Goodhart's law suggests that optimizing a proxy too hard will",
    "Iterated amplification decomposes a hard question into",
    "Scaling laws show that the loss of a language model falls",
]


class CachingEmbedder(Embedder):
    """The configured embedder, remembering every text's vector while ``enabled``: the quality parts
    embed the same question and sentences twice (here, then inside ``ask``); latency is measured
    with the cache off and empty."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.cache: dict[str, np.ndarray] = {}
        self.enabled = True

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not self.enabled:
            return self.inner.embed(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            self.cache.update(zip(missing, self.inner.embed(missing), strict=True))
        return np.stack([self.cache[t] for t in texts])


def normalize_title(title: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", title.lower()).split())


def read_questions(path: Path) -> dict[str, list[tuple[str, list[str]]]]:
    """``{set name: [(question, absent terms)]}``; lines before any ``[set]`` header go to ``questions``."""
    sets: dict[str, list[tuple[str, list[str]]]] = {}
    current = "questions"
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        question, _, terms = line.partition("||")
        sets.setdefault(current, []).append((question.strip(), [t.strip() for t in terms.split(";") if t.strip()]))
    return sets


def summary_of(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


# -- 1. coverage ---------------------------------------------------------------------------------
def library_vocabulary(library) -> frozenset[str]:
    """Every content-word stem of the library (titles and texts), as ``query_terms`` stems them."""
    vocabulary: set[str] = set()
    for title, text in library.workspace.db.execute("SELECT title, text FROM documents"):
        vocabulary |= query_terms(title)
        vocabulary |= query_terms(text)
    return frozenset(vocabulary)


def coverage_signals(assistant: Assistant, question: str, vocabulary: frozenset[str] = frozenset()) -> dict:
    """The best question-sentence cosine as ask.py computes it, the share of the question's
    content words found in the retrieved passages, and its words that no library document uses."""
    library, verifier = assistant.library, assistant.context.verifier
    question = question.strip()
    found = passages(library, question, k=ask_module.PASSAGES)
    candidates = unique([s for p in found for s in sentences_of(p)])
    wanted = query_terms(question)
    present = set().union(*(query_terms(p.text) for p in found)) if found else set()
    terms = len(wanted & present) / len(wanted) if wanted else 0.0
    unknown = sorted(wanted - vocabulary) if vocabulary else []
    if not candidates:
        return {"cosine": -1.0, "candidates": 0, "term_share": terms, "unknown_terms": unknown}
    vectors = verifier.embed([question] + [plain(c.text) for c in candidates])
    return {
        "cosine": float((vectors[1:] @ vectors[0]).max()),
        "candidates": len(candidates),
        "term_share": terms,
        "unknown_terms": unknown,
    }


def absent_terms_check(library, sets: dict) -> list[dict]:
    """For each near-domain question, the library documents that contain each of its terms."""
    rows = library.workspace.db.execute("SELECT uid, title, text FROM documents").fetchall()
    found = []
    for question, terms in sets.get("near-domain", []):
        for term in terms:
            pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)
            hits = [title for _uid, title, text in rows if pattern.search(title) or pattern.search(text)]
            if hits:
                found.append({"question": question, "term": term, "documents": len(hits), "titles": hits[:3]})
    return found


def run_coverage(assistant: Assistant, sets: dict[str, list[str]], aisafety_uid: dict[str, str]) -> dict:
    per_question = []
    answers = {}
    vocabulary = library_vocabulary(assistant.library)
    for name, questions in sets.items():
        for q in questions:
            signals = coverage_signals(assistant, q, vocabulary)
            result = assistant.ask(q)
            answers[(name, q)] = result
            per_question.append({"set": name, "question": q, "covered": result.covered, **signals})
    # ask's own decision against the cosine computed here (both at ask.COVERED): should agree
    disagree = [r for r in per_question if r["candidates"] and r["covered"] != (r["cosine"] >= ask_module.COVERED)]
    shares = {}
    for name in sets:
        rows = [r for r in per_question if r["set"] == name]
        shares[name] = {
            "questions": len(rows),
            "answered_not_covered": sum(not r["covered"] for r in rows) / len(rows),
            "cosine_quartiles": np.percentile([r["cosine"] for r in rows], [0, 25, 50, 75, 100]).round(3).tolist(),
        }
    sweep = []
    for t in sorted(set(COVERED_SWEEP + [ask_module.COVERED])):
        row = {"covered_threshold": t}
        for name in sets:
            rows = [r for r in per_question if r["set"] == name]
            row[name] = sum(r["cosine"] < t for r in rows) / len(rows)
        sweep.append(row)
    sweep2 = []
    for t in sorted(set(COVERED_SWEEP + [ask_module.COVERED])):
        for u in TERM_SWEEP:
            row = {"covered_threshold": t, "min_term_share": u}
            for name in sets:
                rows = [r for r in per_question if r["set"] == name]
                row[name] = sum(r["cosine"] < t or r["term_share"] < u for r in rows) / len(rows)
            sweep2.append(row)
    sweep3 = []
    for t in sorted(set(COVERED_SWEEP + [ask_module.COVERED])):
        row = {"covered_threshold": t}
        for name in sets:
            rows = [r for r in per_question if r["set"] == name]
            row[name] = sum(r["cosine"] < t or bool(r["unknown_terms"]) for r in rows) / len(rows)
        sweep3.append(row)
    cites_own = [
        any(s.document.uid == aisafety_uid[q] for s in answers[("aisafety.info titles", q)].references)
        for q in sets.get("aisafety.info titles", [])
    ]
    return {
        "shares": shares,
        "sweep_cosine": sweep,
        "sweep_cosine_and_terms": sweep2,
        "sweep_cosine_and_no_unknown_word": sweep3,
        "library_vocabulary_stems": len(vocabulary),
        "ask_vs_computed_cosine_disagreements": disagree,
        "aisafety_answers_citing_the_titled_page": sum(cites_own) / len(cites_own) if cites_own else None,
        "per_question": per_question,
    }, answers


# -- 2. verifier calibration ---------------------------------------------------------------------
def verifier_pairs(assistant: Assistant, n_docs: int, rng: random.Random) -> dict:
    library, verifier = assistant.library, assistant.context.verifier
    db = library.workspace.db
    docs = db.execute("SELECT uid, title FROM documents ORDER BY id").fetchall()
    rng.shuffle(docs)
    positives, neg_passages, neg_sentences, examples = [], [], [], []
    skipped_same_title = skipped_verbatim = 0
    for uid, title in docs:
        if len(positives) >= n_docs:
            break
        document = library.document(uid)
        chunks = [(s, e) for _cid, _sec, s, e in library.chunks(uid)]
        rng.shuffle(chunks)
        picked = None
        for start, end in chunks:
            sentences = split_sentences(document.text[start:end], start)
            if sentences:
                picked = (rng.choice(sentences), document.text[start:end])
                break
        if picked is None:
            continue
        sentence, passage = plain(picked[0].text), picked[1]
        own_title = normalize_title(title)
        key = " ".join(sentence.lower().split())
        negative = None
        for hit in library.search(sentence, k=10, max_per_document=1):
            if hit.document.uid == uid:
                continue
            if normalize_title(hit.document.title) == own_title:
                skipped_same_title += 1
                continue
            if key in " ".join(plain(hit.passage).lower().split()):
                skipped_verbatim += 1
                continue
            negative = hit
            break
        if negative is None:
            continue
        positives.append((sentence, passage))
        neg_passages.append((sentence, negative.passage))
        others = sentences_of(span_of(negative))
        if others:
            row = verifier.matrix([sentence], [s.text for s in others])[0]
            best = max(range(len(others)), key=lambda j: row[j].score)
            neg_sentences.append((sentence, others[best].text))
        if len(examples) < 5:
            examples.append({"sentence": sentence, "own_title": title, "negative_title": negative.document.title})
    pos = verifier.check(positives)
    negp = verifier.check(neg_passages)
    negs = verifier.check(neg_sentences)
    return {
        "positives": pos,
        "negatives_passage": negp,
        "negatives_sentence": negs,
        "pairs": {
            "positives": positives,
            "negatives_passage": neg_passages,
            "negatives_sentence": neg_sentences,
        },
        "skipped_same_title": skipped_same_title,
        "skipped_verbatim": skipped_verbatim,
        "examples": examples,
    }


def rule(s: Support, lexical: float, semantic: float, paraphrase: float) -> bool:
    """Support.supported with the thresholds given (the formula of verify.py)."""
    if s.missing:
        return False
    return s.semantic >= paraphrase or (s.lexical >= lexical and s.semantic >= semantic)


def pr(pos: list[Support], neg: list[Support], lexical: float, semantic: float, paraphrase: float) -> dict:
    tp = sum(rule(s, lexical, semantic, paraphrase) for s in pos)
    fp = sum(rule(s, lexical, semantic, paraphrase) for s in neg)
    return {
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / len(pos) if pos else float("nan"),
        "false_positive_rate": fp / len(neg) if neg else float("nan"),
    }


def calibration(data: dict) -> dict:
    pos, negp, negs = data["positives"], data["negatives_passage"], data["negatives_sentence"]
    current = (verify_module.MIN_LEXICAL, verify_module.MIN_SEMANTIC, verify_module.PARAPHRASE)
    # the library's own verdict must equal the formula used for the grid
    assert all(rule(s, *current) == s.supported for s in pos + negp + negs), "verify.py's rule changed"
    grid = []
    for lex in sorted(set(GRID_LEXICAL + [current[0]])):
        for sem in sorted(set(GRID_SEMANTIC + [current[1]])):
            for para in sorted(set(GRID_PARAPHRASE + [current[2]])):
                grid.append(
                    {
                        "min_lexical": lex,
                        "min_semantic": sem,
                        "paraphrase": para,
                        "passage_negatives": pr(pos, negp, lex, sem, para),
                        "sentence_negatives": pr(pos, negs, lex, sem, para),
                    }
                )

    def quantiles(values: list[float]) -> list[float]:
        return np.percentile(values, [5, 25, 50, 75, 95]).round(3).tolist() if values else []

    return {
        "current": {"min_lexical": current[0], "min_semantic": current[1], "paraphrase": current[2]},
        "pairs": {"positives": len(pos), "negatives_passage": len(negp), "negatives_sentence": len(negs)},
        "skipped_same_title": data["skipped_same_title"],
        "skipped_verbatim": data["skipped_verbatim"],
        "at_current": {"passage_negatives": pr(pos, negp, *current), "sentence_negatives": pr(pos, negs, *current)},
        "quantiles_5_25_50_75_95": {
            "positives_semantic": quantiles([s.semantic for s in pos]),
            "positives_lexical": quantiles([s.lexical for s in pos]),
            "negatives_passage_semantic": quantiles([s.semantic for s in negp]),
            "negatives_passage_lexical": quantiles([s.lexical for s in negp]),
            "negatives_sentence_semantic": quantiles([s.semantic for s in negs]),
            "negatives_sentence_lexical": quantiles([s.lexical for s in negs]),
        },
        "grid": grid,
        "examples": data["examples"],
        # negatives the current rule accepts: read them to tell verifier errors from label noise
        # (another document that really does say the same thing)
        "accepted_negatives": [
            {
                "kind": kind,
                "sentence": sentence,
                "span": span,
                "lexical": round(c.lexical, 3),
                "semantic": round(c.semantic, 3),
            }
            for kind, key in (("passage", "negatives_passage"), ("sentence", "negatives_sentence"))
            for (sentence, span), c in zip(data["pairs"][key], data[key], strict=True)
            if c.supported
        ],
    }


# -- 3. citation precision -----------------------------------------------------------------------
def citation_precision(assistant: Assistant, answers: dict, covered_sets: list[str], n_spot: int, seed: int) -> dict:
    triples = []  # (set, question, sentence, span, stored supported)
    for (name, question), result in answers.items():
        if name not in covered_sets or not result.covered:
            continue
        for section in result.sections:
            if section.title != "Answer":
                continue
            for item in section.items:
                for number in item.citations:
                    triples.append((name, question, item.text, result.citation(number), item.supported))
    checks = assistant.context.verifier.check([(t[2], t[3].text) for t in triples])
    by_set = {}
    for name in covered_sets:
        idx = [i for i, t in enumerate(triples) if t[0] == name]
        by_set[name] = {
            "citations": len(idx),
            "supported_by_verifier": sum(checks[i].supported for i in idx) / len(idx) if idx else None,
            "marked_supported_in_result": sum(bool(triples[i][4]) for i in idx) / len(idx) if idx else None,
            "sentence_equals_span_text": (
                sum(triples[i][2] == plain(triples[i][3].text) for i in idx) / len(idx) if idx else None
            ),
        }
    # a quote checked against its own span: the verifier embeds the span as stored (markdown links,
    # HTML entities), the sentence as shown (plain), so even a verbatim quote can fall below the rules
    quotes = [c for t, c in zip(triples, checks, strict=True) if t[2] == plain(t[3].text)]
    differs = [i for i, t in enumerate(triples) if t[2] == plain(t[3].text) and t[2] != t[3].text]
    every = {
        "citations": len(triples),
        "supported_by_verifier": sum(c.supported for c in checks) / len(checks) if checks else None,
        "quotes": len(quotes),
        "quotes_whose_raw_span_differs_from_the_sentence": len(differs),
        "quotes_semantic_min": min((c.semantic for c in quotes), default=None),
        "quotes_semantic_below_paraphrase": sum(c.semantic < verify_module.PARAPHRASE for c in quotes),
        "quotes_unsupported": sum(not c.supported for c in quotes),
        "lowest_quotes": sorted(
            ({"sentence": triples[i][2], "span": triples[i][3].text, "semantic": checks[i].semantic} for i in differs),
            key=lambda r: r["semantic"],
        )[:5],
    }
    sample = random.Random(seed).sample(range(len(triples)), min(n_spot, len(triples)))
    spot = [
        {
            "set": triples[i][0],
            "question": triples[i][1],
            "sentence": triples[i][2],
            "span": triples[i][3].text,
            "title": triples[i][3].document.title,
            "source": triples[i][3].document.source,
            "verifier_supported": checks[i].supported,
            "lexical": round(checks[i].lexical, 3),
            "semantic": round(checks[i].semantic, 3),
        }
        for i in sample
    ]
    return {"all": every, "by_set": by_set, "spotcheck": spot}


def write_spotcheck(path: Path, spot: list[dict], header: dict) -> None:
    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    lines = [
        "# Spot-check: citations of `ask` (bench/assist_eval.py)",
        "",
        f"Date {header['date']}, commit `{header['commit']}`, seed {header['seed']}: {len(spot)} (question, "
        "answer sentence, cited span) triples drawn at random from the answers to the covered questions "
        "(aisafety.info titles that are questions, and bench/data/assist_questions.txt).",
        "",
        "For each row, fill in **supports** (does the cited span support the sentence? y/n) and "
        "**relevant** (does the sentence help answer the question? y/n). With the embedded default the "
        "answer is extractive, so the sentence is a quote of its span: `supports` is expected to be y "
        "by construction, and `relevant` is the real test.",
        "",
        "| # | question | answer sentence | cited span (if different) | document (source) | verifier "
        "| supports | relevant |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, row in enumerate(spot, 1):
        span = "(same)" if plain(row["span"]) == row["sentence"] else cell(row["span"])
        lines.append(
            f"| {i} | {cell(row['question'])} | {cell(row['sentence'])} | {span} | "
            f"{cell(row['title'])} ({row['source']}) | {'yes' if row['verifier_supported'] else 'no'} "
            f"(lex {row['lexical']}, cos {row['semantic']}) |  |  |"
        )
    lines += ["", "Totals (fill in): supports __/" + str(len(spot)) + ", relevant __/" + str(len(spot)), ""]
    path.write_text("\n".join(lines))


# -- 4. ROUGE ------------------------------------------------------------------------------------
def rouge_pairs(library) -> list[tuple[str, str, str]]:
    """(newsletter uid, paper uid, newsletter text): newsletter documents whose normalized title
    equals a stored paper's (the paper with the smallest id when several match)."""
    db = library.workspace.db
    papers: dict[str, str] = {}
    for uid, title in db.execute("SELECT uid, title FROM documents WHERE source = 'ai_alignment_papers' ORDER BY id"):
        papers.setdefault(normalize_title(title), uid)
    return [
        (uid, papers[normalize_title(title)], text)
        for uid, title, text in db.execute(
            "SELECT uid, title, text FROM documents WHERE source = 'alignment_newsletter' ORDER BY id"
        )
        if normalize_title(title) in papers
    ]


def run_rouge(assistant: Assistant, pairs: list, rng: random.Random) -> dict:
    from rouge_score import rouge_scorer

    library = assistant.library
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    cache: dict[str, dict[str, str]] = {}
    ks = []
    scores: dict[str, dict[str, list[float]]] = {}
    scores_no_opinion: dict[str, dict[str, list[float]]] = {}
    with_opinion = 0
    failed: set[str] = set()
    used = 0
    for _news_uid, paper_uid, reference in pairs:
        if paper_uid in failed:
            continue
        if paper_uid not in cache:
            try:
                result = assistant.summarize([paper_uid])
            except AutoalignError:  # no sentence to summarize (a title, a table)
                failed.add(paper_uid)
                continue
            items = [item for s in result.sections if s.title == "Summary" for item in s.items]
            k = len(items)
            text = library.document(paper_uid).text
            lead = [plain(s.text) for s in split_sentences(text)[:k]]
            pool = document_sentences(library, paper_uid)
            random_k = sorted(rng.sample(range(len(pool)), min(k, len(pool))))
            cache[paper_uid] = {
                "ours": " ".join(item.text for item in items),
                "lead-k": " ".join(lead),
                "random-k": " ".join(plain(pool[i].text) for i in random_k),
            }
            ks.append(k)
        used += 1
        cut = _OPINION.search(reference)
        stripped = reference[: cut.start()] if cut and cut.start() > 0 else reference
        with_opinion += stripped != reference
        for system, summary in cache[paper_uid].items():
            for target, into in ((reference, scores), (stripped, scores_no_opinion)):
                got = scorer.score(target, summary)
                for metric, value in got.items():
                    into.setdefault(system, {}).setdefault(metric, []).append(value.fmeasure)
    mean = {s: {m: statistics.fmean(v) for m, v in ms.items()} for s, ms in scores.items()}
    # paired bootstrap over pairs: 95% interval of ours minus each baseline
    boot = np.random.default_rng(0)
    n = len(scores.get("ours", {}).get("rouge1", []))
    draws = boot.integers(0, n, size=(1000, n)) if n else None
    differences = {}
    for baseline in ("lead-k", "random-k"):
        for metric in ("rouge1", "rouge2", "rougeL"):
            if draws is None:
                continue
            diff = np.array(scores["ours"][metric]) - np.array(scores[baseline][metric])
            means = diff[draws].mean(axis=1)
            differences[f"ours - {baseline} {metric}"] = {
                "mean": float(diff.mean()),
                "ci95": np.percentile(means, [2.5, 97.5]).round(4).tolist(),
            }
    mean_no = {s: {m: statistics.fmean(v) for m, v in ms.items()} for s, ms in scores_no_opinion.items()}
    return {
        "pairs": used,
        "pairs_skipped_paper_without_sentences": len(pairs) - used,
        "papers": len(cache),
        "summary_sentences": {
            "mean": statistics.fmean(ks) if ks else 0,
            "min": min(ks, default=0),
            "max": max(ks, default=0),
        },
        "references_with_opinion_part": with_opinion,
        "f1_mean": mean,
        "f1_mean_opinion_removed": mean_no,
        "paired_differences": differences,
    }


# -- 5. latency ----------------------------------------------------------------------------------
def timed(fn, inputs: list, warmup: int = 1) -> dict[str, float]:
    """Wall time (and this process's CPU time, all threads: less sensitive to other load) of
    ``fn`` on each input after the first ``warmup``."""
    for x in inputs[:warmup]:
        fn(x)
    wall, cpu = [], []
    for x in inputs[warmup:]:
        t, c = time.perf_counter(), time.process_time()
        fn(x)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {**summary_of(wall), "cpu_p50": percentile(cpu, 50), "cpu_mean": statistics.fmean(cpu), "wall": wall}


def run_latency(
    assistant: Assistant, questions: list[str], papers: list[str], long_docs: list[str], runs: int, brainstorm_runs: int
) -> dict:
    library = assistant.library
    model = assistant.context.model()
    n = runs + 1
    qs = (questions * n)[:n]
    ps = (papers * n)[:n]
    ds = (long_docs * n)[:n]
    drafts = (DRAFTS * n)[:n]
    comps = (COMPLETIONS * n)[:n]
    found: dict[str, list] = {}

    def lead_k(uid: str) -> str:
        return " ".join(s.text for s in split_sentences(library.document(uid).text)[:3])

    def embed_sentences(uid: str) -> None:
        assistant.context.verifier.embed([plain(s.text) for s in document_sentences(library, uid)])

    drafts_per_idea = getattr(brainstorm_module, "DRAFTS", 1)
    opening = getattr(brainstorm_module, "OPENING", "")

    def raw_brainstorm(q: str) -> None:
        # what brainstorm's generation alone costs: for each of 4 ideas, the drafts brainstorm asks
        # for (DRAFTS) of a 2-source note, same sampling and seeds
        if q not in found:
            found[q] = passages(library, q, k=brainstorm_module.SOURCES, per_document=1)
        spans = found[q]
        for k in range(4):
            a, b = spans[k % len(spans)], spans[(k + 1) % len(spans)]
            sources = [(sentences_of(a) or [a])[0], (sentences_of(b) or [b])[0]]
            sampling = brainstorm_module.SAMPLING.model_copy(update={"seed": drafts_per_idea * k})
            prompt = brainstorm_module.note(q, sources) + (f" {opening}" if opening else "")
            model.complete(prompt, sampling, drafts_per_idea)

    rows: dict[str, dict] = {}
    plan = [
        (
            "ask",
            lambda q: assistant.ask(q),
            qs,
            "peer: Library.search (hybrid, k=8, 2 per document)",
            lambda q: library.search(q, k=ask_module.PASSAGES, max_per_document=2),
            qs,
        ),
        (
            "summarize",
            lambda u: assistant.summarize([u]),
            ps,
            "component: embedding the document's sentences",
            embed_sentences,
            ps,
        ),
        ("summarize: lead-3 baseline", lead_k, ps, None, None, None),
        ("explain", lambda u: assistant.explain([u]), ps, None, None, None),
        ("distill", lambda u: assistant.distill(u), ds, None, None, None),
        ("duck (extractive)", lambda d: assistant.duck(d), drafts, None, None, None),
        (
            "autocomplete (Gemma 3 270M)",
            lambda d: assistant.autocomplete(d),
            comps,
            "peer: the same generation alone (model.complete, same sampling)",
            lambda d: model.complete(model.tail(d, complete_module.CONTEXT_TOKENS), complete_module.SAMPLING, 1),
            comps,
        ),
    ]
    for name, fn, inputs, peer_name, peer_fn, peer_inputs in plan:
        rows[name] = timed(fn, inputs)
        print(f"  {name}: p50 {rows[name]['p50'] * 1000:.0f} ms", flush=True)
        if peer_name:
            rows[f"{name}; {peer_name}"] = timed(peer_fn, peer_inputs)
    # no warm-up run: autocomplete has loaded the model and ask the embedder (a brainstorm costs tens of s)
    bq = (questions * brainstorm_runs)[:brainstorm_runs]
    rows["brainstorm n=4 (Gemma 3 270M)"] = timed(lambda q: assistant.brainstorm(q, n=4, seed=0), bq, warmup=0)
    print(f"  brainstorm: p50 {rows['brainstorm n=4 (Gemma 3 270M)']['p50']:.1f} s", flush=True)
    rows[f"brainstorm n=4 (Gemma 3 270M); peer: 4 x {drafts_per_idea} raw completions of a 2-source note"] = timed(
        raw_brainstorm, bq, warmup=0
    )
    return {"runs": runs, "brainstorm_runs": brainstorm_runs, "model": model.name, "rows": rows}


# -- main ----------------------------------------------------------------------------------------
def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=OUT / "assist_eval", help="output folder (default bench/out/assist_eval)"
    )
    parser.add_argument("--spotcheck", type=Path, default=SPOTCHECK_FILE, help="spot-check markdown file")
    parser.add_argument("--aisafety-questions", type=int, default=0, help="aisafety.info question titles used (0: all)")
    parser.add_argument("--verifier-docs", type=int, default=300, help="documents sampled for verifier calibration")
    parser.add_argument("--spot", type=int, default=30, help="triples in the spot-check file")
    parser.add_argument("--rouge-pairs", type=int, default=0, help="newsletter/paper pairs for ROUGE (0: all)")
    parser.add_argument("--latency-runs", type=int, default=5, help="timed runs per assistant (after 1 warm-up)")
    parser.add_argument("--brainstorm-runs", type=int, default=2, help="timed brainstorm runs (no warm-up)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["coverage", "verifier", "rouge", "latency"])
    parser.add_argument("--quick", action="store_true", help="small samples, to try the script")
    args = parser.parse_args()
    if args.quick:
        args.aisafety_questions, args.verifier_docs, args.rouge_pairs = 20, 30, 30
        args.latency_runs, args.brainstorm_runs = 2, 1
    started = time.perf_counter()
    others = busy_others()
    header = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "assist_source_modified": bool(git("status", "--porcelain", "src/autoalign/assist")),
        "command": "python bench/assist_eval.py " + " ".join(sys.argv[1:]),
        "seed": args.seed,
        "busy_processes_at_start": others,
    }
    print(f"{header['date']}  commit {header['commit']}  load {header['machine']['loadavg_1_5_15']}")
    if others:
        print(f"other processes running now ({len(others)}): timings will be noisy")

    # a copy of the embedded workspace: the assistants store their results in it
    if not (REAL_WS / "autoalign.db").exists():
        library, timings = real_library()
        library.close()
        print(f"built {REAL_WS}: {timings}")
    args.out.mkdir(parents=True, exist_ok=True)
    ws = args.out / "ws"
    if ws.exists():
        shutil.rmtree(ws)
    shutil.copytree(REAL_WS, ws)
    library = Library.open(ws)
    embedder = CachingEmbedder(library.embedder)
    library.close()
    library = Library.open(ws, embedder=embedder)
    assistant = Assistant(library)
    stats = library.stats()
    if library.pending_embeddings():
        raise SystemExit(f"{ws}: {library.pending_embeddings()} chunks not embedded; run retrieval_eval.py first")
    header["workspace"] = {"copied_from": str(REAL_WS), "documents": stats.documents, "chunks": stats.chunks}
    header["thresholds"] = {
        "ask.COVERED": ask_module.COVERED,
        "verify.MIN_LEXICAL": verify_module.MIN_LEXICAL,
        "verify.MIN_SEMANTIC": verify_module.MIN_SEMANTIC,
        "verify.PARAPHRASE": verify_module.PARAPHRASE,
    }
    payload: dict = {**header, "options": {k: str(v) for k, v in vars(args).items()}}

    uncovered = read_questions(UNCOVERED_FILE)
    own = [q for q, _ in read_questions(QUESTIONS_FILE)["questions"]]
    aisafety = library.workspace.db.execute(
        "SELECT uid, title FROM documents WHERE source = 'aisafety.info' AND rtrim(title) LIKE '%?' ORDER BY id"
    ).fetchall()
    if args.aisafety_questions:
        aisafety = random.Random(args.seed).sample(aisafety, min(args.aisafety_questions, len(aisafety)))
    aisafety_uid = {title.strip(): uid for uid, title in aisafety}
    sets = {
        "off-topic": [q for q, _ in uncovered["off-topic"]],
        "near-domain": [q for q, _ in uncovered["near-domain"]],
        "aisafety.info titles": list(aisafety_uid),
        "alignment questions": own,
    }
    covered_sets = ["aisafety.info titles", "alignment questions"]

    answers: dict = {}
    if "coverage" not in args.skip:
        t = time.perf_counter()
        present = absent_terms_check(library, uncovered)
        coverage, answers = run_coverage(assistant, sets, aisafety_uid)
        coverage["near_domain_terms_found_in_library"] = present
        payload["coverage"] = coverage
        print(f"\n## 1. Not covered (ask.COVERED = {ask_module.COVERED}; {time.perf_counter() - t:.0f} s)\n")
        print(
            table(
                ["set", "questions", "answered 'not covered'", "best cosine min / q1 / median / q3 / max"],
                [
                    [
                        n,
                        s["questions"],
                        s["answered_not_covered"],
                        " / ".join(f"{c:.2f}" for c in s["cosine_quartiles"]),
                    ]
                    for n, s in coverage["shares"].items()
                ],
            )
        )
        uncovered_all = coverage["per_question"]
        unc = [r for r in uncovered_all if r["set"] in ("off-topic", "near-domain")]
        print(
            "\nall uncovered questions answered 'not covered': "
            f"{sum(not r['covered'] for r in unc) / len(unc):.3f} (target >= 0.9)"
        )
        if coverage["aisafety_answers_citing_the_titled_page"] is not None:
            print(
                "aisafety.info title questions whose answer cites that very page: "
                f"{coverage['aisafety_answers_citing_the_titled_page']:.3f}"
            )
        print(
            "ask's decision vs the cosine computed here: "
            f"{len(coverage['ask_vs_computed_cosine_disagreements'])} disagreements"
        )
        if present:
            print("near-domain terms FOUND in the library:")
            for p in present:
                print(f"  {p['term']!r} in {p['documents']} documents, e.g. {p['titles'][:2]}")
        print("\nsweep of ask.COVERED (share answered 'not covered' per set):")
        print(
            table(
                ["COVERED", *sets], [[r["covered_threshold"], *(r[n] for n in sets)] for r in coverage["sweep_cosine"]]
            )
        )
        best = [
            r
            for r in coverage["sweep_cosine_and_terms"]
            if r["aisafety.info titles"] <= 0.05 and r["alignment questions"] <= 0.05 and r["min_term_share"] > 0
        ]
        best.sort(key=lambda r: -(r["off-topic"] + r["near-domain"]))
        print(
            "\nwith a second rule, the share of question words found in the passages "
            "(best 8 keeping both covered sets' misses <= 5%):"
        )
        print(
            table(
                ["COVERED", "min term share", *sets],
                [[r["covered_threshold"], r["min_term_share"], *(r[n] for n in sets)] for r in best[:8]],
            )
        )

        print("\nwith a third rule, not covered when a content word of the question occurs in no library document:")
        print(
            table(
                ["COVERED", *sets],
                [[r["covered_threshold"], *(r[n] for n in sets)] for r in coverage["sweep_cosine_and_no_unknown_word"]],
            )
        )
        flagged = [r for r in coverage["per_question"] if r["unknown_terms"] and r["set"] in covered_sets]
        print(f"covered questions with a word the library never uses: {len(flagged)}, e.g.")
        for r in flagged[:5]:
            print(f"  {r['question']}  {r['unknown_terms']}")

    if "verifier" not in args.skip:
        t = time.perf_counter()
        data = verifier_pairs(assistant, args.verifier_docs, random.Random(args.seed))
        cal = calibration(data)
        payload["verifier"] = cal
        cur = cal["current"]
        print(
            f"\n## 2. Verifier calibration ({cal['pairs']['positives']} positives; {time.perf_counter() - t:.0f} s; "
            f"skipped as not negatives: {cal['skipped_same_title']} same title, {cal['skipped_verbatim']} verbatim)\n"
        )
        for k, v in cal["quantiles_5_25_50_75_95"].items():
            print(f"  {k}: {v}")

        def pick(lex, sem, para):
            return next(
                g
                for g in cal["grid"]
                if g["min_lexical"] == lex and g["min_semantic"] == sem and g["paraphrase"] == para
            )

        rows = []
        variants = [("current", cur["min_lexical"], cur["min_semantic"], cur["paraphrase"])]
        variants += [
            (f"MIN_LEXICAL {x}", x, cur["min_semantic"], cur["paraphrase"])
            for x in GRID_LEXICAL
            if x != cur["min_lexical"]
        ]
        variants += [
            (f"MIN_SEMANTIC {x}", cur["min_lexical"], x, cur["paraphrase"])
            for x in GRID_SEMANTIC
            if x != cur["min_semantic"]
        ]
        variants += [
            (f"PARAPHRASE {'off' if x > 1 else x}", cur["min_lexical"], cur["min_semantic"], x)
            for x in GRID_PARAPHRASE
            if x != cur["paraphrase"]
        ]
        for label, lex, sem, para in variants:
            g = pick(lex, sem, para)
            rows.append(
                [
                    label,
                    g["passage_negatives"]["precision"],
                    g["passage_negatives"]["recall"],
                    g["passage_negatives"]["false_positive_rate"],
                    g["sentence_negatives"]["precision"],
                    g["sentence_negatives"]["false_positive_rate"],
                ]
            )
        print(
            table(
                [
                    "thresholds",
                    "precision (passage neg.)",
                    "recall",
                    "FPR passage",
                    "precision (sentence neg.)",
                    "FPR sentence",
                ],
                rows,
            )
        )
        good = [
            g
            for g in cal["grid"]
            if g["sentence_negatives"]["precision"] >= 0.95 and g["passage_negatives"]["precision"] >= 0.95
        ]
        good.sort(key=lambda g: -g["passage_negatives"]["recall"])
        print("\nbest recall with precision >= 0.95 against both kinds of negatives:")
        print(
            table(
                ["MIN_LEXICAL", "MIN_SEMANTIC", "PARAPHRASE", "recall", "precision passage", "precision sentence"],
                [
                    [
                        g["min_lexical"],
                        g["min_semantic"],
                        g["paraphrase"],
                        g["passage_negatives"]["recall"],
                        g["passage_negatives"]["precision"],
                        g["sentence_negatives"]["precision"],
                    ]
                    for g in good[:6]
                ],
            )
        )

    if answers:
        cit = citation_precision(assistant, answers, covered_sets, args.spot, args.seed)
        payload["citations"] = cit
        args.spotcheck.parent.mkdir(parents=True, exist_ok=True)
        write_spotcheck(args.spotcheck, cit["spotcheck"], header)
        print("\n## 3. Citation precision of ask (verifier)\n")
        print(
            table(
                ["set", "citations", "supported (verifier)", "marked supported", "sentence == span"],
                [
                    [
                        n,
                        s["citations"],
                        s["supported_by_verifier"],
                        s["marked_supported_in_result"],
                        s["sentence_equals_span_text"],
                    ]
                    for n, s in cit["by_set"].items()
                ],
            )
        )
        a = cit["all"]
        print(f"all: {a['supported_by_verifier']:.3f} of {a['citations']}; spot-check: {args.spotcheck}")
        print(
            f"quotes (sentence == plain span): {a['quotes']}; raw span differs (links, entities): "
            f"{a['quotes_whose_raw_span_differs_from_the_sentence']}; lowest cosine {a['quotes_semantic_min']:.3f}; "
            f"below PARAPHRASE {a['quotes_semantic_below_paraphrase']}; unsupported {a['quotes_unsupported']}"
        )

    pairs = rouge_pairs(library)
    if "rouge" not in args.skip:
        t = time.perf_counter()
        chosen = (
            pairs if not args.rouge_pairs else random.Random(args.seed).sample(pairs, min(args.rouge_pairs, len(pairs)))
        )
        rouge = run_rouge(assistant, chosen, random.Random(args.seed))
        payload["rouge"] = rouge
        print(
            "\n## 4. ROUGE F1 against the Alignment Newsletter summary "
            f"({rouge['pairs']} pairs, {rouge['papers']} papers, "
            f"{rouge['summary_sentences']['mean']:.2f} sentences per summary; {time.perf_counter() - t:.0f} s)\n"
        )
        print(
            table(
                ["summary", "ROUGE-1", "ROUGE-2", "ROUGE-L", "R-1 no opinion", "R-2 no opinion", "R-L no opinion"],
                [
                    [
                        s,
                        m["rouge1"],
                        m["rouge2"],
                        m["rougeL"],
                        *(rouge["f1_mean_opinion_removed"][s][x] for x in ("rouge1", "rouge2", "rougeL")),
                    ]
                    for s, m in rouge["f1_mean"].items()
                ],
            )
        )
        print(f"references with an opinion part in their text: {rouge['references_with_opinion_part']}")
        for label, d in rouge["paired_differences"].items():
            print(f"  {label}: {d['mean']:+.4f}, 95% paired bootstrap interval {d['ci95']}")

    if "latency" not in args.skip:
        embedder.enabled = False
        embedder.cache.clear()
        t = time.perf_counter()
        long_docs = [
            uid
            for (uid,) in library.workspace.db.execute(
                "SELECT uid FROM documents WHERE source = 'aisafety.info' ORDER BY length(text) DESC, id LIMIT 40"
            )
        ][::8]
        papers = list(dict.fromkeys(p for _, p, _ in pairs))
        papers = random.Random(args.seed).sample(papers, min(10, len(papers)))
        questions = random.Random(args.seed).sample(own, min(10, len(own)))
        lat = run_latency(assistant, questions, papers, long_docs, args.latency_runs, args.brainstorm_runs)
        lat["busy_processes_after"] = busy_others()
        payload["latency"] = lat
        print(
            f"\n## 5. Latency, 2 cores ({lat['runs']} runs after 1 warm-up; brainstorm {lat['brainstorm_runs']}; "
            f"{time.perf_counter() - t:.0f} s)\n"
        )
        print(
            table(
                ["assistant; peer", "p50 ms", "p95 ms", "max ms", "CPU p50 ms", "runs"],
                [
                    [name, r["p50"] * 1000, r["p95"] * 1000, r["max"] * 1000, r["cpu_p50"] * 1000, r["n"]]
                    for name, r in lat["rows"].items()
                ],
            )
        )

    payload["seconds"] = time.perf_counter() - started
    library.close()
    path = args.out / "assist_eval.json"
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY, default=_default))
    print(f"\nresults: {path} ({payload['seconds']:.0f} s)")


def _default(value):
    if isinstance(value, Support):
        return {"lexical": value.lexical, "semantic": value.semantic, "supported": value.supported}
    raise TypeError(type(value))


if __name__ == "__main__":
    main()
