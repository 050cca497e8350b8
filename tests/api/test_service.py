"""/health, the OpenAPI document, and the envelope on framework and unexpected errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import MakeClient, assert_envelope


def test_health_is_200_with_an_empty_body(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.content == b""


def test_unknown_route_uses_the_envelope(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert_envelope(response.json(), "not_found")


@pytest.mark.parametrize(("method", "path"), [("PUT", "/jobs/run"), ("POST", "/health")])
def test_wrong_method_uses_the_envelope(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert_envelope(response.json(), "method_not_allowed")
    assert "allow" in response.headers


def test_openapi_publishes_the_config_schema_from_the_models(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    config = schemas["PipelineConfig"]
    for field in ("version", "source_containers", "lookup_mappings", "mappings", "analytic_tables"):
        assert field in config["properties"]
    assert "schema" in schemas["SourceContainer"]["properties"]  # the JSON key, not `.columns`
    assert "LookupRefExpr" in schemas
    body = document["paths"]["/config/validate"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PipelineConfig"
    }
    run_body = document["paths"]["/jobs/run"]["post"]["requestBody"]
    assert run_body["content"]["application/json"]["schema"]["$ref"].endswith("/RunRequest")
    assert set(schemas["RunRequest"]["properties"]) == {"pipeline_prefix", "clean_run"}
    # every $ref in the document resolves
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref


def test_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text


class ExplodingStore:
    """A store with a bug: any call raises something the service does not expect."""

    def __getattr__(self, name: str) -> Any:
        def explode(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals /etc/passwd")

        return explode


def test_unexpected_exception_is_500_envelope_and_logged(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    client = make_client(store=ExplodingStore())
    with caplog.at_level("ERROR", logger="karet_worker.api"):
        response = client.post("/jobs/run", json={"pipeline_prefix": "pipelines/x/"})
    assert response.status_code == 500
    body = response.json()
    assert_envelope(body, "internal_error")
    assert "secret internals" not in response.text
    logged = [r for r in caplog.records if r.name == "karet_worker.api" and r.exc_info]
    assert logged, "the traceback must be logged"
