"""One jobs module for every long job: the table the library's embedding and Discover's runs share,
moved from the two tables they had, progress, cancel and interrupted, through the real parts."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from servers import serving

from autoalign import jobs
from autoalign.config import Settings
from autoalign.discover import Discover, Table
from autoalign.errors import BusyError, NotFoundError
from autoalign.library import Library
from autoalign.web import create_app
from autoalign.workspace import MIGRATION_PACKAGES, Workspace
from tests.conftest import MINI_CORPUS


def _until(condition, within: float = 120.0):
    deadline = time.monotonic() + within
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_a_workspace_of_the_two_old_tables_keeps_every_job(tmp_path, monkeypatch):
    folder = tmp_path / "ws"
    old = tuple(p for p in MIGRATION_PACKAGES if p != "autoalign.jobs")
    monkeypatch.setattr("autoalign.workspace.MIGRATION_PACKAGES", old)
    Workspace.open(folder).close()
    db = sqlite3.connect(folder / "autoalign.db")
    db.execute(
        "INSERT INTO discover_runs(id, kind, status, pid, created_at, finished_at, params, progress, result)"
        " VALUES (7, 'fit', 'done', 1, 100.0, 160.0, '{\"target\": \"y\"}', '[\"searching\"]', '{\"law\": \"u*v\"}')"
    )
    db.execute(
        "INSERT INTO jobs(kind, state, done, total, pid, message, started_at, updated_at)"
        " VALUES ('embed', 'failed', 3, 10, 1, 'out of memory', '2026-11-30T10:00:00Z', '2026-11-30T10:05:00Z')"
    )
    db.commit()
    db.close()
    monkeypatch.setattr("autoalign.workspace.MIGRATION_PACKAGES", MIGRATION_PACKAGES)

    workspace = Workspace.open(folder)
    run, embed = jobs.get(workspace, 7), jobs.latest(workspace, "library.embed")
    assert (run.kind, run.state, run.params, run.progress, run.result) == (
        "discover.fit",
        "done",
        {"target": "y"},
        ["searching"],
        {"law": "u*v"},
    )
    assert embed is not None and embed.id > 7  # the runs kept their ids (their pages' addresses)
    assert (embed.state, embed.done, embed.total, embed.error) == ("failed", 3, 10, "out of memory")
    assert embed.created_at == datetime(2026, 11, 30, 10, tzinfo=UTC).timestamp()
    assert not workspace.db.execute(
        "SELECT name FROM sqlite_master WHERE name IN ('discover_runs', 'jobs_before')"
    ).fetchall()
    workspace.close()


def test_an_embedding_asked_to_stop_stops_after_its_batch_and_keeps_what_it_stored(workspace_path, minilm):
    library = Library.open(workspace_path, embedder=minilm)
    library.add([MINI_CORPUS])
    pending = library.pending_embeddings()

    def stop_after_the_first(done: int, total: int) -> None:
        jobs.cancel(library.workspace, jobs.latest(library.workspace, "library.embed").id)

    report = library.embed(batch_size=2, on_progress=stop_after_the_first)

    job = jobs.latest(library.workspace, "library.embed")
    assert report.cancelled and report.embedded == 2 == job.done
    assert (job.state, job.total) == ("cancelled", pending)
    assert library.pending_embeddings() == pending - 2
    assert library.embed().embedded == pending - 2  # run again, it resumes
    assert jobs.latest(library.workspace, "library.embed").state == "done"
    library.close()


def test_a_second_embedding_while_one_runs_is_refused(workspace_path):
    workspace = Workspace.open(workspace_path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        jobs.start(workspace, "library.embed", pid=holder.pid)
        with pytest.raises(BusyError, match=rf"already running \(process {holder.pid}"):
            jobs.start(workspace, "library.embed", one_at_a_time=True)
    finally:
        holder.kill()
        holder.wait()
    assert jobs.latest(workspace, "library.embed").state == "interrupted"  # its process is gone
    jobs.start(workspace, "library.embed", one_at_a_time=True)  # and no longer in the way
    workspace.close()


def test_a_discover_run_asked_to_stop_stops_at_its_next_message(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 2, (400, 5))
    table = Table(["a", "b", "c", "d", "y"], np.c_[x[:, :4], rng.normal(size=400)])  # noise: no quick exact law
    with Discover.open(tmp_path / "ws") as discover:
        run = discover.start_fit(table, "y", time_budget_s=120)
        assert jobs.cancel(discover.workspace, run.id).cancel_requested
        assert _until(lambda: discover.run(run.id).status != "running")
        stopped = discover.run(run.id)
        assert stopped.status == "cancelled" and stopped.result is None
        assert discover.running_here() == 0


def test_a_job_ending_while_it_is_read_never_reads_as_interrupted(tmp_path):
    """The page polls in one thread while the doer ends the job in another: whatever the order of
    the poll's read and the end, the poll sees running or done, never interrupted."""
    workspace = Workspace.open(tmp_path / "ws")
    seen: list[str] = []

    def poll(job_id: int) -> None:
        while (state := jobs.get(workspace, job_id).state) == "running":
            pass
        seen.append(state)

    for _ in range(100):
        job_id = jobs.start(workspace, "discover.fit")
        reader = threading.Thread(target=poll, args=(job_id,))
        reader.start()
        jobs.finish(workspace, job_id, result={"law": "u*v"})
        reader.join(timeout=30)
    assert seen == ["done"] * 100
    workspace.close()


def test_jobs_from_the_cli_and_the_api_are_one_list(tmp_path):
    folder = tmp_path / "ws"
    workspace = Workspace.open(folder)
    job_id = jobs.start(workspace, "library.embed", total=4, pid=1)  # pid 1: alive, not ours
    jobs.report(workspace, job_id, done=1, message="embedding")
    library = Library(workspace)
    with serving(create_app(library)) as url, httpx.Client(base_url=url) as client:
        listed = client.get("/api/jobs").json()["jobs"]
        assert [(j["id"], j["kind"], j["state"], j["done"], j["message"]) for j in listed] == [
            (job_id, "library.embed", "running", 1, "embedding")
        ]
        cancelled = client.post(f"/api/jobs/{job_id}/cancel").json()
        assert cancelled["cancel_requested"] and cancelled["state"] == "running"
        assert client.get("/api/jobs/999").status_code == 404
    cli = subprocess.run(
        [sys.executable, "-m", "autoalign", "-w", str(folder), "jobs", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert [json.loads(line)["cancel_requested"] for line in cli.stdout.splitlines()] == [True]
    with pytest.raises(NotFoundError, match="no job 999"):
        jobs.get(workspace, 999)
    library.close()
    workspace.close()


def test_settings_are_not_needed_to_read_jobs(tmp_path):
    """A reader (the status page) needs no model and no settings beyond the workspace's."""
    workspace = Workspace(tmp_path, Settings())
    assert jobs.recent(workspace) == [] and jobs.latest(workspace, "library.embed") is None
    workspace.close()
