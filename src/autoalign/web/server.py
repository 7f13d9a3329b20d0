"""``autoalign serve``: open the workspace's library and serve the web app with uvicorn."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import uvicorn

from autoalign.errors import AutoalignError
from autoalign.library import Library
from autoalign.web.app import create_app
from autoalign.web.security import TOKEN_PARAM, is_loopback

_TOKEN_IN_QUERY = re.compile(rf"([?&]{TOKEN_PARAM}=)[^&\s]*")


class RedactToken(logging.Filter):
    """Blank the ``?token=`` value in uvicorn's access log lines, so the log never holds it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def access_token(host: str, token_env: str, secret: str | None) -> str | None:
    """The token the app will require: the environment's if set; refusal if off loopback without one."""
    if secret is None and not is_loopback(host):
        raise AutoalignError(
            f"serving on {host} makes the library reachable from other machines, so it needs an access"
            f" token: set one with `export {token_env}=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')`"
            " and start again, or serve on 127.0.0.1"
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
        print(f"autoalign is serving {library.workspace.path} at http://{shown}:{port}/{hint}", flush=True)
        uvicorn.Server(config).run()
    finally:
        library.close()
