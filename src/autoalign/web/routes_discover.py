"""The Discover pages and JSON API: each route parses its input, starts a run, and renders.

Finding laws and summary variables, and storing each run with its result, is
:class:`autoalign.discover.Discover`'s; here are the URLs, the uploads, and the limits of a server.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from autoalign.discover import Discover, Table, read_csv
from autoalign.discover.gallery import APPARATUS
from autoalign.discover.runs import Run
from autoalign.discover.units import parse_units_table, read_units_text
from autoalign.errors import AutoalignError
from autoalign.loom.tree import MAX_ID
from autoalign.web import schemas
from autoalign.web.templating import page, when

#: Largest table the page takes; bigger ones are for ``autoalign discover fit``, which reads a file.
MAX_CSV_BYTES = 20_000_000
#: Largest units file: a line per column is a few kilobytes even for hundreds of columns.
MAX_UNITS_BYTES = 200_000
#: Runs this server does at once: each keeps a core busy for its whole time budget.
MAX_RUNNING = 2
DEFAULT_BUDGET_S = 30
MAX_BUDGET_S = 600
DEMO_SAMPLES = 2000
#: Runs listed on the page.
RECENT = 50

#: The pages and their forms, for the browser; the JSON API (``router``) is what the API
#: description (``/api/openapi.json``) lists.
pages = APIRouter(include_in_schema=False)
router = APIRouter()

RunId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
Budget = Annotated[float, Form(ge=1, le=MAX_BUDGET_S)]
Seed = Annotated[int, Form(ge=0, le=2**32 - 1)]


def discover_of(request: Request) -> Discover:
    """Discover on the served library's workspace (which the server, not this, closes)."""
    return Discover(request.app.state.library.workspace)


DiscoverDep = Annotated[Discover, Depends(discover_of)]


# -- uploads -----------------------------------------------------------------------------------------
@contextmanager
def uploaded(upload: UploadFile, limit: int) -> Iterator[Path]:
    """The upload as a file, for readers that take paths. Their messages then name the file as the
    user knows it, not the temporary copy; at most ``limit`` bytes are read."""
    name = upload.filename or "the uploaded file"
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{name} is over {limit / 1e6:g} MB, the most this page takes")
    with tempfile.TemporaryDirectory(prefix="autoalign-discover-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            yield path
        except AutoalignError as exc:
            raise type(exc)(str(exc).replace(str(path), name)) from None


def read_table(upload: UploadFile) -> Table:
    with uploaded(upload, MAX_CSV_BYTES) as path:
        return read_csv(path)


def read_units(columns: list[str], typed: list[str], units_file: UploadFile | None) -> dict[str, str] | None:
    """Units by column: those typed in the form (one field per column, in order, empty for none)
    over those of a TOML file; None when no column has any. Every unreadable entry is reported."""
    units: dict[str, str] = {}
    if units_file is not None:
        with uploaded(units_file, MAX_UNITS_BYTES) as path:
            written = read_units_text(path)
        parse_units_table(written, units_file.filename or "the units file")
        units = {name: str(text) for name, text in written.items()}
    if typed and len(typed) != len(columns):
        raise AutoalignError(f"{len(typed)} units fields for {len(columns)} columns; send one per column")
    given = {name: text.strip() for name, text in zip(columns, typed, strict=False) if text.strip()}
    parse_units_table(given, "the units typed in")
    return (units | given) or None


# -- JSON shapes -------------------------------------------------------------------------------------
def run_json(run: Run) -> dict[str, Any]:
    return run.as_dict() | {"url": f"/discover/runs/{run.id}"}


# -- starting runs -----------------------------------------------------------------------------------
def refuse_if_busy(discover: Discover) -> None:
    """Refuse a new run while this server already does as many as it has cores for."""
    if discover.running_here() >= MAX_RUNNING:
        raise HTTPException(409, f"{MAX_RUNNING} discover runs are already running; wait for one to finish")


# -- pages -------------------------------------------------------------------------------------------
@pages.get("/discover", response_class=HTMLResponse)
def discover_page(request: Request, discover: DiscoverDep) -> HTMLResponse:
    """The upload form, the demo's button, and the latest runs."""
    listed = [(run, when(run.created_at)) for run in discover.runs(RECENT)]
    return page(
        request,
        "discover.html",
        {
            "runs": listed,
            "max_csv_mb": MAX_CSV_BYTES // 1_000_000,
            "default_budget": DEFAULT_BUDGET_S,
            "max_budget": MAX_BUDGET_S,
            "demo_samples": DEMO_SAMPLES,
            "gallery": list(APPARATUS.values()),
        },
    )


@pages.get("/discover/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: RunId, discover: DiscoverDep) -> HTMLResponse:
    """One run; the script follows it and renders its result from the JSON API (one renderer)."""
    run = discover.run(run_id)
    return page(request, "discover_run.html", {"run": run, "started": when(run.created_at)})


# -- JSON API ----------------------------------------------------------------------------------------
@router.post("/api/discover/columns", response_model=schemas.TableColumns)
def columns_api(file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """The columns of a table, for the form that picks the target; a table the fit could not read
    is refused here, before anything starts."""
    table = read_table(file)
    return {"file": file.filename, "columns": table.names, "rows": len(table.values)}


@router.post("/api/discover/fit", status_code=202, response_model=schemas.Run)
def fit_api(
    discover: DiscoverDep,
    file: Annotated[UploadFile, File()],
    target: Annotated[str, Form(min_length=1)],
    unit: Annotated[list[str], Form(default_factory=list)],
    units_file: Annotated[UploadFile | None, File()] = None,
    time_budget_s: Budget = DEFAULT_BUDGET_S,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Find ``target`` as a law of the table's other columns. ``unit`` holds one field per column, in
    the table's order (empty for none), and overrides ``units_file`` (TOML, ``column = "units"``)."""
    table = read_table(file)
    units = read_units(table.names, unit, units_file)
    refuse_if_busy(discover)
    source = file.filename or "the uploaded table"
    return run_json(
        discover.start_fit(table, target, units=units, time_budget_s=time_budget_s, seed=seed, source=source)
    )


@router.post("/api/discover/demo", status_code=202, response_model=schemas.Run)
def demo_api(
    discover: DiscoverDep,
    system: Annotated[str, Form(min_length=1, max_length=40)] = "piston",
    samples: Annotated[int, Form(ge=50, le=20_000)] = DEMO_SAMPLES,
    time_budget_s: Budget = DEFAULT_BUDGET_S,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Simulate an apparatus of the gallery, then find its summary variables and their laws (the
    time budget is for each law)."""
    refuse_if_busy(discover)
    return run_json(discover.start_demo(system, samples, time_budget_s=time_budget_s, seed=seed))


@router.get("/api/discover/gallery", response_model=schemas.Gallery)
def gallery_api() -> dict[str, Any]:
    """The apparatus the demo can simulate, with their true quantities and laws."""
    return {"apparatus": [entry.as_dict() for entry in APPARATUS.values()]}


@router.get("/api/discover/runs", response_model=schemas.Runs)
def runs_api(discover: DiscoverDep) -> dict[str, Any]:
    return {"runs": [run_json(run) for run in discover.runs(RECENT)]}


@router.get("/api/discover/runs/{run_id}", response_model=schemas.Run)
def run_api(run_id: RunId, discover: DiscoverDep) -> dict[str, Any]:
    return run_json(discover.run(run_id))
