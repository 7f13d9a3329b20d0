"""HTTP to servers that speak OpenAI's API (OpenAI, vLLM, llama.cpp's server, Ollama, OpenRouter).

Shared by the embedder and the language-model backend so both fail the same, helpful way. The
API key is read from the environment variable the settings name; it is sent only in the
Authorization header and blanked from every error message, since those end up in bug reports.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from autoalign.errors import AutoalignError

#: Characters of a response body quoted in an error message.
_EXCERPT_CHARS = 200


class OpenAIClient:
    """A connection pool to one server, with errors that name the server and the setting to fix.

    ``role`` names the server in messages ("embedding server"); ``section`` is the configuration
    section holding its settings ("embed").
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key_env: str,
        timeout_s: float,
        role: str,
        section: str,
        error: type[AutoalignError] = AutoalignError,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.role = role
        self._section = section
        self._key_env = api_key_env
        self._timeout_s = timeout_s
        self._error = error
        self._key = os.environ.get(api_key_env) or None
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout_s)

    def post(self, path: str, payload: dict[str, Any]) -> tuple[Any, httpx.Response]:
        """POST JSON and return the decoded JSON body (with the response, for error messages)."""
        url = self.base_url + path
        with self._guard(url):
            response = self._client.post(url, json=payload)
        self._check(response, url)
        try:
            return response.json(), response
        except ValueError:
            raise self.bad_response(response, "not valid JSON") from None

    def stream(self, path: str, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """POST with ``stream: true`` and yield each server-sent event's JSON object."""
        url = self.base_url + path
        with self._guard(url), self._client.stream("POST", url, json={**payload, "stream": True}) as response:
            if response.is_error:
                response.read()
                self._check(response, url)
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    event = orjson.loads(data)
                except orjson.JSONDecodeError:
                    raise self._failure(url, f"sent an event that is not JSON: {self._quote(data)}") from None
                if not isinstance(event, dict):
                    raise self._failure(url, f"sent an event that is not a JSON object: {self._quote(data)}")
                if "error" in event:
                    raise self._failure(url, f"reported an error: {self._quote(str(event['error']))}")
                yield event

    def bad_response(self, response: httpx.Response, problem: str) -> AutoalignError:
        return self._error(
            f"the {self.role} at {response.request.url} sent an unusable response ({problem}):"
            f" {self._excerpt(response)}"
        )

    def close(self) -> None:
        self._client.close()

    def _failure(self, url: str, what: str) -> AutoalignError:
        return self._error(f"the {self.role} at {url} {what}")

    @contextmanager
    def _guard(self, url: str) -> Iterator[None]:
        """Turn transport errors into messages that say what to do."""
        try:
            yield
        except httpx.ConnectError as exc:
            raise self._error(
                f"cannot connect to the {self.role} at {url} ({exc}); the server must be running and"
                f" reachable, or set {self._section}.base_url to where it listens"
            ) from None
        except httpx.TimeoutException:
            raise self._error(
                f"the {self.role} at {url} did not answer within {self._timeout_s:g} s;"
                f" raise {self._section}.timeout_s or ask for less"
            ) from None
        except httpx.HTTPError as exc:
            raise self._error(f"request to the {self.role} at {url} failed: {exc}") from None

    def _check(self, response: httpx.Response, url: str) -> None:
        if not response.is_error:
            return
        hint = ""
        if response.status_code in (401, 403):
            hint = f"; check the API key in the environment variable {self._key_env}"
        elif response.status_code == 404:
            hint = f"; check {self._section}.base_url (it usually ends in /v1)"
        raise self._error(
            f"the {self.role} at {url} answered HTTP {response.status_code}: {self._excerpt(response)}{hint}"
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _quote(self, text: str) -> str:
        """The start of ``text`` on one line, with the key blanked should the server echo it."""
        return " ".join(self._redact(text)[:_EXCERPT_CHARS].split())

    def _excerpt(self, response: httpx.Response) -> str:
        return self._quote(response.text) or "(empty body)"
