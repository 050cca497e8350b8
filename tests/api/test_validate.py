"""POST /config/validate over HTTP: the 200 and 422 bodies of SPEC §7."""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi.testclient import TestClient


def test_valid_config_is_ok_with_no_warnings(
    client: TestClient, demo_config: dict[str, Any]
) -> None:
    response = client.post("/config/validate", json=demo_config)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "warnings": []}


def test_unknown_nested_field_is_a_warning_with_its_path(
    client: TestClient, demo_config: dict[str, Any]
) -> None:
    config = copy.deepcopy(demo_config)
    config["analytic_tables"][0]["partiton_keys"] = ["date"]
    response = client.post("/config/validate", json=config)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    paths = [w["path"] for w in body["warnings"]]
    assert "/analytic_tables/0/partiton_keys" in paths


def test_problems_give_422_with_kind_message_and_details(
    client: TestClient, demo_config: dict[str, Any]
) -> None:
    config = copy.deepcopy(demo_config)
    config["source_containers"][1]["id"] = "bank"  # duplicate id
    response = client.post("/config/validate", json=config)
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False
    assert body["error"] == "duplicate_id"
    assert "bank" in body["message"]
    duplicate = [p for p in body["details"] if p["kind"] == "duplicate_id"]
    assert duplicate and duplicate[0]["path"] == "/source_containers/1/id"
    for problem in body["details"]:
        assert set(problem) == {"kind", "message", "path"}


def test_every_problem_is_reported_and_error_is_the_first_kind(
    client: TestClient, demo_config: dict[str, Any]
) -> None:
    config = copy.deepcopy(demo_config)
    del config["mappings"][0]["source_container_id"]  # missing field
    config["mappings"][1]["columns"][0]["expr"] = {"kind": "nope"}  # unknown kind, deep
    response = client.post("/config/validate", json=config)
    assert response.status_code == 422
    body = response.json()
    paths = {p["path"] for p in body["details"]}
    assert "/mappings/0/source_container_id" in paths
    assert any(path.startswith("/mappings/1/columns/0/expr") for path in paths)
    assert body["error"] == body["details"][0]["kind"]
    assert str(len(body["details"]) - 1) in body["message"]  # "... and N more problems"


def test_invalid_json_is_reported_as_invalid_json(client: TestClient) -> None:
    response = client.post(
        "/config/validate",
        content=b'{"version": 1,\n "source_containers": [',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False
    assert body["error"] == "invalid_json"
    assert body["details"][0]["kind"] == "invalid_json"


def test_body_is_read_raw_whatever_the_content_type(
    client: TestClient, demo_config: dict[str, Any]
) -> None:
    response = client.post(
        "/config/validate",
        content=json.dumps(demo_config).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_empty_body_is_invalid_json(client: TestClient) -> None:
    response = client.post("/config/validate")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_json"


def test_absurdly_nested_json_is_a_clean_422_not_a_crash(client: TestClient) -> None:
    response = client.post("/config/validate", content=b"[" * 1_000_000)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_json"


def test_too_deep_expression_is_a_clean_422(
    client: TestClient, demo_config: dict[str, Any]
) -> None:
    expr: dict[str, Any] = {"kind": "col", "name": "description"}
    for _ in range(200):
        expr = {"kind": "trim", "input": expr}
    demo_config["mappings"][0]["columns"][3]["expr"] = expr
    response = client.post("/config/validate", json=demo_config)
    assert response.status_code == 422
    assert all(
        p["path"].startswith("/mappings/0/columns/3/expr") for p in response.json()["details"]
    )
