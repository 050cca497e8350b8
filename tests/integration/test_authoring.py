"""Preview, infer and tables through the real service on SeaweedFS (SPEC §14): the preview's
rows are the rows the run writes, read back with DuckDB; tables' counts agree with DuckDB."""

from __future__ import annotations

import pytest

from .pipelines import col, copy_pipeline, csv_text, mapping, op, pipeline, source, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

COLUMNS = [("id", "string"), ("region", "string"), ("amount", "number")]
ROWS = [["a1", "north", "1.5"], ["a2", "south", "0"], ["a3", "north", "-2"], ["a1", "x", "9"]]


def slug(workspace: Workspace) -> str:
    return workspace.prefix.removeprefix("pipelines/").rstrip("/")


def test_preview_then_run_then_tables(service: Service, workspace: Workspace) -> None:
    config = pipeline(
        sources=[source("src", "raw/", COLUMNS)],
        tables=[table("out", COLUMNS, partition_keys=["region"], dedup_keys=["id"])],
        mappings=[
            mapping(
                "m",
                "src",
                "out",
                {name: col(name) for name, _ in COLUMNS},
                where=op("ne", col("amount"), {"kind": "num", "value": 0}),
            )
        ],
    )
    workspace.put_config(config)
    workspace.put_csv("raw/1.csv", csv_text(["id", "region", "amount"], ROWS[:2]))
    workspace.put_csv("raw/2.csv.gz", csv_text(["id", "region", "amount"], ROWS[2:]))

    body = {"config": config, "pipeline_prefix": workspace.prefix, "limit": 100}
    preview = service.post("/config/preview", json=body)
    assert preview.status_code == 200, preview.text
    (shown,) = preview.json()["mappings"]
    assert workspace.keys("clean/") == [], "a preview writes nothing"
    assert (shown["rows_read"], shown["rows_filtered"], shown["rows_deduped"]) == (4, 1, 1)

    result = service.run_ok(workspace.prefix)
    assert result["rows_written"] == len(shown["rows"]) == 2
    written = workspace.read_table("out")  # DuckDB, hive columns restored
    assert sorted(shown["rows"], key=lambda r: r["id"]) == [
        {"id": r["id"], "region": r["region"], "amount": r["amount"]} for r in written
    ]

    tables = service.get(f"/pipelines/{slug(workspace)}/tables")
    assert tables.status_code == 200, tables.text
    (out,) = tables.json()["tables"]
    assert (out["table_id"], out["files"], out["rows"]) == ("out", 1, len(written))
    assert sorted(p["path"] for p in out["partitions"]) == ["region=north"]
    sizes = {k: len(workspace.get(k)) for k in workspace.keys("clean/")}
    assert out["bytes"] == sum(sizes.values())


def test_infer_drafts_a_source_that_reads_the_sample(
    service: Service, workspace: Workspace
) -> None:
    sample = "Date;Ref;Amount\n31/01/2024;007;1,5\n01/02/2024;010;2\n"
    drafted = service.post("/sources/infer?id=src&path_prefix=raw/", content=sample.encode())
    assert drafted.status_code == 200, drafted.text
    source_json = drafted.json()["source"]
    assert source_json["csv"] == {"delimiter": ";"}
    assert [c["type"] for c in source_json["schema"]] == ["string", "string", "string"]
    columns = [(c["name"], c["type"]) for c in source_json["schema"]]
    config = copy_pipeline(columns)
    config["source_containers"] = [source_json]
    workspace.put_config(config)
    workspace.put_csv("raw/s.csv", sample)
    result = service.run_ok(workspace.prefix)
    assert result["errors"] == [] and result["warnings"] == []
    assert sorted(r["Ref"] for r in workspace.read_table("out")) == ["007", "010"]
