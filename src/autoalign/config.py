"""Configuration: a TOML file plus environment variables.

Precedence, lowest first: built-in defaults, the user file (``$AUTOALIGN_CONFIG`` or
``~/.config/autoalign/config.toml``), the workspace's ``config.toml``, then environment variables
``AUTOALIGN_<SECTION>__<KEY>`` (for example ``AUTOALIGN_EMBED__BACKEND=openai``).

Secrets such as API keys are never stored here: settings name the environment variable that holds
them (``api_key_env``), so config files can be shared and logged without leaking anything.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autoalign.errors import ConfigError, InputError

ENV_PREFIX = "AUTOALIGN_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedSettings(_Section):
    """Which embedder turns passages into vectors."""

    backend: Literal["minilm", "openai"] = "minilm"
    #: Model name sent to an OpenAI-compatible server (ignored by the local backend).
    model: str = "text-embedding-3-small"
    base_url: str = "http://127.0.0.1:8080/v1"
    #: Name of the environment variable holding the API key; the key itself never enters config.
    api_key_env: str = "OPENAI_API_KEY"
    #: Texts per request to an embeddings server (the local model keeps its own measured batch).
    batch_size: int = Field(default=64, ge=1, le=4096)
    timeout_s: float = Field(default=60.0, gt=0)


class WebSettings(_Section):
    """Where the web app listens. Anything but loopback requires a token."""

    host: str = "127.0.0.1"
    port: int = Field(default=8321, ge=1, le=65535)
    #: Name of the environment variable holding the access token.
    token_env: str = "AUTOALIGN_TOKEN"


class SearchSettings(_Section):
    """Defaults for hybrid search."""

    k: int = Field(default=10, ge=1, le=1000)
    #: Candidates taken from each ranker before fusion.
    candidates: int = Field(default=100, ge=10, le=5000)
    #: The constant of reciprocal rank fusion; larger flattens the ranks. 10 beat the customary 60
    #: by 0.026 recall@10 on both halves of the retrieval evaluation (BENCHMARKS.md).
    rrf_k: int = Field(default=10, ge=1)


class ModelProfile(_Section):
    """One language model: the embedded llama.cpp backend with a GGUF file, or an
    OpenAI-compatible server."""

    backend: Literal["llama", "openai"] = "llama"
    #: GGUF file for the llama backend; empty means the embedded Gemma 3 270M (base).
    path: str = ""
    #: Context length in tokens (llama backend).
    n_ctx: int = Field(default=4096, ge=256, le=262144)
    #: CPU threads (llama backend); 0 means one per core.
    threads: int = Field(default=0, ge=0, le=512)
    base_url: str = "http://127.0.0.1:8080/v1"
    #: Model name sent to the server (openai backend).
    model: str = ""
    #: Name of the environment variable holding the API key; the key itself never enters config.
    api_key_env: str = "OPENAI_API_KEY"
    #: Whether the model follows instructions (an instruction-tuned GGUF file with a chat template,
    #: or a server's model behind ``/v1/chat/completions``): assistants then write their answers.
    chat: bool = False
    timeout_s: float = Field(default=120.0, gt=0)
    #: Requests sent at once for the n continuations of one call (openai backend). llama.cpp's
    #: server runs one at a time and interrupts the running request when another arrives; vLLM
    #: and hosted APIs batch them.
    parallel: int = Field(default=1, ge=1, le=64)


#: The profile every workspace has, whatever the configuration says.
EMBEDDED_PROFILE = "embedded"


class ModelsSettings(_Section):
    """Language models by profile name, and which one is used when none is named."""

    default: str = EMBEDDED_PROFILE
    profiles: dict[str, ModelProfile] = Field(default_factory=dict)

    def profile(self, name: str | None = None) -> tuple[str, ModelProfile]:
        """The named profile (default: ``default``); ``embedded`` exists unless redefined.

        An unknown name asked for is the asker's to fix (:class:`InputError`); an unknown default is
        the configuration's (:class:`ConfigError`).
        """
        wanted = name or self.default
        if wanted in self.profiles:
            return wanted, self.profiles[wanted]
        if wanted == EMBEDDED_PROFILE:
            return wanted, ModelProfile()
        known = ", ".join(sorted({EMBEDDED_PROFILE, *self.profiles}))
        error = InputError if name else ConfigError
        raise error(f"no model profile {wanted!r}; known profiles: {known} (add [models.profiles.{wanted}])")


class Settings(_Section):
    """All settings of the workbench."""

    embed: EmbedSettings = EmbedSettings()
    web: WebSettings = WebSettings()
    search: SearchSettings = SearchSettings()
    models: ModelsSettings = ModelsSettings()

    def secret(self, env_name: str) -> str | None:
        """Read a secret from the environment by the variable name that the settings hold."""
        return os.environ.get(env_name) or None


def user_config_path() -> Path:
    """The per-user configuration file."""
    if explicit := os.environ.get(f"{ENV_PREFIX}CONFIG"):
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "autoalign" / "config.toml"


def load_settings(workspace_dir: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Merge defaults, config files and environment into validated :class:`Settings`."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    files = [user_config_path()]
    if workspace_dir is not None:
        files.append(workspace_dir / "config.toml")
    for path in files:
        if path.is_file():
            _deep_merge(merged, _read_toml(path))
    _deep_merge(merged, _from_env(env))
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError, whole: str = "settings") -> str:
    """Pydantic's report as one line: ``field.path: message; ...`` (``whole`` names a model-wide
    problem)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or whole}: {e['msg']}" for e in exc.errors())


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """``AUTOALIGN_EMBED__BACKEND=openai`` becomes ``{"embed": {"backend": "openai"}}``."""
    nested: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        nested.setdefault(section, {})[key] = value
    return nested


def _deep_merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
