"""Generation settings of a tree, and the per-node overrides that change them for a subtree."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autoalign.config import describe_validation_error
from autoalign.errors import AutoalignError
from autoalign.models.base import Sampling


class LoomSettings(BaseModel):
    """Tree-wide settings. A node's ``overrides`` replace some of them for its whole subtree."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Model profile from the configuration (``[models.profiles.NAME]``); None is the default model.
    model: str | None = None
    #: Continuations per generation.
    n: int = Field(default=4, ge=1, le=32)
    max_tokens: int = Field(default=48, ge=1, le=8192)
    temperature: float = Field(default=0.9, ge=0.0, le=5.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: int = Field(default=5, ge=0, le=20)
    #: Text put before every prompt (socketteer's "memory").
    memory: str = ""
    #: Most tokens of the path sent as the prompt; longer paths lose their start.
    prompt_length: int | None = Field(default=1536, ge=16)

    def sampling(self) -> Sampling:
        return Sampling(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.stop,
            seed=self.seed,
            logprobs=self.logprobs,
        )

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
