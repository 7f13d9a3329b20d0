"""The Jinja environment shared by every page, and the navigation that the layout shows."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, JSONResponse, Response

from autoalign import __version__
from autoalign.web.text import link_url, render_blocks
from autoalign.web.urls import reader_path

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    path: str


#: One entry per capability the web app offers; a new capability adds its line here.
NAV: tuple[NavItem, ...] = (
    NavItem("Library", "/library"),
    NavItem("Assistants", "/assist"),
    NavItem("Loom", "/loom"),
    NavItem("Discover", "/discover"),
)


def plain_text_url(uid: str) -> str:
    return "/library/text/" + quote(uid, safe="")


def related_url(uid: str) -> str:
    return "/api/library/related/" + quote(uid, safe="")


def plural(n: int, noun: str) -> str:
    """``1 document``, ``1,204 documents``: a count in a sentence reads wrong with a fixed ending."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(
    nav=NAV,
    version=__version__,
    reader_url=reader_path,
    plain_text_url=plain_text_url,
    related_url=related_url,
    link_url=link_url,
)
templates.env.filters.update(blocks=render_blocks, count="{:,}".format, plural=plural)


def page(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render ``templates/name`` with the request (the layout needs it for the active nav entry)."""
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)


def error_response(
    request: Request, status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An error as ``{"error": message}`` for the JSON API, else as a page in the layout."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code, headers=headers)
    context = {"status": status_code, "title": HTTPStatus(status_code).phrase, "message": message}
    response = page(request, "error.html", context, status_code)
    response.headers.update(headers or {})
    return response


def when(timestamp: float) -> str:
    """A stored time as the pages show it: local, to the minute."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
