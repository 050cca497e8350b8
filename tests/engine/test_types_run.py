"""Timestamp and decimal columns end to end (SPEC §13): read from CSV, cast on output, written
as Parquet TIMESTAMP(µs, UTC) and DECIMAL(p, s), and read back typed by DuckDB."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import duckdb
import pyarrow.parquet as pq
import pytest
from tests.engine.workspace import PREFIX, Workspace, col, make_config

from karet_worker.engine.result import IssueKind


def test_timestamps_and_decimals_are_written_typed_and_read_back_by_duckdb(ws: Workspace) -> None:
    ws.config(
        make_config(
            source_schema=[("at", "timestamp"), ("price", "decimal(10,3)"), ("qty", "string")],
            table_schema=[
                ("at", "timestamp"),
                ("price", "decimal(12,2)"),
                ("total", "decimal(12,2)"),
                ("day", "date"),
                ("seen", "timestamp"),
            ],
            columns={
                "at": col("at"),
                "price": col("price"),
                "total": {"kind": "mul", "left": col("price"), "right": col("qty")},
                "day": col("at"),
                "seen": {"kind": "cast", "input": col("qty"), "to": "timestamp"},
            },
        )
    )
    ws.put(
        "raw/a.csv",
        "at,price,qty\n"
        "2024-01-05T10:30:00+02:00,1.005,3\n"
        "2024-01-05 23:59:59.5,2.5,x\n"
        "not a time,abc,2024-02-01\n",
    )
    result = ws.run()
    assert result.errors == []
    assert {w.kind for w in result.warnings} == {IssueKind.UNPARSED_VALUES}
    path = ws.root / PREFIX / "clean" / "t" / "m1.parquet"

    schema = pq.read_schema(path)
    assert str(schema.field("at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("price").type) == "decimal128(12, 2)"

    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        relation = con.sql(f"SELECT * FROM read_parquet('{path}')")
        types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        rows = relation.fetchall()
    assert types == {
        "at": "TIMESTAMP WITH TIME ZONE",
        "price": "DECIMAL(12,2)",
        "total": "DECIMAL(12,2)",
        "day": "DATE",
        "seen": "TIMESTAMP WITH TIME ZONE",
    }
    utc = dt.UTC
    assert rows == [
        (
            dt.datetime(2024, 1, 5, 8, 30, tzinfo=utc),
            Decimal("1.01"),  # 1.005 read exactly, rounded half away from zero
            # arithmetic is Float64: 1.005 * 3 = 3.0149999999999997, which rounds to 3.01
            Decimal("3.01"),
            dt.date(2024, 1, 5),
            None,
        ),
        (
            dt.datetime(2024, 1, 5, 23, 59, 59, 500000, tzinfo=utc),
            Decimal("2.50"),
            None,
            dt.date(2024, 1, 5),
            None,
        ),
        (None, None, None, None, dt.datetime(2024, 2, 1, tzinfo=utc)),
    ]
    # Values that did not parse (the time, the price) are counted as warnings.
    unparsed = {(w.column, w.count, w.expected) for w in result.warnings}
    assert unparsed >= {("at", 1, "timestamp"), ("price", 1, "decimal(10,3)")}, result.warnings


# Every shape of ISO 8601 the reader takes, and two it does not, in one column: each format is
# tried only on the values the ones before it left unparsed (`parse_timestamp_column`).
_SHAPES = [
    ("2024-01-05T10:30:00Z", dt.datetime(2024, 1, 5, 10, 30)),
    ("2024-01-05 10:30:00.25", dt.datetime(2024, 1, 5, 10, 30, 0, 250000)),
    ("2024-01-05T10:30+01:00", dt.datetime(2024, 1, 5, 9, 30)),
    ("2024-01-05T10:30", dt.datetime(2024, 1, 5, 10, 30)),
    ("2024-01-05", dt.datetime(2024, 1, 5)),
    ("0000-01-05T10:30:00Z", None),  # year 0: no plausible value
    ("noon", None),
    ("2024-01-05T10:30:00-02:00", dt.datetime(2024, 1, 5, 12, 30)),
]


@pytest.mark.parametrize("source_format", ["csv", "ndjson"])
def test_a_timestamp_column_mixing_every_shape_reads_each_value(
    ws: Workspace, source_format: str
) -> None:
    config = make_config(source_schema=[("at", "timestamp")], table_schema=[("at", "timestamp")])
    config["source_containers"][0]["format"] = source_format
    ws.config(config)
    if source_format == "csv":
        ws.put("raw/a.csv", "at\n" + "".join(f"{text}\n" for text, _ in _SHAPES))
    else:
        ws.put("raw/a.ndjson", "".join(json.dumps({"at": text}) + "\n" for text, _ in _SHAPES))
    result = ws.run()
    assert result.errors == []
    unparsed = [(w.column, w.count) for w in result.warnings if w.kind == IssueKind.UNPARSED_VALUES]
    assert unparsed == [("at", 2)]
    expected = [None if e is None else e.replace(tzinfo=dt.UTC) for _, e in _SHAPES]
    assert ws.read("t")["at"].to_list() == expected
