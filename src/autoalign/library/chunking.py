"""Heading- and paragraph-aware chunking that keeps character offsets.

Every chunk is a span ``text[start:end]`` of its document, under the section heading it falls in,
so any search hit can be cited to document, section and exact characters. Chunks never cross a
heading; inside a section, paragraphs are packed up to a token budget; a paragraph longer than
the budget is split at sentence ends, and a sentence longer than that at word boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from autoalign.library.records import Chunk
from autoalign.prose import sentence_breaks

#: Tokens are estimated as words x 1.3 (English text under a BPE or WordPiece vocabulary).
TOKENS_PER_WORD = 1.3
MIN_TOKENS = 100
MAX_TOKENS = 300

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^```.*?(?:^```[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_BLOCK = re.compile(r"\S(?:.*\S)?(?:\n[ \t]*\S(?:.*\S)?)*")  # lines up to a blank line
_WORD = re.compile(r"\S+")


@dataclass(slots=True)
class _Block:
    start: int
    end: int
    tokens: int


def estimate_tokens(text: str) -> int:
    """A cheap token estimate, good enough to size chunks."""
    return round(len(text.split()) * TOKENS_PER_WORD)


def chunk_text(text: str, *, min_tokens: int = MIN_TOKENS, max_tokens: int = MAX_TOKENS) -> list[Chunk]:
    """Split ``text`` into chunks of about ``min_tokens`` to ``max_tokens`` tokens."""
    chunks: list[Chunk] = []
    for section, start, end in _sections(text):
        blocks = list(_blocks(text, start, end, max_tokens))
        for chunk_start, chunk_end in _pack(blocks, min_tokens, max_tokens):
            chunks.append(Chunk(ordinal=len(chunks), section=section, start=chunk_start, end=chunk_end))
    return chunks


def _sections(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(heading path, start, end)`` for each stretch between headings.

    The heading line belongs to its section's text, so a chunk carries its own heading words.
    The path joins enclosing headings ("Methods › Data") so a citation says where it is.
    """
    stack: list[tuple[int, str]] = []
    section, start = "", 0
    fences = [(m.start(), m.end()) for m in _FENCE.finditer(text)] if "```" in text else []
    for match in _HEADING.finditer(text):
        if any(low <= match.start() < high for low, high in fences):
            continue  # a comment line in a code block, not a heading
        if match.start() > start:
            yield section, start, match.start()
        level, title = len(match.group(1)), match.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        section, start = " › ".join(title for _, title in stack), match.start()
    if start < len(text):
        yield section, start, len(text)


def _blocks(text: str, start: int, end: int, max_tokens: int) -> Iterator[_Block]:
    """Paragraphs of ``text[start:end]``, each cut to fit ``max_tokens``."""
    for match in _BLOCK.finditer(text, start, end):
        tokens = estimate_tokens(match.group())
        if tokens <= max_tokens:
            yield _Block(match.start(), match.end(), tokens)
        else:
            yield from _split_long(text, match.start(), match.end(), max_tokens)


def _split_long(text: str, start: int, end: int, max_tokens: int) -> Iterator[_Block]:
    """Cut an over-long paragraph at sentence ends, and an over-long sentence at words."""
    pieces: list[_Block] = []
    cursor = start
    for sentence_end, next_start in sentence_breaks(text, start, end):
        pieces.append(_Block(cursor, sentence_end, estimate_tokens(text[cursor:sentence_end])))
        cursor = next_start
    pieces.append(_Block(cursor, end, estimate_tokens(text[cursor:end])))
    for piece in pieces:
        if piece.tokens <= max_tokens:
            yield piece
            continue
        words = list(_WORD.finditer(text, piece.start, piece.end))
        per_chunk = max(1, int(max_tokens / TOKENS_PER_WORD))
        for i in range(0, len(words), per_chunk):
            group = words[i : i + per_chunk]
            yield _Block(group[0].start(), group[-1].end(), round(len(group) * TOKENS_PER_WORD))


def _pack(blocks: list[_Block], min_tokens: int, max_tokens: int) -> Iterator[tuple[int, int]]:
    """Greedily pack consecutive blocks into spans of at most ``max_tokens``.

    A span closes once it reaches ``min_tokens`` and the next block would overflow it; a short
    tail is merged into the previous span when both fit together.
    """
    spans: list[list[int]] = []  # [start, end, tokens]
    for block in blocks:
        if (
            spans
            and spans[-1][2] + block.tokens <= max_tokens
            and (spans[-1][2] < min_tokens or block.tokens < min_tokens)
        ):
            spans[-1][1] = block.end
            spans[-1][2] += block.tokens
        else:
            spans.append([block.start, block.end, block.tokens])
    for start, end, _ in spans:
        yield start, end
