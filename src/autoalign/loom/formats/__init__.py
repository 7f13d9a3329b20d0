"""Loom trees in the files of other Loom tools, and out again as socketteer JSON, markdown or text.

>>> from autoalign.loom import Loom
>>> from autoalign.loom.formats import read_tree_file, write_tree_file
>>> loom = Loom.open("~/alignment")                                    # doctest: +SKIP
>>> trees = [loom.import_data(d) for d in read_tree_file("story.json")]  # doctest: +SKIP
>>> write_tree_file(trees[0].export_data(), "story-out.json", "socketteer")  # doctest: +SKIP

Importers turn parsed JSON into :class:`TreeData` and check all of it first: a bad file raises
:class:`LoomFormatError` and nothing is imported. Formats are told apart by :func:`detect_format`:

- ``exoloom``: an object whose ``tree`` is an object, with ``loomType`` or ``tree.rootNodeId``;
- ``loomsidian``: an object whose ``state`` is an object (a Loomsidian ``data.json``);
- ``socketteer``: an object with ``root``; or a node (an object with ``text``) that has an ``id``;
  or a non-empty list of nodes of which at least one has an ``id``;
- ``simple``: a node, or a non-empty list of nodes, without ids.

Files over :data:`MAX_FILE_BYTES` are refused before they are read, nodes over
:data:`MAX_NODE_CHARS` characters when they are met. Trees of any depth are read and written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from autoalign.loom.formats import exoloom, jsonio, loomsidian, socketteer
from autoalign.loom.formats.checks import MAX_FILE_BYTES, MAX_NODE_CHARS, LoomFormatError
from autoalign.loom.formats.socketteer import to_socketteer
from autoalign.loom.formats.text import to_markdown, to_text
from autoalign.loom.records import TreeData

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NODE_CHARS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "LoomFormatError",
    "detect_format",
    "parse_tree",
    "read_tree_bytes",
    "read_tree_file",
    "render_tree",
    "to_markdown",
    "to_socketteer",
    "to_text",
    "write_tree_file",
]

_READERS: dict[str, Callable[[Any, str], list[TreeData]]] = {
    "socketteer": lambda obj, title: [socketteer.parse(obj, title)],
    "simple": lambda obj, title: [socketteer.parse_simple(obj, title)],
    "loomsidian": lambda obj, title: loomsidian.parse(obj),
    "exoloom": lambda obj, title: [exoloom.parse(obj, title)],
}
_WRITERS: dict[str, Callable[[TreeData, str | None], str]] = {
    "socketteer": lambda data, path_uid: jsonio.dumps(to_socketteer(data)).decode(),
    "markdown": to_markdown,
    "text": to_text,
}
READ_FORMATS = tuple(_READERS)
WRITE_FORMATS = tuple(_WRITERS)

_NOT_A_TREE = (
    'not a Loom tree file: expected a socketteer/loom tree (an object with "root", a node with "text"'
    ' and "children", or a list of nodes), a Loomsidian data.json (an object with "state") or an exoloom'
    ' export (an object with "loomType" and "tree")'
)


def detect_format(obj: Any) -> str:
    """The format of a parsed tree file, one of :data:`READ_FORMATS` (rules in the module docstring)."""
    if isinstance(obj, dict):
        tree = obj.get("tree")
        if isinstance(tree, dict) and ("loomType" in obj or "rootNodeId" in tree):
            return "exoloom"
        if isinstance(obj.get("state"), dict):
            return "loomsidian"
        if "root" in obj:
            return "socketteer"
        if "text" in obj:
            return "socketteer" if "id" in obj else "simple"
    elif isinstance(obj, list) and obj and all(isinstance(node, dict) and "text" in node for node in obj):
        return "socketteer" if any("id" in node for node in obj) else "simple"
    raise LoomFormatError(_NOT_A_TREE)


def parse_tree(obj: Any, format: str = "auto", *, title: str = "") -> list[TreeData]:
    """The trees in a parsed file (several for a Loomsidian file, one note each)."""
    if format == "auto":
        format = detect_format(obj)
    if format not in _READERS:
        raise LoomFormatError(f"unknown tree format {format!r}; known: auto, {', '.join(READ_FORMATS)}")
    return _READERS[format](obj, title)


def read_tree_bytes(data: bytes, *, title: str = "", format: str = "auto") -> list[TreeData]:
    """The trees in the bytes of a file (an upload, say); ``title`` names trees whose format has no title."""
    if len(data) > MAX_FILE_BYTES:
        raise LoomFormatError(_too_big(len(data)))
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data or data.isspace():  # (no stripped copy of a file that may be hundreds of MB)
        raise LoomFormatError("the file is empty")
    try:
        obj = jsonio.loads(data)
    except orjson.JSONDecodeError as exc:
        if "UTF-8" in str(exc):
            raise LoomFormatError(f"not UTF-8 text ({_utf8_problem(data)}), so not a Loom tree file") from None
        raise LoomFormatError(f"not JSON ({exc}), so not a Loom tree file") from None
    except jsonio.RepeatedKeyError as exc:
        raise LoomFormatError(f"{exc}, so one of its values would be lost; a tree file names each key once") from None
    return parse_tree(obj, format, title=title)


def read_tree_file(path: str | Path, format: str = "auto") -> list[TreeData]:
    """The trees in a file; a tree's title is the file's name unless the format has its own.

    Raises:
        LoomFormatError: the file is missing, too big, or not a valid tree file of ``format``.
    """
    path = Path(path).expanduser()
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise LoomFormatError(f"{path}: not a regular file")
        if size > MAX_FILE_BYTES:
            raise LoomFormatError(f"{path}: {_too_big(size)}")
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)  # the file may have grown since it was measured
    except OSError as exc:
        raise LoomFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return read_tree_bytes(data, title=path.stem, format=format)
    except LoomFormatError as exc:
        raise LoomFormatError(f"{path}: {exc}") from None


def render_tree(data: TreeData, format: str, *, path_uid: str | None = None) -> str:
    """The tree in one of :data:`WRITE_FORMATS`; markdown and text can also give one path, to ``path_uid``."""
    if format not in _WRITERS:
        raise LoomFormatError(f"cannot write trees as {format!r}; formats: {', '.join(WRITE_FORMATS)}")
    if path_uid is not None and format == "socketteer":
        raise LoomFormatError("a single path is written as markdown or text; socketteer files hold whole trees")
    return _WRITERS[format](data, path_uid)


def write_tree_file(data: TreeData, path: str | Path, format: str, *, path_uid: str | None = None) -> None:
    """Write :func:`render_tree`'s text to ``path`` whole or not at all: a crash mid-write never
    leaves half a file in place of the one that was there."""
    content = render_tree(data, format, path_uid=path_uid).encode()
    path = Path(path).expanduser()
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise LoomFormatError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def _too_big(size: int) -> str:
    return f"the file is {size / 2**20:,.0f} MiB; tree files are limited to {MAX_FILE_BYTES // 2**20:,} MiB"


def _utf8_problem(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"byte {exc.start} is {data[exc.start]:#04x}"
    return "a character is encoded as a UTF-16 surrogate"
