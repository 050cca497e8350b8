"""Both partition forms and the null-key partition, read back by DuckDB (SPEC §3)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from .pipelines import col, csv_text, lit, mapping, op, pipeline, source, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

DEFAULT = "__HIVE_DEFAULT_PARTITION__"
SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")

HEADER = ["id", "when", "region", "n", "flag", "amount"]
ROWS: list[list[Any]] = [
    [1, "2024-01-05", "Nord/Ost", 7, "yes", "1.5"],
    [2, "2024-01-31", "Nord/Ost", 7, "N", "2"],
    [3, "2024-02-01", "São Paulo", -3, "TRUE", "3"],
    [4, "2023-12-31", "plain.a_b-c", 12, "0", "4"],
    [5, None, None, 7, None, "5"],  # null date / null region / null flag
    [6, "2024-02-29", "50% off~", None, "t", "6"],  # null int key
]
SOURCE = source(
    "ev",
    "raw/",
    [
        ("id", "int64"),
        ("when", "date"),
        ("region", "string"),
        ("n", "int64"),
        ("flag", "bool"),
        ("amount", "number"),
    ],
)


def encode(value: str) -> str:
    """SPEC §3: strings percent-encoded outside [A-Za-z0-9._-]."""
    return "".join(ch if ch in SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in value)


def null_partition_warned(warnings: list[str], mapping_id: str, rows: int) -> bool:
    """A warning names the mapping and counts its rows with a null partition value."""
    return any(mapping_id in w and DEFAULT in w and re.search(rf"\b{rows}\b", w) for w in warnings)


def date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def truthy(text: str | None) -> bool | None:
    if text is None:
        return None
    return text.lower() in ("true", "1", "yes", "t", "y")


def seed(workspace: Workspace, config: dict[str, Any]) -> None:
    workspace.put_csv("raw/2024/events.csv", csv_text(HEADER, ROWS[:3]))
    workspace.put_csv("raw/2023/events.csv", csv_text(HEADER, ROWS[3:]))
    workspace.put_config(config)


def test_partition_by_month_zero_padded_keeps_the_date_and_null_dates_land_in_default(
    service: Service, workspace: Workspace
) -> None:
    config = pipeline(
        sources=[SOURCE],
        tables=[table("by_month", [("id", "int64"), ("when", "date"), ("amount", "number")])],
        mappings=[
            mapping(
                "m_month",
                "ev",
                "by_month",
                {"id": col("id"), "when": col("when"), "amount": col("amount")},
                partition_by=("when", "month"),
            )
        ],
    )
    seed(workspace, config)

    body = service.run_ok(workspace.prefix)

    assert workspace.keys("clean/") == [
        "clean/by_month/year=2023/month=12/m_month.parquet",
        "clean/by_month/year=2024/month=01/m_month.parquet",
        "clean/by_month/year=2024/month=02/m_month.parquet",
        f"clean/by_month/year={DEFAULT}/month={DEFAULT}/m_month.parquet",
    ]
    assert "when" in workspace.parquet_columns("clean/by_month/year=2024/month=01/m_month.parquet")
    with workspace.duck("by_month") as con:
        got = con.sql(
            'SELECT id, "when", amount, CAST(year AS VARCHAR), CAST(month AS VARCHAR) FROM t'
        ).fetchall()
    expected = [
        (
            r[0],
            date(r[1]),
            float(r[5]),
            None if r[1] is None else r[1][:4],
            None if r[1] is None else r[1][5:7],
        )
        for r in ROWS
    ]
    assert sorted(got) == sorted(expected)  # the null-date row is not dropped
    assert body["partitions_written"] == 4
    assert body["rows_written"] == len(ROWS)
    assert body["errors"] == []
    assert null_partition_warned(body["warnings"], "m_month", 1), body["warnings"]


def test_partition_keys_unpadded_percent_encoded_and_dropped_from_the_payload(
    service: Service, workspace: Workspace
) -> None:
    config = pipeline(
        sources=[SOURCE],
        tables=[
            table(
                "by_keys",
                [("id", "int64"), ("region", "string"), ("n", "int64"), ("amount", "number")],
                partition_keys=["region", "n"],
            ),
            table(
                "by_day",
                [("id", "int64"), ("when", "date"), ("flag", "bool")],
                partition_keys=["when", "flag"],
            ),
        ],
        mappings=[
            mapping(
                "m_keys",
                "ev",
                "by_keys",
                {c: col(c) for c in ("id", "region", "n", "amount")},
            ),
            mapping("m_day", "ev", "by_day", {c: col(c) for c in ("id", "when", "flag")}),
        ],
    )
    seed(workspace, config)

    body = service.run_ok(workspace.prefix)

    def segment(name: str, value: Any) -> str:
        if value is None:
            return f"{name}={DEFAULT}"
        if isinstance(value, bool):
            return f"{name}={'true' if value else 'false'}"
        if isinstance(value, int):
            return f"{name}={value}"
        return f"{name}={encode(str(value))}"

    expected_keys = {
        f"clean/by_keys/{segment('region', r[2])}/{segment('n', r[3])}/m_keys.parquet" for r in ROWS
    } | {
        f"clean/by_day/{segment('when', r[1])}/{segment('flag', truthy(r[4]))}/m_day.parquet"
        for r in ROWS
    }
    assert set(workspace.keys("clean/")) == expected_keys
    assert "clean/by_keys/region=Nord%2FOst/n=7/m_keys.parquet" in expected_keys  # sanity
    assert "clean/by_keys/region=S%C3%A3o%20Paulo/n=-3/m_keys.parquet" in expected_keys
    assert "clean/by_day/when=2024-01-05/flag=true/m_day.parquet" in expected_keys

    payload = workspace.parquet_columns("clean/by_keys/region=Nord%2FOst/n=7/m_keys.parquet")
    assert sorted(payload) == ["amount", "id"]
    assert sorted(workspace.parquet_columns(
        "clean/by_day/when=2024-01-05/flag=true/m_day.parquet")) == ["id"]  # fmt: skip

    with workspace.duck("by_keys") as con:
        got = con.sql("SELECT id, region, CAST(n AS BIGINT), amount FROM t").fetchall()
    assert sorted(got) == sorted((r[0], r[2], r[3], float(r[5])) for r in ROWS)
    with workspace.duck("by_day") as con:
        got_days = con.sql(
            'SELECT id, CAST("when" AS DATE), CAST(flag AS BOOLEAN) FROM t'
        ).fetchall()
    assert sorted(got_days) == sorted((r[0], date(r[1]), truthy(r[4])) for r in ROWS)
    assert body["partitions_written"] == len(expected_keys)
    assert body["errors"] == []
    # Rows with a null key: row 5 (region) and row 6 (n); row 5 (when and flag).
    assert null_partition_warned(body["warnings"], "m_keys", 2), body["warnings"]
    assert null_partition_warned(body["warnings"], "m_day", 1), body["warnings"]


def test_empty_strings_and_the_literal_null_marker_keep_partitions_of_their_own(
    service: Service, workspace: Workspace
) -> None:
    """'' and the text '__HIVE_DEFAULT_PARTITION__' are values, not null: each gets its own
    folder, DuckDB reads each back as written, and only real nulls are counted as null."""
    raw = ["plain", "EMPTY", DEFAULT, None, "a/../b", "..", "%41"]
    # An empty CSV field is null (SPEC §3), so '' is made by an expression.
    region = {
        "kind": "if",
        "cond": op("eq", col("tag"), lit("EMPTY")),
        "then": lit(""),
        "else": col("tag"),
    }
    config = pipeline(
        sources=[source("s", "raw/", [("id", "int64"), ("tag", "string")])],
        tables=[table("t", [("id", "int64"), ("region", "string")], partition_keys=["region"])],
        mappings=[mapping("m", "s", "t", {"id": col("id"), "region": region})],
    )
    workspace.put_csv("raw/a.csv", csv_text(["id", "tag"], enumerate(raw)))
    workspace.put_config(config)

    body = service.run_ok(workspace.prefix)

    assert workspace.keys("clean/") == sorted(
        [
            "clean/t/region=/m.parquet",
            "clean/t/region=%2541/m.parquet",
            "clean/t/region=a%2F..%2Fb/m.parquet",
            "clean/t/region=../m.parquet",
            f"clean/t/region={DEFAULT}/m.parquet",
            "clean/t/region=%5F_HIVE_DEFAULT_PARTITION__/m.parquet",
            "clean/t/region=plain/m.parquet",
        ]
    )
    with workspace.duck("t") as con:
        got = con.sql("SELECT id, region FROM t ORDER BY id").fetchall()
    expected = ["" if v == "EMPTY" else v for v in raw]
    assert got == list(enumerate(expected))
    assert body["errors"] == []
    assert null_partition_warned(body["warnings"], "m", 1), body["warnings"]
