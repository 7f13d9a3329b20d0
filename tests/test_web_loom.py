"""The Loom's web API and pages over HTTP: a real uvicorn server, a real workspace, the real embedded model."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from servers import ok, serving

from autoalign.config import Settings
from autoalign.loom.formats import MAX_NODE_CHARS
from autoalign.models import ModelError, get_model
from autoalign.web import create_app

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"
#: Small and seeded: two continuations of eight tokens take well under a second.
QUICK = {"n": 2, "max_tokens": 8, "seed": 7}
#: Long enough that only a cancellation ends it early.
LONG = {"n": 2, "max_tokens": 400, "seed": 7}


def new_tree(client: httpx.Client, prompt: str = "The alignment problem is", **fields) -> dict:
    return ok(client.post("/api/loom/trees", json={"prompt": prompt, **fields}), 201)


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """``(event, data)`` pairs of a text/event-stream response, as they arrive."""
    event = "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, orjson.loads(line.removeprefix("data: "))


def generate(client: httpx.Client, tree: dict, node_id: int, overrides: dict) -> list[tuple[str, dict]]:
    url = f"/api/loom/trees/{tree['id']}/nodes/{node_id}/generate"
    with client.stream("POST", url, json={"overrides": overrides}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(sse_events(response))


def children(client: httpx.Client, tree: dict, node_id: int, **params) -> dict:
    return ok(client.get(f"/api/loom/trees/{tree['id']}/nodes/{node_id}/children", params=params))


def state(client: httpx.Client, tree: dict) -> dict:
    return ok(client.get(f"/api/loom/trees/{tree['id']}"))


def node_url(tree: dict, node_id: int, action: str = "") -> str:
    return f"/api/loom/trees/{tree['id']}/nodes/{node_id}" + (f"/{action}" if action else "")


# -- trees -------------------------------------------------------------------------------------------
def test_tree_lifecycle(client):
    tree = new_tree(client, "Once upon a time", title="fairy tale", settings={"n": 3})
    assert tree["title"] == "fairy tale" and tree["settings"]["n"] == 3 and tree["node_count"] == 1
    assert tree["id"] in {t["id"] for t in ok(client.get("/api/loom/trees"))["trees"]}

    assert ok(client.patch(f"/api/loom/trees/{tree['id']}", json={"title": "renamed"}))["title"] == "renamed"
    settings = ok(client.patch(f"/api/loom/trees/{tree['id']}/settings", json={"temperature": 0.5, "stop": ["\n"]}))
    assert settings["settings"]["temperature"] == 0.5 and settings["settings"]["n"] == 3

    current = state(client, tree)
    assert current["tree"]["title"] == "renamed"
    assert [node["text"] for node in current["path"]] == ["Once upon a time"]
    assert current["hoisted"] is None and current["chapters"] == [] and current["bookmarks"] == []

    assert ok(client.delete(f"/api/loom/trees/{tree['id']}")) == {"deleted": tree["id"]}
    assert client.get(f"/api/loom/trees/{tree['id']}").status_code == 404


# -- generation --------------------------------------------------------------------------------------
@pytest.mark.model  # loads the embedded model in the app or the CLI
def test_generation_streams_tokens_then_stores_children(client):
    tree = new_tree(client)
    events = generate(client, tree, tree["root_id"], QUICK)

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "started" and kinds[-1] == "done" and kinds.count("node") == 2
    started = events[0][1]
    assert started["parent_id"] == tree["root_id"] and started["n"] == 2 and started["model"].startswith("llama.cpp")
    assert started["generation"]
    tokens = [data for kind, data in events if kind == "token"]
    assert tokens and {token["index"] for token in tokens} == {0, 1}
    first = tokens[0]
    assert isinstance(first["text"], str) and first["logprob"] <= 0
    assert len(first["top"]) == 5 and all(len(pair) == 2 for pair in first["top"])

    stored = [data for kind, data in events if kind == "node"]
    for continuation in stored:
        node = continuation["node"]
        streamed = [t["text"] for t in tokens if t["index"] == continuation["index"]]
        assert node["text"] == "".join(streamed) and [token[0] for token in node["tokens"]] == streamed
        assert node["source"] == "AI" and node["parent_id"] == tree["root_id"]
    assert events[-1][1] == {"cancelled": False}

    listed = children(client, tree, tree["root_id"])
    assert [child["id"] for child in listed["children"]] == [c["node"]["id"] for c in stored]
    assert listed["total"] == 2 and "tokens" not in listed["children"][0]
    assert state(client, tree)["path"][0]["child_count"] == 2


@pytest.mark.model  # loads the embedded model in the app or the CLI
def test_cancel_stops_the_model_within_a_token_or_so(client):
    tree = new_tree(client)
    url = f"/api/loom/trees/{tree['id']}/nodes/{tree['root_id']}/generate"
    received = after_cancel = 0
    with client.stream("POST", url, json={"overrides": LONG}) as response:
        events = sse_events(response)
        kind, started = next(events)
        assert kind == "started"
        for kind, data in events:
            if kind == "token" and received < 3:
                received += 1
                if received == 3:
                    ok(client.post(f"/api/loom/generations/{started['generation']}/cancel"))
            elif kind == "token":
                after_cancel += 1
            elif kind == "node":
                assert data["finish_reason"] == "cancelled"
                assert (data["node"] is None) == (data["index"] == 1)  # the second never started
        assert (kind, data) == ("done", {"cancelled": True})
    assert after_cancel <= 2
    (kept,) = children(client, tree, tree["root_id"])["children"]
    assert kept["generation"]["finish_reason"] == "cancelled"
    assert client.post(f"/api/loom/generations/{started['generation']}/cancel").status_code == 404


@pytest.mark.model  # loads the embedded model in the app or the CLI
def test_a_client_that_goes_away_stops_the_model(client, base_url):
    tree = new_tree(client)
    url = f"{base_url}/api/loom/trees/{tree['id']}/nodes/{tree['root_id']}/generate"
    with httpx.Client(timeout=60) as gone, gone.stream("POST", url, json={"overrides": LONG}) as response:
        received = 0
        for kind, _ in sse_events(response):
            received += kind == "token"
            if received == 3:
                break
    deadline = time.monotonic() + 10
    while not (kept := children(client, tree, tree["root_id"])["children"]):
        assert time.monotonic() < deadline, "the cancelled continuation was never stored"
        time.sleep(0.05)
    (node,) = kept
    assert node["generation"]["finish_reason"] == "cancelled"
    full = ok(client.get(node_url(tree, node["id"])))["node"]
    assert len(full["tokens"]) <= received + 3, "the model ran on after the client left"


@pytest.mark.model  # loads the embedded model in the app or the CLI
@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (ModelError("llama.cpp lost its context"), "llama.cpp lost its context"),
        (RuntimeError("a bug"), "the generation failed unexpectedly; the server log has the details"),
    ],
)
def test_a_model_failing_mid_stream_ends_with_an_error_event(client, monkeypatch, failure, message):
    """Tokens already sent stay sent; the stream ends with an error event and done, no traceback."""
    model = get_model(Settings())
    real = model._logprobs
    calls = iter(range(1000))

    def fail_on_the_third_token(*args):
        if next(calls) == 2:
            raise failure
        return real(*args)

    monkeypatch.setattr(model, "_logprobs", fail_on_the_third_token)
    tree = new_tree(client)
    events = generate(client, tree, tree["root_id"], QUICK)
    assert [kind for kind, _ in events] == ["started", "token", "token", "error", "done"]
    assert events[3][1] == {"error": message}
    assert "Traceback" not in str(events)
    assert children(client, tree, tree["root_id"])["total"] == 0


# -- node operations ---------------------------------------------------------------------------------
def test_children_are_paged(client):
    tree = new_tree(client, "Wide")
    made = [ok(client.post(node_url(tree, tree["root_id"], "children"), json={"text": f" {i}"}), 201) for i in range(7)]
    page = children(client, tree, tree["root_id"], offset=2, limit=3)
    assert [child["id"] for child in page["children"]] == [node["id"] for node in made[2:5]]
    assert page["total"] == 7 and page["offset"] == 2
    assert len(children(client, tree, tree["root_id"])["children"]) == 7
    assert ok(client.get(node_url(tree, made[5]["id"], "sibling"), params={"step": 1}))["id"] == made[6]["id"]
    assert ok(client.get(node_url(tree, made[5]["id"], "sibling"), params={"step": -1}))["id"] == made[4]["id"]
    assert ok(client.get(node_url(tree, made[6]["id"], "sibling"), params={"step": 1})) is None


def test_a_node_longer_than_import_allows_is_refused_by_every_way_in(client):
    """What a tree file could not bring back in (MAX_NODE_CHARS) the API may not store either."""
    too_long = "a" * (MAX_NODE_CHARS + 1)
    tree = new_tree(client)
    trees = len(ok(client.get("/api/loom/trees"))["trees"])
    child = ok(client.post(node_url(tree, tree["root_id"], "children"), json={"text": " half"}), 201)
    ok(client.post(node_url(tree, tree["root_id"], "children"), json={"text": " other"}), 201)
    lengths = f"{MAX_NODE_CHARS + 1:,} characters long; the limit is {MAX_NODE_CHARS:,}"
    for response in (
        client.post(node_url(tree, tree["root_id"], "children"), json={"text": too_long}),
        client.post(node_url(tree, child["id"], "edit"), json={"text": too_long}),
        client.post("/api/loom/trees", json={"prompt": too_long}),
    ):
        assert response.status_code == 400
        assert lengths in response.json()["error"]
    half = "b" * (MAX_NODE_CHARS // 2 + 1)
    grandchild = ok(client.post(node_url(tree, child["id"], "children"), json={"text": half}), 201)
    ok(client.post(node_url(tree, child["id"], "edit"), json={"text": half}))
    merge = client.post(node_url(tree, grandchild["id"], "merge-parent"))
    assert merge.status_code == 400 and "the limit is" in merge.json()["error"]
    assert [node["text"] for node in children(client, tree, tree["root_id"])["children"]] == [half, " other"]
    assert len(ok(client.get("/api/loom/trees"))["trees"]) == trees  # the refused tree was not made


def test_navigation_edit_split_merge_and_history(client):
    tree = new_tree(client, "Root.")
    child = ok(client.post(node_url(tree, tree["root_id"], "children"), json={"text": " Alpha beta."}), 201)
    ok(client.post(node_url(tree, child["id"], "go")))
    path = state(client, tree)["path"]
    assert [node["id"] for node in path] == [tree["root_id"], child["id"]]
    assert path[0]["child_count"] == 1

    ok(client.post(node_url(tree, child["id"], "edit"), json={"text": " Alpha gamma."}))
    details = ok(client.get(node_url(tree, child["id"])))
    assert details["node"]["text"] == " Alpha gamma." and [h["text"] for h in details["history"]] == [" Alpha beta."]
    assert details["settings"]["n"] == 4

    split = ok(client.post(node_url(tree, child["id"], "split"), json={"offset": 6}))
    assert (split["head"]["text"], split["tail"]["text"]) == (" Alpha", " gamma.")
    assert state(client, tree)["path"][-1]["id"] == split["tail"]["id"]  # the reader stays on the same text

    merged = ok(client.post(node_url(tree, child["id"], "merge-child")))
    assert merged["text"] == " Alpha gamma." and merged["child_count"] == 0
    again = ok(client.post(node_url(tree, merged["id"], "split"), json={"offset": 6}))
    assert ok(client.post(node_url(tree, again["tail"]["id"], "merge-parent")))["text"] == " Alpha gamma."


def test_tags_notes_overrides_chapters_search(client):
    tree = new_tree(client, "A tree about quokkas.")
    node = ok(client.post(node_url(tree, tree["root_id"], "children"), json={"text": " Wombats dig."}), 201)

    assert ok(client.post(node_url(tree, node["id"], "tags"), json={"tag": "bookmark"}))["tags"] == ["bookmark"]
    ok(client.post(node_url(tree, node["id"], "tags"), json={"tag": "odd/tag name"}))
    assert state(client, tree)["bookmarks"][0]["id"] == node["id"]
    tagged = ok(client.get(f"/api/loom/trees/{tree['id']}/tagged", params={"tag": "odd/tag name"}))["nodes"]
    assert [n["id"] for n in tagged] == [node["id"]]
    assert ok(client.delete(node_url(tree, node["id"], "tags/odd%2Ftag%20name")))["tags"] == ["bookmark"]

    assert ok(client.post(node_url(tree, node["id"], "notes"), json={"notes": "check this"}))["notes"] == "check this"
    overrides = ok(client.post(node_url(tree, node["id"], "overrides"), json={"overrides": {"temperature": 0.3}}))
    assert overrides["overrides"] == {"temperature": 0.3}
    assert ok(client.get(node_url(tree, node["id"])))["settings"]["temperature"] == 0.3
    assert ok(client.post(node_url(tree, node["id"], "overrides"), json={"overrides": None}))["overrides"] is None

    chapters = f"/api/loom/trees/{tree['id']}/chapters"
    chapter = ok(client.post(chapters, json={"node_id": node["id"], "title": "Two"}), 201)
    assert state(client, tree)["chapters"] == [chapter]
    assert ok(client.get(node_url(tree, node["id"])))["chapter"] == chapter
    ok(client.delete(f"{chapters}/{chapter['id']}"))
    assert state(client, tree)["chapters"] == []

    found = ok(client.get(f"/api/loom/trees/{tree['id']}/search", params={"q": "wombats"}))["nodes"]
    assert [n["id"] for n in found] == [node["id"]]
    assert ok(client.get(f"/api/loom/trees/{tree['id']}/search", params={"q": ""}))["nodes"] == []


def test_delete_undo_reparent_hoist_and_walk(client):
    tree = new_tree(client, "Root.")
    root = tree["root_id"]
    a = ok(client.post(node_url(tree, root, "children"), json={"text": " a"}), 201)
    b = ok(client.post(node_url(tree, root, "children"), json={"text": " b"}), 201)
    leaf = ok(client.post(node_url(tree, a["id"], "children"), json={"text": " leaf"}), 201)
    ok(client.post(node_url(tree, leaf["id"], "go")))

    deletion = ok(client.delete(node_url(tree, a["id"])))
    assert deletion["nodes"] == 2 and deletion["parent_id"] == root
    assert state(client, tree)["path"][-1]["id"] == root  # the reader moved off the deleted subtree
    assert client.get(node_url(tree, leaf["id"])).status_code == 404
    assert ok(client.post(f"/api/loom/trees/{tree['id']}/undo-delete", json={}))["id"] == deletion["id"]
    assert ok(client.get(node_url(tree, leaf["id"])))["node"]["text"] == " leaf"

    assert (
        ok(client.post(node_url(tree, b["id"], "reparent"), json={"parent_id": a["id"], "position": 0}))["parent_id"]
        == a["id"]
    )
    assert [c["id"] for c in children(client, tree, a["id"])["children"]] == [b["id"], leaf["id"]]

    ok(client.post(f"/api/loom/trees/{tree['id']}/hoist", json={"node_id": a["id"]}))
    assert state(client, tree)["hoisted"]["id"] == a["id"]
    ok(client.post(f"/api/loom/trees/{tree['id']}/hoist", json={"node_id": None}))
    assert state(client, tree)["hoisted"] is None

    walked = ok(client.post(f"/api/loom/trees/{tree['id']}/walk", json={"node_id": root}))
    assert walked["child_count"] == 0 and walked["id"] in {b["id"], leaf["id"]}
    assert state(client, tree)["path"][-1]["id"] == walked["id"]


@pytest.mark.model  # loads the embedded model in the app or the CLI
def test_branch_at_token_makes_a_node_per_alternative(client):
    tree = new_tree(client)
    events = generate(client, tree, tree["root_id"], {**QUICK, "n": 1})
    node = next(data["node"] for kind, data in events if kind == "node")
    chosen, _, top = node["tokens"][2]
    alternatives = [alt for alt, _ in top if alt != chosen]

    made = ok(client.post(node_url(tree, node["id"], "branch"), json={"token_index": 2}))["nodes"]
    assert [n["text"] for n in made] == alternatives
    head = ok(client.get(node_url(tree, node["id"])))["node"]
    assert head["text"] == "".join(token[0] for token in node["tokens"][:2])  # split before the token
    assert {n["parent_id"] for n in made} == {node["id"]}


@pytest.mark.model  # loads the embedded model in the app or the CLI
def test_path_sends_tokens_only_for_its_deepest_nodes(client, monkeypatch):
    monkeypatch.setattr("autoalign.web.routes_loom.PATH_TOKEN_NODES", 1)
    tree = new_tree(client)
    events = generate(client, tree, tree["root_id"], {**QUICK, "n": 1})
    node = next(data["node"] for kind, data in events if kind == "node")
    ok(client.post(f"/api/loom/trees/{tree['id']}/walk", json={}))
    ok(client.post(node_url(tree, node["id"], "children"), json={"text": " more"}), 201)
    ok(client.post(f"/api/loom/trees/{tree['id']}/walk", json={}))
    path = state(client, tree)["path"]
    assert [("tokens" in n) for n in path] == [False, False, True]


# -- bad input ---------------------------------------------------------------------------------------
BAD_REQUESTS = [
    ("GET", "/api/loom/trees/999999", None, 404, "no Loom tree 999999"),
    ("GET", "/api/loom/trees/abc", None, 400, "tree_id"),
    ("GET", "/api/loom/trees/99999999999999999999999", None, 400, "tree_id"),
    ("GET", "{tree}/nodes/999999", None, 404, "no node 999999"),
    ("GET", "{tree}/nodes/{root}/children?limit=0", None, 400, "limit"),
    ("GET", "{tree}/nodes/{root}/children?offset=-1", None, 400, "offset"),
    ("POST", "{tree}/nodes/{root}/edit", b"{not json", 400, "JSON"),
    ("POST", "{tree}/nodes/{root}/edit", b"[1, 2]", 400, "text: Field required"),
    ("POST", "{tree}/nodes/{root}/edit", {}, 400, "text: Field required"),
    ("POST", "{tree}/nodes/{root}/edit", {"text": 5}, 400, "text"),
    ("PATCH", "{tree}/settings", {"n": 0}, 400, "invalid Loom settings: n"),
    ("PATCH", "{tree}/settings", {"colour": "red"}, 400, "invalid Loom settings: colour"),
    ("PATCH", "{tree}", {"title": ""}, 400, "title"),
    ("POST", "/api/loom/trees", {"settings": {"temperature": -1}}, 400, "temperature"),
    ("POST", "{tree}/nodes/{root}/split", {"offset": 9999}, 400, "split offset"),
    ("POST", "{tree}/nodes/{root}/merge-parent", None, 400, "the root has no parent"),
    ("POST", "{tree}/nodes/{root}/branch", {"token_index": 0}, 400, "no token probabilities"),
    ("POST", "{tree}/nodes/{root}/tags", {"tag": "  "}, 400, "a tag cannot be empty"),
    ("POST", "{tree}/nodes/{root}/overrides", {"overrides": {"top_p": 7}}, 400, "top_p"),
    ("POST", "{tree}/nodes/{root}/reparent", {"parent_id": 1}, 400, "the root cannot be moved"),
    ("DELETE", "{tree}/nodes/{root}", None, 400, "the root cannot be deleted"),
    ("POST", "{tree}/undo-delete", {}, 404, "nothing to undo"),
    ("POST", "{tree}/hoist", {"node_id": 999999}, 404, "no node 999999"),
    ("POST", "{tree}/nodes/999999/generate", {}, 404, "no node 999999"),
    ("POST", "{tree}/nodes/{root}/generate", {"overrides": {"n": 99}}, 400, "invalid Loom settings: n"),
    ("POST", "{tree}/nodes/{root}/generate", {"overrides": {"model": "nope"}}, 400, "no model profile 'nope'"),
    ("POST", "/api/loom/generations/unknown/cancel", None, 404, "no generation 'unknown' is running"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_json_error(client, method, path, body, status, message):
    tree = new_tree(client, "Bad input")
    url = path.format(tree=f"/api/loom/trees/{tree['id']}", root=tree["root_id"])
    if isinstance(body, bytes):
        response = client.request(method, url, content=body, headers={"Content-Type": "application/json"})
    else:
        response = client.request(method, url, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["error"]
    assert "Traceback" not in response.text


def test_a_node_of_another_tree_is_not_found(client):
    one, other = new_tree(client, "one"), new_tree(client, "other")
    response = client.post(node_url(one, other["root_id"], "go"))
    assert response.status_code == 404
    assert state(client, one)["path"][-1]["id"] == one["root_id"]


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://attacker.example"}, {"Sec-Fetch-Site": "cross-site", "Origin": "null"}]
)
def test_cross_site_writes_are_refused(client, headers):
    before = len(ok(client.get("/api/loom/trees"))["trees"])
    response = client.post("/api/loom/trees", json={"prompt": "csrf"}, headers=headers)
    assert response.status_code == 403
    assert client.post("/loom/new", data={"prompt": "csrf"}, headers=headers).status_code == 403
    assert len(ok(client.get("/api/loom/trees"))["trees"]) == before


def test_the_loom_needs_the_token_when_there_is_one(library):
    with serving(create_app(library, token="loom-token")) as url, httpx.Client(base_url=url) as guarded:
        assert guarded.get("/api/loom/trees").status_code == 401
        assert guarded.post("/api/loom/trees", json={}).status_code == 401
        headers = {"Authorization": "Bearer loom-token"}
        assert guarded.get("/api/loom/trees", headers=headers).status_code == 200


# -- pages -------------------------------------------------------------------------------------------
def test_pages_create_list_open_and_delete_trees(client):
    response = client.post("/loom/new", data={"prompt": f"Hostile {XSS}", "title": ""})
    assert response.status_code == 303
    location = response.headers["location"]
    tree_id = int(location.rsplit("/", 1)[1])

    index = client.get("/loom").text
    assert f'href="{location}"' in index and '<a href="/loom" aria-current="page">Loom</a>' in index
    assert XSS not in index and "&lt;script&gt;alert(1)&lt;/script&gt;" in index

    page = client.get(location)
    assert page.status_code == 200
    assert f'data-loom-tree="{tree_id}"' in page.text and '<script src="/static/loom.js" defer></script>' in page.text
    assert XSS not in page.text
    assert client.get("/static/loom.js").status_code == 200

    assert client.post(f"/loom/{tree_id}/delete").headers["location"] == "/loom"
    missing = client.get(location)
    assert missing.status_code == 404 and f"no Loom tree {tree_id}" in missing.text
