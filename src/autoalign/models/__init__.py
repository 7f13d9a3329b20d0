"""Language models behind one interface (:class:`LanguageModel`), chosen by profile name.

Profiles live in the configuration (``[models.profiles.NAME]``); ``embedded`` is always there and
runs Gemma 3 270M (base) in-process through llama.cpp. Loaded models are kept for the life of
the process, so the web app and repeated calls pay the load once.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

from autoalign.config import ModelProfile, Settings
from autoalign.models.base import (
    ChatMessage,
    Continuation,
    DoneEvent,
    Event,
    LanguageModel,
    ModelError,
    Sampling,
    Token,
    TokenEvent,
)

__all__ = [
    "ChatMessage",
    "Continuation",
    "DoneEvent",
    "Event",
    "LanguageModel",
    "ModelError",
    "Sampling",
    "Token",
    "TokenEvent",
    "get_model",
]

_loaded: dict[str, LanguageModel] = {}
_loading = threading.Lock()


@atexit.register
def _close_loaded() -> None:
    """Free the loaded models while the interpreter still can (llama.cpp's finalizers fail once
    module globals are torn down)."""
    while _loaded:
        _loaded.popitem()[1].close()


def get_model(settings: Settings, name: str | None = None) -> LanguageModel:
    """The model of profile ``name`` (default: ``models.default``), loaded once per process."""
    profile_name, profile = settings.models.profile(name)
    key = f"{profile_name}:{profile.model_dump_json()}"
    with _loading:
        if key not in _loaded:
            _loaded[key] = _load(profile_name, profile)
        return _loaded[key]


def _load(profile_name: str, profile: ModelProfile) -> LanguageModel:
    if profile.backend == "openai":
        from autoalign.models.openai_compat import OpenAICompatModel

        return OpenAICompatModel(profile, profile_name)
    from autoalign.models.llama_cpp import LlamaCppModel, embedded_model_path

    path = Path(profile.path).expanduser() if profile.path else embedded_model_path()
    return LlamaCppModel(path, n_ctx=profile.n_ctx, threads=profile.threads or None, chat=profile.chat)
