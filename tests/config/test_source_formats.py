"""SourceContainer.format, ColumnSchema.path and record_filter (SPEC §13): accepted shapes and
located problems."""

from __future__ import annotations

import pytest

from karet_worker.config.json_path import BadPath, parse_path
from karet_worker.config.validate import validate_document

from .support import Doc, col, only_problem, small_config


def ndjson_config() -> Doc:
    doc = small_config()
    bank = doc["source_containers"][0]
    bank["format"] = "ndjson"
    bank["schema"][1]["path"] = "request.headers.User-Agent[0]"
    bank["record_filter"] = {
        "kind": "not",
        "input": {
            "kind": "contains",
            "input": col("description"),
            "pattern": {"kind": "str", "value": "bot"},
        },
    }
    return doc


def test_an_ndjson_source_with_paths_and_a_record_filter_is_valid() -> None:
    report = validate_document(ndjson_config())
    assert report.problems == [] and report.warnings == []
    assert report.config is not None
    source = report.config.source_containers[0]
    assert source.format == "ndjson"
    assert source.columns[1].path == "request.headers.User-Agent[0]"
    assert source.record_filter is not None
    assert report.config.source_containers[1].format == "csv"  # the default


@pytest.mark.parametrize("source_format", ["csv", "parquet"])
def test_a_record_filter_is_accepted_for_every_format(source_format: str) -> None:
    doc = ndjson_config()
    doc["source_containers"][0]["format"] = source_format
    del doc["source_containers"][0]["schema"][1]["path"]
    assert validate_document(doc).problems == []


def test_an_unknown_format_is_a_located_problem() -> None:
    doc = small_config()
    doc["source_containers"][1]["format"] = "xml"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/1/format")
    assert "'ndjson'" in problem.message


@pytest.mark.parametrize("source_format", ["csv", "parquet"])
def test_a_path_on_a_column_of_a_non_json_source_is_a_problem(source_format: str) -> None:
    doc = ndjson_config()
    doc["source_containers"][0]["format"] = source_format
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/0/schema/1/path")
    assert "'description'" in problem.message and "only ndjson" in problem.message


def test_a_path_on_a_table_column_is_a_problem() -> None:
    doc = small_config()
    doc["analytic_tables"][0]["schema"][1]["path"] = "a.b"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/analytic_tables/0/schema/1/path")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("a..b", "empty key"),
        ("a.", "end with"),
        ("[0]", "start with a key"),
        ("a[x]", "like [0]"),
        ("a[0]b", "'.' is missing"),
        ("a]", "unexpected ']'"),
    ],
)
def test_a_malformed_path_is_a_located_problem(path: str, reason: str) -> None:
    doc = ndjson_config()
    doc["source_containers"][0]["schema"][1]["path"] = path
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/0/schema/1/path")
    assert reason in problem.message and "'description'" in problem.message


def test_csv_options_on_a_non_csv_source_are_a_problem() -> None:
    doc = small_config()
    doc["source_containers"][1]["format"] = "parquet"  # this source has csv options
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/1/csv")


def test_a_record_filter_column_must_be_in_the_source_schema() -> None:
    doc = ndjson_config()
    doc["source_containers"][0]["record_filter"]["input"]["input"] = col("descripton")
    problem = only_problem(doc)
    assert problem.kind == "dangling_reference"
    assert problem.path == "/source_containers/0/record_filter/input/input/name"
    assert "'descripton'" in problem.message and "'description'" in problem.message


def test_a_record_filter_lookup_must_exist() -> None:
    doc = ndjson_config()
    doc["source_containers"][0]["record_filter"] = {
        "kind": "eq",
        "left": {"kind": "lookup_ref", "lookup_id": "categories.tea", "input": col("description")},
        "right": {"kind": "str", "value": "Tea"},
    }
    problem = only_problem(doc)
    assert problem.kind == "dangling_reference"
    assert problem.path == "/source_containers/0/record_filter/left/lookup_id"


def test_a_malformed_record_filter_is_located() -> None:
    doc = ndjson_config()
    doc["source_containers"][0]["record_filter"] = {"kind": "not"}
    problem = only_problem(doc)
    assert problem.path == "/source_containers/0/record_filter/input"


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("status", ("status",)),
        ("request.host", ("request", "host")),
        ("request.headers.User-Agent[0]", ("request", "headers", "User-Agent", 0)),
        ("a[1][20].b", ("a", 1, 20, "b")),
        ("key with spaces.ü", ("key with spaces", "ü")),
    ],
)
def test_paths_parse_to_keys_and_indexes(text: str, steps: tuple[str | int, ...]) -> None:
    assert parse_path(text) == steps


def test_a_bad_path_raises() -> None:
    with pytest.raises(BadPath):
        parse_path("a[")
