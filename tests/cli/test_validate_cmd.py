"""`karet-worker validate FILE`: exit 0 valid, 1 invalid, 2 unreadable; paths are printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from karet_worker.cli.main import app
from karet_worker.demo import demo_files

runner = CliRunner()


@pytest.fixture
def config() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(demo_files()["pipeline.json"])
    return loaded


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "pipeline.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_valid_config_exits_0(tmp_path: Path, config: dict[str, Any]) -> None:
    result = runner.invoke(app, ["validate", str(write(tmp_path, config))])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout


def test_invalid_config_exits_1_and_prints_every_problem_with_its_path(
    tmp_path: Path, config: dict[str, Any]
) -> None:
    config["source_containers"][1]["id"] = "bank"
    del config["mappings"][0]["source_container_id"]
    config["mappings"][1]["columns"][3]["expr"]["input"] = {"kind": "wat"}
    result = runner.invoke(app, ["validate", str(write(tmp_path, config))])
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "/source_containers/1/id" in out
    assert "duplicate_id" in out
    assert "/mappings/0/source_container_id" in out
    assert "/mappings/1/columns/3/expr/input" in out
    assert "problem(s)" in out


def test_warnings_are_printed_with_their_path_and_still_exit_0(
    tmp_path: Path, config: dict[str, Any]
) -> None:
    config["analytic_tables"][0]["partiton_keys"] = ["source"]
    result = runner.invoke(app, ["validate", str(write(tmp_path, config))])
    assert result.exit_code == 0, result.output
    assert "warning" in result.stdout
    assert "/analytic_tables/0/partiton_keys" in result.stdout


def test_message_with_brackets_is_printed_verbatim(tmp_path: Path, config: dict[str, Any]) -> None:
    config["source_containers"][0]["id"] = "[bold]x[/bold]"
    config["mappings"][0]["source_container_id"] = "[bold]y[/bold]"
    result = runner.invoke(app, ["validate", str(write(tmp_path, config))])
    assert result.exit_code == 1, result.output
    assert "[bold]y[/bold]" in result.stdout  # Rich markup is not interpreted


def test_not_json_exits_1_with_invalid_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(write(tmp_path, '{"version": 1,'))])
    assert result.exit_code == 1, result.output
    assert "invalid_json" in result.stdout


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr
    assert "nope.json" in result.stderr


def test_directory_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_stdin_is_read_with_dash(config: dict[str, Any]) -> None:
    result = runner.invoke(app, ["validate", "-"], input=json.dumps(config))
    assert result.exit_code == 0, result.output


def test_json_prints_the_same_body_as_the_api(tmp_path: Path, config: dict[str, Any]) -> None:
    config["analytic_tables"][0]["partiton_keys"] = ["source"]
    ok = runner.invoke(app, ["validate", "--json", str(write(tmp_path, config))])
    assert ok.exit_code == 0
    body = json.loads(ok.stdout)
    assert body["ok"] is True
    assert [w["path"] for w in body["warnings"]] == ["/analytic_tables/0/partiton_keys"]
    del config["mappings"][0]["source_container_id"]
    bad = runner.invoke(app, ["validate", "--json", str(write(tmp_path, config))])
    assert bad.exit_code == 1
    body = json.loads(bad.stdout)
    assert body["ok"] is False
    assert body["error"] == "missing_field"
    assert body["details"][0]["path"] == "/mappings/0/source_container_id"
