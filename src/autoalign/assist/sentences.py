"""Sentences with their character offsets: the unit that assistants select, cite and verify.

A citation must point at the exact span of the document it quotes, so sentences are never
rewritten here; they are located, between the breaks of :func:`autoalign.prose.sentence_breaks`.
Markdown headings, list markers and lines too short to say anything are not sentences.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from autoalign.prose import sentence_breaks

_HEADING_OR_RULE = re.compile(r"^\s*(#{1,6}\s|[-*_=]{3,}\s*$|\|)")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]{1,300})\]\([^)\s]{0,500}\)")
#: Sentences with fewer words are fragments (captions, bylines, "Thanks!").
MIN_WORDS = 5
#: Longer "sentences" are tables or lists that lost their line breaks; they cite badly.
MAX_WORDS = 90


@dataclass(frozen=True, slots=True)
class Sentence:
    """``text == source[start:end]`` of the text it was found in."""

    start: int
    end: int
    text: str

    @property
    def words(self) -> int:
        """Words as read, so a link's address does not count ("[Conjecture](https://...)" is one)."""
        return len(_WORD.findall(_MARKDOWN_LINK.sub(r"\1", self.text)))


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """The sentences of ``text``, with offsets shifted by ``offset`` (the text's place in its document).

    Fragments (headings, rules, table rows, lines under :data:`MIN_WORDS` words) are left out.
    """
    sentences: list[Sentence] = []
    start = 0
    for end, next_start in sentence_breaks(text):
        _keep(text, start, end, offset, sentences)
        start = next_start
    _keep(text, start, len(text), offset, sentences)
    return sentences


def _keep(text: str, start: int, end: int, offset: int, into: list[Sentence]) -> None:
    piece = text[start:end]
    if _HEADING_OR_RULE.match(piece):
        return
    marker = _LIST_MARKER.match(piece)
    if marker:
        start += marker.end()
        piece = text[start:end]
    stripped_left = len(piece) - len(piece.lstrip())
    start += stripped_left
    end = start + len(piece.strip())
    sentence = Sentence(offset + start, offset + end, text[start:end])
    if MIN_WORDS <= sentence.words <= MAX_WORDS:
        into.append(sentence)


def plain(text: str) -> str:
    """``text`` for reading: markdown links reduced to their words, HTML entities decoded,
    whitespace collapsed.

    Only for display and for models' prompts; citations keep the offsets of the original.
    """
    return " ".join(html.unescape(_MARKDOWN_LINK.sub(r"\1", text)).split())
