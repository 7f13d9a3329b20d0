"""The FastAPI application: routers of each capability, guarded, with user errors as 4xx pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response

from autoalign import __version__
from autoalign.assist import Assistant
from autoalign.errors import AutoalignError
from autoalign.library import Library
from autoalign.loom import Loom
from autoalign.web import routes_assist, routes_discover, routes_jobs, routes_library, routes_loom, security
from autoalign.web.templating import NAV, STATIC_DIR, error_response
from autoalign.web.uploads import RecentUploads

#: The OpenAPI description of the JSON API (for clients and code generators).
OPENAPI_PATH = "/api/openapi.json"


def create_app(library: Library, *, token: str | None = None) -> FastAPI:
    """The web app over ``library``; with ``token``, every request must present it."""
    # The API's description is served (every JSON route names its shape, web/schemas.py), but no
    # generated docs pages: they load scripts from a CDN, which the CSP (and offline use) forbid.
    app = FastAPI(title="autoalign", version=__version__, docs_url=None, redoc_url=None, openapi_url=OPENAPI_PATH)
    app.state.library = library
    app.state.uploads = RecentUploads()
    app.state.loom = Loom(library.workspace)
    app.state.generations = routes_loom.Generations()
    app.state.assistant = Assistant(library)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for routes in (routes_library, routes_loom, routes_discover, routes_assist):
        app.include_router(routes.pages)
        app.include_router(routes.router)
    app.include_router(routes_jobs.router)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(NAV[0].path, status_code=303)

    @app.exception_handler(AutoalignError)
    def user_error(request: Request, exc: AutoalignError) -> Response:
        return error_response(request, exc.http_status, str(exc))

    @app.exception_handler(RequestValidationError)
    def invalid_input(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{err['loc'][-1]}: {err['msg']}" for err in exc.errors())
        return error_response(request, 400, problems)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), headers=exc.headers)

    security.install(app, token)
    return app
