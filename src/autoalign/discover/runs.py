"""Discover runs: long searches done by a thread of their own, stored in the workspace as they go.

A run is a row of ``discover_runs``: its parameters, its progress messages appended as they come,
then its result (JSON) or its error. Storing as it goes is what lets a page reload, or a visit
hours later, find the run; a run whose process died before it ended reads ``interrupted``.

A run exists from its first progress message on. What the work raises before that is a refusal
of its input (a table with text in it, a target that is not a column, units that do not fit) and
is raised to the caller of :func:`start` instead of being stored: the searches check their input
first, so a form can show those errors at once, as errors of the form.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson

from autoalign.errors import AutoalignError, NotFoundError
from autoalign.processes import process_alive
from autoalign.workspace import Workspace, inserted_id

log = logging.getLogger(__name__)

Kind = Literal["fit", "streams"]
Status = Literal["running", "done", "failed", "interrupted"]
Progress = Callable[[str], None]
#: The work of a run: given the progress callback, returns the result to store (JSON-able).
Work = Callable[[Progress], dict[str, Any]]

T = TypeVar("T")

UNEXPECTED = "the run failed unexpectedly; the server log has the details"

#: Runs that a thread of this process is doing, as (workspace folder, run id).
_active: set[tuple[Path, int]] = set()
_active_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    kind: Kind
    status: Status
    created_at: float
    finished_at: float | None
    params: dict[str, Any]
    progress: list[str]
    result: dict[str, Any] | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "params": self.params,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
        }


def start(workspace: Workspace, kind: Kind, params: dict[str, Any], work: Work) -> Run:
    """Do ``work`` in a thread of its own; returns the run once it reported its first progress (or
    ended), so that a refusal of its input is raised here rather than stored (see the module's doc)."""
    handoff: queue.SimpleQueue[int | Exception] = queue.SimpleQueue()
    thread = threading.Thread(
        target=_drive, args=(workspace, kind, params, work, handoff), name=f"discover-{kind}", daemon=True
    )
    thread.start()
    outcome = handoff.get()
    if isinstance(outcome, Exception):
        raise outcome
    return get(workspace, outcome)


def run_here(
    workspace: Workspace, kind: Kind, params: dict[str, Any], work: Callable[[Progress], T], record: Callable[[T], dict]
) -> tuple[Run, T]:
    """Do ``work`` in this thread (the CLI's way), stored as :func:`start` stores it; returns the
    stored run and what the work returned, for a caller that shows more than the stored record.

    Raises what the work raised (a failure stays stored as the run's error, as from the page).
    """
    kept: list[T] = []

    def stored(progress: Progress) -> dict[str, Any]:
        kept.append(work(progress))
        return record(kept[0])

    handoff: queue.SimpleQueue[int | Exception] = queue.SimpleQueue()
    _drive(workspace, kind, params, stored, handoff, reraise=True)
    outcome = handoff.get()
    if isinstance(outcome, Exception):
        raise outcome
    return get(workspace, outcome), kept[0]


def running_here(workspace: Workspace) -> int:
    """Runs of ``workspace`` that threads of this process are doing now."""
    with _active_lock:
        return sum(folder == workspace.path for folder, _ in _active)


def get(workspace: Workspace, run_id: int) -> Run:
    row = workspace.db.execute(f"SELECT {_COLUMNS} FROM discover_runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no discover run {run_id}")
    return _run(workspace, row)


def recent(workspace: Workspace, limit: int = 50) -> list[Run]:
    """The latest runs, newest first."""
    rows = workspace.db.execute(f"SELECT {_COLUMNS} FROM discover_runs ORDER BY id DESC LIMIT ?", (limit,))
    return [_run(workspace, row) for row in rows.fetchall()]


# -- the thread --------------------------------------------------------------------------------------
def _drive(
    workspace: Workspace,
    kind: Kind,
    params: dict[str, Any],
    work: Work,
    handoff: queue.SimpleQueue[int | Exception],
    *,
    reraise: bool = False,
) -> None:
    """Do the work, storing the run from its first message on; the caller of :func:`start` waits on
    ``handoff`` for the run's id, or for what the work raised before the run existed. A failure of
    a stored run is stored; with ``reraise`` (a caller in this thread) it is raised too."""
    run_id: int | None = None

    def say(message: str | None) -> None:
        nonlocal run_id
        if run_id is not None:
            # The work reports strings; only the closing say(None) passes None, and before the run exists.
            assert message is not None
            _append(workspace, run_id, message)
            return
        run_id = _insert(workspace, kind, params, message)
        handoff.put(run_id)

    try:
        result = work(say)
        if run_id is None:  # it ended without a word: it exists from now on
            say(None)
    except Exception as exc:
        if run_id is None:
            handoff.put(exc)
        elif isinstance(exc, AutoalignError):
            _end(workspace, run_id, "failed", error=str(exc))
        else:
            if not reraise:
                log.exception("discover run %s failed", run_id)
            _end(workspace, run_id, "failed", error=UNEXPECTED)
        if reraise:
            raise
        return
    assert run_id is not None  # say() has stored the run by now: the work's first message, or say(None) above
    _end(workspace, run_id, "done", result=result)


def _insert(workspace: Workspace, kind: Kind, params: dict[str, Any], message: str | None) -> int:
    """The new run's row, entered in the active set in the same step, so that no reader sees it
    running without a thread doing it (which reads as interrupted)."""
    progress = [message] if message is not None else []
    with _active_lock, workspace.transaction() as tx:
        cursor = tx.execute(
            "INSERT INTO discover_runs(kind, pid, created_at, params, progress) VALUES (?, ?, ?, ?, ?)",
            (kind, os.getpid(), time.time(), orjson.dumps(params).decode(), orjson.dumps(progress).decode()),
        )
        run_id = inserted_id(cursor)
        _active.add((workspace.path, run_id))
    return run_id


def _append(workspace: Workspace, run_id: int, message: str) -> None:
    with workspace.transaction() as tx:
        tx.execute(
            "UPDATE discover_runs SET progress = json_insert(progress, '$[#]', ?) WHERE id = ?", (message, run_id)
        )


def _end(
    workspace: Workspace, run_id: int, status: Status, *, result: dict[str, Any] | None = None, error: str | None = None
) -> None:
    """Store how the run ended; it leaves the active set only after, so it never reads as interrupted."""
    stored = orjson.dumps(result).decode() if result is not None else None
    try:
        with workspace.transaction() as tx:
            tx.execute(
                "UPDATE discover_runs SET status = ?, finished_at = ?, result = ?, error = ? WHERE id = ?",
                (status, time.time(), stored, error, run_id),
            )
    finally:
        with _active_lock:
            _active.discard((workspace.path, run_id))


# -- reading -----------------------------------------------------------------------------------------
_COLUMNS = "id, kind, status, pid, created_at, finished_at, params, progress, result, error"


def _run(workspace: Workspace, row: tuple) -> Run:
    run_id, kind, status, pid, created_at, finished_at, params, progress, result, error = row
    if status == "running" and not _still_running(workspace, run_id, pid):
        status = "interrupted"
    return Run(
        id=run_id,
        kind=kind,
        status=status,
        created_at=created_at,
        finished_at=finished_at,
        params=orjson.loads(params),
        progress=orjson.loads(progress),
        result=orjson.loads(result) if result is not None else None,
        error=error,
    )


def _still_running(workspace: Workspace, run_id: int, pid: int) -> bool:
    """Whether a thread still does the run: in this process, one of its threads must hold it (a
    restarted server often gets its predecessor's pid back); elsewhere its process must be alive."""
    if pid == os.getpid():
        with _active_lock:
            return (workspace.path, run_id) in _active
    return process_alive(pid)
