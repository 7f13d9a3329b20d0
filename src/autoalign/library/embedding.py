"""The embedding job: give every chunk a vector, resumably, locally or on a Ray cluster.

Embedding is the slow step of building a library (tens of passages per second on a laptop), so
it runs apart from ingest: lexical search works at once, and hybrid search improves as vectors
arrive. Each batch is stored durably before the next starts; an interrupted job, re-run, embeds
only the chunks still missing a vector.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from autoalign import jobs
from autoalign.config import EmbedSettings
from autoalign.library.vectors import VectorStore
from autoalign.workspace import Workspace

if TYPE_CHECKING:
    from autoalign.embed import Embedder

JOB_KIND = "library.embed"


@dataclass(slots=True)
class EmbedReport:
    embedder: str
    embedded: int
    pending_before: int
    seconds: float
    #: Stopped early because the job was cancelled; what was embedded is kept.
    cancelled: bool = False

    @property
    def passages_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


def pending_chunk_ids(workspace: Workspace, embedder: str) -> list[int]:
    """Chunks without a vector from ``embedder``, oldest first."""
    rows = workspace.db.execute(
        "SELECT c.id FROM chunks c LEFT JOIN embeddings e ON e.chunk_id = c.id AND e.embedder = ?"
        " WHERE e.chunk_id IS NULL ORDER BY c.id",
        (embedder,),
    )
    return [row[0] for row in rows]


def embedding_texts(workspace: Workspace, chunk_ids: list[int]) -> list[str]:
    """What is embedded for a chunk: its document's title, then its passage."""
    marks = ",".join("?" * len(chunk_ids))
    rows = dict(
        (cid, f"{title}\n{passage}")
        for cid, title, passage in workspace.db.execute(
            "SELECT c.id, d.title, c.text"
            f" FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks})",
            chunk_ids,
        )
    )
    return [rows.get(cid, "") for cid in chunk_ids]


def embed_library(
    workspace: Workspace,
    embedder: Embedder,
    settings: EmbedSettings,
    *,
    ray_address: str | None = None,
    batch_size: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> EmbedReport:
    """Embed every chunk that lacks a vector from ``embedder``; a job that is asked to stop
    (``jobs.cancel``) stops after the batch in hand, keeping what it stored."""
    batch_size = batch_size or settings.batch_size
    pending = pending_chunk_ids(workspace, embedder.name)
    vectors = VectorStore(workspace, embedder.name, embedder.dim)
    params = {"embedder": embedder.name, "ray": ray_address}
    job_id = jobs.start(workspace, JOB_KIND, params=params, total=len(pending), one_at_a_time=True)
    started = time.perf_counter()
    done = 0
    batches = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
    try:
        for ids, matrix in _embedded_batches(workspace, embedder, settings, batches, ray_address):
            vectors.append(ids, matrix)
            done += len(ids)
            jobs.report(workspace, job_id, done=done)
            if on_progress:
                on_progress(done, len(pending))
            if jobs.cancelled(workspace, job_id):
                jobs.stopped(workspace, job_id)
                return EmbedReport(embedder.name, done, len(pending), time.perf_counter() - started, cancelled=True)
    except BaseException as exc:
        jobs.fail(workspace, job_id, str(exc) or type(exc).__name__)
        raise
    jobs.finish(workspace, job_id)
    return EmbedReport(embedder.name, done, len(pending), time.perf_counter() - started)


def _embedded_batches(
    workspace: Workspace,
    embedder: Embedder,
    settings: EmbedSettings,
    batches: list[list[int]],
    ray_address: str | None,
) -> Iterator[tuple[list[int], np.ndarray]]:
    if ray_address is None:
        for ids in batches:
            yield ids, embedder.embed(embedding_texts(workspace, ids))
        return
    from autoalign.embed import embed_on_ray

    numbered = ((i, embedding_texts(workspace, ids)) for i, ids in enumerate(batches))
    for batch_id, matrix in embed_on_ray(ray_address, settings, numbered):
        yield batches[batch_id], matrix


def start_background(workspace: Workspace, *, ray_address: str | None = None, batch_size: int | None = None) -> int:
    """Run the embedding job in a detached process (output in ``embed.log``); returns its pid.

    The job survives the caller (a CLI invocation or a web request) and records its progress in
    the workspace, where ``autoalign library status`` and the library page read it.
    """
    current = jobs.latest(workspace, JOB_KIND)
    if current and current.state == "running":
        return current.pid or 0
    args = [sys.executable, "-m", "autoalign", "--workspace", str(workspace.path), "library", "embed"]
    if ray_address:
        args += ["--ray", ray_address]
    if batch_size:
        args += ["--batch-size", str(batch_size)]
    with open(workspace.path / "embed.log", "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    # Reaped when it ends, so that a long-lived parent (the web app) keeps no defunct process.
    threading.Thread(target=process.wait, name="embed-job-reaper", daemon=True).start()
    # Recorded now, so that status readers see the job before the child has loaded its model.
    jobs.start(workspace, JOB_KIND, pid=process.pid)
    return process.pid
