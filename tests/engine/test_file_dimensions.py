"""File-backed dimensions (SPEC §13): reference rows read at run start from the files under the
dimension's path_prefix (a key prefix in the bucket, from its root); unusable rows are a run
error that stops only the mappings using the dimension."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from tests.engine.workspace import Workspace, col, copy_mapping, kinds, make_config

from karet_worker.config.model import Dimension, FileDimensionRows
from karet_worker.engine.dimensions import load_dimension
from karet_worker.engine.result import IssueKind
from karet_worker.expressions.lookups import DimensionRowsError

REF = "reference/sections/"  # from the bucket root, outside every pipeline's folder


def put_ref(ws: Workspace, name: str, body: str | bytes) -> None:
    """A reference file under REF (the workspace's `put` is relative to its pipeline)."""
    ws.store.put(REF + name, body.encode() if isinstance(body, str) else body)


def sections(**rows: Any) -> dict[str, Any]:
    spec = {"path_prefix": "reference/sections/", "key": "path", "values": ["section", "team"]}
    spec.update(rows)
    return {"id": "sections", "match": "exact", "rows": spec}


def dim_ref(value: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"kind": "dim_ref", "dim_id": "sections", "input": col("path")}
    if value is not None:
        ref["value"] = value
    return ref


def config(dimension: dict[str, Any]) -> dict[str, Any]:
    cfg = make_config(
        source_schema=[("path", "string")],
        table_schema=[("path", "string"), ("section", "string"), ("team", "string")],
        columns={"path": col("path"), "section": dim_ref(), "team": dim_ref("team")},
    )
    cfg["dimensions"] = [dimension]
    return cfg


def parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def test_rows_come_from_every_csv_and_parquet_file_under_the_prefix(ws: Workspace) -> None:
    ws.config(config(sections()))
    put_ref(ws, "a.csv", "team,path,section,extra\nweb,/blog,Blog,x\n")
    put_ref(
        ws,
        "b/c.parquet",
        parquet(pl.DataFrame({"path": ["/shop"], "section": ["Shop"], "team": [7]})),
    )
    put_ref(ws, "notes.txt", "path,section,team\n/x,X,x\n")  # not a reference file
    ws.put("raw/in.csv", "path\n/blog\n/shop\n/x\n")
    result = ws.run()
    assert result.errors == []
    assert ws.read("t").to_dicts() == [
        {"path": "/blog", "section": "Blog", "team": "web"},
        {"path": "/shop", "section": "Shop", "team": "7"},
        {"path": "/x", "section": None, "team": None},
    ]


def test_the_path_prefix_is_from_the_bucket_root_and_pipelines_share_it(ws: Workspace) -> None:
    """SPEC §13: "a key prefix in the bucket" — not relative to the pipeline prefix as a
    source's path_prefix is (the Rust worker read it from its lake bucket's root too)."""
    ws.config(config(sections()))
    ws.put("reference/sections/a.csv", "path,section,team\n/blog,Pipeline copy,web\n")
    put_ref(ws, "a.csv", "path,section,team\n/blog,Shared,web\n")
    ws.put("raw/in.csv", "path\n/blog\n")
    assert ws.run().errors == []
    assert ws.read("t")["section"].to_list() == ["Shared"]
    other = "pipelines/other/"  # a second pipeline reads the same reference table
    ws.store.put(other + "pipeline.json", json.dumps(config(sections())).encode())
    ws.store.put(other + "raw/in.csv", b"path\n/shop\n/blog\n")
    assert ws.runner.run(other, clean_run=False).errors == []
    written = pl.read_parquet(ws.root / other / "clean" / "t" / "m1.parquet")
    assert written["section"].to_list() == [None, "Shared"]


def test_priority_column_ranks_keyword_rows(ws: Workspace) -> None:
    dimension = sections(priority_column="rank")
    dimension["match"] = "keyword_substring"
    ws.config(config(dimension))
    put_ref(ws, "a.csv", "path,section,team,rank\nblog,Blog,web,0\nblog/ai,AI,ml,5\n")
    ws.put("raw/in.csv", "path\n/blog/ai/x\n/blog/y\n")
    ws.run()
    assert ws.read("t")["section"].to_list() == ["AI", "Blog"]


def test_a_repeated_exact_key_fails_only_the_mappings_that_use_the_dimension(ws: Workspace) -> None:
    cfg = config(sections())
    cfg["analytic_tables"].append(
        {"id": "plain", "name": "Plain", "schema": [{"name": "path", "type": "string"}]}
    )
    cfg["mappings"].append(copy_mapping("m2", "src", "plain", "path"))
    ws.config(cfg)
    put_ref(ws, "a.csv", "path,section,team\n/blog,Blog,web\n")
    put_ref(ws, "b.csv", "path,section,team\n/shop,Shop,web\n/blog,Other,web\n")
    ws.put("raw/in.csv", "path\n/blog\n")
    result = ws.run()
    assert kinds(result.errors) == [IssueKind.DIMENSION_FAILED, IssueKind.MAPPING_NOT_RUN]
    assert "dimension 'sections' has duplicate key(s) '/blog'" in result.error_texts()[0]
    assert result.errors[1].mapping == "m1"
    assert "nothing written" in result.error_texts()[1]
    assert ws.objects() == ["clean/plain/m2.parquet"]


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({}, "no reference file (.csv, .csv.gz, .parquet) under reference/sections/"),
        ({"a.csv": "path,section\n/a,A\n"}, "a.csv: missing column(s) 'team'"),
        ({"a.parquet": b"not parquet"}, "a.parquet: not a readable Parquet file"),
    ],
)
def test_unusable_reference_files_are_a_run_error_naming_the_dimension(
    ws: Workspace, files: dict[str, str | bytes], reason: str
) -> None:
    ws.config(config(sections()))
    for name, body in files.items():
        put_ref(ws, name, body)
    ws.put("raw/in.csv", "path\n/blog\n")
    result = ws.run()
    assert kinds(result.errors) == [IssueKind.DIMENSION_FAILED, IssueKind.MAPPING_NOT_RUN]
    assert result.error_texts()[0].startswith("dimension 'sections'")
    assert reason in result.error_texts()[0]
    assert ws.objects() == []


def test_a_record_filter_using_a_failed_dimension_stops_its_source(ws: Workspace) -> None:
    cfg = config(sections())
    cfg["mappings"][0]["columns"] = [{"name": "path", "expr": col("path")}]
    cfg["source_containers"][0]["record_filter"] = {
        "kind": "eq",
        "left": dim_ref(),
        "right": {"kind": "str", "value": "Blog"},
    }
    ws.config(cfg)
    ws.put("raw/in.csv", "path\n/blog\n")
    result = ws.run()
    assert kinds(result.errors) == [IssueKind.DIMENSION_FAILED, IssueKind.MAPPING_NOT_RUN]
    assert "record_filter of source 'src'" in result.error_texts()[1]


def test_clean_run_keeps_the_table_of_a_mapping_that_did_not_run(ws: Workspace) -> None:
    ws.config(config(sections()))
    put_ref(ws, "a.csv", "path,section,team\n/blog,Blog,web\n")
    ws.put("raw/in.csv", "path\n/blog\n")
    assert ws.run(clean=True).errors == []
    ws.store.delete_many([REF + "a.csv"])
    result = ws.run(clean=True)
    assert kinds(result.errors) == [IssueKind.DIMENSION_FAILED, IssueKind.MAPPING_NOT_RUN]
    assert ws.objects() == ["clean/t/m1.parquet"]  # last good output stays


def test_reading_stops_past_the_row_cap(ws: Workspace, tmp_path: Path) -> None:
    put_ref(
        ws,
        "a.csv",
        "path,section,team\n" + "".join(f"/p{i},S,T\n" for i in range(10)),
    )
    put_ref(ws, "b.csv", "path,section,team\n/q,S,T\n")
    dimension = Dimension.model_validate(sections())
    assert isinstance(dimension.rows, FileDimensionRows)
    matcher = load_dimension(ws.store, dimension, dimension.rows, tmp_path, max_rows=11)
    assert pl.select(matcher.apply(pl.lit("/q"))).item() == "S"
    with pytest.raises(
        DimensionRowsError, match=r"more than 10 rows .* \(counted up to .*b\.csv\)"
    ):
        load_dimension(ws.store, dimension, dimension.rows, tmp_path, max_rows=10)
