"""The workbench's web app: server-rendered pages and a JSON API over the capabilities' Python API.

Pages are rendered on the server with Jinja (autoescaped), scripts are small static files, and
nothing is fetched from the network, so the app works offline and under a strict CSP.
"""

from autoalign.web.app import create_app

__all__ = ["create_app"]
