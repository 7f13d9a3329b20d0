"""The Discover pages and JSON API: each route parses its input, starts a run, and renders.

Finding laws and summary variables lives in :mod:`autoalign.discover`, keeping runs (a thread
each, stored as they go) in :mod:`autoalign.discover.runs`. Here are the URLs, the uploads, and
the JSON shapes of results. Those shapes are made when a run ends and stored with it: the sympy
expressions are not kept, and reading one back from text would mean evaluating untrusted column
names, so the MathML of a law is written then too.
"""

from __future__ import annotations

import html
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import nh3
import sympy
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from autoalign.discover import LawResult, StreamLaw, Table, fit_table, read_csv, runs
from autoalign.discover.gallery import APPARATUS, Apparatus, apparatus
from autoalign.discover.judge import Demo, run_demo
from autoalign.discover.runs import Progress, Run
from autoalign.discover.units import parse_units_table, read_units_text
from autoalign.errors import AutoalignError
from autoalign.loom.tree import MAX_ID
from autoalign.web.templating import page, when
from autoalign.workspace import Workspace

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

#: What sympy's presentation MathML printer writes, and nothing that could run or link anywhere.
MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot",
    "mover", "munder", "munderover", "mstyle", "mpadded", "mphantom", "mtable", "mtr", "mtd",
}  # fmt: skip
MATHML_ATTRIBUTES = {
    "*": {"display", "mathvariant", "stretchy", "fence", "separator", "form", "lspace", "rspace", "linethickness"},
}

router = APIRouter()

RunId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
Budget = Annotated[float, Form(ge=1, le=MAX_BUDGET_S)]
Seed = Annotated[int, Form(ge=0, le=2**32 - 1)]


def workspace_of(request: Request) -> Workspace:
    return request.app.state.library.workspace


WorkspaceDep = Annotated[Workspace, Depends(workspace_of)]


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
def law_mathml(expression: sympy.Basic) -> str:
    """The law as presentation MathML, which browsers render natively. sympy writes symbol names into
    it unescaped, and they are column names, which are untrusted: each is escaped first, and
    anything that is not MathML is stripped after."""
    escaped = {s: sympy.Symbol(html.escape(s.name, quote=False), **s.assumptions0) for s in expression.free_symbols}
    markup = sympy.printing.mathml(expression.xreplace(escaped), printer="presentation")
    return nh3.clean(f'<math display="block">{markup}</math>', tags=MATHML_TAGS, attributes=MATHML_ATTRIBUTES)


def fit_json(result: LawResult) -> dict[str, Any]:
    """The law as an equation (``target = law``) in MathML and LaTeX, the best held-out R² (what a
    "no law found" falls short with), and which point of the Pareto front is the law."""
    equation = sympy.Eq(sympy.Symbol(result.target), result.law, evaluate=False) if result.found else None
    return result.as_dict() | {
        "best_r2": result.best_r2,
        "mathml": law_mathml(equation) if equation is not None else None,
        "equation_latex": sympy.latex(equation) if equation is not None else None,
        "chosen": next((i for i, law in enumerate(result.pareto_front) if law.expression == result.law), None),
    }


def streams_json(demo: Demo, apparatus: Apparatus) -> dict[str, Any]:
    """The summary variables, each law (with its MathML), and the check against the truth the
    simulation kept apart (``measures``: true quantity -> sensors, per variable and for the
    sensors found irrelevant; ``check``: the judge's verdict)."""
    result = demo.result
    truth = demo.table.truth()
    payload: dict[str, Any] = result.as_dict()
    for variable in payload["variables"]:
        variable["sensors"] = len(variable["members"])
        variable["measures"] = dict(Counter(truth[m] for m in variable["members"]).most_common())
    payload["irrelevant_measure"] = dict(Counter(truth[n] for n in result.summary.irrelevant).most_common())
    payload["laws"] = [fit_json(law.result) | law_extras(law) for law in result.laws]
    payload["apparatus"] = apparatus.as_dict()
    payload["check"] = demo.verdict.as_dict()
    return payload


def law_extras(law: StreamLaw) -> dict[str, Any]:
    return {
        "inputs": list(law.inputs),
        "rows_used": law.rows_used,
        "rows_dropped": law.rows_dropped,
        "proportionality": law.proportionality,
    }


def run_json(run: Run) -> dict[str, Any]:
    return run.as_dict() | {"url": f"/discover/runs/{run.id}"}


# -- starting runs -----------------------------------------------------------------------------------
def start(workspace: Workspace, kind: runs.Kind, params: dict[str, Any], work: runs.Work) -> Run:
    """Start a run unless this server already does as many as it has cores for."""
    if runs.running_here(workspace) >= MAX_RUNNING:
        raise HTTPException(409, f"{MAX_RUNNING} discover runs are already running; wait for one to finish")
    return runs.start(workspace, kind, params, work)


def fit_work(table: Table, target: str, units: dict[str, str] | None, budget: float, seed: int) -> runs.Work:
    def work(progress: Progress) -> dict[str, Any]:
        return fit_json(fit_table(table, target, units=units, time_budget_s=budget, seed=seed, progress=progress))

    return work


def demo_work(chosen: Apparatus, samples: int, budget: float, seed: int) -> runs.Work:
    def work(progress: Progress) -> dict[str, Any]:
        return streams_json(run_demo(chosen, samples, time_budget_s=budget, seed=seed, progress=progress), chosen)

    return work


# -- pages -------------------------------------------------------------------------------------------
@router.get("/discover", response_class=HTMLResponse)
def discover_page(request: Request, workspace: WorkspaceDep) -> HTMLResponse:
    """The upload form, the demo's button, and the latest runs."""
    listed = [(run, when(run.created_at)) for run in runs.recent(workspace, RECENT)]
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


@router.get("/discover/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: RunId, workspace: WorkspaceDep) -> HTMLResponse:
    """One run; the script follows it and renders its result from the JSON API (one renderer)."""
    run = runs.get(workspace, run_id)
    return page(request, "discover_run.html", {"run": run, "started": when(run.created_at)})


# -- JSON API ----------------------------------------------------------------------------------------
@router.post("/api/discover/columns")
def columns_api(file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """The columns of a table, for the form that picks the target; a table the fit could not read
    is refused here, before anything starts."""
    table = read_table(file)
    return {"file": file.filename, "columns": table.names, "rows": len(table.values)}


@router.post("/api/discover/fit", status_code=202)
def fit_api(
    workspace: WorkspaceDep,
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
    params = {
        "file": file.filename,
        "target": target,
        "columns": table.names,
        "rows": len(table.values),
        "units": units,
        "time_budget_s": time_budget_s,
        "seed": seed,
    }
    return run_json(start(workspace, "fit", params, fit_work(table, target, units, time_budget_s, seed)))


@router.post("/api/discover/demo", status_code=202)
def demo_api(
    workspace: WorkspaceDep,
    system: Annotated[str, Form(min_length=1, max_length=40)] = "piston",
    samples: Annotated[int, Form(ge=50, le=20_000)] = DEMO_SAMPLES,
    time_budget_s: Budget = DEFAULT_BUDGET_S,
    seed: Seed = 0,
) -> dict[str, Any]:
    """Simulate an apparatus of the gallery, then find its summary variables and their laws (the
    time budget is for each law)."""
    chosen = apparatus(system)
    params = {"system": chosen.name, "samples": samples, "time_budget_s": time_budget_s, "seed": seed}
    return run_json(start(workspace, "streams", params, demo_work(chosen, samples, time_budget_s, seed)))


@router.get("/api/discover/gallery")
def gallery_api() -> dict[str, Any]:
    """The apparatus the demo can simulate, with their true quantities and laws."""
    return {"apparatus": [entry.as_dict() for entry in APPARATUS.values()]}


@router.get("/api/discover/runs")
def runs_api(workspace: WorkspaceDep) -> dict[str, Any]:
    return {"runs": [run_json(run) for run in runs.recent(workspace, RECENT)]}


@router.get("/api/discover/runs/{run_id}")
def run_api(run_id: RunId, workspace: WorkspaceDep) -> dict[str, Any]:
    return run_json(runs.get(workspace, run_id))
