"""Errors that reach the user.

Every capability raises :class:`AutoalignError` (or a subclass) for conditions the user can fix:
a bad path, a malformed file, an unreachable server. The CLI prints the message and exits non-zero;
the web app turns it into a 4xx response. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AutoalignError(Exception):
    """A problem the user can act on; the message says what happened and what to do."""


class ConfigError(AutoalignError):
    """The configuration file or an environment variable is invalid."""


class WorkspaceError(AutoalignError):
    """The workspace folder or its database cannot be used."""


class NotFoundError(AutoalignError):
    """A document, chunk or other named object does not exist."""
