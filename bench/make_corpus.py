"""A synthetic corpus at Alignment Research Dataset scale (about 100M tokens), from the shared corpus.

    .venv/bin/python bench/make_corpus.py --tokens 100000000 --out bench/out/ard_synth.jsonl

The shared corpus (about 1.1M tokens: three ARD JSONL files and 50 Distill articles) is replayed in
copies until the token target is reached. Each copy visits every document once, in a fresh random
order (so sources are interleaved), and varies it so that no copy is a trivial duplicate:

- paragraphs are shuffled within each section (headings stay at the head of their section);
- each sentence is dropped with probability 0.08 and doubled with probability 0.05;
- 30% of the documents get one to three paragraphs of another random document mixed in.

Records follow the ARD schema (id, source, source_type, title, url, authors, date_published, text,
summaries) with a unique id, url and title per copy. Tokens are estimated as words x 1.3, as the
chunker does. The output is deterministic for a given seed. It is derived from the shared corpus,
whose texts belong to their authors: it lives in bench/out/ (git-ignored) and is never committed.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPUS, SYNTH, table, write_json

from autoalign.library.chunking import TOKENS_PER_WORD
from autoalign.library.parsers import iter_path
from autoalign.library.records import ParseIssue

DROP, DOUBLE, MIX = 0.08, 0.05, 0.30
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_PARAGRAPHS = re.compile(r"\n\s*\n")


class Source:
    """A real document, pre-split into sections of paragraphs of sentences."""

    __slots__ = ("record", "sections", "body")

    def __init__(self, record: dict, text: str) -> None:
        self.record = record
        self.sections: list[tuple[str | None, list[list[str]]]] = []
        heading, paragraphs = None, []
        for block in _PARAGRAPHS.split(text):
            block = block.strip()
            if not block:
                continue
            if block.startswith("#") and "\n" not in block:
                if heading is not None or paragraphs:
                    self.sections.append((heading, paragraphs))
                heading, paragraphs = block, []
            else:
                paragraphs.append(_SENTENCE_END.split(block))
        self.sections.append((heading, paragraphs))
        self.body = [p for _, ps in self.sections for p in ps]


def load_sources(corpus: Path) -> list[Source]:
    sources = []
    for item in iter_path(corpus):
        if isinstance(item, ParseIssue):
            print(f"skipped: {item}", file=sys.stderr)
            continue
        base = item.external_id or hashlib.blake2b((item.url or item.origin).encode(), digest_size=16).hexdigest()
        record = {
            "id": base,
            "source": item.source,
            "source_type": item.metadata.get("source_type") or ("html" if item.source == "distill" else ""),
            "title": item.title,
            "url": item.url,
            "authors": list(item.authors),
            "date_published": item.date_published,
        }
        sources.append(Source(record, item.text))
    return sources


def vary(paragraph: list[str], rng: random.Random) -> str:
    kept: list[str] = []
    for sentence in paragraph:
        r = rng.random()
        if r < DROP:
            continue
        kept.append(sentence)
        if r < DROP + DOUBLE:
            kept.append(sentence)
    return " ".join(kept or paragraph[:1])


def synthesize(doc: Source, other: Source | None, rng: random.Random) -> tuple[str, int]:
    """The varied text of ``doc`` (with passages of ``other`` mixed in) and its word count."""
    parts: list[str] = []
    extra: list[str] = []
    if other is not None and other.body:
        start = rng.randrange(len(other.body))
        extra = [vary(p, rng) for p in other.body[start : start + rng.randint(1, 3)]]
    for heading, paragraphs in doc.sections:
        body = [vary(p, rng) for p in paragraphs]
        rng.shuffle(body)
        if extra and (heading is None or rng.random() < 0.5):
            for passage in extra:
                body.insert(rng.randint(0, len(body)), passage)
            extra = []
        if heading is not None:
            parts.append(heading)
        parts.extend(body)
    parts.extend(extra)
    text = "\n\n".join(parts)
    return text, len(text.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=100_000_000)
    parser.add_argument("--out", type=Path, default=SYNTH)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()

    started = time.perf_counter()
    sources = load_sources(args.corpus)
    rng = random.Random(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tokens = words = documents = copies = mixed = 0
    by_source: dict[str, int] = {}
    with open(args.out, "wb", buffering=8 << 20) as out:
        while tokens < args.tokens:
            copies += 1
            order = list(range(len(sources)))
            rng.shuffle(order)
            for index in order:
                if tokens >= args.tokens:
                    break
                doc = sources[index]
                other = sources[rng.randrange(len(sources))] if rng.random() < MIX else None
                mixed += other is not None
                text, n_words = synthesize(doc, other, rng)
                base = doc.record
                tag = f"c{copies:03d}-{index:04d}"
                record = {
                    **base,
                    "id": f"{base['id']}-{tag}",
                    "title": f"{base['title']} [{tag}]",
                    "url": f"{base['url'] or 'https://synthetic.invalid/'}#{tag}",
                    "text": text,
                    "summaries": [],
                    "synthetic_of": base["id"],
                }
                out.write(orjson.dumps(record))
                out.write(b"\n")
                words += n_words
                tokens += round(n_words * TOKENS_PER_WORD)
                documents += 1
                by_source[base["source"]] = by_source.get(base["source"], 0) + 1
    seconds = time.perf_counter() - started
    size = args.out.stat().st_size
    result = {
        "command": " ".join(["bench/make_corpus.py", *sys.argv[1:]]),
        "out": str(args.out),
        "seed": args.seed,
        "real_documents": len(sources),
        "copies": copies,
        "documents": documents,
        "mixed_documents": mixed,
        "words": words,
        "tokens_estimate": tokens,
        "bytes": size,
        "seconds": seconds,
        "documents_by_source": by_source,
    }
    print(
        table(
            ["documents", "copies", "tokens (words x 1.3)", "MB", "seconds"],
            [[documents, copies, tokens, size / 1e6, seconds]],
        )
    )
    print(table(["source", "documents"], sorted(by_source.items(), key=lambda kv: -kv[1])))
    print(f"results: {write_json('make_corpus.json', result)}")


if __name__ == "__main__":
    main()
