"""Generation settings of a tree, and the per-node overrides that change them for a subtree."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from autoalign.config import describe_validation_error
from autoalign.errors import AutoalignError
from autoalign.models.base import MaxTokens, Sampling


class LoomSettings(Sampling):
    """Tree-wide settings: how to sample (every field of :class:`Sampling`, shorter continuations
    by default) and what the Loom adds. A node's ``overrides`` replace some for its whole subtree."""

    max_tokens: MaxTokens = 48
    #: Model profile from the configuration (``[models.profiles.NAME]``); None is the default model.
    model: str | None = None
    #: Continuations per generation.
    n: int = Field(default=4, ge=1, le=32)
    #: Text put before every prompt (socketteer's "memory").
    memory: str = ""
    #: Most tokens of the path sent as the prompt; longer paths lose their start.
    prompt_length: int | None = Field(default=1536, ge=16)

    def merged(self, overrides: dict[str, Any] | None) -> LoomSettings:
        """These settings with ``overrides`` applied, validated."""
        if not overrides:
            return self
        return parse_settings({**self.model_dump(), **overrides})


def parse_settings(values: dict[str, Any]) -> LoomSettings:
    """Validate settings, turning pydantic's report into one readable line."""
    try:
        return LoomSettings.model_validate(values)
    except ValidationError as exc:
        raise AutoalignError(f"invalid Loom settings: {describe_validation_error(exc)}") from None


def check_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides must name real settings with valid values; returns them unchanged."""
    parse_settings(overrides)
    return overrides
