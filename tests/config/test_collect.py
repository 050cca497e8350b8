"""Validation collects every independent problem in one report (SPEC §5)."""

from __future__ import annotations

from karet_worker.config.validate import validate_document

from .support import col, small_config


def test_independent_rule_problems_are_all_reported() -> None:
    doc = small_config()
    doc["version"] = 3
    doc["source_containers"][1]["id"] = "bank"
    doc["source_containers"][1]["path_prefix"] = "raw/card"
    doc["mappings"][0]["columns"][2]["expr"] = col("amont")
    doc["mappings"][1]["analytic_table_id"] = "merchant"
    doc["analytic_tables"][0]["dedup_keys"] = ["day", "day"]
    report = validate_document(doc)
    assert report.config is None and not report.ok
    found = {(p.kind, p.path) for p in report.problems}
    assert found == {
        ("schema", "/version"),
        ("duplicate_id", "/source_containers/1/id"),
        ("schema", "/source_containers/1/path_prefix"),
        ("dangling_reference", "/mappings/0/columns/2/expr/name"),
        ("dangling_reference", "/mappings/1/analytic_table_id"),
        ("duplicate_id", "/analytic_tables/0/dedup_keys/1"),
        # mapping 1 reads source `card`, which no longer exists under that id
        ("dangling_reference", "/mappings/1/source_container_id"),
    }


def test_shape_and_reference_problems_are_reported_together() -> None:
    doc = small_config()
    doc["mappings"][0]["columns"][0]["expr"]["input"] = {"kind": "lowercase"}  # shape
    doc["mappings"][0]["columns"][1]["expr"]["lookup_id"] = "categories.tea"  # reference
    doc["mappings"][1]["columns"][0]["expr"]["input"] = col("merchant")  # reference
    del doc["analytic_tables"][1]["name"]  # shape: missing
    doc["analytic_tables"][1]["partition_keys"] = ["total"]  # rule: float64 key
    report = validate_document(doc)
    found = {(p.kind, p.path) for p in report.problems}
    assert found == {
        ("schema", "/mappings/0/columns/0/expr/input"),
        ("dangling_reference", "/mappings/0/columns/1/expr/lookup_id"),
        ("dangling_reference", "/mappings/1/columns/0/expr/input/name"),
        ("missing_field", "/analytic_tables/1/name"),
        ("schema", "/analytic_tables/1/partition_keys/0"),
    }


def test_rules_still_run_in_a_part_that_failed_to_parse() -> None:
    doc = small_config()
    mapping = doc["mappings"][1]
    mapping["columns"].append({"name": "merchant"})  # missing expr, and a duplicate name
    mapping["source_container_id"] = 42  # wrong type: no reference check on it
    report = validate_document(doc)
    found = {(p.kind, p.path) for p in report.problems}
    assert found == {
        ("missing_field", "/mappings/1/columns/2/expr"),
        ("duplicate_id", "/mappings/1/columns/2/name"),
        ("schema", "/mappings/1/source_container_id"),
    }


def test_problems_serialise_to_kind_message_path() -> None:
    doc = small_config()
    doc["mappings"][1]["source_container_id"] = "nope"
    (problem,) = validate_document(doc).problems
    assert problem.to_dict() == {
        "kind": "dangling_reference",
        "message": problem.message,
        "path": "/mappings/1/source_container_id",
    }
