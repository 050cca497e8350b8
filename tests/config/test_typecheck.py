"""Static type checking at validation (SPEC §13): a column whose expression can never become
its table column's type is a located error; one that may fail on some rows is not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from karet_worker.config.validate import validate_document

from .support import col, only_problem, small_config

EXPR = "/mappings/0/columns/0/expr"  # the `day` column, of type date in its table


def with_day(expr: dict[str, Any], day_type: str = "date", **extra: Any) -> Any:
    doc = small_config()
    doc["mappings"][0]["columns"][0]["expr"] = expr
    doc["analytic_tables"][0]["schema"][0]["type"] = day_type
    if day_type != "date":
        del doc["mappings"][0]["partition_by"]
    doc.update(extra)
    return doc


@pytest.mark.parametrize(
    ("expr", "day_type", "words"),
    [
        ({"kind": "bool", "value": True}, "date", "a bool value never converts to date"),
        ({"kind": "year", "input": col("date")}, "date", "an int64 value never converts to date"),
        ({"kind": "parse_date", "input": col("date"), "format": "%Y"}, "int64", "date value"),
        ({"kind": "str", "value": "soon"}, "date", "none of its possible values ('soon')"),
        ({"kind": "str", "value": "n/a"}, "decimal(12,2)", "converts to decimal(12,2)"),
        (
            {"kind": "lookup_ref", "lookup_id": "categories", "input": col("description")},
            "int64",
            "('Coffee', 'Groceries', 'Other', 'Travel')",
        ),
    ],
)
def test_impossible_columns_are_located_errors(
    expr: dict[str, Any], day_type: str, words: str
) -> None:
    problem = only_problem(with_day(expr, day_type))
    assert (problem.kind, problem.path) == ("schema", EXPR)
    assert "output column 'day' of mapping 'bank_txns' can never be" in problem.message
    assert words in problem.message


@pytest.mark.parametrize(
    ("expr", "day_type"),
    [
        (col("date"), "int64"),  # text: some rows may be numbers
        (col("amount"), "bool"),  # numbers are booleans (non-zero)
        ({"kind": "str", "value": " 2024-01-05"}, "date"),
        ({"kind": "str", "value": "1e3"}, "decimal(12,2)"),
        ({"kind": "null"}, "date"),
        ({"kind": "from_unix", "input": col("amount"), "to": "timestamp"}, "date"),
        ({"kind": "parse_date", "input": col("date"), "format": "%Y"}, "timestamp"),
        (
            {
                "kind": "if",
                "cond": col("amount"),
                "then": {"kind": "str", "value": "yes"},
                "else": {"kind": "str", "value": "maybe"},
            },
            "bool",
        ),
    ],
)
def test_possible_columns_validate_clean(expr: dict[str, Any], day_type: str) -> None:
    report = validate_document(with_day(expr, day_type))
    assert report.ok, report.problems


def test_a_lookup_with_a_numeric_catch_all_may_be_a_number() -> None:
    doc = with_day(
        {"kind": "lookup_ref", "lookup_id": "categories", "input": col("description")}, "int64"
    )
    doc["lookup_mappings"][0]["catch_all"] = {"output": "0"}
    assert validate_document(doc).ok


def test_dimension_values_and_on_miss_count() -> None:
    dim: dict[str, Any] = {
        "id": "geo",
        "rows": {"values": ["code"], "rows": [{"patterns": ["CA"], "values": ["x1"]}]},
    }
    expr = {"kind": "dim_ref", "dim_id": "geo", "input": col("description")}
    problem = only_problem(with_day(expr, "int64", dimensions=[dim]))
    assert problem.path == EXPR and "('x1')" in problem.message
    dim["on_miss"] = "passthrough"  # then any input text may come out
    assert validate_document(with_day(expr, "int64", dimensions=[dim])).ok


def test_an_impossible_cast_is_reported_at_the_cast() -> None:
    inner = {"kind": "cast", "input": {"kind": "bool", "value": False}, "to": "timestamp"}
    expr = {"kind": "concat", "args": [col("date"), inner]}
    problem = only_problem(with_day(expr, "string"))
    assert problem.path == EXPR + "/args/1"
    assert (
        "this cast can never succeed: a bool value never converts to timestamp" in problem.message
    )
    problem = only_problem(with_day(inner, "timestamp"))  # one problem, at the cast
    assert problem.path == EXPR


def with_where(condition: dict[str, Any]) -> Any:
    doc = small_config()
    doc["mappings"][0]["where"] = condition
    return doc


def with_record_filter(condition: dict[str, Any]) -> Any:
    doc = small_config()
    doc["source_containers"][0]["record_filter"] = condition
    return doc


WHERE = "/mappings/0/where"
RECORD_FILTER = "/source_containers/0/record_filter"
TRUE_WORD = {"kind": "str", "value": "yes"}


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        (col("amount"), "gives a float64 value, not true/false"),  # the table's `number`
        (col("category"), "gives a text value"),
        ({"kind": "year", "input": col("day")}, "gives an int64 value"),
        (TRUE_WORD, "gives a text value"),
        ({"kind": "null"}, "it is always null, so it would drop every row"),
        ({"kind": "coalesce", "args": []}, "always null"),
    ],
)
def test_a_where_that_is_not_boolean_is_a_located_error(
    condition: dict[str, Any], words: str
) -> None:
    problem = only_problem(with_where(condition))
    assert (problem.kind, problem.path) == ("schema", WHERE)
    assert problem.message.startswith("the where of mapping 'bank_txns' must be a condition: ")
    assert words in problem.message
    assert '{"kind": "cast", "to": "bool"}' in problem.message or "null" in words


@pytest.mark.parametrize(
    "condition",
    [
        {"kind": "gt", "left": col("amount"), "right": {"kind": "num", "value": 0}},
        {
            "kind": "not",
            "input": {"kind": "contains", "input": col("category"), "pattern": TRUE_WORD},
        },
        {"kind": "cast", "input": col("category"), "to": "bool"},
        {"kind": "in", "input": col("category"), "values": ["Coffee"]},
        {
            "kind": "if",
            "cond": {"kind": "regex_match", "input": col("category"), "pattern": "^C"},
            "then": {"kind": "bool", "value": True},
            "else": {"kind": "null"},
        },
    ],
)
def test_boolean_conditions_validate_clean(condition: dict[str, Any]) -> None:
    for doc in (with_where(condition), with_record_filter(_over_source(condition))):
        report = validate_document(doc)
        assert report.ok, report.problems


def _over_source(condition: dict[str, Any]) -> dict[str, Any]:
    """The condition over the bank source's columns (`category` → `description`)."""
    text = json.dumps(condition).replace('"category"', '"description"')
    return json.loads(text.replace('"day"', '"date"'))


def test_a_where_over_a_bool_output_column_is_a_condition() -> None:
    doc = small_config()
    doc["analytic_tables"][0]["schema"][1]["type"] = "bool"
    doc["mappings"][0]["columns"][1]["expr"] = {"kind": "bool", "value": True}
    doc["mappings"][0]["where"] = col("category")
    assert validate_document(doc).ok


def test_a_record_filter_that_is_not_boolean_is_a_located_error() -> None:
    problem = only_problem(with_record_filter({"kind": "lower", "input": col("description")}))
    assert (problem.kind, problem.path) == ("schema", RECORD_FILTER)
    assert "the record_filter of source 'bank' must be a condition" in problem.message
    assert "gives a text value" in problem.message


def test_an_impossible_cast_in_a_condition_is_reported_at_the_cast_only() -> None:
    never = {"kind": "cast", "input": {"kind": "parse_date", "input": col("date"),
             "format": "%Y"}, "to": "bool"}  # fmt: skip
    problem = only_problem(with_record_filter(never))
    assert problem.path == RECORD_FILTER
    assert "this cast can never succeed: a date value never converts to bool" in problem.message
    assert "(in the record_filter of source 'bank')" in problem.message
    inside = {"kind": "and", "left": never, "right": {"kind": "bool", "value": True}}
    problem = only_problem(with_record_filter(inside))
    assert problem.path == RECORD_FILTER + "/left"
