"""Ids and paths that become parts of object keys (SPEC §15): rejected at validation with their
JSON Pointer, so a config that validates can only write under `<prefix>clean/<table_id>/`."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from karet_worker.api import create_app
from karet_worker.config.validate import validate_document
from karet_worker.layout import PipelineKeys, partition_path
from karet_worker.settings import Settings

from .support import Doc, only_problem, small_config

HOSTILE = st.lists(
    st.sampled_from(["/", ".", "..", "%", "=", "\\", "\x00", "\x1b", "\n", " ", "é", "a", "_"])
    | st.characters(),
    min_size=1,
    max_size=10,
).map("".join)
# Half hostile, half plausible, so both outcomes are exercised.
PIECES = st.one_of(st.from_regex(r"[A-Za-z0-9._-]{1,8}", fullmatch=True), HOSTILE)
PREFIXES = st.one_of(
    st.from_regex(r"([A-Za-z0-9 ._-]{1,6}/){1,3}", fullmatch=True), HOSTILE.map(lambda s: s + "/")
)


def _set_id(doc: Doc, collection: str, value: str) -> str:
    """Give the first item of `collection` id `value`, keeping references to it; its path."""
    old = doc[collection][0]["id"]
    doc[collection][0]["id"] = value
    field = {"source_containers": "source_container_id", "analytic_tables": "analytic_table_id"}
    for mapping in doc["mappings"]:
        if collection in field and mapping[field[collection]] == old:
            mapping[field[collection]] = value
    return f"/{collection}/0/id"


@pytest.mark.parametrize("collection", ["source_containers", "analytic_tables", "mappings"])
@pytest.mark.parametrize("bad", ["a/b", "..", ".", "a b", "tab\tle", "x\x00", "ü", "a" * 129])
def test_ids_used_in_keys_are_single_safe_segments(collection: str, bad: str) -> None:
    doc = small_config()
    path = _set_id(doc, collection, bad)
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", path)
    assert repr(bad) in problem.message or "128 bytes" in problem.message


@pytest.mark.parametrize("good", ["a.b", "A-1_x", "...", "x" * 128])
def test_safe_ids_are_accepted(good: str) -> None:
    doc = small_config()
    _set_id(doc, "analytic_tables", good)
    _set_id(doc, "mappings", good)
    assert validate_document(doc).ok


def test_lookup_ids_stay_free_text() -> None:
    """Lookup ids never reach a key: spaces and accents are fine there."""
    doc = small_config()
    doc["lookup_mappings"].append({"id": "Händler liste", "rows": []})
    assert validate_document(doc).ok


@pytest.mark.parametrize("prefix", ["raw/\x00/", "raw\n/", "raw/\x1b[31m/", "raw/\x85/"])
def test_control_characters_in_path_prefix_are_rejected(prefix: str) -> None:
    doc = small_config()
    doc["source_containers"][0]["path_prefix"] = prefix
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/0/path_prefix")
    assert "control character" in problem.message


def test_path_prefix_may_not_read_the_job_records() -> None:
    doc = small_config()
    doc["source_containers"][0]["path_prefix"] = "_jobs/"
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/source_containers/0/path_prefix")


def test_people_may_name_their_folders_freely() -> None:
    doc = small_config()
    doc["source_containers"][0]["path_prefix"] = "raw/Bank exports (2024)/ü/"
    assert validate_document(doc).ok


@pytest.mark.parametrize("name", ["my key", "a/b", "a=b", ".."])
def test_partition_key_names_are_folder_names(name: str) -> None:
    doc = small_config()
    table = doc["analytic_tables"][1]
    table["schema"].append({"name": name, "type": "string"})
    table["partition_keys"] = [name]
    problem = only_problem(doc)
    assert (problem.kind, problem.path) == ("schema", "/analytic_tables/1/partition_keys/0")


# ---------------------------------------------------------------- generated hostile configs


def _hostile_config(
    table_id: str, mapping_id: str, source_id: str, path_prefix: str, key: str
) -> tuple[Doc, set[str]]:
    """small_config with hostile pieces; returns it and the paths where problems may be."""
    doc = small_config()
    paths = {
        _set_id(doc, "analytic_tables", table_id),
        _set_id(doc, "mappings", mapping_id),
        _set_id(doc, "source_containers", source_id),
    }
    doc["source_containers"][0]["path_prefix"] = path_prefix
    paths.add("/source_containers/0/path_prefix")
    table = doc["analytic_tables"][0]
    if key not in {c["name"] for c in table["schema"]}:
        table["schema"].append({"name": key, "type": "string"})
        paths.add(f"/analytic_tables/0/schema/{len(table['schema']) - 1}/name")
    table["partition_keys"] = [key]
    paths.add("/analytic_tables/0/partition_keys/0")
    # A mapping using partition_by into a table with partition_keys is its own problem.
    doc["mappings"][0].pop("partition_by")
    return doc, paths


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_id=PIECES, mapping_id=PIECES, source_id=PIECES, path_prefix=PREFIXES, key=PIECES)
def test_hostile_pieces_are_reported_where_they_are_or_stay_inside_their_folder(
    table_id: str, mapping_id: str, source_id: str, path_prefix: str, key: str
) -> None:
    doc, paths = _hostile_config(table_id, mapping_id, source_id, path_prefix, key)
    report = validate_document(json.loads(json.dumps(doc)))
    if not report.ok:
        wrong = [p for p in report.problems if not p.path.startswith(tuple(paths))]
        # Other problems may only follow from the hostile pieces (e.g. a blank id dangles).
        assert all(p.kind in ("dangling_reference", "duplicate_id") for p in wrong), wrong
        event("refused")
        return
    event("accepted")
    keys = PipelineKeys("pipelines/p/")
    folder = keys.table(table_id)
    assert folder == f"pipelines/p/clean/{table_id}/"
    for value in ["x", "", "../..", None, "/"]:
        output = keys.output(table_id, partition_path([key], [value]), mapping_id)
        assert output.startswith(folder)
        assert output[len(folder) :].count("/") == 1
    assert keys.inputs(path_prefix).startswith("pipelines/p/")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_id=PIECES, mapping_id=PIECES, path_prefix=PREFIXES)
def test_runs_of_hostile_configs_never_500_nor_write_outside_the_table(
    tmp_path_factory: pytest.TempPathFactory, table_id: str, mapping_id: str, path_prefix: str
) -> None:
    """Through the API: the run is refused (422) or writes only under clean/<table_id>/."""
    root = tmp_path_factory.mktemp("store")
    settings_ = Settings.from_env({"KARET_DATA_DIR": str(root)})
    config = _one_table_config(table_id, mapping_id, path_prefix)
    prefix = "pipelines/p/"
    with TestClient(create_app(settings_), raise_server_exceptions=False) as client:
        _write(root / prefix / "pipeline.json", json.dumps(config).encode())
        # A folder name this file system refuses (NUL, surrogates): the config is invalid anyway.
        with contextlib.suppress(OSError, ValueError):
            _write(root / prefix / path_prefix / "in.csv", b"k,v\na,1\n../x,2\n,3\n")
        before = _files(root)
        answer = client.post("/jobs/run", json={"pipeline_prefix": prefix})
    assert answer.status_code in (200, 422), answer.text
    event(f"status {answer.status_code}")
    added = _files(root) - before
    if answer.status_code == 422:
        assert added == set()
        return
    folder = f"{prefix}clean/{table_id}/"
    assert added and all(key.startswith(folder) for key in added), added


def _one_table_config(table_id: str, mapping_id: str, path_prefix: str) -> dict[str, Any]:
    return {
        "version": 1,
        "source_containers": [
            {
                "id": "s",
                "name": "s",
                "path_prefix": path_prefix,
                "schema": [{"name": "k", "type": "string"}, {"name": "v", "type": "int64"}],
            }
        ],
        "mappings": [
            {
                "id": mapping_id,
                "source_container_id": "s",
                "analytic_table_id": table_id,
                "columns": [
                    {"name": "k", "expr": {"kind": "col", "name": "k"}},
                    {"name": "v", "expr": {"kind": "col", "name": "v"}},
                ],
            }
        ],
        "analytic_tables": [
            {
                "id": table_id,
                "name": "t",
                "schema": [{"name": "k", "type": "string"}, {"name": "v", "type": "int64"}],
                "partition_keys": ["k"],
            }
        ],
    }


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
