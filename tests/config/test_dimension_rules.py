"""Validation of dimensions and `dim_ref` (SPEC §13): references resolve, value columns exist,
inline rows fit their columns and repeat no exact key; every problem located."""

from __future__ import annotations

from typing import Any

from karet_worker.config.validate import validate_document

from .support import col, only_problem, problem_at, small_config


def with_dimensions(*dimensions: dict[str, Any], expr: dict[str, Any] | None = None) -> Any:
    doc = small_config()
    doc["dimensions"] = list(dimensions)
    doc["mappings"][0]["columns"][1]["expr"] = expr or {
        "kind": "dim_ref",
        "dim_id": "geo",
        "input": col("description"),
    }
    return doc


GEO = {
    "id": "geo",
    "case_insensitive": True,
    "on_miss": {"literal": "Other"},
    "rows": {
        "values": ["country", "region"],
        "rows": [
            {"patterns": ["CA", "CAN"], "values": ["Canada", "Americas"]},
            {"patterns": ["DE"], "values": ["Germany", "Europe"], "priority": 2},
        ],
    },
}
FILES = {
    "id": "sections",
    "match": "prefix",
    "rows": {"path_prefix": "reference/sections/", "key": "path", "values": ["section"]},
}


def test_dimensions_and_dim_refs_validate_clean() -> None:
    expr = {"kind": "dim_ref", "dim_id": "geo", "input": col("description"), "value": "region"}
    report = validate_document(with_dimensions(GEO, FILES, expr=expr))
    assert report.ok, report.problems
    assert report.warnings == []
    assert report.config is not None and len(report.config.dimensions) == 2


def test_dangling_dimension_and_value_column() -> None:
    expr = {"kind": "dim_ref", "dim_id": "gep", "input": col("description")}
    problem = only_problem(with_dimensions(GEO, expr=expr))
    assert problem.kind == "dangling_reference"
    assert problem.path == "/mappings/0/columns/1/expr/dim_id"
    assert "'gep'" in problem.message and "did you mean 'geo'" in problem.message
    expr = {"kind": "dim_ref", "dim_id": "geo", "input": col("description"), "value": "regio"}
    problem = only_problem(with_dimensions(GEO, expr=expr))
    assert problem.path == "/mappings/0/columns/1/expr/value"
    assert "'country', 'region'" in problem.message


def test_duplicate_exact_keys_and_wrong_value_counts_in_inline_rows() -> None:
    geo: Any = {**GEO, "rows": {**GEO["rows"], "rows": [*GEO["rows"]["rows"]]}}
    geo["rows"]["rows"].append({"patterns": ["x", "can"], "values": ["Canada?"]})
    report = validate_document(with_dimensions(geo))
    duplicate = problem_at(report, "/dimensions/0/rows/rows/2/patterns/1")
    assert duplicate.kind == "duplicate_id"
    assert (
        "'can'" in duplicate.message and "/dimensions/0/rows/rows/0/patterns/1" in duplicate.message
    )
    count = problem_at(report, "/dimensions/0/rows/rows/2/values")
    assert "1 value(s)" in count.message and "'country', 'region'" in count.message
    assert len(report.problems) == 2


def test_keyword_dimensions_may_repeat_patterns() -> None:
    geo: Any = {**GEO, "match": "keyword_substring"}
    geo["rows"] = {**GEO["rows"], "rows": [*GEO["rows"]["rows"], *GEO["rows"]["rows"]]}
    assert validate_document(with_dimensions(geo)).ok


def test_dimension_ids_prefixes_and_unknown_fields() -> None:
    bad_prefix = {**FILES, "id": "geo", "rows": {**FILES["rows"], "path_prefix": "/abs"}}
    report = validate_document(with_dimensions(GEO, bad_prefix))
    assert problem_at(report, "/dimensions/1/id").kind == "duplicate_id"
    assert "must be relative" in problem_at(report, "/dimensions/1/rows/path_prefix").message
    typo = {**FILES, "rows": {**FILES["rows"], "prority_column": "p"}}
    report = validate_document(with_dimensions(GEO, typo))
    assert report.ok
    assert [w.path for w in report.warnings] == ["/dimensions/1/rows/prority_column"]


def test_rows_missing_their_shape_are_located() -> None:
    broken = {"id": "geo", "rows": {"path_prefix": "reference/x/", "values": ["v"]}}
    problem = only_problem(with_dimensions(broken))
    assert (problem.kind, problem.path) == ("missing_field", "/dimensions/0/rows/key")
