"""Runs through the real stack: several files and sources, several mappings per table/source.

Expected rows are computed here from the same data that is uploaded; outputs are read back with
DuckDB (SPEC §2, §3, §6).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from .pipelines import col, csv_text, fn, lit, mapping, op, pipeline, source, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

TX_HEADER = ["id", "code", "amount", "day", "desc"]
TX_FILES: dict[str, list[list[Any]]] = {
    "raw/tx/2024/01.csv": [
        [1, "007", "12.5", "2024-01-03", "Coffee beans"],
        [2, "0042", "-3", "2024-01-04", None],
        [3, "A1", "100", "2024-01-31", "Train ticket"],
    ],
    "raw/tx/2024/02.csv.gz": [
        [4, "007", "0.25", "2024-02-01", "Market"],
        [5, None, None, None, "  spaced  "],
    ],
}
# Columns in another order plus a column the schema does not declare (ignored, SPEC §3).
TX_REORDERED = "desc,extra,amount,id,day,code\nRent,x,950,6,2024-03-01,R-1\nBook,y,15,7,,B-2\n"
REFUNDS = "id;amt\n100;12.5\n101;0.5\n"


def tx_rows() -> list[dict[str, Any]]:
    rows = [dict(zip(TX_HEADER, r, strict=True)) for f in TX_FILES.values() for r in f]
    rows += [
        {"id": 6, "code": "R-1", "amount": "950", "day": "2024-03-01", "desc": "Rent"},
        {"id": 7, "code": "B-2", "amount": "15", "day": None, "desc": "Book"},
    ]
    return rows


def seed_tx(ws: Workspace) -> None:
    for key, rows in TX_FILES.items():
        ws.put_csv(key, csv_text(TX_HEADER, rows))
    ws.put_csv("raw/tx/b.csv", TX_REORDERED)
    ws.put("raw/tx/README.txt", b"not an input: only .csv and .csv.gz are read\n")


def as_float(text: str | None) -> float | None:
    return None if text is None else float(text)


def as_date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


TX_SOURCE = source(
    "tx",
    "raw/tx/",
    [
        ("id", "int64"),
        ("code", "string"),
        ("amount", "number"),
        ("day", "date"),
        ("desc", "string"),
    ],
)
MOVEMENTS = table(
    "movements",
    [
        ("id", "int64"),
        ("code", "string"),
        ("amount", "number"),
        ("kind", "string"),
        ("day", "date"),
    ],
)


def test_multi_file_multi_source_run_with_two_mappings_into_one_table(
    service: Service, workspace: Workspace
) -> None:
    seed_tx(workspace)
    workspace.put_csv("raw/refunds/r.csv", REFUNDS)
    config = pipeline(
        sources=[
            TX_SOURCE,
            source("refunds", "raw/refunds/", [("id", "int64"), ("amt", "float64")], delimiter=";"),
        ],
        tables=[MOVEMENTS],
        mappings=[
            mapping(
                "m_tx",
                "tx",
                "movements",
                {
                    "id": col("id"),
                    "code": col("code"),
                    "amount": col("amount"),
                    "kind": lit("purchase"),
                    "day": col("day"),
                },
            ),
            # Does not produce `code` and `day`: they are written as typed nulls (SPEC §3).
            mapping(
                "m_refund",
                "refunds",
                "movements",
                {"id": col("id"), "amount": op("mul", col("amt"), lit(-1)), "kind": lit("refund")},
            ),
        ],
    )
    workspace.put_config(config)

    body = service.run_ok(workspace.prefix)

    expected = [
        {
            "id": r["id"],
            "code": r["code"],
            "amount": as_float(r["amount"]),
            "kind": "purchase",
            "day": as_date(r["day"]),
        }
        for r in tx_rows()
    ] + [
        {"id": 100, "code": None, "amount": -12.5, "kind": "refund", "day": None},
        {"id": 101, "code": None, "amount": -0.5, "kind": "refund", "day": None},
    ]
    got = workspace.read_table("movements")
    assert sorted(got, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])
    assert workspace.keys("clean/") == [
        "clean/movements/m_refund.parquet",
        "clean/movements/m_tx.parquet",
    ]
    # Declared types on read and enforced types on write: "007" stays text, ids are integers.
    assert workspace.column_types("movements") == {
        "id": "BIGINT",
        "code": "VARCHAR",
        "amount": "DOUBLE",
        "kind": "VARCHAR",
        "day": "DATE",
    }
    assert body["errors"] == []
    assert body["files_processed"] == 4  # 3 tx files (.csv, .csv.gz, reordered) + 1 refunds
    assert body["rows_read"] == len(tx_rows()) + 2
    assert body["rows_written"] == len(expected)
    assert body["partitions_written"] == 2
    assert body["rows_deduped"] == 0
    assert isinstance(body["job_id"], str) and body["job_id"]
    assert isinstance(body["duration_ms"], int) and body["duration_ms"] >= 0


def test_two_mappings_read_the_same_source_into_two_tables(
    service: Service, workspace: Workspace
) -> None:
    seed_tx(workspace)
    config = pipeline(
        sources=[TX_SOURCE],
        tables=[
            table("labels", [("id", "int64"), ("label", "string")]),
            table(
                "codes",
                [("id", "int64"), ("tag", "string"), ("double", "float64"), ("code_num", "int64")],
            ),
        ],
        mappings=[
            mapping(
                "m_labels",
                "tx",
                "labels",
                {"id": col("id"), "label": fn("upper", fn("trim", col("desc")))},
            ),
            mapping(
                "m_codes",
                "tx",
                "codes",
                {
                    "id": col("id"),
                    "tag": {"kind": "concat", "sep": "-", "args": [col("code"), col("desc")]},
                    "double": op("mul", col("amount"), lit(2)),
                    # Output types are enforced: text that is no integer becomes null (warned).
                    "code_num": col("code"),
                },
            ),
        ],
    )
    workspace.put_config(config)

    body = service.run_ok(workspace.prefix)

    rows = tx_rows()
    expected_labels = [
        {"id": r["id"], "label": None if r["desc"] is None else r["desc"].strip().upper()}
        for r in rows
    ]
    expected_codes = [
        {
            "id": r["id"],
            # null args are skipped together with their separator (SPEC §4)
            "tag": "-".join(v for v in (r["code"], r["desc"]) if v is not None),
            "double": None if r["amount"] is None else float(r["amount"]) * 2,
            "code_num": int(r["code"]) if r["code"] and r["code"].isdigit() else None,
        }
        for r in rows
    ]
    assert sorted(workspace.read_table("labels"), key=lambda r: r["id"]) == sorted(
        expected_labels, key=lambda r: r["id"]
    )
    assert sorted(workspace.read_table("codes"), key=lambda r: r["id"]) == sorted(
        expected_codes, key=lambda r: r["id"]
    )
    assert workspace.keys("clean/") == [
        "clean/codes/m_codes.parquet",
        "clean/labels/m_labels.parquet",
    ]
    assert body["errors"] == []
    assert body["partitions_written"] == 2
    assert body["rows_written"] == 2 * len(rows)
    unconverted = [r["code"] for r in rows if r["code"] and not r["code"].isdigit()]
    assert len(unconverted) == 3  # A1, R-1, B-2
    assert any(
        "code_num" in w and re.search(rf"\b{len(unconverted)}\b", w) for w in body["warnings"]
    ), body["warnings"]
    # Whether a file read by two mappings counts once or twice is not fixed by SPEC §6.
    assert body["files_processed"] in (3, 6)
