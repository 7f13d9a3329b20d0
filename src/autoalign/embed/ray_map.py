"""Embed many batches on an existing Ray cluster, one embedding actor per free CPU.

Ray is imported only when :func:`embed_on_ray` runs. The driver ships its own copy of the
``autoalign`` package to the workers (``runtime_env.py_modules``, about 0.5 s), so the workers
run the same code as the caller even where an older version is installed; everything else the
embedder needs (numpy, onnxruntime, the model package) must be installed on the workers.
"""

from __future__ import annotations

import itertools
import logging
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

import autoalign
from autoalign.config import EmbedSettings
from autoalign.embed.base import Embedder
from autoalign.errors import AutoalignError

#: How long to wait for the cluster's address to accept a connection before giving up. Ray
#: itself retries an unreachable address for many minutes.
_PROBE_TIMEOUT_S = 5.0


class _EmbedWorker:
    """Ray actor body: loads the embedder once, then embeds whatever batches it is sent."""

    def __init__(self, settings: EmbedSettings) -> None:
        from autoalign.embed import get_embedder

        self._embedder: Embedder = get_embedder(settings)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._embedder.embed(texts)


def embed_on_ray(
    address: str,
    settings: EmbedSettings,
    batches: Iterable[tuple[int, list[str]]],
    *,
    max_in_flight: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(batch_id, vectors)`` for every batch, in order of completion.

    Connects to the cluster at ``address`` (``host:port`` of its head, ``ray://host:port`` or
    ``auto``) on the first ``next()``. At most ``max_in_flight`` batches (default: two per actor,
    so no actor waits for the driver) are pulled from ``batches`` and queued at a time, so a
    lazy iterable over a large corpus is never read ahead far. The connection is shut down when
    the generator finishes, fails or is closed.
    """
    if max_in_flight is not None and max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    import ray

    _probe(address)
    try:
        ray.init(
            address=address,
            runtime_env={
                "py_modules": [str(Path(autoalign.__file__).parent)],
                "excludes": ["__pycache__"],
            },
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise AutoalignError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
    try:
        cpus = int(ray.available_resources().get("CPU", 0))
        actor = ray.remote(num_cpus=1)(_EmbedWorker)
        workers = [actor.remote(settings) for _ in range(max(cpus, 1))]
        queued = [0] * len(workers)
        in_flight: dict[ray.ObjectRef, tuple[int, int]] = {}
        pending = iter(batches)

        def submit(count: int) -> None:
            """Send up to ``count`` more batches, each to the worker with the shortest queue."""
            for batch_id, texts in itertools.islice(pending, count):
                worker = queued.index(min(queued))
                ref = workers[worker].embed.remote(texts)  # type: ignore[attr-defined]  # Ray adds it at run time
                in_flight[ref] = (batch_id, worker)
                queued[worker] += 1

        submit(max_in_flight or 2 * len(workers))
        while in_flight:
            [done], _ = ray.wait(list(in_flight), num_returns=1)
            batch_id, worker = in_flight.pop(done)
            queued[worker] -= 1
            submit(1)  # before yielding, so the workers stay busy while the caller works
            try:
                vectors = ray.get(done)
            except ray.exceptions.RayTaskError as exc:
                if isinstance(exc.cause, AutoalignError):
                    raise exc.cause from None  # the worker's own message, without Ray's wrapping
                raise
            except ray.exceptions.RayActorError as exc:
                raise AutoalignError(f"an embedding worker on the Ray cluster died: {exc}") from None
            # Large results are read-only views of Ray's shared memory, which shutdown unmaps.
            yield batch_id, np.array(vectors, copy=True)
    finally:
        ray.shutdown()


def _probe(address: str) -> None:
    """Fail fast, with a clear message, when nothing listens at ``host:port``."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not port.isdigit():
        return  # "auto" and the like: Ray resolves them itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise AutoalignError(
            f"cannot connect to the Ray cluster at {address} ({exc}); start one with "
            "`ray start --head` and pass the address it prints"
        ) from None
