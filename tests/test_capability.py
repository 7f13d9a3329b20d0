"""Every capability has one shape: opened on a workspace, used as a context manager, closing what
it opened and leaving alone what it was given."""

from __future__ import annotations

import pytest

from autoalign.assist import Assistant
from autoalign.capability import Capability
from autoalign.errors import WorkspaceError
from autoalign.library import Library
from autoalign.loom import Loom
from autoalign.workspace import Workspace

CAPABILITIES = [Library, Loom, Assistant]


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.__name__)
def test_opened_on_a_folder_it_closes_its_workspace_on_leaving_the_block(capability, tmp_path):
    with capability.open(tmp_path / "ws") as opened:
        assert isinstance(opened, Capability)
        assert opened.workspace.path == (tmp_path / "ws").resolve()
        opened.workspace.get_state("anything")
    with pytest.raises(WorkspaceError, match="is closed"):
        opened.workspace.get_state("anything")


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.__name__)
def test_given_a_workspace_it_leaves_it_open_for_the_others(capability, tmp_path):
    workspace = Workspace.open(tmp_path / "ws")
    with capability.open(workspace) as opened:
        assert opened.workspace is workspace
    workspace.set_state("still", "open")
    assert workspace.get_state("still") == "open"
    workspace.close()


def test_an_assistant_closes_the_library_it_opened_but_not_one_it_was_given(tmp_path):
    with Assistant.open(tmp_path / "a") as assistant:
        library = assistant.library
    with pytest.raises(WorkspaceError, match="is closed"):
        library.stats()
    with Library.open(tmp_path / "b") as given:
        with Assistant(given):
            pass
        assert given.stats().documents == 0
