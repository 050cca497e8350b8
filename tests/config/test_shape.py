"""Shape errors from Pydantic: reported at the exact node, with messages a person can act on."""

from __future__ import annotations

from typing import Any

import pytest

from karet_worker.config.model import EXPRESSION_KINDS
from karet_worker.config.validate import validate_document

from .support import col, only_problem, problem_at, small_config


def test_unknown_expression_kind_five_levels_deep_is_reported_at_its_own_path() -> None:
    doc = small_config()
    doc["mappings"][0]["columns"][0]["expr"] = {
        "kind": "add",
        "left": {"kind": "upper", "input": {"kind": "trim", "input": {"kind": "bogus"}}},
        "right": {"kind": "num", "value": 1},
    }
    problem = only_problem(doc)
    assert problem.kind == "schema"
    assert problem.path == "/mappings/0/columns/0/expr/left/input/input"
    assert "'bogus'" in problem.message
    assert ", ".join(EXPRESSION_KINDS) in problem.message


def test_missing_field_is_reported_at_the_missing_member() -> None:
    doc = small_config()
    del doc["mappings"][1]["source_container_id"]
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("missing_field", "/mappings/1/source_container_id")
    assert "'source_container_id'" in problem.message and "/mappings/1" in problem.message


def test_missing_field_inside_an_expression() -> None:
    doc = small_config()
    doc["mappings"][0]["where"]["right"] = {"kind": "if", "cond": {"kind": "col"}, "then": col("x")}
    report = validate_document(doc)
    cond = problem_at(report, "/mappings/0/where/right/cond/name")
    assert cond.kind == "missing_field" and "'name'" in cond.message
    otherwise = problem_at(report, "/mappings/0/where/right/else")
    assert otherwise.kind == "missing_field" and "'else'" in otherwise.message


def test_expression_without_kind_is_a_missing_kind() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"]["input"] = {"name": "Merchant"}
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == (
        "missing_field",
        "/mappings/1/columns/0/expr/input/kind",
    )
    assert "'kind'" in problem.message


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("version",), "1", "integer"),
        (("version",), True, "integer"),
        (("version",), 1.5, "integer"),
        (("source_containers", 0, "name"), 7, "string"),
        (("mappings", 0, "columns", 2, "expr", "name"), 3, "string"),
        (("mappings", 0, "where", "right", "value"), "0", "number"),
        (("lookup_mappings", 0, "case_insensitive"), "yes", "true or false"),
        (("lookup_mappings", 0, "rows", 0, "priority"), "10", "integer"),
        (("mappings", 0, "columns"), {"a": 1}, "array"),
        (("mappings", 0, "where"), 7, "object"),
        (("source_containers", 1, "csv"), [], "object"),
    ],
)
def test_wrong_types_are_schema_problems_at_the_node(
    path: tuple[str | int, ...], value: object, expected: str
) -> None:
    doc = small_config()
    node: Any = doc
    for token in path[:-1]:
        node = node[token]
    node[path[-1]] = value
    pointer = "/" + "/".join(str(t) for t in path)
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", pointer)
    assert expected in problem.message


def test_invalid_literal_names_the_value_and_the_choices() -> None:
    doc = small_config()
    doc["source_containers"][0]["schema"][2]["type"] = "decimal"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/0/schema/2/type")
    assert "'decimal'" in problem.message and "'float64'" in problem.message


def test_negative_skip_rows() -> None:
    doc = small_config()
    doc["source_containers"][1]["csv"]["skip_rows"] = -1
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/1/csv/skip_rows")
    assert ">= 0" in problem.message


def test_union_item_errors_are_merged_into_one_problem() -> None:
    doc = small_config()
    doc["analytic_tables"][0]["schema"][1]["assertions"] = {"accepted_values": ["a", {"b": 1}]}
    problem = only_problem(doc)
    path = "/analytic_tables/0/schema/1/assertions/accepted_values/1"
    assert (problem.kind, problem.path) == ("schema", path)
    assert "a string or an integer or a number or true or false" in problem.message
    assert "got object" in problem.message


@pytest.mark.parametrize("root", [[], "config", 3, None])
def test_a_root_that_is_not_an_object(root: object) -> None:
    problem = only_problem(root)
    assert (problem.kind, problem.path) == ("schema", "")
    assert "object" in problem.message


def test_missing_top_level_collections() -> None:
    report = validate_document({"version": 1})
    assert {(p.kind, p.path) for p in report.problems} == {
        ("missing_field", "/source_containers"),
        ("missing_field", "/mappings"),
        ("missing_field", "/analytic_tables"),
    }
