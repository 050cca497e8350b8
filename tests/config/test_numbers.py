"""Malformed numbers (SPEC §15): integers past 64 bits (Python refuses to convert more than 4300
digits), floats that overflow to infinity, NaN/Infinity. Each is a located problem — on
/config/validate, on /jobs/run (the stored config), in `validate` and `run` — never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from karet_worker.api import create_app
from karet_worker.cli.main import app as cli
from karet_worker.config.validate import validate_json
from karet_worker.settings import Settings

from .support import small_config

PLACEHOLDER = "424242424242"
# Where a number can sit in a config: a typed field, a literal, a free-form part.
PLACES = {
    "/version": lambda d: d.__setitem__("version", int(PLACEHOLDER)),
    "/lookup_mappings/0/rows/0/priority": lambda d: d["lookup_mappings"][0]["rows"][0].update(
        priority=int(PLACEHOLDER)
    ),
    "/source_containers/1/csv/skip_rows": lambda d: d["source_containers"][1]["csv"].update(
        skip_rows=int(PLACEHOLDER)
    ),
    "/mappings/0/where/right/value": lambda d: d["mappings"][0]["where"]["right"].update(
        value=int(PLACEHOLDER)
    ),
    "/layout/node/x": lambda d: d.update(layout={"node": {"x": int(PLACEHOLDER), "y": 0}}),
    "/analytic_tables/0/schema/2/assertions/min": lambda d: d["analytic_tables"][0]["schema"][
        2
    ].update(assertions={"min": int(PLACEHOLDER)}),
}

OUT_OF_RANGE = st.one_of(
    st.integers(20, 6000).map(lambda n: "9" * n),
    st.integers(20, 6000).map(lambda n: "-1" + "0" * n),
    st.sampled_from(["9223372036854775808", "-9223372036854775809", "1e309", "-2.5E400"]),
    st.integers(309, 100_000).map(lambda e: f"1e{e}"),
)


def document_with(place: str, literal: str) -> str:
    doc = small_config()
    PLACES[place](doc)
    text = json.dumps(doc)
    assert text.count(PLACEHOLDER) == 1
    return text.replace(PLACEHOLDER, literal)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(place=st.sampled_from(sorted(PLACES)), literal=OUT_OF_RANGE)
def test_out_of_range_numbers_are_reported_at_their_path(place: str, literal: str) -> None:
    report = validate_json(document_with(place, literal))
    assert not report.ok
    # Only the number itself: nothing else is blamed on it.
    assert [(p.kind, p.path) for p in report.problems] == [("schema", place)]
    message = report.problems[0].message
    assert "out of range" in message and len(message) < 300


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_invalid_json_with_their_line(literal: str) -> None:
    report = validate_json(document_with("/version", literal))
    assert [p.kind for p in report.problems] == ["invalid_json"]
    assert literal in report.problems[0].message and "line 1" in report.problems[0].message


def test_largest_64_bit_integers_are_fine() -> None:
    assert validate_json(document_with("/layout/node/x", "9223372036854775807")).ok
    assert validate_json(document_with("/layout/node/x", "-9223372036854775808")).ok
    assert validate_json(document_with("/layout/node/x", "1.7976931348623157e308")).ok


def test_python_values_out_of_range_are_reported_too() -> None:
    """validate_document takes parsed values (e.g. from a job payload), not only text."""
    from karet_worker.config.validate import validate_document

    doc = small_config()
    doc["lookup_mappings"][0]["rows"][0]["priority"] = 10**5000
    doc["mappings"][0]["where"]["right"]["value"] = float("inf")
    report = validate_document(doc)
    assert [p.path for p in report.problems] == [
        "/lookup_mappings/0/rows/0/priority",
        "/mappings/0/where/right/value",
    ]


# ---------------------------------------------------------------- through the API and the CLI


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings_ = Settings.from_env({"KARET_DATA_DIR": str(tmp_path / "data")})
    return TestClient(create_app(settings_), raise_server_exceptions=False)


@pytest.mark.parametrize("literal", ["9" * 5000, "1e999", "NaN"])
def test_validate_endpoint_answers_422_with_the_path(client: TestClient, literal: str) -> None:
    body = document_with("/lookup_mappings/0/rows/0/priority", literal)
    answer = client.post("/config/validate", content=body)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["details"][0]
    if literal == "NaN":
        assert detail["kind"] == "invalid_json"
    else:
        assert detail == {
            "kind": "schema",
            "path": "/lookup_mappings/0/rows/0/priority",
            "message": detail["message"],
        }


@pytest.mark.parametrize("literal", ["9" * 5000, "-1e999"])
def test_run_of_a_stored_config_answers_422_config_invalid(
    client: TestClient, tmp_path: Path, literal: str
) -> None:
    config = tmp_path / "data" / "pipelines" / "n" / "pipeline.json"
    config.parent.mkdir(parents=True)
    config.write_text(document_with("/source_containers/1/csv/skip_rows", literal))
    answer = client.post("/jobs/run", json={"pipeline_prefix": "pipelines/n/"})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "config_invalid"
    assert body["details"][0]["path"] == "/source_containers/1/csv/skip_rows"


def test_run_body_with_a_huge_integer_is_a_400(client: TestClient) -> None:
    raw = '{"pipeline_prefix": "pipelines/n/", "clean_run": ' + "1" * 5000 + "}"
    answer = client.post("/jobs/run", content=raw)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"


def test_cli_validate_and_run_print_the_path_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = document_with("/version", "9" * 5000)
    path = tmp_path / "pipeline.json"
    path.write_text(text)
    runner = CliRunner()

    checked = runner.invoke(cli, ["validate", str(path)])
    assert checked.exit_code == 1, checked.output
    assert "/version" in checked.output and "out of range" in checked.output
    assert checked.exception is None or isinstance(checked.exception, SystemExit)

    data = tmp_path / "data"
    (data / "pipelines" / "n").mkdir(parents=True)
    (data / "pipelines" / "n" / "pipeline.json").write_text(text)
    monkeypatch.setenv("KARET_DATA_DIR", str(data))
    ran = runner.invoke(cli, ["run", "pipelines/n/"])
    assert ran.exit_code == 1, ran.output
    assert "/version" in ran.output and "Traceback" not in ran.output
    assert ran.exception is None or isinstance(ran.exception, SystemExit)
