"""A lock between the processes of one workspace, for writers that SQLite does not serialize.

SQLite serializes writes to the database by itself. Files beside it do not: tantivy lets one
process at a time hold an index's writer and fails the next with ``LockBusy``. A writer takes
:func:`exclusive` first, so a second process (the CLI while the web app uploads, or two
``library add`` runs) waits its turn, says that it waits, and gives up with a :class:`BusyError`
that names the holder, never with a traceback.

The lock is an OS file lock (``filelock``): the kernel lets go of it when its process ends, so a
writer killed with ``kill -9`` leaves nothing to clean up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from autoalign.errors import BusyError


@contextmanager
def exclusive(
    path: Path,
    *,
    what: str,
    wait_s: float,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the lock file ``path`` for the block, waiting up to ``wait_s`` seconds for another holder.

    ``what`` names the guarded thing in messages ("the library's search index"); ``on_wait`` hears
    once, before the wait, who holds it.
    """
    lock = FileLock(path, is_singleton=False)
    owner = path.with_name(path.name + ".owner")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _holder(owner)
        if on_wait is not None:
            on_wait(f"{what} is being written by {holder}; waiting up to {wait_s:g} s for it to finish")
        try:
            lock.acquire(timeout=wait_s)
        except Timeout:
            raise BusyError(
                f"{what} is being written by {holder}; gave up after {wait_s:g} s."
                " Nothing was changed: try again when it has finished."
            ) from None
    try:
        owner.write_text(f"{os.getpid()}\n{_command()}\n", encoding="utf-8")
        yield
    finally:
        lock.release()


def _command() -> str:
    """This process's command line as the user typed it (``autoalign library add papers/``), shortened."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program == "__main__.py":  # python -m autoalign
        program = "autoalign"
    line = " ".join([program, *sys.argv[1:]])
    return line if len(line) <= 120 else line[:119] + "…"


def _holder(owner: Path) -> str:
    """The process that wrote the owner file last: the holder, unless it has just taken the lock."""
    try:
        pid, command = owner.read_text(encoding="utf-8").splitlines()[:2]
    except (OSError, ValueError):
        return "another process"
    return f"another process (pid {pid}: {command})"
