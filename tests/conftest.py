"""Shared fixtures: isolated config, the project's own mini corpus, and the shared corpus when present."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
MINI_CORPUS = FIXTURES / "corpus" / "mini.jsonl"
SHARED = ROOT.parent / "shared"
SHARED_CORPUS = SHARED / "data" / "corpus"


#: Fixtures that load a real model: a test using any of them (even through another fixture) is
#: marked ``model``, which ``make test-fast`` leaves out.
MODEL_FIXTURES = frozenset({"minilm", "gemma", "llama_server", "onnx_embedder", "torch_embedder"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory, monkeypatch):
    """No test reads the developer's own config or default workspace."""
    home = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("AUTOALIGN_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("AUTOALIGN_WORKSPACE", str(home / "default-workspace"))
    for name in list(__import__("os").environ):
        if name.startswith("AUTOALIGN_") and "__" in name:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not here ({SHARED_CORPUS}); these tests need ../shared/data/corpus")
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def minilm():
    """The real local embedder, loaded once for the whole run."""
    from autoalign.config import EmbedSettings
    from autoalign.embed import get_embedder

    return get_embedder(EmbedSettings())


@pytest.fixture
def workspace_path(tmp_path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def mini_library(workspace_path, minilm):
    """A library holding the mini corpus, lexically indexed and embedded."""
    from autoalign.library import Library

    library = Library.open(workspace_path, embedder=minilm)
    library.add([MINI_CORPUS])
    library.embed()
    yield library
    library.close()


@pytest.fixture(scope="session")
def gemma():
    """The real embedded language model (Gemma 3 270M through llama.cpp), loaded once."""
    from autoalign.config import Settings
    from autoalign.models import get_model

    return get_model(Settings())


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama.cpp's own OpenAI-compatible server, a real process serving the embedded Gemma file."""
    from tests.servers import start_llama_server

    with start_llama_server(tmp_path_factory.mktemp("llama-server")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A library over an empty workspace, without an embedder: enough for pages that never search
    (Loom, Discover). Modules that serve a corpus define their own ``library``."""
    from autoalign.config import Settings
    from autoalign.library import Library
    from autoalign.workspace import Workspace

    library = Library(Workspace(tmp_path_factory.mktemp("web"), Settings()))
    yield library
    library.close()


@pytest.fixture(scope="module")
def base_url(library):
    """The web app over this module's ``library``, served by a real uvicorn on loopback."""
    from autoalign.web import create_app
    from tests.servers import serving

    with serving(create_app(library)) as url:
        yield url


@pytest.fixture
def client(base_url):
    import httpx

    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client
