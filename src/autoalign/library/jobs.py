"""Progress records of long-running jobs, shared by the CLI, background processes and the web app."""

from __future__ import annotations

import os
from dataclasses import dataclass

from autoalign.errors import BusyError
from autoalign.processes import process_alive
from autoalign.workspace import Workspace, inserted_id


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    state: str
    done: int
    total: int
    pid: int | None
    message: str
    started_at: str
    updated_at: str

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def latest(workspace: Workspace, kind: str) -> Job | None:
    """The most recent job of ``kind``; a 'running' job whose process died reads 'interrupted'."""
    row = workspace.db.execute(
        "SELECT id, kind, state, done, total, pid, message, started_at, updated_at"
        " FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT 1",
        (kind,),
    ).fetchone()
    if row is None:
        return None
    job = Job(*row)
    if job.state == "running" and not process_alive(job.pid):
        return _replace_state(job, "interrupted")
    return job


def _replace_state(job: Job, state: str) -> Job:
    return Job(job.id, job.kind, state, job.done, job.total, job.pid, job.message, job.started_at, job.updated_at)


def start(workspace: Workspace, kind: str, total: int, pid: int | None = None) -> int:
    """Record a running job for process ``pid`` (this one by default).

    Refuses while another live process runs a job of the same kind. A job that a parent process
    recorded for this one (see :func:`autoalign.library.embedding.start_background`) is taken over.
    """
    pid = pid or os.getpid()
    with workspace.transaction() as tx:
        # Looked up inside the write transaction, so two processes cannot both find none running.
        current = latest(workspace, kind)
        if current and current.state == "running" and current.pid == pid:
            tx.execute("UPDATE jobs SET total = max(total, ?) WHERE id = ?", (total, current.id))
            return current.id
        if current and current.state == "running":
            raise BusyError(
                f"a {kind} job is already running (process {current.pid}, {current.done:,} of "
                f"{current.total:,}); wait for it or stop it first"
            )
        cursor = tx.execute(
            "INSERT INTO jobs(kind, state, total, pid) VALUES (?, 'running', ?, ?)",
            (kind, total, pid),
        )
        return inserted_id(cursor)


def update(workspace: Workspace, job_id: int, *, done: int, state: str = "running", message: str = "") -> None:
    with workspace.transaction() as tx:
        tx.execute(
            "UPDATE jobs SET done = ?, state = ?, message = ?,"
            " updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
            (done, state, message, job_id),
        )
