"""autocomplete: the next words of the researcher's draft, as ghost text the editor shows.

This is what base models are good at, so it goes through the Loom's model backend as a plain
continuation of the draft's end: short, fairly deterministic, and stopped at a paragraph break so a
suggestion never runs into the next thought.
"""

from __future__ import annotations

import threading

from autoalign.assist.context import MAX_DRAFT_CHARS, Context
from autoalign.errors import AutoalignError
from autoalign.models import Sampling

#: Tokens of the draft's end the model sees.
CONTEXT_TOKENS = 512
MAX_TOKENS = 24
SAMPLING = Sampling(max_tokens=MAX_TOKENS, temperature=0.3, top_p=0.9, stop=("\n\n",), seed=0, logprobs=0)


def autocomplete(
    context: Context, draft: str, *, max_tokens: int = MAX_TOKENS, cancel: threading.Event | None = None
) -> str:
    """What the model would write next after ``draft`` (empty when it would end the paragraph)."""
    if not draft.strip():
        raise AutoalignError("the draft is empty: write the start of a sentence to complete")
    if len(draft) > MAX_DRAFT_CHARS:
        raise AutoalignError(f"the draft is {len(draft):,} characters long; the limit is {MAX_DRAFT_CHARS:,}")
    model = context.model()
    sampling = SAMPLING.model_copy(update={"max_tokens": max(1, min(max_tokens, 256))})
    return model.complete(model.tail(draft, CONTEXT_TOKENS), sampling, 1, cancel)[0].text
