"""Timestamps and decimals (SPEC §13): parsing ISO 8601 and decimal text, casts, `from_unix`
to timestamps, and how these types meet the others in comparisons and text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.expressions.expr_helpers import col, evaluate, n, one, s

from karet_worker.expressions.coerce import parse_declared
from karet_worker.expressions.parsing import parse_timestamp_column

UTC = dt.UTC


def parsed(column_type: str, values: list[str | None]) -> list[Any]:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    out: list[Any] = frame.select(parse_declared(pl.col("v"), column_type)).to_series().to_list()
    return out


TIMESTAMP_EXAMPLES: list[tuple[str | None, dt.datetime | None]] = [
    ("2024-01-05T10:30:00Z", dt.datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
    ("2024-01-05T10:30:00+02:00", dt.datetime(2024, 1, 5, 8, 30, tzinfo=UTC)),
    ("2024-01-05T10:30:00-0130", dt.datetime(2024, 1, 5, 12, 0, tzinfo=UTC)),
    ("2024-01-05T10:30:00+02", dt.datetime(2024, 1, 5, 8, 30, tzinfo=UTC)),
    ("2024-01-05T10:30:00.123456Z", dt.datetime(2024, 1, 5, 10, 30, 0, 123456, tzinfo=UTC)),
    ("2024-01-05T10:30:00.1234567", dt.datetime(2024, 1, 5, 10, 30, 0, 123456, tzinfo=UTC)),
    ("2024-01-05T10:30:00", dt.datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
    (" 2024-01-05 10:30:00 ", dt.datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
    ("2024-01-05T10:30", dt.datetime(2024, 1, 5, 10, 30, tzinfo=UTC)),
    ("2024-01-05T10:30+01:00", dt.datetime(2024, 1, 5, 9, 30, tzinfo=UTC)),
    ("2024-01-05", dt.datetime(2024, 1, 5, tzinfo=UTC)),
    ("2024-02-30T00:00:00", None),
    ("2024-01-05T25:00:00", None),
    ("yesterday", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "expected"), TIMESTAMP_EXAMPLES)
def test_timestamps_are_read_from_iso_8601_with_or_without_offset(
    text: str | None, expected: dt.datetime | None
) -> None:
    assert parsed("timestamp", [text]) == [expected]


@given(st.lists(st.sampled_from(TIMESTAMP_EXAMPLES), max_size=40))
def test_a_column_mixing_timestamp_shapes_reads_each_value_as_if_alone(
    examples: list[tuple[str | None, dt.datetime | None]],
) -> None:
    """Both timestamp parsers, the expression (every format on every value) and the readers'
    column parser (each format only on the values still unparsed), give each value the
    result of the first format that fits it, whatever its neighbours."""
    texts = [text for text, _ in examples]
    expected = [e for _, e in examples]
    assert parsed("timestamp", texts) == expected
    column = parse_timestamp_column(pl.Series("v", texts, dtype=pl.String))
    assert column.dtype == pl.Datetime("us", "UTC")
    assert column.to_list() == expected


def test_timestamp_column_type_is_utc_microseconds() -> None:
    frame = pl.DataFrame({"v": ["2024-01-05T10:30:00Z"]})
    assert frame.select(parse_declared(pl.col("v"), "timestamp")).dtypes == [
        pl.Datetime("us", "UTC")
    ]


@pytest.mark.parametrize(
    ("column_type", "text", "expected"),
    [
        ("decimal(12,2)", "12.345", Decimal("12.35")),
        ("decimal(12,2)", "-12.345", Decimal("-12.35")),
        ("decimal(12,2)", "12.344999", Decimal("12.34")),
        ("decimal(12, 2)", " 7 ", Decimal("7.00")),
        ("decimal(12,2)", "1e3", Decimal("1000.00")),
        ("decimal(12,2)", "+0.005", Decimal("0.01")),
        ("decimal(4,2)", "99.99", Decimal("99.99")),
        ("decimal(4,2)", "99.995", None),  # rounds to 100.00: too many digits
        ("decimal(4,2)", "123", None),
        ("decimal(4,0)", "9999.5", None),
        ("decimal(5,0)", "1234.5", Decimal("1235")),
        ("decimal(12,2)", "1,5", None),
        ("decimal(12,2)", "NaN", None),
        ("decimal(12,2)", "abc", None),
        ("decimal(38,38)", "0.5", Decimal("0.5")),
        (
            "decimal(38,0)",
            "12345678901234567890123456789012345678",
            Decimal("12345678901234567890123456789012345678"),
        ),
    ],
)
def test_decimals_are_parsed_exactly_and_rounded_half_away_from_zero(
    column_type: str, text: str, expected: Decimal | None
) -> None:
    assert parsed(column_type, [text]) == [expected]


def test_cast_to_decimal_from_numbers_guards_overflow() -> None:
    data = {"x": [1.005 * 100, 2.5, -0.125, 1e20, float("nan"), float("inf"), None]}
    out = evaluate(
        {"kind": "cast", "input": col("x"), "to": "decimal(6,2)"}, data, {"x": pl.Float64}
    )
    assert out == [Decimal("100.50"), Decimal("2.50"), Decimal("-0.13"), None, None, None, None]
    ints = evaluate(
        {"kind": "cast", "input": col("i"), "to": "decimal(3,1)"},
        {"i": [12, 99, 100, -99]},
        {"i": pl.Int64},
    )
    assert ints == [Decimal("12.0"), Decimal("99.0"), None, Decimal("-99.0")]


def test_decimal_columns_stay_exact_through_col_and_compute_as_float() -> None:
    schema = {"d": pl.Decimal(38, 2)}
    data = {"d": [Decimal("123456789012345678901234.56"), None]}
    assert evaluate(col("d"), data, schema) == data["d"]
    assert evaluate({"kind": "cast", "input": col("d"), "to": "string"}, data, schema) == [
        "123456789012345678901234.56",
        None,
    ]
    small = {"d": [Decimal("2.50"), Decimal("-1.25")]}
    assert evaluate({"kind": "mul", "left": col("d"), "right": n(2)}, small, schema) == [5.0, -2.5]
    assert evaluate({"kind": "gt", "left": col("d"), "right": s("2")}, small, schema) == [
        True,
        False,
    ]


def test_from_unix_to_timestamp_keeps_the_time_of_day() -> None:
    data = {"t": [1704450600, 0, -1, None]}
    out = evaluate(
        {"kind": "from_unix", "input": col("t"), "to": "timestamp"}, data, {"t": pl.Int64}
    )
    assert out == [
        dt.datetime(2024, 1, 5, 10, 30, tzinfo=UTC),
        dt.datetime(1970, 1, 1, tzinfo=UTC),
        dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        None,
    ]
    ms = {"t": ["1704450600123", "1.5", "x", "1e30"]}
    out = evaluate(
        {"kind": "from_unix", "input": col("t"), "unit": "ms", "to": "timestamp"},
        ms,
        {"t": pl.String},
    )
    assert out == [
        dt.datetime(2024, 1, 5, 10, 30, 0, 123000, tzinfo=UTC),
        dt.datetime(1970, 1, 1, 0, 0, 0, 1500, tzinfo=UTC),
        None,
        None,
    ]
    # the default is still a date (SPEC §4)
    assert one({"kind": "from_unix", "input": n(1704450600)}) == dt.date(2024, 1, 5)


def test_timestamps_as_text_dates_and_comparisons() -> None:
    schema = {"ts": pl.Datetime("us", "UTC"), "d": pl.Date}
    data = {
        "ts": [dt.datetime(2024, 1, 5, 10, 30, tzinfo=UTC), dt.datetime(2024, 1, 5, tzinfo=UTC)],
        "d": [dt.date(2024, 1, 5), dt.date(2024, 1, 5)],
    }
    assert evaluate({"kind": "cast", "input": col("ts"), "to": "string"}, data, schema) == [
        "2024-01-05T10:30:00Z",
        "2024-01-05T00:00:00Z",
    ]
    assert evaluate({"kind": "cast", "input": col("ts"), "to": "date"}, data, schema) == data["d"]
    assert evaluate({"kind": "year", "input": col("ts")}, data, schema) == [2024, 2024]
    assert evaluate({"kind": "eq", "left": col("ts"), "right": col("d")}, data, schema) == [
        False,
        True,
    ]
    later = {"kind": "gt", "left": col("ts"), "right": s("2024-01-05T11:00:00+01:00")}
    assert evaluate(later, data, schema) == [True, False]
    either = {"kind": "coalesce", "args": [{"kind": "null"}, col("d"), col("ts")]}
    assert evaluate(either, data, schema) == [dt.datetime(2024, 1, 5, tzinfo=UTC)] * 2


def test_naive_datetime_columns_are_taken_as_utc() -> None:
    data = {"ts": [dt.datetime(2024, 1, 5, 10, 30)]}
    out = evaluate(col("ts"), data, {"ts": pl.Datetime("ns")})
    assert out == [dt.datetime(2024, 1, 5, 10, 30, tzinfo=UTC)]
