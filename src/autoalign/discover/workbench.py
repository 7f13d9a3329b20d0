"""Discover as a capability of a workspace: every fit, summary-variable search and demo is a stored run.

>>> from autoalign.discover import Discover, read_csv
>>> with Discover.open("~/alignment") as discover:                        # doctest: +SKIP
...     run, result = discover.fit(read_csv("pv.csv"), "P", source="pv.csv")
...     print(run.id, result.law)

The CLI does its runs in the foreground (:meth:`Discover.fit`), the web app in a thread of their own
(:meth:`Discover.start_fit`); both store them alike, so each lists the other's runs. The free
functions (:func:`~autoalign.discover.fit_table`, :class:`~autoalign.discover.LawFinder`) stay
for scripts that want no workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from autoalign.capability import Capability
from autoalign.discover import LawResult, StreamsResult, Table, discover_streams, fit_table, runs
from autoalign.discover.gallery import apparatus
from autoalign.discover.judge import Demo, run_demo
from autoalign.discover.runs import Progress, Run
from autoalign.discover.stored import demo_record, law_record, streams_record
from autoalign.workspace import Workspace

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Job(Generic[T]):
    """A run to do: how it is stored (kind, parameters), the work, and the record of its result."""

    kind: runs.Kind
    params: dict[str, Any]
    work: Callable[[Progress], T]
    record: Callable[[T], dict[str, Any]]


class Discover(Capability):
    """Laws and summary variables found in a workspace's tables, every run stored in the workspace."""

    @classmethod
    def open(cls, where: Workspace | str | Path | None = None) -> Discover:
        """Discover on a workspace (a folder, a :class:`Workspace`, or the default one)."""
        workspace, owned = cls._workspace(where)
        return cls(workspace, owns_workspace=owned)

    # -- in the foreground: the run is stored, and what it found is returned too ---------------------
    def fit(
        self,
        table: Table,
        target: str,
        *,
        units: dict[str, str] | None = None,
        time_budget_s: float = 60.0,
        seed: int = 0,
        source: str = "a table",
        progress: Progress | None = None,
    ) -> tuple[Run, LawResult]:
        """Find ``target = f(the other columns)``; ``source`` names the table in the list of runs."""
        return self._here(self._fit(table, target, units, time_budget_s, seed, source), progress)

    def variables(
        self,
        table: Table,
        units: dict[str, str] | None = None,
        *,
        time_budget_s: float = 60.0,
        seed: int = 0,
        source: str = "a table",
        progress: Progress | None = None,
    ) -> tuple[Run, StreamsResult]:
        """The summary variables of raw sensor streams and the law of each dependent one."""
        return self._here(self._variables(table, units, time_budget_s, seed, source), progress)

    def demo(
        self,
        name: str,
        samples: int = 2000,
        *,
        time_budget_s: float = 60.0,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> tuple[Run, Demo]:
        """Simulate the gallery's apparatus ``name`` and rediscover its quantities and laws, judged
        against the truth the simulation kept apart."""
        return self._here(self._demo(name, samples, time_budget_s, seed), progress)

    # -- in a thread of their own: returns the stored run once it exists -------------------------------
    def start_fit(
        self,
        table: Table,
        target: str,
        *,
        units: dict[str, str] | None = None,
        time_budget_s: float = 60.0,
        seed: int = 0,
        source: str = "a table",
    ) -> Run:
        return self._started(self._fit(table, target, units, time_budget_s, seed, source))

    def start_demo(self, name: str, samples: int = 2000, *, time_budget_s: float = 60.0, seed: int = 0) -> Run:
        return self._started(self._demo(name, samples, time_budget_s, seed))

    def running_here(self) -> int:
        """Runs that threads of this process are doing now."""
        return runs.running_here(self.workspace)

    # -- stored runs ---------------------------------------------------------------------------------
    def runs(self, limit: int = 50) -> list[Run]:
        """The latest runs, newest first, wherever they were started."""
        return runs.recent(self.workspace, limit)

    def run(self, run_id: int) -> Run:
        return runs.get(self.workspace, run_id)

    # -- the jobs ------------------------------------------------------------------------------------
    @staticmethod
    def _fit(
        table: Table, target: str, units: dict[str, str] | None, budget: float, seed: int, source: str
    ) -> _Job[LawResult]:
        params = {
            "file": source,
            "target": target,
            "columns": table.names,
            "rows": len(table.values),
            "units": units,
            "time_budget_s": budget,
            "seed": seed,
        }

        def work(progress: Progress) -> LawResult:
            return fit_table(table, target, units=units, time_budget_s=budget, seed=seed, progress=progress)

        return _Job("fit", params, work, law_record)

    @staticmethod
    def _variables(
        table: Table, units: dict[str, str] | None, budget: float, seed: int, source: str
    ) -> _Job[StreamsResult]:
        params = {
            "file": source,
            "sensors": len(table.names),
            "rows": len(table.values),
            "units": bool(units),
            "time_budget_s": budget,
            "seed": seed,
        }

        def work(progress: Progress) -> StreamsResult:
            return discover_streams(
                table.values, table.names, units, time_budget_s=budget, seed=seed, progress=progress
            )

        return _Job("streams", params, work, streams_record)

    @staticmethod
    def _demo(name: str, samples: int, budget: float, seed: int) -> _Job[Demo]:
        chosen = apparatus(name)  # an unknown name is refused before anything is stored
        params = {"system": chosen.name, "samples": samples, "time_budget_s": budget, "seed": seed}

        def work(progress: Progress) -> Demo:
            return run_demo(chosen, samples, time_budget_s=budget, seed=seed, progress=progress)

        return _Job("streams", params, work, lambda demo: demo_record(demo, chosen))

    def _here(self, job: _Job[T], progress: Progress | None) -> tuple[Run, T]:
        def work(say: Progress) -> T:
            def both(message: str) -> None:
                say(message)
                if progress is not None:
                    progress(message)

            return job.work(both)

        return runs.run_here(self.workspace, job.kind, job.params, work, job.record)

    def _started(self, job: _Job[Any]) -> Run:
        return runs.start(self.workspace, job.kind, job.params, lambda say: job.record(job.work(say)))
