"""Depth limits: too-deep expressions and JSON are clean problems, never a RecursionError."""

from __future__ import annotations

from typing import Any

import pytest

from karet_worker.config.limits import MAX_EXPRESSION_DEPTH, MAX_JSON_DEPTH
from karet_worker.config.validate import validate_document, validate_json

from .support import Doc, col, only_problem, problem_at, small_config


def _nested_upper(levels: int, leaf: Doc) -> Doc:
    """`levels` expressions in total: `levels - 1` upper() around `leaf`."""
    node = leaf
    for _ in range(levels - 1):
        node = {"kind": "upper", "input": node}
    return node


def _nested_concat(levels: int) -> Doc:
    node = col("Merchant")
    for _ in range(levels - 1):
        node = {"kind": "concat", "args": [{"kind": "str", "value": "x"}, node]}
    return node


def test_expressions_64_levels_deep_are_fine() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"] = _nested_upper(MAX_EXPRESSION_DEPTH, col("Merchant"))
    doc["mappings"][1]["columns"][1]["expr"] = _nested_concat(MAX_EXPRESSION_DEPTH)
    assert validate_document(doc).ok


def test_expression_65_levels_deep_is_rejected_at_the_too_deep_node() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"] = _nested_upper(65, col("Merchant"))
    problem = only_problem(doc)
    assert problem.kind == "schema"
    assert problem.path == "/mappings/1/columns/0/expr" + "/input" * 64
    assert "64" in problem.message


def test_deep_expressions_through_args_and_in_where() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][1]["expr"] = _nested_concat(70)
    doc["mappings"][0]["where"] = _nested_upper(65, col("amount"))
    report = validate_document(doc)
    concat_level_64 = "/mappings/1/columns/1/expr" + "/args/1" * 63
    assert {p.path for p in report.problems} == {
        concat_level_64 + "/args/0",  # both arguments of the 64th level are too deep
        concat_level_64 + "/args/1",
        "/mappings/0/where" + "/input" * 64,
    }
    assert {p.kind for p in report.problems} == {"schema"}


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_very_deep_expressions_from_python_or_json(levels: int) -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"] = _nested_upper(levels, col("Merchant"))
    problem = problem_at(validate_document(doc), "/mappings/1/columns/0/expr" + "/input" * 64)
    assert problem.kind == "schema"


def test_other_problems_are_still_found_next_to_a_too_deep_expression() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"] = _nested_upper(200, col("Merchant"))
    doc["mappings"][0]["source_container_id"] = "nope"
    doc["analytic_tables"][0]["schema"][0]["type"] = "datetime"
    report = validate_document(doc)
    assert {(p.kind, p.path) for p in report.problems} == {
        ("schema", "/mappings/1/columns/0/expr" + "/input" * 64),
        ("dangling_reference", "/mappings/0/source_container_id"),
        ("schema", "/analytic_tables/0/schema/0/type"),
    }


def _deep_array(levels: int) -> list[Any]:
    node: list[Any] = []
    for _ in range(levels - 1):
        node = [node]
    return node


def test_a_100k_deep_array_in_an_unknown_field_is_a_clean_problem() -> None:
    doc = small_config()
    doc["analytic_tables"][0]["junk"] = _deep_array(100_000)
    report = validate_document(doc)
    # The object holding `junk` sits at JSON depth 3, so `junk` is at depth 4.
    depth_of_junk = 4
    path = "/analytic_tables/0/junk" + "/0" * (MAX_JSON_DEPTH + 1 - depth_of_junk)
    assert [(p.kind, p.path) for p in report.problems] == [("schema", path)]
    assert str(MAX_JSON_DEPTH) in report.problems[0].message
    assert [w.path for w in report.warnings] == ["/analytic_tables/0/junk"]


def test_deep_json_within_the_limit_is_fine() -> None:
    doc = small_config()
    doc["layout"] = {"nodes": _deep_array(MAX_JSON_DEPTH - 2)}
    assert validate_document(doc).ok
    doc["layout"] = {"nodes": _deep_array(MAX_JSON_DEPTH - 1)}
    assert not validate_document(doc).ok


def test_deep_json_text_that_the_parser_takes_is_checked_too() -> None:
    raw = '{"version": 1, "layout": ' + "[" * 300 + "]" * 300 + "}"
    report = validate_json(raw)
    kinds_paths = {(p.kind, p.path) for p in report.problems}
    assert ("schema", "/layout" + "/0" * (MAX_JSON_DEPTH - 1)) in kinds_paths
    assert ("missing_field", "/mappings") in kinds_paths
