"""The Parquet reader (SPEC §13): declared columns by name, non-strict conversion with counts,
batches, and per-file errors for missing columns, unusable types and corrupt files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from karet_worker.config.model import SourceContainer
from karet_worker.engine.read.base import BadInputFile, TypedChunk
from karet_worker.engine.read.parquet import read_parquet


def source(*columns: tuple[str, str]) -> SourceContainer:
    schema = [{"name": name, "type": kind} for name, kind in columns]
    return SourceContainer.model_validate(
        {"id": "p", "name": "P", "path_prefix": "p/", "format": "parquet", "schema": schema}
    )


def read(path: Path, src: SourceContainer, chunk: int = 1 << 20) -> list[TypedChunk]:
    return list(read_parquet(path, "in.parquet", src, chunk_bytes=chunk))


def rows(chunks: list[TypedChunk]) -> list[dict[str, Any]]:
    return [row for c in chunks for row in c.frame.to_dicts()]


def unparsed(chunks: list[TypedChunk]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in chunks:
        for name, count in c.unparsed.items():
            total[name] = total.get(name, 0) + count
    return total


def test_declared_columns_are_read_by_name_and_converted(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame(
        {
            "extra": [1, 2, 3],
            "amount": pl.Series(["1.5", "abc", None]),
            "id": pl.Series([7, 8, None], dtype=pl.Int32),
            "code": pl.Series(["007", "x", None]),
            "when": [dt.datetime(2024, 1, 2, 23, 59), None, dt.datetime(2024, 3, 1)],
            "ok": ["yes", "0", "maybe"],
            "ratio": [1.0, 2.5, None],
        }
    ).write_parquet(path)
    src = source(
        ("code", "string"),
        ("id", "int64"),
        ("amount", "number"),
        ("when", "date"),
        ("ok", "bool"),
        ("ratio", "int64"),
    )
    chunks = read(path, src)
    frame = pl.concat([c.frame for c in chunks])
    assert frame.columns == ["code", "id", "amount", "when", "ok", "ratio"]
    assert dict(frame.schema) == {
        "code": pl.String,
        "id": pl.Int64,
        "amount": pl.Float64,
        "when": pl.Date,
        "ok": pl.Boolean,
        "ratio": pl.Int64,
    }
    assert rows(chunks) == [
        {
            "code": "007",
            "id": 7,
            "amount": 1.5,
            "when": dt.date(2024, 1, 2),
            "ok": True,
            "ratio": 1,
        },
        {"code": "x", "id": 8, "amount": None, "when": None, "ok": False, "ratio": 2},
        {
            "code": None,
            "id": None,
            "amount": None,
            "when": dt.date(2024, 3, 1),
            "ok": None,
            "ratio": None,
        },
    ]
    assert unparsed(chunks) == {"amount": 1, "ok": 1}


def test_a_large_file_is_read_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame({"n": range(100_000)}).write_parquet(path, row_group_size=10_000)
    chunks = read(path, source(("n", "int64")), chunk=64 * 1024)
    assert len(chunks) > 5
    assert pl.concat([c.frame for c in chunks])["n"].to_list() == list(range(100_000))


def test_a_missing_column_skips_the_file_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame({"a": [1], "b": [2]}).write_parquet(path)
    with pytest.raises(BadInputFile, match=r"missing column\(s\) 'c'; columns found: 'a', 'b'"):
        read(path, source(("a", "int64"), ("c", "string")))


def test_a_column_of_an_unconvertible_type_skips_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame({"tags": [["a", "b"]]}).write_parquet(path)
    with pytest.raises(BadInputFile, match="'tags' has type List"):
        read(path, source(("tags", "int64")))


@pytest.mark.parametrize("body", [b"", b"PAR1 not really", b"a,b\n1,2\n"])
def test_a_corrupt_file_is_refused(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "in.parquet"
    path.write_bytes(body)
    with pytest.raises(BadInputFile, match="not a readable Parquet file"):
        read(path, source(("a", "int64")))


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pl.DataFrame({"a": range(10_000)}).write_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + data[-1000:])  # footer kept, pages cut
    with pytest.raises(BadInputFile, match="not a readable Parquet file"):
        read(path, source(("a", "int64")))


def test_floats_must_be_finite_and_dates_within_years_1_to_9999(tmp_path: Path) -> None:
    """As in CSV files (`base.plausible`): an infinite or NaN float, a date or timestamp
    outside years 1-9999, is null and counted, also when the file's column already has the
    declared type."""
    path = tmp_path / "in.parquet"
    epoch = dt.date(1970, 1, 1).toordinal()
    days = [dt.date(2024, 1, 31).toordinal() - epoch, -800_000, 3_000_000, 1 - epoch]
    pq.write_table(
        pa.table(
            {
                "n": pa.array([1.5, float("inf"), float("nan"), -0.0]),
                "text_n": pa.array(["1.5", "1e309", "-inf", "2"]),
                "d": pa.array(days, pa.date32()),  # 2024, year -221, year 10183, year 1
                "ts": pa.array([0, None, -70_000_000_000_000_000, 2**62], pa.timestamp("us")),
            }
        ),
        path,
    )
    chunks = read(path, source(("n", "number"), ("text_n", "float64"), ("d", "date"),
                               ("ts", "timestamp")))  # fmt: skip
    got = rows(chunks)
    assert [r["n"] for r in got] == [1.5, None, None, -0.0]
    assert [r["text_n"] for r in got] == [1.5, None, None, 2.0]
    assert [str(r["d"]) if r["d"] else None for r in got] == [
        "2024-01-31",
        None,
        None,
        "0001-01-01",
    ]
    assert [str(r["ts"]) if r["ts"] else None for r in got] == [
        "1970-01-01 00:00:00+00:00",
        None,
        None,
        None,
    ]
    assert unparsed(chunks) == {"n": 2, "text_n": 2, "d": 2, "ts": 2}
