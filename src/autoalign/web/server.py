"""``autoalign serve``: open the workspace's library and serve the web app with uvicorn."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote_plus

import uvicorn

from autoalign.errors import AutoalignError
from autoalign.library import Library
from autoalign.web.app import create_app
from autoalign.web.security import TOKEN_PARAM, is_loopback

#: A query parameter as the log line holds it: still percent-encoded, so ``?%74oken=`` is the token too.
_QUERY_PARAMETER = re.compile(r"([?&])([^=&\s]*)=([^&\s]*)")
#: Shorter tokens can be guessed by whoever reaches the port; 16 URL-safe characters are 96 bits.
MIN_TOKEN_LENGTH = 16


def _redact(match: re.Match[str]) -> str:
    separator, name, value = match.groups()
    return f"{separator}{name}=[redacted]" if unquote_plus(name) == TOKEN_PARAM else match.group(0)


class RedactToken(logging.Filter):
    """Blank the token's value in uvicorn's access log lines, however its name is encoded, so the
    log never holds it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY_PARAMETER.sub(_redact, arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def access_token(host: str, token_env: str, secret: str | None) -> str | None:
    """The token the app will require: the environment's if set; refusal if off loopback without
    one, or with one short enough to guess."""
    make_one = f"`export {token_env}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')`"
    if secret is None and not is_loopback(host):
        raise AutoalignError(
            f"serving on {host} makes the library reachable from other machines, so it needs an access"
            f" token: set one with {make_one} and start again, or serve on 127.0.0.1"
        )
    if secret is not None and len(secret) < MIN_TOKEN_LENGTH:
        raise AutoalignError(
            f"${token_env} has {len(secret)} characters; a token needs at least {MIN_TOKEN_LENGTH} so that"
            f" it cannot be guessed: make one with {make_one}"
        )
    return secret


def run(workspace_path: str | Path | None, host: str | None = None, port: int | None = None) -> None:
    """Serve the library of ``workspace_path`` until interrupted; prints the URL to open."""
    library = Library.open(workspace_path)
    try:
        settings = library.settings.web
        host, port = host or settings.host, port or settings.port
        token = access_token(host, settings.token_env, library.settings.secret(settings.token_env))
        config = uvicorn.Config(create_app(library, token=token), host=host, port=port)
        logging.getLogger("uvicorn.access").addFilter(RedactToken())
        shown = f"[{host}]" if ":" in host else host
        hint = f"  (add ?{TOKEN_PARAM}=<${settings.token_env}> once to sign in)" if token else ""
        address = f"http://{shown}:{port}"
        library.workspace.record_web_address(address)
        print(f"autoalign is serving {library.workspace.path} at {address}/{hint}", flush=True)
        uvicorn.Server(config).run()
    finally:
        library.workspace.record_web_address(None)
        library.close()
