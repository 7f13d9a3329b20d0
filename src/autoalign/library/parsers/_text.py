"""Text clean-up shared by every parser, so that each format hands the library the same kind of text."""

from __future__ import annotations

import re

#: C0 and C1 control characters except tab and newline (carriage returns are converted first).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

#: Share of undecodable bytes above which a file is taken for another encoding or binary data.
_MAX_INVALID_UTF8 = 0.02

#: How much of a file to look at when deciding whether it is binary.
SNIFF_BYTES = 8192


def clean_text(text: str) -> str:
    """Normalise line ends to ``\\n``, drop control characters and trim surrounding whitespace.

    Control characters (NUL above all) break storage and full-text indexing further down, and never
    carry meaning in prose.
    """
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def clean_line(text: str) -> str:
    """A single line: cleaned, with runs of whitespace (newlines included) collapsed to one space."""
    return " ".join(clean_text(text).split())


def looks_binary(sample: bytes) -> bool:
    """Whether bytes read from the start of a file are binary data rather than text.

    NUL never occurs in UTF-8 text, and almost every binary format has one in its first kilobytes.
    """
    return b"\x00" in sample


def decode_utf8(data: bytes) -> str | None:
    """Decode UTF-8, tolerating a few stray bytes; None when the data is not UTF-8 text at all.

    A handful of bad bytes (a mis-encoded quote, a truncated character) should not cost a whole
    document, but a file in another encoding would come out as garbage, so it is refused.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", errors="replace")
    if text.count("\ufffd") > _MAX_INVALID_UTF8 * len(data):
        return None
    return text
