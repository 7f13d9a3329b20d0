"""``autoalign serve``: the web app."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from autoalign.cli import State


def serve(
    host: Annotated[
        Optional[str], typer.Option(help="Interface to bind (default 127.0.0.1; others need a token).")
    ] = None,
    port: Annotated[Optional[int], typer.Option(min=1, max=65535, help="Port (default from config, 8321).")] = None,
) -> None:
    """Start the workbench's web app."""
    from autoalign.web.server import run

    run(State.workspace, host=host, port=port)
