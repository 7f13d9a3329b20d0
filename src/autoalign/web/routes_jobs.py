"""``/api/jobs``: every long job of the workspace, as the CLI's ``autoalign jobs`` lists them, and cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam

from autoalign import jobs
from autoalign.loom.tree import MAX_ID
from autoalign.web import schemas
from autoalign.workspace import Workspace

router = APIRouter()

JobId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def workspace_of(request: Request) -> Workspace:
    return request.app.state.library.workspace


WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


@router.get("/api/jobs", response_model=schemas.Jobs)
def jobs_api(workspace: WorkspaceDep) -> dict[str, Any]:
    return {"jobs": [job.as_dict() for job in jobs.recent(workspace, limit=50)]}


@router.get("/api/jobs/{job_id}", response_model=schemas.Job)
def job_api(job_id: JobId, workspace: WorkspaceDep) -> dict[str, Any]:
    return jobs.get(workspace, job_id).as_dict()


@router.post("/api/jobs/{job_id}/cancel", response_model=schemas.Job)
def cancel_api(job_id: JobId, workspace: WorkspaceDep) -> dict[str, Any]:
    """Ask the job to stop; it stops at its next step (the answer shows ``cancel_requested``)."""
    return jobs.cancel(workspace, job_id).as_dict()
