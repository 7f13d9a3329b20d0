"""What every request passes through: the access token, Host and Origin checks, security headers.

Without a token the server only answers requests addressed to a loopback name, so a web page that
rebinds its own DNS name to 127.0.0.1 cannot read the library. With a token (required off
loopback) each request carries it as ``Authorization: Bearer``, or opens one URL with ``?token=``,
which trades it for an HttpOnly, SameSite=Strict cookie and redirects to the same URL without it,
so the token does not linger in the address bar or history.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response

from autoalign.web.templating import error_response

COOKIE = "autoalign_session"
TOKEN_PARAM = "token"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_log = logging.getLogger("autoalign.web")


def session_cookie(token: str) -> str:
    """The cookie value: derived from the token, so the browser never stores the token itself."""
    return hmac.new(token.encode(), b"autoalign web session", hashlib.sha256).hexdigest()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, IPv6 with or without brackets) is this machine only."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(host_header: str) -> str:
    """``example.org:8321`` -> ``example.org``; ``[::1]:8321`` -> ``::1``."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0]


def _matches(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _without_token(request: Request) -> str:
    """The request's own path and query, minus the token, as a same-origin redirect target."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_PARAM])
    return "/" + request.url.path.lstrip("/") + (f"?{query}" if query else "")


def _cross_site(request: Request, host: str) -> bool:
    """Whether another site sent the request. ``Sec-Fetch-Site`` first: under
    ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` even for our own forms."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc != host


def _check(request: Request, token: str | None) -> Response | None:
    """The response that refuses ``request``, or None to let it through."""
    host = request.headers.get("host", "")
    if token is None and not is_loopback(_hostname(host)):
        return error_response(request, 400, "this server answers only on localhost; open it as http://127.0.0.1")
    if request.method not in _SAFE_METHODS and _cross_site(request, host):
        return error_response(request, 403, "cross-site request refused")
    if token is None:
        return None
    given = request.query_params.get(TOKEN_PARAM)
    if given is not None and _matches(given, token):
        response = RedirectResponse(_without_token(request), status_code=303)
        response.set_cookie(COOKIE, session_cookie(token), httponly=True, samesite="strict", path="/")
        return response
    bearer = _bearer(request)
    if bearer is not None and _matches(bearer, token):
        return None
    if _matches(request.cookies.get(COOKIE, ""), session_cookie(token)):
        return None
    return error_response(
        request,
        401,
        "this workbench needs its access token: open it once with ?token=<the token> in the URL,"
        " or send the header Authorization: Bearer <the token>",
        headers={"WWW-Authenticate": "Bearer"},
    )


def install(app: FastAPI, token: str | None) -> None:
    """Guard every request of ``app`` and add the security headers to every response."""

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        try:
            response = _check(request, token) or await call_next(request)
        except Exception:
            # A bug. Answered here rather than by Starlette's last-resort handler, so that the 500
            # page carries the same headers as every other; the traceback goes to the log only.
            _log.exception("%s %s failed", request.method, request.url.path)
            response = error_response(request, 500, "something went wrong in the workbench; its log has the details")
        response.headers.update(SECURITY_HEADERS)
        return response
