"""The JSON API describes itself: every ``/api/`` route names the shape of its answer."""

from __future__ import annotations

import httpx
import pytest
from servers import serving

from autoalign.library import Library
from autoalign.web import create_app
from autoalign.web.app import OPENAPI_PATH
from autoalign.workspace import Workspace

#: The one answer that is not JSON: the Loom's generation, streamed as Server-Sent Events.
STREAMED = {("post", "/api/loom/trees/{tree_id}/nodes/{node_id}/generate")}


@pytest.fixture(scope="module")
def description(tmp_path_factory) -> dict:
    library = Library(Workspace.open(tmp_path_factory.mktemp("api") / "ws"))
    with serving(create_app(library)) as url, httpx.Client(base_url=url) as client:
        response = client.get(OPENAPI_PATH)
    library.close()
    assert response.status_code == 200, response.text
    return response.json()


def success(operation: dict) -> dict:
    [(status, answer)] = [(s, r) for s, r in operation["responses"].items() if s.startswith("2")]
    return answer


def refs(schema: dict) -> list[str]:
    """The named schemas a response schema points to (itself, or each branch of a union)."""
    branches = schema.get("anyOf", [schema])
    return [branch["$ref"] for branch in branches if "$ref" in branch]


def test_every_api_route_names_the_shape_of_its_answer(description):
    operations = [(method, path, op) for path, ops in description["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 50
    for method, path, operation in operations:
        content = success(operation)["content"]
        if (method, path) in STREAMED:
            assert list(content) == ["text/event-stream"]
            continue
        schema = content["application/json"]["schema"]
        assert refs(schema), f"{method.upper()} {path} answers with an undescribed shape: {schema}"


def test_only_the_json_api_is_described(description):
    paths = list(description["paths"])
    assert all(path.startswith("/api/") for path in paths), [p for p in paths if not p.startswith("/api/")]
    for expected in ("/api/library/search", "/api/loom/trees/{tree_id}", "/api/discover/runs", "/api/jobs"):
        assert expected in paths


def test_described_shapes_name_every_field_and_forbid_others(description):
    schemas = description["components"]["schemas"]
    node = schemas["Node"]
    assert {"id", "text", "tokens", "children"} - set(node["properties"]) == {"children"}
    assert "tokens" not in schemas["ListedNode"]["properties"]
    answers = {
        ref.rsplit("/", 1)[1]
        for ops in description["paths"].values()
        for op in ops.values()
        for ref in refs(success(op).get("content", {}).get("application/json", {}).get("schema", {}))
    }
    for name in answers:
        assert schemas[name].get("additionalProperties") is False, f"{name} would let an undeclared field through"


def test_the_description_is_behind_the_token(tmp_path):
    library = Library(Workspace.open(tmp_path / "ws"))
    with serving(create_app(library, token="described-token")) as url, httpx.Client(base_url=url) as client:
        assert client.get(OPENAPI_PATH).status_code == 401
        assert client.get(OPENAPI_PATH, headers={"Authorization": "Bearer described-token"}).status_code == 200
    library.close()
