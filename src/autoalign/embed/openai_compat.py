"""Embeddings from any server that speaks OpenAI's ``/v1/embeddings``.

OpenAI itself, vLLM, llama.cpp's server and Ollama all do. The API key is read from the
environment variable that ``embed.api_key_env`` names; it is sent only in the Authorization
header and kept out of reprs, logs and error messages, which may end up in bug reports.
"""

from __future__ import annotations

import os

import httpx
import numpy as np

from autoalign.config import EmbedSettings
from autoalign.embed.base import Embedder
from autoalign.errors import AutoalignError

#: Characters of a response body quoted in an error message.
_EXCERPT_CHARS = 200


class OpenAICompatEmbedder(Embedder):
    """Sends texts in batches of ``settings.batch_size`` to ``{base_url}/embeddings``."""

    def __init__(self, settings: EmbedSettings) -> None:
        self.name = f"openai:{settings.model}"
        self._model = settings.model
        self._batch_size = settings.batch_size
        self._timeout_s = settings.timeout_s
        self._key_env = settings.api_key_env
        self._url = settings.base_url.rstrip("/") + "/embeddings"
        self._key = os.environ.get(settings.api_key_env) or None
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._client = httpx.Client(headers=headers, timeout=settings.timeout_s)
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
        self._client.close()

    def __repr__(self) -> str:
        return f"OpenAICompatEmbedder(model={self._model!r}, url={self._url!r})"

    def _embed(self, texts: list[str]) -> np.ndarray:
        return np.concatenate(
            [self._request(texts[start : start + self._batch_size]) for start in range(0, len(texts), self._batch_size)]
        )

    def _request(self, texts: list[str]) -> np.ndarray:
        try:
            response = self._client.post(self._url, json={"model": self._model, "input": texts})
        except httpx.ConnectError as exc:
            raise AutoalignError(
                f"cannot connect to the embedding server at {self._url} ({exc}); the server must "
                "be running and reachable, or set embed.base_url to where it listens"
            ) from None
        except httpx.TimeoutException:
            raise AutoalignError(
                f"the embedding server at {self._url} did not answer within {self._timeout_s:g} s; "
                "raise embed.timeout_s or lower embed.batch_size"
            ) from None
        except httpx.HTTPError as exc:
            raise AutoalignError(f"request to the embedding server at {self._url} failed: {exc}") from None
        if response.is_error:
            hint = ""
            if response.status_code in (401, 403):
                hint = f"; check the API key in the environment variable {self._key_env}"
            raise AutoalignError(
                f"the embedding server at {self._url} answered HTTP {response.status_code}: "
                f"{self._excerpt(response)}{hint}"
            )
        return self._vectors(response, len(texts))

    def _vectors(self, response: httpx.Response, expected: int) -> np.ndarray:
        """Validate an embeddings response and return its vectors ordered by ``index``."""
        try:
            payload = response.json()
        except ValueError:
            raise self._bad_response(response, "not valid JSON") from None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise self._bad_response(response, "no 'data' list; is this an embeddings endpoint?")
        if len(data) != expected:
            raise self._bad_response(response, f"{len(data)} vectors for {expected} texts")
        try:
            items = sorted(data, key=lambda item: item["index"])
            indices = [item["index"] for item in items]
            rows = [item["embedding"] for item in items]
        except (KeyError, TypeError):
            raise self._bad_response(response, "items without 'index' and 'embedding'") from None
        if indices != list(range(expected)):
            raise self._bad_response(response, f"indices {indices} instead of 0 to {expected - 1}")
        if not all(isinstance(row, list) and row for row in rows):
            raise self._bad_response(response, "empty vectors or vectors that are not lists")
        dims = {len(row) for row in rows}
        if len(dims) > 1:
            raise self._bad_response(response, f"vectors of different dimensions {sorted(dims)}")
        (dim,) = dims
        if self._dim is not None and dim != self._dim:
            raise self._bad_response(response, f"{dim}-dimensional vectors after {self._dim}-dimensional ones")
        try:
            vectors = np.array(rows, dtype=np.float32)
        except (TypeError, ValueError):
            raise self._bad_response(response, "vectors that are not lists of numbers") from None
        self._dim = dim
        return vectors

    def _bad_response(self, response: httpx.Response, problem: str) -> AutoalignError:
        return AutoalignError(
            f"the embedding server at {self._url} sent an unusable response ({problem}): {self._excerpt(response)}"
        )

    def _excerpt(self, response: httpx.Response) -> str:
        """The start of the body on one line, with the key blanked should the server echo it."""
        text = response.text.replace(self._key, "***") if self._key else response.text
        return " ".join(text[:_EXCERPT_CHARS].split()) or "(empty body)"
