"""Pluggable embedders: texts in, unit-length vectors out.

Importing this package is cheap: each backend imports its heavy dependencies (onnxruntime,
torch, httpx, ray) only when it is constructed or run.
"""

from __future__ import annotations

from collections.abc import Callable

from autoalign.config import EmbedSettings
from autoalign.embed.base import Embedder
from autoalign.embed.ray_map import embed_on_ray
from autoalign.errors import ConfigError

__all__ = ["BACKENDS", "Embedder", "embed_on_ray", "embedder_name", "get_embedder"]


def _minilm(settings: EmbedSettings) -> Embedder:
    from autoalign.embed.minilm import MiniLMEmbedder

    # embed.batch_size sizes requests to a server; local inference keeps its own tuned batch.
    return MiniLMEmbedder()


def _openai(settings: EmbedSettings) -> Embedder:
    from autoalign.embed.openai_compat import OpenAICompatEmbedder

    return OpenAICompatEmbedder(settings)


#: Constructors by the name that ``embed.backend`` selects.
BACKENDS: dict[str, Callable[[EmbedSettings], Embedder]] = {"minilm": _minilm, "openai": _openai}


def embedder_name(settings: EmbedSettings) -> str:
    """The name the configured embedder stores its vectors under, known without loading it
    (a count of pending passages, or whether any vectors exist, needs no model)."""
    if settings.backend == "minilm":
        from autoalign.embed.minilm import NAME

        return NAME
    if settings.backend == "openai":
        return f"openai:{settings.model}"
    return get_embedder(settings).name  # an unknown backend: the error says which ones exist


def get_embedder(settings: EmbedSettings) -> Embedder:
    """The embedder that ``settings.backend`` names, ready to use."""
    try:
        backend = BACKENDS[settings.backend]
    except KeyError:
        raise ConfigError(
            f"unknown embedding backend {settings.backend!r}; choose one of {', '.join(BACKENDS)}"
        ) from None
    return backend(settings)
