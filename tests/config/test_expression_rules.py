"""Rules inside the expressions of SPEC §13: regex patterns are checked where they are
written, and references inside `case` branches are resolved like any others."""

from __future__ import annotations

from karet_worker.config.validate import validate_document

from .support import col, only_problem, small_config


def test_a_look_around_pattern_is_a_located_validation_error() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"] = {
        "kind": "regex_extract",
        "input": col("Merchant"),
        "pattern": "(?<=ref:)[0-9]+",
        "group": 0,
    }
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/mappings/1/columns/0/expr/pattern")
    assert "look-around" in problem.message and "'card_merchants'" in problem.message


def test_a_missing_capture_group_is_reported_with_the_default_group() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"] = {
        "kind": "regex_extract",
        "input": col("Merchant"),
        "pattern": "[0-9]+",
    }
    problem = only_problem(doc)
    assert "0 capture group(s); group 1 does not exist" in problem.message


def test_columns_inside_case_branches_are_resolved() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"] = {
        "kind": "case",
        "branches": [
            {
                "when": {"kind": "regex_match", "input": col("Merchnt"), "pattern": "^A"},
                "then": col("Merchant"),
            }
        ],
    }
    problem = only_problem(doc)
    assert problem.kind == "dangling_reference"
    assert problem.path == "/mappings/1/columns/0/expr/branches/0/when/input/name"
    assert "did you mean 'Merchant'" in problem.message


def test_new_kinds_validate_clean() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"] = {
        "kind": "case",
        "branches": [
            {
                "when": {"kind": "in", "input": col("Merchant"), "values": ["A", 1, True]},
                "then": {
                    "kind": "split_part",
                    "input": {"kind": "replace", "input": col("Merchant"), "pattern": "-",
                              "replacement": " "},
                    "sep": " ",
                    "index": -1,
                },
            }
        ],
        "else": {"kind": "regex_extract", "input": col("Merchant"), "pattern": "([A-Z]+)"},
    }  # fmt: skip
    report = validate_document(doc)
    assert report.ok, report.problems
    assert report.warnings == []
