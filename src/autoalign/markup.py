"""Untrusted text made safe to write into markdown.

Corpus passages and model output end up in markdown files (assistant results, Loom exports) that
users open in editors and viewers which render raw HTML: a ``<script>`` or ``<img onerror>`` quoted
from a web page would run there. Markdown's own backslash escape keeps the text as written, so
the file still reads naturally and renders the very characters of the source.
"""

from __future__ import annotations


def inert_markdown(text: str) -> str:
    """``text`` with every ``<`` escaped, so no renderer sees an HTML tag or an autolink in it."""
    return text.replace("\\<", "\\\\<").replace("<", "\\<")
