"""Dates a mapping computes outside years 1-9999 (issue 7, defect 11): they once became
partitions like `year=-001`; now they are null, counted, and land in the null partition."""

from __future__ import annotations

from tests.engine.workspace import Workspace, col, make_config

from karet_worker.engine.result import IssueKind, RunIssue


def test_computed_dates_outside_years_1_to_9999_are_counted_nulls(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("text", "string"), ("epoch", "int64")],
        table_schema=[("parsed", "date"), ("from_epoch", "date")],
        columns={
            "parsed": {"kind": "parse_date", "input": col("text"), "format": "%Y-%m-%d"},
            "from_epoch": {"kind": "from_unix", "input": col("epoch")},
        },
        mapping_extra={"partition_by": {"column": "parsed", "granularity": "year"}},
    )
    ws.config(config)
    ws.put(
        "raw/a.csv",
        "text,epoch\n2024-05-06,0\n0000-03-01,1000000000000\n-001-01-01,-100000000000\n",
    )
    result = ws.run()
    assert result.errors == []
    assert sorted(ws.objects()) == [
        "clean/t/year=2024/m1.parquet",
        "clean/t/year=__HIVE_DEFAULT_PARTITION__/m1.parquet",
    ]
    assert sorted(result.warnings, key=lambda w: (w.kind, w.column or "")) == [
        RunIssue(
            IssueKind.CAST_FAILED, mapping="m1", column="from_epoch", count=2, expected="date"
        ),
        RunIssue(IssueKind.CAST_FAILED, mapping="m1", column="parsed", count=2, expected="date"),
        RunIssue(IssueKind.NULL_PARTITION, mapping="m1", count=2),
    ]
    out = ws.read("t").sort("from_epoch", nulls_last=True)
    assert [str(d) if d else None for d in out["from_epoch"]] == ["1970-01-01", None, None]
