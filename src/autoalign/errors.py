"""Errors that reach the user, in one tree.

Every capability raises an :class:`AutoalignError` subclass for conditions the user can fix: a bad
path, a malformed file, an unreachable server, a workspace another process is writing. The CLI
prints the message and exits non-zero; the web app answers with the error's :attr:`http_status`.
Anything else is a bug and keeps its traceback (the web app answers 500).

The tree, with what to do about each and the HTTP status the web app answers::

    AutoalignError            400  fix the request as the message says
    ├── InputError            400  a file, table or value cannot be used as given: fix it
    │   ├── DataError              a table the discovery tools cannot work on (also a ValueError)
    │   ├── StreamsError           a table of sensor streams that cannot be analysed
    │   ├── DynamicsError          a recording that cannot be analysed as given
    │   ├── UnitsError             a unit string, units file or units table
    │   └── LoomFormatError        a tree file that cannot be imported or written
    ├── NotFoundError         404  the document, tree, node or run named does not exist
    ├── BusyError             409  another process holds what this needs: try again when it is done
    ├── NoLawFound            422  the data are valid but hold no law the search could find
    ├── ModelError            502  a model could not be loaded, reached, or answered unusably
    ├── ConfigError           503  the configuration is invalid: fix the file or variable named
    └── WorkspaceError        503  the workspace folder or database cannot be used

Each class lives here so that the tree is read in one place; the capabilities import what they raise.
"""

from __future__ import annotations


class AutoalignError(Exception):
    """A problem the user can act on; the message says what happened and what to do."""

    #: The status the web app answers with when this error ends a request.
    http_status: int = 400


class InputError(AutoalignError):
    """A file, table or value cannot be used as given; the message names it and what is wrong."""


class DataError(InputError, ValueError):
    """A table the discovery tools cannot work on, with the reason. Also a ``ValueError``, which
    is what scikit-learn and numpy callers catch for bad input."""


class StreamsError(InputError):
    """The table of streams cannot be analysed as given."""


class DynamicsError(InputError):
    """The recording cannot be analysed as given."""


class UnitsError(InputError):
    """A unit string, a units file or a units table cannot be used."""


class LoomFormatError(InputError):
    """A tree file cannot be imported (or a tree cannot be written in the format asked for)."""


class NotFoundError(AutoalignError):
    """A document, chunk or other named object does not exist."""

    http_status = 404


class BusyError(AutoalignError):
    """Another process holds what this operation needs (the lexical index's writer, say) and did
    not let go in the time allowed; nothing was changed, so trying again later is safe."""

    http_status = 409


class NoLawFound(AutoalignError):
    """The data holds no law the search could find (a target that is noise, for one)."""

    http_status = 422


class ModelError(AutoalignError):
    """A model could not be loaded or reached, or answered with something unusable."""

    http_status = 502


class ConfigError(AutoalignError):
    """The configuration file or an environment variable is invalid."""

    http_status = 503


class WorkspaceError(AutoalignError):
    """The workspace folder or its database cannot be used."""

    http_status = 503


def require_text(text: str, what: str, limit: int, *, empty: str, too_long: str = "") -> str:
    """``text`` stripped, or an :class:`InputError` saying that it is empty (and, in ``empty``, what
    to write) or how far over ``limit`` it runs (and, in ``too_long``, where long texts go). Every
    query, question and draft a person types passes here, so each is refused in the same words."""
    text = text.strip()
    if not text:
        raise InputError(f"the {what} is empty: {empty}")
    if len(text) > limit:
        raise InputError(f"the {what} is {len(text):,} characters long; the limit is {limit:,}. {too_long}".rstrip())
    return text
