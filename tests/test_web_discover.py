"""The Discover web API and pages over HTTP: a real uvicorn server, a real workspace, real searches.

Time budgets are short: a law of two variables is found exactly within a second or two, and the
piston demo with 400 samples finds its summary variables in about one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import numpy as np
import orjson
import pytest
from servers import ok, serving

from autoalign.library import Library
from autoalign.web import create_app

XSS = "<img src=x onerror=alert(1)>"
#: The demo's settings in these tests: small, and a seed whose search finds the proportional form.
DEMO = {"samples": "400", "time_budget_s": "6", "seed": "3"}


def csv_of(**columns: np.ndarray) -> str:
    rows = zip(*columns.values(), strict=True)
    return ",".join(columns) + "\n" + "".join(",".join(f"{value:.12g}" for value in row) + "\n" for row in rows)


def uniform(seed: int, n: int = 60) -> np.ndarray:
    return np.random.default_rng(seed).uniform(1, 3, n)


U, V = uniform(1), uniform(2)
LAW_CSV = csv_of(u=U, v=V, y=U * V**2)


def start_fit(client: httpx.Client, csv: str, target: str = "y", files: dict | None = None, **fields) -> httpx.Response:
    return client.post(
        "/api/discover/fit",
        files={"file": ("data.csv", csv), **(files or {})},
        data={"target": target, "time_budget_s": "10", **fields},
    )


def finished(client: httpx.Client, run: dict, timeout: float = 90) -> dict:
    """The run once it ended (polled as the page does)."""
    deadline = time.monotonic() + timeout
    while run["status"] == "running":
        assert time.monotonic() < deadline, f"run {run['id']} still running after {timeout} s: {run['progress']}"
        time.sleep(0.3)
        run = ok(client.get(f"/api/discover/runs/{run['id']}"))
    return run


def run_ids(client: httpx.Client) -> list[int]:
    return [run["id"] for run in ok(client.get("/api/discover/runs"))["runs"]]


# -- fitting a table ---------------------------------------------------------------------------------
def test_upload_pick_and_fit_a_simple_law(client):
    assert ok(client.post("/api/discover/columns", files={"file": ("law.csv", LAW_CSV)})) == {
        "file": "law.csv",
        "columns": ["u", "v", "y"],
        "rows": 60,
    }
    started = ok(start_fit(client, LAW_CSV), 202)
    assert started["kind"] == "fit" and started["url"] == f"/discover/runs/{started['id']}"
    assert started["progress"] and started["result"] is None  # it exists from its first progress message
    assert started["params"] == {
        "file": "data.csv",
        "target": "y",
        "columns": ["u", "v", "y"],
        "rows": 60,
        "units": None,
        "time_budget_s": 10.0,
        "seed": 0,
    }

    run = finished(client, started)
    assert run["status"] == "done" and run["error"] is None
    assert run["progress"][0].startswith("brute force") and run["finished_at"] >= run["created_at"]
    law = run["result"]
    assert law["found"] and law["law"] == "u*v**2" and law["held_out_r2"] > 0.999999
    assert law["equation_latex"] == "y = u v^{2}"
    assert law["mathml"].startswith('<math display="block">') and "<msup><mi>v</mi><mn>2</mn></msup>" in law["mathml"]
    chosen = law["pareto_front"][law["chosen"]]
    assert chosen["expression"] == "u*v**2" and chosen["complexity"] >= 1

    assert run["id"] == run_ids(client)[0]
    index = client.get("/discover").text
    assert f'href="/discover/runs/{run["id"]}"' in index and "y = u*v**2" in index
    assert '<a href="/discover" aria-current="page">Discover</a>' in index
    page = client.get(run["url"])
    assert page.status_code == 200 and f'data-run-url="/api/discover/runs/{run["id"]}"' in page.text
    assert '<script src="/static/discover.js" defer></script>' in page.text
    assert client.get("/static/discover.js").status_code == 200


def test_units_from_a_file_and_the_form_drive_dimensional_analysis(client):
    """Typed units win over the file's: the file's wrong unit for y would make the analysis fail."""
    toml = b'u = "m"\nv = "s"\ny = "kg"\n'
    run = ok(start_fit(client, LAW_CSV, files={"units_file": ("units.toml", toml)}, unit=["", "", "m*s^2"]), 202)
    assert run["params"]["units"] == {"u": "m", "v": "s", "y": "m*s^2"}
    run = finished(client, run)
    assert any(message.startswith("dimensional analysis: 2 variables") for message in run["progress"])
    assert run["result"]["law"] == "u*v**2"


def test_a_noise_target_gives_no_law(client):
    noise = np.random.default_rng(3).normal(size=60)
    run = finished(client, ok(start_fit(client, csv_of(u=U, v=V, y=noise), time_budget_s="2"), 202))
    assert run["status"] == "done"
    result = run["result"]
    assert not result["found"] and result["law"] is None and result["mathml"] is None and result["chosen"] is None
    assert result["best_r2"] < 0.9 and result["pareto_front"]
    assert "no law found" in client.get("/discover").text


NAN_CSV = "u,v,y\n" + "".join(f"{i},{i + 1},{'' if i == 5 else i * 2}\n" for i in range(20))
BAD_TABLES = [
    ("u,v,y\n1,2,3\n4,five,6\n", "y", 400, "data.csv:3: column 'v' holds text ('five'); only numbers can be fitted"),
    (NAN_CSV, "y", 400, "the data holds NaN or infinite values"),
    ("u,v,y\n1,2,3\n2,3,4\n3,4,5\n", "y", 400, "3 rows for 2 variables: too few to tell laws apart"),
    ("", "y", 400, "data.csv is empty or has no header row"),
    ("u,u,y\n1,2,3\n", "y", 400, "column names must be present and distinct"),
    ("u,v,y\n1,2\n", "y", 400, "data.csv:2: 2 cells for 3 columns"),
    (LAW_CSV, "w", 400, "no column 'w'; the columns are u, v, y"),
    (csv_of(u=U, v=V, y=np.ones(60)), "y", 400, "the target is constant"),
]


@pytest.mark.parametrize(("csv", "target", "status", "message"), BAD_TABLES)
def test_bad_tables_are_refused_with_the_reason(client, csv, target, status, message):
    before = run_ids(client)
    response = start_fit(client, csv, target)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert message in error and "autoalign-discover-" not in error  # named as uploaded, not as stored
    assert run_ids(client) == before  # a refused table starts no run


def test_the_column_reader_refuses_what_the_fit_would(client):
    response = client.post("/api/discover/columns", files={"file": ("odd.csv", b"\xff\xfe\x00a,b\n")})
    assert response.status_code == 400 and response.json()["error"] == "odd.csv is not UTF-8 text (is it a CSV file?)"
    response = client.post("/api/discover/columns", files={"file": ("words.csv", "a,b\nx,1\n")})
    assert response.status_code == 400 and "words.csv:2: column 'a' holds text" in response.json()["error"]


def test_an_oversized_table_is_refused(client, monkeypatch):
    monkeypatch.setattr("autoalign.web.routes_discover.MAX_CSV_BYTES", 100)
    response = start_fit(client, LAW_CSV)
    assert (
        response.status_code == 413
        and response.json()["error"] == "data.csv is over 0.0001 MB, the most this page takes"
    )


@pytest.mark.parametrize(
    ("fields", "files", "message"),
    [
        ({"unit": ["m", "furlong", "s"]}, None, "the units typed in: 'v': cannot read units 'furlong': unknown unit"),
        ({"unit": ["m", "s/", "s"]}, None, "cannot read units 's/'"),
        ({"unit": ["m", "", "s"]}, None, "no units given for v"),
        ({"unit": ["m", "s"]}, None, "2 units fields for 3 columns"),
        ({}, {"units_file": ("units.toml", b"u = 'm\n")}, "units file units.toml is not valid TOML"),
        ({}, {"units_file": ("units.toml", b"u = 'parsec'\n")}, "units.toml: 'u': cannot read units 'parsec'"),
        ({}, {"units_file": ("units.toml", b"u = 3.5\n")}, "units.toml: 'u': expected a units string"),
    ],
)
def test_units_that_do_not_parse_are_refused(client, fields, files, message):
    response = start_fit(client, LAW_CSV, files=files, **fields)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/api/discover/fit", {"target": "y", "time_budget_s": "601"}, "time_budget_s: Input should be less than"),
        ("/api/discover/fit", {"target": "y", "time_budget_s": "soon"}, "time_budget_s"),
        ("/api/discover/fit", {"target": ""}, "target"),
        ("/api/discover/demo", {"samples": "10"}, "samples: Input should be greater than or equal to 50"),
    ],
)
def test_bad_fields_are_refused(client, path, data, message):
    files = {"file": ("data.csv", LAW_CSV)} if path.endswith("fit") else None
    response = client.post(path, files=files, data=data)
    assert response.status_code == 400 and message in response.json()["error"]


def test_a_missing_file_or_run(client):
    assert "file: Field required" in client.post("/api/discover/fit", data={"target": "y"}).json()["error"]
    missing = client.get("/api/discover/runs/999999")
    assert missing.status_code == 404 and missing.json() == {"error": "no discover run 999999"}
    page = client.get("/discover/runs/999999")
    assert page.status_code == 404 and "no discover run 999999" in page.text
    assert client.get("/api/discover/runs/0").status_code == 400


def test_a_server_busy_with_runs_refuses_another(client, monkeypatch):
    monkeypatch.setattr("autoalign.web.routes_discover.MAX_RUNNING", 0)
    response = client.post("/api/discover/demo", data=DEMO)
    assert response.status_code == 409 and "already running" in response.json()["error"]


def test_cross_site_starts_are_refused(client):
    before = run_ids(client)
    headers = {"Origin": "https://attacker.example"}
    assert client.post("/api/discover/demo", data=DEMO, headers=headers).status_code == 403
    response = client.post(
        "/api/discover/fit", files={"file": ("d.csv", LAW_CSV)}, data={"target": "y"}, headers=headers
    )
    assert response.status_code == 403
    assert run_ids(client) == before


def test_discover_needs_the_token_when_there_is_one(library):
    with serving(create_app(library, token="discover-token")) as url, httpx.Client(base_url=url) as guarded:
        assert guarded.get("/api/discover/runs").status_code == 401
        assert guarded.post("/api/discover/demo", data=DEMO).status_code == 401
        assert guarded.get("/api/discover/runs", headers={"Authorization": "Bearer discover-token"}).status_code == 200


# -- untrusted names ---------------------------------------------------------------------------------
def test_a_hostile_column_name_never_renders_as_html(client):
    run = finished(client, ok(start_fit(client, csv_of(u=U, **{XSS: V}, y=U * V**2)), 202))
    result = run["result"]
    assert result["law"] == f"u*{XSS}**2" or result["law"] == f"{XSS}**2*u"
    assert XSS not in result["mathml"] and "<mi>&lt;img src=x onerror=alert(1)&gt;</mi>" in result["mathml"]
    for url in ("/discover", run["url"]):
        text = client.get(url).text
        assert "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in client.get("/discover").text


# -- surviving restarts ------------------------------------------------------------------------------
def _insert_running(library: Library, pid: int) -> int:
    with library.workspace.transaction() as tx:
        return tx.execute(
            "INSERT INTO jobs(kind, pid, created_at, updated_at, params) VALUES ('discover.fit', ?, ?, ?, ?)",
            (
                pid,
                time.time(),
                time.time(),
                orjson.dumps({"target": "y", "file": "old.csv", "time_budget_s": 30, "seed": 0}),
            ),
        ).lastrowid


def test_a_run_whose_process_died_reads_interrupted(client, library):
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process now
    dead = _insert_running(library, pid=gone.pid)
    orphan = _insert_running(library, pid=os.getpid())  # this process, but no thread of it does the run
    time.sleep(0.2)
    for run_id in (dead, orphan):
        assert ok(client.get(f"/api/discover/runs/{run_id}"))["status"] == "interrupted"
    assert "interrupted: the server stopped while it ran" in client.get("/discover").text


# -- the piston demo ---------------------------------------------------------------------------------
def test_the_piston_demo_finds_five_summary_variables(client):
    started = ok(client.post("/api/discover/demo", data=DEMO), 202)
    assert started["kind"] == "streams" and started["status"] == "running"
    assert started["progress"] == ["simulated 203 sensor streams of an ideal gas in a piston, 400 samples (seed 3)"]
    run = finished(client, started)
    assert run["status"] == "done", run["error"]
    assert run["progress"][1] == "5 summary variables, 3 independent; 40 sensors irrelevant"
    result = run["result"]
    variables = {v["name"]: v for v in result["variables"]}
    assert set(variables) == {"P1", "T1", "x1", "N1", "m1"} and result["n_independent"] == 3
    truth = {name: list(v["measures"]) for name, v in variables.items()}
    assert truth == {
        "P1": ["pressure"], "T1": ["temperature"], "x1": ["position"], "N1": ["amount"], "m1": ["mass"]
    }  # fmt: skip
    assert variables["P1"]["units"] == "Pa" and variables["P1"]["sensors"] == len(variables["P1"]["members"]) == 60
    assert all(v["quality"] > 0.99 for v in variables.values())
    assert len(result["irrelevant_sensors"]) == 40 and result["irrelevant_measure"] == {"irrelevant": 40}
    assert len(result["laws"]) == 2 and all(
        law["found"] and law["mathml"].startswith("<math") for law in result["laws"]
    )
    gas = next(law for law in result["laws"] if len(law["inputs"]) == 3)
    # The law may keep a small offset (calibration leaves one); the renderer names it, and only
    # below 2% of the target's size.
    left, right = (set(side.split(" (")[0].strip().split("·")) for side in gas["proportionality"].split("∝"))
    # The amount or the mass of the gas, whichever the count of independent quantities kept.
    amount = "N1" if "N1" in result["independent"] else "m1"
    assert {frozenset(left), frozenset(right)} == {frozenset({"P1", "x1"}), frozenset({amount, "T1"})}
    assert result["check"]["groups_ok"] and result["apparatus"]["name"] == "piston"
    assert "Piston demo, 400 samples" in client.get("/discover").text


def test_the_gallery_is_listed_and_an_unknown_apparatus_is_refused(client):
    names = [entry["name"] for entry in ok(client.get("/api/discover/gallery"))["apparatus"]]
    assert len(names) >= 8 and {"piston", "pendulum", "orbits"} <= set(names)
    page = client.get("/discover").text
    assert all(f'<option value="{name}">' in page for name in names)
    refused = client.post("/api/discover/demo", data=DEMO | {"system": "nosuch"})
    assert refused.status_code == 404 and "no apparatus 'nosuch'" in refused.text


# -- runs started elsewhere --------------------------------------------------------------------------
def test_runs_stored_by_the_cli_are_listed_and_shown_by_the_page(client, library, tmp_path):
    from autoalign.discover.piston import simulate_piston

    law = tmp_path / "pv.csv"
    law.write_text(LAW_CSV)
    streams, units = simulate_piston(400, seed=3).to_csv(tmp_path / "bench.csv")
    folder = str(library.workspace.path)
    for args in (
        ["fit", str(law), "--target", "y", "--time", "10"],
        ["variables", str(streams), "--units", str(units), "--time", "6"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "autoalign", "-w", folder, "discover", *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

    fit, variables = ok(client.get("/api/discover/runs"))["runs"][1::-1]
    assert (fit["kind"], fit["params"]["file"], fit["result"]["law"]) == ("fit", "pv.csv", "u*v**2")
    assert fit["result"]["mathml"].startswith("<math")
    assert (variables["kind"], variables["params"]["file"], variables["status"]) == ("streams", "bench.csv", "done")
    assert {v["sensors"] for v in variables["result"]["variables"]} and "check" not in variables["result"]
    listing = client.get("/discover").text
    assert "y from pv.csv" in listing and "Summary variables of bench.csv" in listing
    page = client.get(variables["url"])
    assert page.status_code == 200 and "<h1>Summary variables of bench.csv" in page.text
