"""Re-runs: byte-identical output, incremental vs `clean_run` pruning, and a failing mapping
protecting its table's previous output (SPEC §6 steps 4 and 5)."""

from __future__ import annotations

from typing import Any

import pytest

from .pipelines import col, csv_text, mapping, pipeline, source, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

HEADER = ["id", "day", "amount", "region"]
COLUMNS = [("id", "int64"), ("day", "date"), ("amount", "number"), ("region", "string")]
JAN = [[1, "2024-01-02", "10.5", "north"], [2, "2024-01-20", "3", "south"]]
FEB = [[3, "2024-02-03", "7.25", "north"], [4, "2024-02-04", "1", "east"]]


def config(*, amount_max: float | None = None) -> dict[str, Any]:
    """Two tables from one source: `monthly` (partition_by month) and `regional` (keys)."""
    monthly_amount: tuple[str, str] | tuple[str, str, dict[str, Any]] = (
        ("amount", "number") if amount_max is None else ("amount", "number", {"max": amount_max})
    )
    return pipeline(
        sources=[source("tx", "raw/", COLUMNS)],
        tables=[
            table("monthly", [("id", "int64"), ("day", "date"), monthly_amount]),
            table("regional", COLUMNS, partition_keys=["region"]),
        ],
        mappings=[
            mapping(
                "m_monthly",
                "tx",
                "monthly",
                {"id": col("id"), "day": col("day"), "amount": col("amount")},
                partition_by=("day", "month"),
            ),
            mapping("m_regional", "tx", "regional", {c: col(c) for c, _ in COLUMNS}),
        ],
    )


def seed(workspace: Workspace) -> None:
    workspace.put_config(config())
    workspace.put_csv("raw/2024-01.csv", csv_text(HEADER, JAN))
    workspace.put_csv("raw/2024-02.csv.gz", csv_text(HEADER, FEB))


def test_rerun_with_unchanged_inputs_writes_byte_identical_objects(
    service: Service, workspace: Workspace
) -> None:
    seed(workspace)
    first = service.run_ok(workspace.prefix)
    before = workspace.snapshot()
    second = service.run_ok(workspace.prefix, clean_run=True)
    after = workspace.snapshot()

    assert len(before) == first["partitions_written"] == 5  # 2 months + 3 regions
    assert before == after  # same keys, same bytes
    assert second["partitions_written"] == first["partitions_written"]
    assert second["rows_written"] == first["rows_written"] == 8
    assert first["job_id"] != second["job_id"]


def test_incremental_run_keeps_a_stale_partition_and_clean_run_removes_it(
    service: Service, workspace: Workspace
) -> None:
    seed(workspace)
    service.run_ok(workspace.prefix)
    feb_key = "clean/monthly/year=2024/month=02/m_monthly.parquet"
    east_key = "clean/regional/region=east/m_regional.parquet"
    assert {feb_key, east_key} <= set(workspace.keys("clean/"))
    # Output nobody declares any more, and output of a table the config does not declare.
    workspace.put("clean/monthly/old_mapping.parquet", b"stale")
    workspace.put("clean/other_table/x.parquet", b"not ours")

    workspace.delete("raw/2024-02.csv.gz")
    incremental = service.run_ok(workspace.prefix)
    kept = set(workspace.keys("clean/"))
    assert {feb_key, east_key, "clean/monthly/old_mapping.parquet"} <= kept
    assert incremental["files_processed"] == 1

    clean = service.run_ok(workspace.prefix, clean_run=True)
    assert clean["errors"] == []
    assert workspace.keys("clean/") == [
        "clean/monthly/year=2024/month=01/m_monthly.parquet",
        "clean/other_table/x.parquet",  # not a table of this config: untouched
        "clean/regional/region=north/m_regional.parquet",
        "clean/regional/region=south/m_regional.parquet",
    ]
    assert [r["id"] for r in workspace.read_table("monthly")] == [1, 2]
    assert sorted(r["id"] for r in workspace.read_table("regional")) == [1, 2]


def test_clean_run_with_a_failing_mapping_keeps_that_tables_old_objects(
    service: Service, workspace: Workspace
) -> None:
    seed(workspace)
    service.run_ok(workspace.prefix)
    monthly_before = workspace.snapshot("clean/monthly/")
    assert len(monthly_before) == 2

    # Now `monthly` fails an assertion (amount 10.5 > 5) while `regional` still succeeds, and
    # February's input is gone: a clean run may prune only `regional`.
    workspace.put_config(config(amount_max=5))
    workspace.delete("raw/2024-02.csv.gz")
    body = service.run_ok(workspace.prefix, clean_run=True)

    assert workspace.snapshot("clean/monthly/") == monthly_before  # untouched, nothing pruned
    assert workspace.keys("clean/regional/") == [
        "clean/regional/region=north/m_regional.parquet",
        "clean/regional/region=south/m_regional.parquet",
    ]
    assert any("m_monthly" in e for e in body["errors"]), body["errors"]
    # The response says the table was not pruned.
    reported = body["errors"] + body["warnings"]
    assert any("monthly" in m and "prun" in m.lower() for m in reported), reported
