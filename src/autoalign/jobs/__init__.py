"""Long jobs of every capability, in one table: progress, cancel, interrupted after a crash, resume.

A job is a row of ``jobs`` written by whoever does the work (a thread of the web app, the CLI in
the foreground, a background process): :func:`start` when it begins, :func:`report` as it goes,
:func:`finish`, :func:`fail` or (when asked to stop) :func:`stopped` when it ends. Readers (the
CLI's progress and status, the pages' polling) read the same rows with :func:`get`,
:func:`latest` and :func:`recent`.

Interrupted: a job still marked running whose doer is gone reads ``interrupted``. The doer is
its process; within this process it is a thread that holds the job (a restarted server often
gets its predecessor's pid back, so the pid alone would say "running" for ever). Resuming is
the capability's: re-running an embedding embeds what is still missing.

Cancel: :func:`cancel` marks the row; the doer looks with :func:`cancelled` between its steps.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from autoalign.errors import BusyError, NotFoundError
from autoalign.processes import process_alive
from autoalign.workspace import Workspace, inserted_id

State = Literal["running", "done", "failed", "cancelled", "interrupted"]

#: Jobs that this process does, as (workspace folder, job id).
_held: set[tuple[Path, int]] = set()
_held_lock = threading.RLock()  # start() reads jobs (which takes it) while holding it

_COLUMNS = (
    "id, kind, state, pid, params, done, total, progress, result, error, cancel, created_at, updated_at, finished_at"
)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    state: State
    pid: int | None
    params: dict[str, Any]
    done: int
    total: int
    progress: list[str]
    result: Any
    error: str | None
    cancel_requested: bool
    created_at: float
    updated_at: float
    finished_at: float | None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def message(self) -> str:
        """What to show beside the job: why it failed, else its latest progress message."""
        return self.error or (self.progress[-1] if self.progress else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "pid": self.pid,
            "params": self.params,
            "done": self.done,
            "total": self.total,
            "fraction": self.fraction,
            "progress": self.progress,
            "message": self.message,
            "result": self.result,
            "error": self.error,
            "cancel_requested": self.cancel_requested,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
        }


# -- doing a job ------------------------------------------------------------------------------------
def start(
    workspace: Workspace,
    kind: str,
    *,
    params: dict[str, Any] | None = None,
    total: int = 0,
    message: str | None = None,
    pid: int | None = None,
    one_at_a_time: bool = False,
) -> int:
    """Record a running job done by process ``pid`` (this one by default); returns its id.

    With ``one_at_a_time``, a job of the same kind that still runs is refused (``BusyError``),
    unless it was recorded for this very process by the parent that started it, which this
    process then takes over (see :func:`autoalign.library.embedding.start_background`).
    """
    pid = pid or os.getpid()
    now = time.time()
    with _held_lock, workspace.transaction() as tx:
        # Looked up inside the write transaction, so two processes cannot both find none running.
        current = latest(workspace, kind) if one_at_a_time else None
        if current is not None and current.state == "running":
            if current.pid != pid:
                raise BusyError(
                    f"a {kind} job is already running (process {current.pid}, {current.done:,} of "
                    f"{current.total:,}); wait for it or cancel it first"
                )
            tx.execute("UPDATE jobs SET total = max(total, ?), updated_at = ? WHERE id = ?", (total, now, current.id))
            job_id = current.id
        else:
            cursor = tx.execute(
                "INSERT INTO jobs(kind, pid, params, total, progress, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, pid, _json(params or {}), total, _json([message] if message else []), now, now),
            )
            job_id = inserted_id(cursor)
        if pid == os.getpid():
            _held.add((workspace.path, job_id))
    return job_id


def report(
    workspace: Workspace, job_id: int, *, message: str | None = None, done: int | None = None, total: int | None = None
) -> None:
    """Progress of a running job: a message appended, and/or the count of steps done."""
    with workspace.transaction() as tx:
        if message is not None:
            tx.execute("UPDATE jobs SET progress = json_insert(progress, '$[#]', ?) WHERE id = ?", (message, job_id))
        tx.execute(
            "UPDATE jobs SET done = coalesce(?, done), total = coalesce(?, total), updated_at = ? WHERE id = ?",
            (done, total, time.time(), job_id),
        )


def finish(workspace: Workspace, job_id: int, *, result: Any = None) -> None:
    _end(workspace, job_id, "done", result=result)


def fail(workspace: Workspace, job_id: int, error: str) -> None:
    _end(workspace, job_id, "failed", error=error[:2000])


def stopped(workspace: Workspace, job_id: int) -> None:
    """The job stopped because it was asked to (:func:`cancel`)."""
    _end(workspace, job_id, "cancelled")


def cancelled(workspace: Workspace, job_id: int) -> bool:
    """Whether the job has been asked to stop; the doer asks between its steps."""
    row = workspace.db.execute("SELECT cancel FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return bool(row and row[0])


def cancel(workspace: Workspace, job_id: int) -> Job:
    """Ask a running job to stop (its doer stops at its next step); returns the job as it is now."""
    job = get(workspace, job_id)
    if job.state == "running":
        with workspace.transaction() as tx:
            tx.execute("UPDATE jobs SET cancel = 1 WHERE id = ?", (job_id,))
        return get(workspace, job_id)
    return job


def held_here(workspace: Workspace, kind_prefix: str = "") -> int:
    """Jobs of ``workspace`` that this process is doing now (of kinds starting with ``kind_prefix``)."""
    with _held_lock:
        held = [job_id for folder, job_id in _held if folder == workspace.path]
    if not held:
        return 0
    marks = ",".join("?" * len(held))
    query = f"SELECT count(*) FROM jobs WHERE id IN ({marks}) AND kind LIKE ? || '%'"
    return workspace.db.execute(query, (*held, kind_prefix)).fetchone()[0]


# -- reading ----------------------------------------------------------------------------------------
def get(workspace: Workspace, job_id: int, *, what: str = "job") -> Job:
    row = workspace.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no {what} {job_id}")
    return _job(workspace, row)


def latest(workspace: Workspace, kind: str) -> Job | None:
    """The most recent job of ``kind``."""
    row = workspace.db.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,)
    ).fetchone()
    return _job(workspace, row) if row else None


def recent(workspace: Workspace, *, kind_prefix: str = "", limit: int = 50) -> list[Job]:
    """The latest jobs (of kinds starting with ``kind_prefix``), newest first."""
    rows = workspace.db.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE kind LIKE ? || '%' ORDER BY id DESC LIMIT ?", (kind_prefix, limit)
    )
    return [_job(workspace, row) for row in rows.fetchall()]


# -- internals ---------------------------------------------------------------------------------------
def _end(workspace: Workspace, job_id: int, state: State, *, result: Any = None, error: str | None = None) -> None:
    """Store how the job ended; it stops being held only after, so it never reads as interrupted."""
    now = time.time()
    stored = _json(result) if result is not None else None
    try:
        with workspace.transaction() as tx:
            tx.execute(
                "UPDATE jobs SET state = ?, result = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?",
                (state, stored, error, now, now, job_id),
            )
    finally:
        with _held_lock:
            _held.discard((workspace.path, job_id))


def _job(workspace: Workspace, row: tuple) -> Job:
    (
        job_id,
        kind,
        state,
        pid,
        params,
        done,
        total,
        progress,
        result,
        error,
        cancel_flag,
        created,
        updated,
        finished,
    ) = row
    if state == "running" and not _still_running(workspace, job_id, pid):
        # The doer may have ended the job between the row being read and the check: it stores
        # the end before letting go, so a row read again shows how it ended.
        fresh = workspace.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if fresh is not None and fresh[2] != "running":
            return _job(workspace, fresh)
        state = "interrupted"
    return Job(
        id=job_id,
        kind=kind,
        state=state,
        pid=pid,
        params=orjson.loads(params),
        done=done,
        total=total,
        progress=orjson.loads(progress),
        result=orjson.loads(result) if result is not None else None,
        error=error,
        cancel_requested=bool(cancel_flag),
        created_at=created,
        updated_at=updated,
        finished_at=finished,
    )


def _still_running(workspace: Workspace, job_id: int, pid: int | None) -> bool:
    """Whether something still does the job: in this process, one of its threads must hold it;
    elsewhere its process must be alive."""
    if pid == os.getpid():
        with _held_lock:
            return (workspace.path, job_id) in _held
    return process_alive(pid)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
