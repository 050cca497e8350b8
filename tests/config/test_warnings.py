"""Unknown fields below the top level are warnings with their path; they never reject."""

from __future__ import annotations

from karet_worker.config.validate import validate_document

from .support import small_config


def test_unknown_fields_everywhere_are_warnings_with_their_paths() -> None:
    doc = small_config()
    doc["analytic_tables"][0]["partiton_keys"] = ["day"]
    doc["source_containers"][1]["csv"]["delimeter"] = ","
    doc["source_containers"][0]["schema"][1]["nulable"] = False
    doc["lookup_mappings"][0]["children"][0]["rows"][0]["priorty"] = 3
    doc["mappings"][0]["columns"][1]["expr"]["input"]["colour"] = "red"
    doc["mappings"][0]["where"]["right"]["unit"] = "s"
    report = validate_document(doc)
    assert report.ok and report.config is not None
    assert {w.path for w in report.warnings} == {
        "/analytic_tables/0/partiton_keys",
        "/source_containers/1/csv/delimeter",
        "/source_containers/0/schema/1/nulable",
        "/lookup_mappings/0/children/0/rows/0/priorty",
        "/mappings/0/columns/1/expr/input/colour",
        "/mappings/0/where/right/unit",
    }
    assert {w.kind for w in report.warnings} == {"unknown_field"}


def test_warnings_suggest_the_closest_known_field() -> None:
    doc = small_config()
    doc["analytic_tables"][0]["partiton_keys"] = ["day"]
    doc["mappings"][1]["editor_note"] = "red"
    report = validate_document(doc)
    by_path = {w.path: w.message for w in report.warnings}
    typo = by_path["/analytic_tables/0/partiton_keys"]
    assert "'partiton_keys'" in typo and "did you mean 'partition_keys'" in typo
    assert "did you mean" not in by_path["/mappings/1/editor_note"]


def test_unknown_top_level_fields_and_layout_are_ignored_silently() -> None:
    doc = small_config()
    doc["layout"] = {"bank": {"x": 10, "y": 20}}
    doc["updated_by"] = "editor"
    report = validate_document(doc)
    assert report.ok and report.warnings == []


def test_unknown_field_names_are_escaped_in_pointers() -> None:
    doc = small_config()
    doc["source_containers"][0]["a/b~c"] = 1
    report = validate_document(doc)
    assert [w.path for w in report.warnings] == ["/source_containers/0/a~1b~0c"]


def test_warnings_are_reported_next_to_problems() -> None:
    doc = small_config()
    doc["mappings"][0]["source_container_id"] = "nope"
    doc["mappings"][0]["partiton_by"] = {}
    report = validate_document(doc)
    assert [p.path for p in report.problems] == ["/mappings/0/source_container_id"]
    assert [w.path for w in report.warnings] == ["/mappings/0/partiton_by"]
    assert report.config is None
