"""The workbench's web app: server-rendered pages and a JSON API over the capabilities' Python API.

Pages are rendered on the server with Jinja (autoescaped), scripts are small static files, and
nothing is fetched from the network, so the app works offline and under a strict CSP.

``create_app`` is imported on first use, so that the CLI can use :mod:`autoalign.web.urls`
without loading FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autoalign.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from autoalign.web.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
