"""Stop sequences over a token stream, for backends that sample token by token themselves.

A stop sequence can straddle tokens, so a token is held back while the text ends with the start
of some stop sequence; it is released once the text moves past it, or dropped when the stop
sequence completes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autoalign.models.base import Token


@dataclass(slots=True)
class StopScanner:
    stop: tuple[str, ...]
    _held: list[Token] = field(default_factory=list)
    _text: str = ""

    def push(self, token: Token) -> tuple[list[Token], bool]:
        """Add a token; returns the tokens now safe to emit and whether a stop sequence completed."""
        if not self.stop:
            return [token], False
        self._held.append(token)
        self._text += token.text
        cut = _first_stop(self._text, self.stop)
        if cut is not None:
            return self._release_until(cut), True
        keep_from = len(self._text) - _longest_stop_prefix_suffix(self._text, self.stop)
        return self._release_until(keep_from, undecided=True), False

    def flush(self) -> list[Token]:
        """At the end of generation, whatever was held back is plain text after all."""
        held, self._held, self._text = self._held, [], ""
        return held

    def _release_until(self, end: int, *, undecided: bool = False) -> list[Token]:
        """Emit the held tokens that cover ``text[:end]``. The token crossing ``end`` is cut there
        when a stop sequence starts at ``end``, or kept held (with all after it) while undecided."""
        released, at = [], 0
        for i, token in enumerate(self._held):
            token_end = at + len(token.text)
            if token_end <= end:
                released.append(token)
                at = token_end
                continue
            if undecided:
                self._held, self._text = self._held[i:], self._text[at:]
                return released
            if end > at:
                released.append(Token(token.text[: end - at], token.logprob, token.top))
            break
        self._held, self._text = [], ""
        return released


def _first_stop(text: str, stop: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return min(found) if found else None


def _longest_stop_prefix_suffix(text: str, stop: tuple[str, ...]) -> int:
    """Length of the longest end of ``text`` that is the start of a stop sequence."""
    best = 0
    for s in stop:
        for length in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:length]):
                best = length
                break
    return best
