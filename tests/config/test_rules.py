"""One test per rule of SPEC §5: the right kind, at the right path, naming the culprit."""

from __future__ import annotations

import pytest

from karet_worker.config.validate import validate_document

from .support import Doc, col, only_problem, problem_at, small_config


def test_the_small_config_is_valid() -> None:
    report = validate_document(small_config())
    assert report.ok
    assert report.problems == [] and report.warnings == []
    assert report.config is not None
    assert report.config.mappings[0].id == "bank_txns"


# ---------------------------------------------------------------- version, ids, names


@pytest.mark.parametrize("version", [0, 2, 100])
def test_version_must_be_1(version: int) -> None:
    doc = small_config()
    doc["version"] = version
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/version")
    assert str(version) in problem.message


ID_PATHS = [
    ("source_containers", 1),
    ("lookup_mappings", 0),
    ("mappings", 1),
    ("analytic_tables", 1),
]


@pytest.mark.parametrize(("collection", "index"), ID_PATHS)
@pytest.mark.parametrize("empty", ["", "   "])
def test_ids_must_not_be_empty(collection: str, index: int, empty: str) -> None:
    doc = small_config()
    doc[collection][index]["id"] = empty
    report = validate_document(doc)
    problem = problem_at(report, f"/{collection}/{index}/id")
    assert problem.kind == "schema"
    assert "empty id" in problem.message
    # Whatever referred to the old id now dangles; nothing else is reported.
    assert {p.kind for p in report.problems} <= {"schema", "dangling_reference"}


def test_child_lookup_id_must_not_be_empty() -> None:
    doc = small_config()
    doc["lookup_mappings"][0]["children"][1]["id"] = ""
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/lookup_mappings/0/children/1/id")


@pytest.mark.parametrize(
    "collection", ["source_containers", "analytic_tables", "mappings", "lookup_mappings"]
)
@pytest.mark.parametrize("empty", ["", " "])
def test_names_must_not_be_empty(collection: str, empty: str) -> None:
    doc = small_config()
    doc["lookup_mappings"].append({"id": "spare", "rows": []})
    doc[collection][1]["name"] = empty
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", f"/{collection}/1/name")
    assert repr(doc[collection][1]["id"]) in problem.message


def test_optional_names_may_be_absent_or_null() -> None:
    doc = small_config()
    doc["mappings"][0]["name"] = None
    doc["lookup_mappings"][0]["name"] = None
    assert "name" not in doc["mappings"][1]
    assert validate_document(doc).ok


@pytest.mark.parametrize(
    ("collection", "label"),
    [
        ("source_containers", "source containers"),
        ("mappings", "mappings"),
        ("analytic_tables", "analytic tables"),
    ],
)
def test_ids_are_unique_per_collection(collection: str, label: str) -> None:
    doc = small_config()
    first_id = doc[collection][0]["id"]
    doc[collection][1]["id"] = first_id
    report = validate_document(doc)
    problem = problem_at(report, f"/{collection}/1/id")
    assert problem.kind == "duplicate_id"
    assert f"two {label} share id {first_id!r}" in problem.message
    assert f"/{collection}/0" in problem.message


def test_top_level_lookup_ids_are_unique() -> None:
    doc = small_config()
    doc["lookup_mappings"].append({"id": "categories", "rows": []})
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("duplicate_id", "/lookup_mappings/1/id")
    assert "'categories'" in problem.message


def test_lookup_ids_are_unique_among_siblings_only() -> None:
    doc = small_config()
    children = doc["lookup_mappings"][0]["children"]
    children[1]["id"] = "coffee"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == (
        "duplicate_id",
        "/lookup_mappings/0/children/1/id",
    )
    assert "'coffee'" in problem.message

    # The same id under different parents (or at another level) is fine.
    doc = small_config()
    doc["lookup_mappings"][0]["children"][0]["children"] = [{"id": "travel", "rows": []}]
    doc["lookup_mappings"].append({"id": "coffee", "rows": []})
    assert validate_document(doc).ok


def test_lookup_ids_must_not_contain_dots() -> None:
    doc = small_config()
    doc["lookup_mappings"].append({"id": "a.b", "rows": []})
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/lookup_mappings/1/id")
    assert "'a.b'" in problem.message


@pytest.mark.parametrize("table_id", ["a/b", "..", "."])
def test_table_ids_must_be_usable_as_a_folder_name(table_id: str) -> None:
    doc = small_config()
    doc["analytic_tables"][1]["id"] = table_id
    doc["mappings"][1]["analytic_table_id"] = table_id
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/analytic_tables/1/id")
    assert repr(table_id) in problem.message


# ---------------------------------------------------------------- schemas


@pytest.mark.parametrize("collection", ["source_containers", "analytic_tables"])
def test_schema_column_names_are_unique(collection: str) -> None:
    doc = small_config()
    schema = doc[collection][0]["schema"]
    schema.append(dict(schema[0]))
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("duplicate_id", f"/{collection}/0/schema/3/name")
    assert repr(schema[0]["name"]) in problem.message


@pytest.mark.parametrize("collection", ["source_containers", "analytic_tables"])
def test_schema_column_names_must_not_be_empty(collection: str) -> None:
    doc = small_config()
    doc[collection][0]["schema"].append({"name": "", "type": "string"})
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", f"/{collection}/0/schema/3/name")


@pytest.mark.parametrize("collection", ["source_containers", "analytic_tables"])
@pytest.mark.parametrize("name", ["\x1fkaret:where", "a\x00b", "tab\there", "del\x7f"])
def test_schema_column_names_must_not_contain_control_characters(
    collection: str, name: str
) -> None:
    """The engine's helper columns start with U+001F (engine/columns.py): refusing control
    characters is what keeps user columns and helper columns apart."""
    doc = small_config()
    doc[collection][0]["schema"].append({"name": name, "type": "string"})
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", f"/{collection}/0/schema/3/name")
    assert "control character" in problem.message


def test_assertion_min_must_not_exceed_max() -> None:
    doc = small_config()
    doc["analytic_tables"][0]["schema"][2]["assertions"] = {"min": 10, "max": 5}
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == (
        "schema",
        "/analytic_tables/0/schema/2/assertions/max",
    )
    assert "'amount'" in problem.message and "10" in problem.message

    doc["analytic_tables"][0]["schema"][2]["assertions"] = {"min": 5, "max": 5}
    assert validate_document(doc).ok


# ---------------------------------------------------------------- mapping references


def test_mapping_source_must_exist() -> None:
    doc = small_config()
    doc["mappings"][1]["source_container_id"] = "crad"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == (
        "dangling_reference",
        "/mappings/1/source_container_id",
    )
    assert "'crad'" in problem.message and "did you mean 'card'" in problem.message


def test_mapping_table_must_exist() -> None:
    doc = small_config()
    doc["mappings"][0]["analytic_table_id"] = "nowhere"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("dangling_reference", "/mappings/0/analytic_table_id")
    assert "'nowhere'" in problem.message


@pytest.mark.parametrize("lookup_id", ["categorie", "categories.tea", "coffee", "", "categories."])
def test_lookup_refs_must_resolve(lookup_id: str) -> None:
    doc = small_config()
    doc["mappings"][0]["columns"][1]["expr"]["lookup_id"] = lookup_id
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == (
        "dangling_reference",
        "/mappings/0/columns/1/expr/lookup_id",
    )
    assert repr(lookup_id) in problem.message


def test_lookup_refs_resolve_top_level_and_nested_dotted_ids() -> None:
    doc = small_config()
    doc["lookup_mappings"][0]["children"][0]["children"] = [{"id": "flat_white", "rows": []}]
    expr = doc["mappings"][0]["columns"][1]["expr"]
    for lookup_id in ("categories", "categories.travel", "categories.coffee.flat_white"):
        expr["lookup_id"] = lookup_id
        assert validate_document(doc).ok, lookup_id


def test_lookup_refs_in_where_must_resolve_too() -> None:
    doc = small_config()
    doc["mappings"][0]["where"] = {
        "kind": "eq",
        "left": {"kind": "lookup_ref", "lookup_id": "nope", "input": col("category")},
        "right": {"kind": "str", "value": "Coffee"},
    }
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == (
        "dangling_reference",
        "/mappings/0/where/left/lookup_id",
    )


def test_cols_in_mapping_columns_must_be_source_columns() -> None:
    doc = small_config()
    # Five levels down, inside a lookup_ref's input.
    doc["mappings"][0]["columns"][1]["expr"]["input"] = {
        "kind": "concat",
        "args": [col("date"), {"kind": "trim", "input": {"kind": "upper", "input": col("descr")}}],
    }
    problem = only_problem(doc)
    assert problem.kind == "dangling_reference"
    assert problem.path == "/mappings/0/columns/1/expr/input/args/1/input/input/name"
    assert "'descr'" in problem.message and "'bank'" in problem.message
    assert "did you mean 'description'" in problem.message


def test_a_column_of_another_source_does_not_count() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][0]["expr"]["input"] = col("description")  # a bank column
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == (
        "dangling_reference",
        "/mappings/1/columns/0/expr/input/name",
    )


def test_cols_in_where_must_be_output_columns() -> None:
    doc = small_config()
    # `description` is a source column but not an output column of the mapping.
    doc["mappings"][0]["where"]["left"] = col("description")
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("dangling_reference", "/mappings/0/where/left/name")
    assert "'description'" in problem.message and "where" in problem.message


def test_output_columns_must_be_in_the_table_schema() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][1]["name"] = "totl"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("dangling_reference", "/mappings/1/columns/1/name")
    assert "'totl'" in problem.message and "'merchants'" in problem.message


def test_output_column_names_are_unique() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"].append({"name": "merchant", "expr": col("Merchant")})
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("duplicate_id", "/mappings/1/columns/2/name")
    assert "'merchant'" in problem.message


def test_output_column_names_must_not_be_empty() -> None:
    doc = small_config()
    doc["mappings"][1]["columns"][1]["name"] = ""
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/mappings/1/columns/1/name")


# ---------------------------------------------------------------- partitioning and keys


def test_partition_by_column_must_be_produced_by_the_mapping() -> None:
    doc = small_config()
    doc["mappings"][0]["partition_by"]["column"] = "date"  # a source column, not an output
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == (
        "dangling_reference",
        "/mappings/0/partition_by/column",
    )
    assert "'date'" in problem.message


def test_partition_by_column_must_be_a_date_in_the_table() -> None:
    doc = small_config()
    doc["mappings"][0]["partition_by"]["column"] = "category"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/mappings/0/partition_by/column")
    assert "'category'" in problem.message and "'string'" in problem.message


def test_partition_by_and_partition_keys_exclude_each_other() -> None:
    doc = small_config()
    doc["analytic_tables"][0]["partition_keys"] = ["category"]
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/mappings/0/partition_by")
    assert "'bank_txns'" in problem.message and "'transactions'" in problem.message


@pytest.mark.parametrize("field", ["partition_keys", "dedup_keys"])
def test_keys_must_be_schema_columns(field: str) -> None:
    doc = small_config()
    doc["analytic_tables"][1][field] = ["merchant", "merchnat"]
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("dangling_reference", f"/analytic_tables/1/{field}/1")
    assert "'merchnat'" in problem.message and "did you mean 'merchant'" in problem.message


@pytest.mark.parametrize("field", ["partition_keys", "dedup_keys"])
def test_keys_must_not_repeat(field: str) -> None:
    doc = small_config()
    doc["analytic_tables"][1][field] = ["merchant", "merchant"]
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("duplicate_id", f"/analytic_tables/1/{field}/1")
    assert "'merchant'" in problem.message


def test_at_most_three_partition_keys() -> None:
    doc = small_config()
    table = doc["analytic_tables"][1]
    table["schema"] += [{"name": n, "type": "string"} for n in ("a", "b", "c")]
    table["partition_keys"] = ["merchant", "a", "b"]
    assert validate_document(doc).ok
    table["partition_keys"].append("c")
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/analytic_tables/1/partition_keys")
    assert "4" in problem.message and "3" in problem.message


@pytest.mark.parametrize("column_type", ["number", "float64"])
def test_partition_keys_cannot_be_floating_point(column_type: str) -> None:
    doc = small_config()
    table = doc["analytic_tables"][1]
    table["schema"][1]["type"] = column_type
    table["schema"].append({"name": "note", "type": "string"})  # a column left to store
    table["partition_keys"] = ["merchant", "total"]
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/analytic_tables/1/partition_keys/1")
    assert "'total'" in problem.message and column_type in problem.message


def test_a_table_needs_a_column_that_is_not_a_partition_key() -> None:
    """Key columns live in the folder names only: a table of keys alone would write Parquet
    files without a column, which DuckDB refuses to read ("Need at least one non-root
    column in the file")."""
    doc = small_config()
    doc["analytic_tables"][1]["partition_keys"] = ["merchant", "total"]
    doc["analytic_tables"][1]["schema"][1]["type"] = "string"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/analytic_tables/1/partition_keys")
    assert "every column of analytic table 'merchants' is a partition key" in problem.message
    doc["analytic_tables"][1]["partition_keys"] = ["total"]
    assert validate_document(doc).ok


@pytest.mark.parametrize("column_type", ["string", "int64", "bool", "date"])
def test_partition_keys_of_other_types_are_fine(column_type: str) -> None:
    doc = small_config()
    doc["analytic_tables"][1]["schema"][1]["type"] = column_type
    doc["analytic_tables"][1]["partition_keys"] = ["total"]
    # text may become any type (a float64 expression could never become a date, SPEC §13)
    doc["mappings"][1]["columns"][1]["expr"] = {"kind": "col", "name": "Total"}
    assert validate_document(doc).ok


# ---------------------------------------------------------------- sources


@pytest.mark.parametrize(
    "prefix",
    ["", "/raw/bank/", "raw/bank", "raw/./bank/", "raw/../bank/", "raw//bank/", "./", "../x/"],
)
def test_path_prefix_rules(prefix: str) -> None:
    doc = small_config()
    doc["source_containers"][0]["path_prefix"] = prefix
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/0/path_prefix")
    assert repr(prefix) in problem.message and "'bank'" in problem.message


@pytest.mark.parametrize(
    ("first", "second", "relation"),
    [
        ("raw/bank/", "raw/bank/", "is the same as"),
        ("raw/", "raw/card/", "is nested under"),
        ("raw/bank/2024/", "raw/bank/", "contains"),
    ],
)
def test_path_prefixes_must_not_nest(first: str, second: str, relation: str) -> None:
    doc = small_config()
    doc["source_containers"][0]["path_prefix"] = first
    doc["source_containers"][1]["path_prefix"] = second
    problem = only_problem(doc)
    # Reported at the later source, naming the earlier one.
    assert (problem.kind, problem.path) == ("schema", "/source_containers/1/path_prefix")
    assert relation in problem.message and "'bank'" in problem.message


def test_sibling_prefixes_sharing_a_text_prefix_are_not_nested() -> None:
    doc = small_config()
    doc["source_containers"][0]["path_prefix"] = "raw/card/"
    doc["source_containers"][1]["path_prefix"] = "raw/cards/"
    assert validate_document(doc).ok


def test_csv_delimiter_and_quote_must_differ() -> None:
    doc = small_config()
    doc["source_containers"][1]["csv"] = {"delimiter": ";", "quote": ";"}
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/1/csv/quote")
    assert "';'" in problem.message and "'card'" in problem.message

    doc["source_containers"][1]["csv"] = {"delimiter": '"'}  # against the default quote
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/1/csv/delimiter")


@pytest.mark.parametrize("field", ["delimiter", "quote"])
@pytest.mark.parametrize("value", ["", ";;"])
def test_csv_delimiter_and_quote_are_single_characters(field: str, value: str) -> None:
    doc = small_config()
    doc["source_containers"][1]["csv"] = {field: value}
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", f"/source_containers/1/csv/{field}")
    assert "one character" in problem.message and repr(value) in problem.message


@pytest.mark.parametrize("skip_rows", [10_001, 10**18])
def test_csv_skip_rows_has_an_upper_bound(skip_rows: int) -> None:
    doc = small_config()
    doc["source_containers"][1]["csv"] = {"skip_rows": skip_rows}
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/1/csv/skip_rows")
    assert "10000" in problem.message


def test_csv_delimiter_cannot_be_a_line_break() -> None:
    doc = small_config()
    doc["source_containers"][1]["csv"] = {"delimiter": "\n"}
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/1/csv/delimiter")


def test_output_prefix_and_layout_are_accepted_silently() -> None:
    doc: Doc = small_config()
    doc["analytic_tables"][0]["output_prefix"] = "somewhere/else/"
    doc["layout"] = {"bank": {"x": 1, "y": 2}, "deep": [[[{"anything": True}]]]}
    doc["editor_state"] = {"zoom": 3}
    report = validate_document(doc)
    assert report.ok and report.warnings == []
