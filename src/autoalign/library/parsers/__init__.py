"""Parsers: turn input files into :class:`SourceDocument` records, whatever their format.

:func:`iter_path` is the one entry point. It never raises for a bad file: everything that cannot be
read becomes a :class:`ParseIssue` in the stream, so one broken file (or line) never stops an ingest
of thousands. Only a path that does not exist at all is an error, since that is a typo to fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from autoalign.errors import AutoalignError
from autoalign.library.parsers import ard, html, markdown, pdf
from autoalign.library.records import ParseIssue, SourceDocument

__all__ = ["SUPPORTED_SUFFIXES", "iter_files", "iter_path"]

#: Formats with one document a file, by suffix.
_DOCUMENT_PARSERS: dict[str, Callable[[Path], SourceDocument | ParseIssue]] = {
    ".html": html.parse,
    ".htm": html.parse,
    ".md": markdown.parse,
    ".markdown": markdown.parse,
    ".txt": markdown.parse,
    ".pdf": pdf.parse,
}

#: Formats with one document a line.
_RECORD_SUFFIXES = (".jsonl", ".jsonl.gz")

SUPPORTED_SUFFIXES: tuple[str, ...] = (*_RECORD_SUFFIXES, *_DOCUMENT_PARSERS)


def iter_path(path: Path) -> Iterator[SourceDocument | ParseIssue]:
    """Parse a file, or every supported file under a folder, in a stable order.

    Inside a folder, hidden files and folders are skipped and files of other types are passed over
    silently (a folder of papers often holds images too); a file named explicitly with an unsupported
    suffix is reported as an issue instead.

    Raises:
        AutoalignError: ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        if path.is_symlink():  # found in a folder: the rest of the folder still goes in
            yield ParseIssue(str(path), "a symbolic link to nothing (or to itself); skipped")
            return
        raise AutoalignError(f"{path}: no such file or folder")
    if path.is_dir():
        for file in iter_files(path):
            yield from _parse_file(file)
    elif not path.is_file():
        yield ParseIssue(str(path), "not a regular file")
    elif _suffix(path) in SUPPORTED_SUFFIXES:
        yield from _parse_file(path)
    else:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        yield ParseIssue(str(path), f"unsupported file type (supported: {supported})")


def iter_files(folder: Path) -> Iterator[Path]:
    """Supported, non-hidden files under ``folder``, sorted, without following folder symlinks."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            file = Path(root, name)
            if not name.startswith(".") and _suffix(file) in SUPPORTED_SUFFIXES:
                yield file


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".jsonl.gz" if name.endswith(".jsonl.gz") else path.suffix.lower()


def _parse_file(path: Path) -> Iterator[SourceDocument | ParseIssue]:
    suffix = _suffix(path)
    try:
        if suffix in _RECORD_SUFFIXES:
            yield from ard.parse(path)
        else:
            yield _DOCUMENT_PARSERS[suffix](path)
    except OSError as exc:
        yield ParseIssue(str(path), f"cannot read file: {exc.strerror or exc}")
