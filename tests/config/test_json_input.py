"""`validate_json`: input that is not JSON gives one `invalid_json` problem with a position."""

from __future__ import annotations

import json

import pytest

from karet_worker.config.validate import validate_json

from .support import small_config


def _only(raw: bytes | str) -> tuple[str, str, str]:
    report = validate_json(raw)
    assert report.config is None and report.warnings == []
    assert len(report.problems) == 1, report.problems
    problem = report.problems[0]
    return problem.kind, problem.message, problem.path


def test_syntax_error_reports_line_and_column() -> None:
    kind, message, path = _only('{\n  "version": 1,\n  "mappings": [1,, 2]\n}')
    assert kind == "invalid_json" and path == ""
    assert "line 3, column 18" in message


@pytest.mark.parametrize("raw", ["", "   ", "{", '{"a": 1} trailing', "{'a': 1}"])
def test_other_non_json(raw: str) -> None:
    kind, message, _ = _only(raw)
    assert kind == "invalid_json"
    assert "line 1, column" in message


def test_non_utf8_bytes_report_where_they_are() -> None:
    kind, message, _ = _only(b'{\n "name": "caf\xe9"\n}')
    assert kind == "invalid_json"
    assert "UTF-8" in message and "0xe9" in message and "line 2, column 14" in message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_constants_are_rejected_with_their_position(constant: str) -> None:
    raw = '{"text": "NaN and Infinity", "v": ' + constant + "}"
    kind, message, _ = _only(raw)
    assert kind == "invalid_json"
    assert constant in message and "line 1, column 35" in message


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_json_nested_past_the_parser_is_a_clean_problem(depth: int) -> None:
    kind, message, _ = _only("[" * depth + "]" * depth)
    assert kind == "invalid_json"
    assert "nested too deeply" in message


def test_valid_json_bytes_and_text_with_bom() -> None:
    raw = json.dumps(small_config())
    assert validate_json(raw).ok
    assert validate_json(raw.encode()).ok
    assert validate_json(b"\xef\xbb\xbf" + raw.encode()).ok
    assert validate_json("\ufeff" + raw).ok


def test_lone_surrogates_do_not_break_problem_text() -> None:
    config = small_config()
    # Lookup ids are free text (mapping, table and source ids are restricted to key-safe text).
    config["lookup_mappings"] += [{"id": "\ud800", "rows": []}, {"id": "\ud800", "rows": []}]
    report = validate_json(json.dumps(config))  # ASCII JSON with a \ud800 escape
    assert [p.kind for p in report.problems] == ["duplicate_id"]
    for problem in report.problems:
        problem.message.encode("utf-8")
        problem.path.encode("utf-8")
