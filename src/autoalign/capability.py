"""The one shape every capability has: opened on a workspace, a context manager, closed once.

>>> with Loom.open("~/alignment") as loom:        # doctest: +SKIP
...     loom.new_tree("The hardest part of alignment is")

``Cls.open(where)`` takes a folder, a :class:`Workspace` or None (the default workspace); a
capability closes what it opened itself and leaves alone what it was given, so the web app can hand
one workspace to all of them and close it once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from autoalign.workspace import Workspace


class Capability:
    """Base of Library, Loom, Assistant and Discover."""

    def __init__(self, workspace: Workspace, *, owns_workspace: bool = False) -> None:
        self.workspace = workspace
        self._owns_workspace = owns_workspace

    @staticmethod
    def _workspace(where: Workspace | str | Path | None) -> tuple[Workspace, bool]:
        """The workspace ``where`` names, and whether it was opened here (and so is ours to close)."""
        if isinstance(where, Workspace):
            return where, False
        return Workspace.open(where), True

    def close(self) -> None:
        """Let go of what this capability opened; using it afterwards is an error."""
        if self._owns_workspace:
            self.workspace.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
