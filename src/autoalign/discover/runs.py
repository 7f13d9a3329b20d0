"""Discover runs: long searches, stored as jobs (:mod:`autoalign.jobs`) as they go.

A run is a job of kind ``discover.fit`` or ``discover.streams``: its parameters, its progress
messages appended as they come, then its result (JSON) or its error. Storing as it goes is what
lets a page reload, or a visit hours later, find the run; a run whose doer died before it ended
reads ``interrupted``. A run asked to stop (``jobs.cancel``) stops at its next progress message.

A run exists from its first progress message on. What the work raises before that is a refusal
of its input (a table with text in it, a target that is not a column, units that do not fit) and
is raised to the caller instead of being stored: the searches check their input first, so a
form can show those errors at once, as errors of the form.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from autoalign import jobs
from autoalign.errors import AutoalignError, NotFoundError
from autoalign.workspace import Workspace

log = logging.getLogger(__name__)

Kind = Literal["fit", "streams"]
Status = Literal["running", "done", "failed", "cancelled", "interrupted"]
Progress = Callable[[str], None]
#: The work of a run: given the progress callback, returns the result to store (JSON-able).
Work = Callable[[Progress], dict[str, Any]]
T = TypeVar("T")

UNEXPECTED = "the run failed unexpectedly; the server log has the details"
_PREFIX = "discover."


class RunCancelled(Exception):
    """Raised inside the work, at a progress message, once the run has been asked to stop."""


@dataclass(frozen=True, slots=True)
class Run:
    """A Discover job, as the pages and the CLI show it."""

    id: int
    kind: Kind
    status: Status
    created_at: float
    finished_at: float | None
    params: dict[str, Any]
    progress: list[str]
    result: dict[str, Any] | None
    error: str | None

    @classmethod
    def of(cls, job: jobs.Job) -> Run:
        kind: Any = job.kind.removeprefix(_PREFIX)
        return cls(
            job.id, kind, job.state, job.created_at, job.finished_at, job.params, job.progress, job.result, job.error
        )

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
    return get(workspace, _run_id(handoff))


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
    return get(workspace, _run_id(handoff)), kept[0]


def running_here(workspace: Workspace) -> int:
    """Runs of ``workspace`` that threads of this process are doing now."""
    return jobs.held_here(workspace, _PREFIX)


def get(workspace: Workspace, run_id: int) -> Run:
    job = jobs.get(workspace, run_id, what="discover run")
    if not job.kind.startswith(_PREFIX):
        raise NotFoundError(f"no discover run {run_id}")
    return Run.of(job)


def recent(workspace: Workspace, limit: int = 50) -> list[Run]:
    """The latest runs, newest first."""
    return [Run.of(job) for job in jobs.recent(workspace, kind_prefix=_PREFIX, limit=limit)]


# -- the doer ----------------------------------------------------------------------------------------
def _drive(
    workspace: Workspace,
    kind: Kind,
    params: dict[str, Any],
    work: Work,
    handoff: queue.SimpleQueue[int | Exception],
    *,
    reraise: bool = False,
) -> None:
    """Do the work, storing the run from its first message on; the caller waits on ``handoff`` for
    the run's id, or for what the work raised before the run existed. A failure of a stored run
    is stored; with ``reraise`` (a caller in this thread) it is raised too."""
    run_id: int | None = None

    def say(message: str | None) -> None:
        nonlocal run_id
        if run_id is None:
            run_id = jobs.start(workspace, _PREFIX + kind, params=params, message=message)
            handoff.put(run_id)
            return
        assert message is not None  # only the closing say(None) passes None, and before the run exists
        if jobs.cancelled(workspace, run_id):
            raise RunCancelled
        jobs.report(workspace, run_id, message=message)

    try:
        result = work(say)
        if run_id is None:  # it ended without a word: it exists from now on
            say(None)
    except RunCancelled:
        assert run_id is not None
        jobs.stopped(workspace, run_id)
        return
    except Exception as exc:
        if run_id is None:
            handoff.put(exc)
        elif isinstance(exc, AutoalignError):
            jobs.fail(workspace, run_id, str(exc))
        else:
            if not reraise:
                log.exception("discover run %s failed", run_id)
            jobs.fail(workspace, run_id, UNEXPECTED)
        if reraise:
            raise
        return
    assert run_id is not None  # say() has stored the run by now: the work's first message, or say(None) above
    jobs.finish(workspace, run_id, result=result)


def _run_id(handoff: queue.SimpleQueue[int | Exception]) -> int:
    outcome = handoff.get()
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
