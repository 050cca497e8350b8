"""Declared column types (SPEC §3, §13): `timestamp` and `decimal(p,s)` are accepted, and a
malformed type is reported at its path with what would be accepted."""

from __future__ import annotations

import re

import pytest

from karet_worker.config.column_types import (
    COLUMN_TYPE_PATTERN,
    DeclaredType,
    is_column_type,
    parse_column_type,
)
from karet_worker.config.validate import validate_document

from .support import only_problem, small_config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("timestamp", DeclaredType("timestamp")),
        ("decimal(12,2)", DeclaredType("decimal", 12, 2)),
        ("decimal( 38 , 0 )", DeclaredType("decimal", 38, 0)),
        ("decimal(1,1)", DeclaredType("decimal", 1, 1)),
    ],
)
def test_new_types_parse(text: str, expected: DeclaredType) -> None:
    assert parse_column_type(text) == expected


def test_timestamp_and_decimal_columns_validate_clean() -> None:
    doc = small_config()
    doc["source_containers"][0]["schema"][0]["type"] = "timestamp"
    doc["analytic_tables"][0]["schema"][2]["type"] = "decimal(12,2)"
    report = validate_document(doc)
    assert report.ok, report.problems


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("decimal(39,2)", "precision must be between 1 and 38"),
        ("decimal(0,0)", "precision must be between 1 and 38"),
        ("decimal(5,6)", "scale must not exceed its precision"),
        ("decimal(12)", "unknown column type 'decimal(12)'"),
        ("Timestamp", "unknown column type 'Timestamp'"),
    ],
)
def test_malformed_types_are_located_schema_problems(text: str, words: str) -> None:
    doc = small_config()
    doc["analytic_tables"][0]["schema"][1]["type"] = text
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/analytic_tables/0/schema/1/type")
    assert words in problem.message
    assert "Value error" not in problem.message


def test_cast_to_number_is_rejected_with_the_alternative() -> None:
    doc = small_config()
    doc["mappings"][0]["columns"][0]["expr"] = {
        "kind": "cast",
        "input": {"kind": "col", "name": "amount"},
        "to": "number",
    }
    problem = only_problem(doc)
    assert problem.path == "/mappings/0/columns/0/expr/to"
    assert "'float64'" in problem.message


def test_timestamps_cannot_be_partition_keys() -> None:
    doc = small_config()
    doc["analytic_tables"][1]["schema"][0]["type"] = "timestamp"
    problem = only_problem(doc)
    assert problem.path == "/analytic_tables/1/partition_keys/0"
    assert "'timestamp'" in problem.message


@pytest.mark.parametrize(
    "text",
    ["decimal(12,2)", "decimal( 38 , 0 )", "decimal(1,1)", "timestamp", "decimal(39,2)",
     "decimal(0,0)", "decimal(012,2)", "decimal(5,6)", "Decimal(5,2)", "decimal(5, 2 )x"],
)  # fmt: skip
def test_the_published_pattern_agrees_with_the_validator(text: str) -> None:
    """/openapi.json publishes COLUMN_TYPE_PATTERN; only `scale <= precision` is beyond it."""
    in_pattern = re.fullmatch(COLUMN_TYPE_PATTERN, text) is not None
    scale_too_big = text == "decimal(5,6)"
    assert in_pattern == (is_column_type(text) or scale_too_big)
