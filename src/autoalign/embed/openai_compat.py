"""Embeddings from any server that speaks OpenAI's ``/v1/embeddings``.

OpenAI itself, vLLM, llama.cpp's server and Ollama all do. The API key is read from the
environment variable that ``embed.api_key_env`` names; it is sent only in the Authorization
header and kept out of reprs, logs and error messages, which may end up in bug reports.
"""

from __future__ import annotations

import httpx
import numpy as np

from autoalign.config import EmbedSettings
from autoalign.embed.base import Embedder
from autoalign.openai_http import OpenAIClient


class OpenAICompatEmbedder(Embedder):
    """Sends texts in batches of ``settings.batch_size`` to ``{base_url}/embeddings``."""

    def __init__(self, settings: EmbedSettings) -> None:
        self.name = f"openai:{settings.model}"
        self._model = settings.model
        self._batch_size = settings.batch_size
        self._http = OpenAIClient(
            settings.base_url,
            api_key_env=settings.api_key_env,
            timeout_s=settings.timeout_s,
            role="embedding server",
            section="embed",
        )
        self._dim: int | None = None

    @property
    def dim(self) -> int:  # type: ignore[override]  # read-only: the server decides it
        """Vector length; asks the server with a one-word request if nothing was embedded yet."""
        if self._dim is None:
            self._embed(["dimension"])
        assert self._dim is not None
        return self._dim

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __repr__(self) -> str:
        return f"OpenAICompatEmbedder(model={self._model!r}, url={self._http.base_url!r})"

    def _embed(self, texts: list[str]) -> np.ndarray:
        return np.concatenate(
            [self._request(texts[start : start + self._batch_size]) for start in range(0, len(texts), self._batch_size)]
        )

    def _request(self, texts: list[str]) -> np.ndarray:
        payload, response = self._http.post("/embeddings", {"model": self._model, "input": texts})
        return self._vectors(payload, response, len(texts))

    def _vectors(self, payload: object, response: httpx.Response, expected: int) -> np.ndarray:
        """Validate an embeddings response and return its vectors ordered by ``index``."""
        bad = self._http.bad_response
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise bad(response, "no 'data' list; is this an embeddings endpoint?")
        if len(data) != expected:
            raise bad(response, f"{len(data)} vectors for {expected} texts")
        try:
            items = sorted(data, key=lambda item: item["index"])
            indices = [item["index"] for item in items]
            rows = [item["embedding"] for item in items]
        except (KeyError, TypeError):
            raise bad(response, "items without 'index' and 'embedding'") from None
        if indices != list(range(expected)):
            raise bad(response, f"indices {indices} instead of 0 to {expected - 1}")
        if not all(isinstance(row, list) and row for row in rows):
            raise bad(response, "empty vectors or vectors that are not lists")
        dims = {len(row) for row in rows}
        if len(dims) > 1:
            raise bad(response, f"vectors of different dimensions {sorted(dims)}")
        (dim,) = dims
        if self._dim is not None and dim != self._dim:
            raise bad(response, f"{dim}-dimensional vectors after {self._dim}-dimensional ones")
        try:
            vectors = np.array(rows, dtype=np.float32)
        except (TypeError, ValueError):
            raise bad(response, "vectors that are not lists of numbers") from None
        self._dim = dim
        return vectors
