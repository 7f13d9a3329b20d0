"""brainstorm: diverse research ideas on a question, each grown from two pieces of related work.

The seed's recipe for original ideas is recombination ("cleverly combining John Wentworth posts
with Paul Christiano posts"), so each idea starts from a pair of retrieved documents, preferably
by different authors. A base model continues a short research note that quotes the pair; a chat
model is asked for ideas that each combine two numbered passages. Ideas are then deduplicated
(embedding cosine), clustered into themes, and each cites the passages it draws on. Any idea can
be grown further as a Loom tree (:func:`grow`), whose root is the note that produced it.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from itertools import combinations

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from autoalign.assist.compose import ask_model
from autoalign.assist.context import Context, validate_prompt
from autoalign.assist.evidence import passages, sentences_of
from autoalign.assist.records import Item, References, Result, Section, Span
from autoalign.assist.selection import DUPLICATE
from autoalign.assist.sentences import plain, split_sentences
from autoalign.library.highlight import query_terms
from autoalign.loom import Loom, Tree
from autoalign.models import Sampling

IDEAS = 6
MAX_IDEAS = 20
#: Related documents retrieved to combine.
SOURCES = 10
#: Ideas closer than this cosine distance share a theme.
THEME_DISTANCE = 0.55
SAMPLING = Sampling(max_tokens=60, temperature=0.9, top_p=0.95, stop=("\n",), logprobs=0)
#: Drafts per pair of sources; the one closest to the question and its sources is kept.
DRAFTS = 2
#: How an idea starts: a base model asked for "an idea" often writes nothing, one that has
#: started "We propose to" writes a proposal (tried on Gemma 3 270M, 2026-11-27).
OPENING = "We propose to"
_LINE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s*(.+)$", re.MULTILINE)
_MARKERS = re.compile(r"\[(\d+)\]")


def brainstorm(
    context: Context, question: str, *, n: int = IDEAS, seed: int | None = None, cancel: threading.Event | None = None
) -> Result:
    question = validate_prompt(question)
    n = max(1, min(n, MAX_IDEAS))
    found = passages(context.library, question, k=SOURCES, per_document=1)
    model = context.model()
    result = Result("brainstorm", question, [], [], model=model.name, settings={"ideas": n, "seed": seed})
    if len(found) < 2:
        result.covered = False
        result.sections = [Section("Ideas", (Item("The library holds too little related work to combine."),))]
        return result
    if context.writes:
        drafts = _ideas_from_chat(context, question, found, n, cancel)
    else:
        drafts = _ideas_from_base_model(context, question, found, n, seed, cancel)
    references = References()
    result.sections = _themes(context, question, drafts, references)
    result.references = references.spans
    return result


def note(question: str, sources: list[Span]) -> str:
    """The research note a base model continues: the question, then the related work to combine."""
    lines = [f"Research notes on AI alignment.\n\nQuestion: {plain(question)}\n\nRelated work:"]
    for span in sources:
        authors = ", ".join(span.document.authors[:2]) or span.document.source
        lines.append(f'- "{plain(span.document.title)}" ({authors}): {plain(span.text)}')
    lines.append("\nIdea 1 (combining both):")
    return "\n".join(lines)


def grow(loom: Loom, result: Result, section: int, item: int) -> Tree:
    """A Loom tree whose root is the note that produced idea ``item`` of ``section`` and whose one
    child is the idea, ready to be continued and branched."""
    idea = result.sections[section].items[item]
    sources = [result.citation(number) for number in idea.citations]
    tree = loom.new_tree(note(result.prompt, sources), title=f"Idea: {idea.text[:60]}")
    child = tree.add_child(tree.info().root_id, " " + idea.text, source="AI", model=result.model)
    tree.go_to(child.id)
    return tree


# -- drafting ------------------------------------------------------------------------------------
def _pairs(found: list[Span], n: int) -> list[tuple[Span, Span]]:
    """Pairs of the best-ranked documents, pairs across authors first, each document in few pairs."""
    ranked = sorted(
        combinations(range(len(found)), 2),
        key=lambda p: (set(found[p[0]].document.authors) & set(found[p[1]].document.authors) != set(), sum(p)),
    )
    uses: Counter[int] = Counter()
    chosen = []
    for i, j in ranked:
        if uses[i] < 2 and uses[j] < 2:
            chosen.append((found[i], found[j]))
            uses.update((i, j))
        if len(chosen) == n:
            break
    return chosen


def _key_sentence(context: Context, question: str, passage: Span) -> Span:
    """The sentence of a passage closest to the question (what the note quotes of it)."""
    sentences = sentences_of(passage) or [passage]
    vectors = context.verifier.embed([question] + [plain(s.text) for s in sentences])
    return sentences[int((vectors[1:] @ vectors[0]).argmax())]


def _ideas_from_base_model(
    context: Context, question: str, found: list[Span], n: int, seed: int | None, cancel: threading.Event | None
) -> list[tuple[str, list[Span]]]:
    model = context.model()
    drafts = []
    for k, (a, b) in enumerate(_pairs(found, n)):
        sources = [_key_sentence(context, question, a), _key_sentence(context, question, b)]
        sampling = SAMPLING.model_copy(update={"seed": None if seed is None else seed + DRAFTS * k})
        prompt = f"{note(question, sources)} {OPENING}"
        texts = [_first_sentences(OPENING + c.text) for c in model.complete(prompt, sampling, DRAFTS, cancel)]
        drafts.append((_closest(context, texts, [question] + [s.text for s in sources]), sources))
    return drafts


def _closest(context: Context, texts: list[str], anchors: list[str]) -> str:
    """The draft closest on average to the anchors (the question and the sources it combines)."""
    vectors = context.verifier.embed([plain(t) for t in texts] + [plain(a) for a in anchors])
    scores = (vectors[: len(texts)] @ vectors[len(texts) :].T).mean(axis=1)
    return texts[int(scores.argmax())]


def _ideas_from_chat(
    context: Context, question: str, found: list[Span], n: int, cancel: threading.Event | None
) -> list[tuple[str, list[Span]]]:
    task = (
        f"Propose {n} distinct research ideas on this question: {question}\n"
        "Each idea combines two of the passages. Write each idea as one line that starts with '- ' and "
        "ends with the numbers of the two passages it combines, like [1][4]."
    )
    reply = ask_model(context, task, found, max_tokens=80 * n, cancel=cancel)
    drafts = []
    for line in _LINE.findall(reply):
        cited = [found[int(m) - 1] for m in _MARKERS.findall(line) if 1 <= int(m) <= len(found)]
        sources = [_key_sentence(context, question, span) for span in cited]
        drafts.append((_MARKERS.sub("", line).strip(), sources))
    return drafts


def _first_sentences(text: str, limit: int = 2) -> str:
    """The idea as written up to its second sentence (a base model rambles on)."""
    text = " ".join(text.split())
    sentences = split_sentences(text)
    if sentences:
        return text[: sentences[min(limit, len(sentences)) - 1].end]
    return text


# -- tidying -------------------------------------------------------------------------------------
def _themes(
    context: Context, question: str, drafts: list[tuple[str, list[Span]]], references: References
) -> list[Section]:
    """Ideas without empty or repeated ones, grouped by theme, each citing what it draws on."""
    drafts = [(text, sources) for text, sources in drafts if len(text.split()) >= 5]
    if not drafts:
        return [Section("Ideas", (Item("The model proposed nothing usable; try again or raise the number of ideas."),))]
    vectors = context.verifier.embed([plain(text) for text, _ in drafts])
    kept: list[int] = []
    for i in range(len(drafts)):
        if all(float(vectors[i] @ vectors[j]) < DUPLICATE for j in kept):
            kept.append(i)
    labels = (
        AgglomerativeClustering(
            n_clusters=None, distance_threshold=THEME_DISTANCE, metric="cosine", linkage="average"
        ).fit_predict(vectors[kept])
        if len(kept) > 1
        else np.zeros(len(kept), dtype=int)
    )
    sections = []
    for label in dict.fromkeys(labels):
        members = [drafts[kept[i]] for i in range(len(kept)) if labels[i] == label]
        items = tuple(Item(plain(text), tuple(references.cite(s) for s in sources)) for text, sources in members)
        sections.append(Section(f"Theme: {_theme_name(question, [t for t, _ in members])}", items))
    return sections


def _theme_name(question: str, texts: list[str]) -> str:
    """The content words the theme's ideas share most, beyond the question's own words."""
    asked = query_terms(question)
    words: Counter[str] = Counter()
    for text in texts:
        seen = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]{3,}", text)}
        words.update(w for w in seen if w not in asked and not query_terms(w) <= asked)
    common = [w for w, _ in words.most_common(2)]
    return " / ".join(common) if common else "ideas"
