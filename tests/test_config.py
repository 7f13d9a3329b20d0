"""Configuration: defaults < user file < workspace file < environment; clear errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from autoalign.config import load_settings
from autoalign.errors import ConfigError, WorkspaceError
from autoalign.workspace import Workspace


def test_precedence_of_files_and_environment(tmp_path, monkeypatch):
    user = tmp_path / "user.toml"
    user.write_text('[embed]\nbackend = "openai"\nmodel = "from-user"\n[web]\nport = 9000\n')
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "config.toml").write_text('[embed]\nmodel = "from-workspace"\n')
    monkeypatch.setenv("AUTOALIGN_CONFIG", str(user))
    settings = load_settings(workspace, env={"AUTOALIGN_WEB__PORT": "9100"})
    assert settings.embed.backend == "openai"
    assert settings.embed.model == "from-workspace"
    assert settings.web.port == 9100
    assert settings.search.rrf_k == 10


def test_invalid_files_and_values_are_clear_errors(tmp_path, monkeypatch):
    broken = tmp_path / "broken.toml"
    broken.write_text("[embed\nbackend = ")
    monkeypatch.setenv("AUTOALIGN_CONFIG", str(broken))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()
    monkeypatch.delenv("AUTOALIGN_CONFIG")
    with pytest.raises(ConfigError, match="web.port"):
        load_settings(env={"AUTOALIGN_WEB__PORT": "not-a-port"})
    with pytest.raises(ConfigError, match="embed.colour"):
        load_settings(env={"AUTOALIGN_EMBED__COLOUR": "blue"})


def test_secrets_are_read_from_the_named_variable_only(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-secret")
    settings = load_settings(env={"AUTOALIGN_EMBED__API_KEY_ENV": "MY_KEY"})
    assert settings.secret(settings.embed.api_key_env) == "sk-secret"
    assert "sk-secret" not in settings.model_dump_json()


def test_workspace_refuses_a_file_in_place_of_its_folder(tmp_path):
    target = tmp_path / "not-a-folder"
    target.write_text("x")

    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace.open(target)


def test_a_corrupt_database_is_reported_not_overwritten(tmp_path):
    (tmp_path / "autoalign.db").write_bytes(b"\x00garbage" * 600)
    with pytest.raises(WorkspaceError, match="not a usable database"):
        Workspace.open(tmp_path)
    assert (tmp_path / "autoalign.db").read_bytes() == b"\x00garbage" * 600


def test_a_workspace_from_a_newer_version_is_refused_untouched(tmp_path):
    Workspace.open(tmp_path).close()
    db = sqlite3.connect(tmp_path / "autoalign.db")
    db.execute("INSERT INTO schema_migrations(package, version, name) VALUES ('autoalign.loom', 999, '999_future.sql')")
    db.commit()
    db.close()
    before = (tmp_path / "autoalign.db").read_bytes()
    with pytest.raises(WorkspaceError, match=r"written by a newer autoalign \(autoalign.loom migration 999_future.sql"):
        Workspace.open(tmp_path)
    assert (tmp_path / "autoalign.db").read_bytes() == before
    command = [sys.executable, "-m", "autoalign", "--workspace", str(tmp_path), "loom", "list"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "upgrade autoalign" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert (tmp_path / "autoalign.db").read_bytes() == before
