"""The error contract of the real service over HTTP: 400/401/404/413/422 envelopes (SPEC §7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import MAX_BODY_BYTES
from .pipelines import col, csv_text, mapping, pipeline, source, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

COLUMNS = [("id", "int64"), ("name", "string")]


def valid_config() -> dict[str, Any]:
    return pipeline(
        sources=[source("src", "raw/", COLUMNS)],
        tables=[table("out", COLUMNS)],
        mappings=[mapping("m", "src", "out", {"id": col("id"), "name": col("name")})],
    )


def assert_envelope(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body.get("details", []), list)
    assert "Traceback" not in response.text
    return body


def test_health_is_200_with_an_empty_body_and_needs_no_token(service: Service) -> None:
    response = service.get("/health")
    assert response.status_code == 200
    assert response.content == b""


def test_missing_config_is_404_config_not_found(service: Service, workspace: Workspace) -> None:
    workspace.put_csv("raw/a.csv", csv_text(["id", "name"], [[1, "a"]]))
    body = assert_envelope(service.run(workspace.prefix), 404, "config_not_found")
    assert "pipeline.json" in body["message"]
    assert workspace.keys("clean/") == []


def test_invalid_config_is_422_with_every_problem_and_nothing_written(
    service: Service, workspace: Workspace
) -> None:
    config = valid_config()
    config["mappings"][0]["analytic_table_id"] = "no_such_table"
    config["mappings"][0]["columns"].append({"name": "x", "expr": {"kind": "col", "name": "nope"}})
    workspace.put_config(config)
    workspace.put_csv("raw/a.csv", csv_text(["id", "name"], [[1, "a"]]))

    body = assert_envelope(service.run(workspace.prefix), 422, "config_invalid")

    details = body["details"]
    assert len(details) >= 2, details
    assert all({"kind", "message", "path"} <= set(d) for d in details)
    assert any(d["kind"] == "dangling_reference" and "no_such_table" in d["message"]
               for d in details)  # fmt: skip
    assert any(d["path"].startswith("/mappings/0") for d in details)
    assert workspace.keys("clean/") == []


def test_unparseable_config_is_422(service: Service, workspace: Workspace) -> None:
    workspace.put("pipeline.json", b"{ this is not json")
    body = assert_envelope(service.run(workspace.prefix), 422, "config_invalid")
    assert any(d["kind"] == "invalid_json" for d in body["details"]), body


@pytest.mark.parametrize(
    "prefix",
    [
        "/pipelines/abs/",  # absolute
        "pipelines/no-trailing-slash",
        "pipelines/../escape/",
        "pipelines/./dot/",
        "pipelines//empty/",
        "pipelines/sp ace/",
        "pipelines/" + "a" * 520 + "/",  # over 512 bytes
    ],
)
def test_bad_pipeline_prefix_is_400(service: Service, prefix: str) -> None:
    body = assert_envelope(service.run(prefix), 400, "invalid_request")
    assert body["details"], body


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"clean_run": true}', b'{"pipeline_prefix": 5}'],
)
def test_bad_run_body_is_400(service: Service, content: bytes) -> None:
    response = service.post(
        "/jobs/run", content=content, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400, "invalid_request")


@pytest.mark.parametrize("path", ["/jobs/run", "/config/validate"])
@pytest.mark.parametrize("token", ["", "wrong-token", "integration-secret-token-but-longer"])
def test_posts_without_the_right_bearer_token_are_401(
    service: Service, path: str, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{service.base_url}{path}",
        json={"pipeline_prefix": "pipelines/x/"} if path == "/jobs/run" else valid_config(),
        headers=headers,
        timeout=30,
    )
    assert_envelope(response, 401, "unauthorized")


def test_validate_with_the_token_answers(service: Service) -> None:
    response = service.post("/config/validate", json=valid_config(), timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True


def test_body_over_the_limit_is_413(service: Service) -> None:
    big = b'{"pipeline_prefix": "pipelines/x/", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    for path in ("/jobs/run", "/config/validate"):
        response = service.post(
            path, content=big, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert response.json()["error"]


def test_streamed_body_over_the_limit_is_413(service: Service) -> None:
    """No Content-Length (chunked upload): the limit still holds."""

    def chunks() -> Iterator[bytes]:
        yield b'{"pipeline_prefix": "pipelines/x/", "pad": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = service.post(
        "/config/validate",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413, response.text[:200]


def test_run_with_no_input_files_is_200_with_an_error(
    service: Service, workspace: Workspace
) -> None:
    workspace.put_config(valid_config())
    body = service.run_ok(workspace.prefix)
    assert body["errors"], body
    assert body["files_processed"] == 0
    assert body["partitions_written"] == 0
    assert workspace.keys("clean/") == []
