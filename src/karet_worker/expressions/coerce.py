"""Static types of compiled expressions and the coercions between them (SPEC §4, §13).

The compiler knows every operand's type from the declared schema, so each coercion is chosen
once at compile time instead of inspecting values per row. This module is also the one place
that says what a declared column type is in Polars (`declared_dtype`), how text read from a
file becomes it (`parse_declared`) and how any value is converted to it (`to_declared`).
"""

from __future__ import annotations

from typing import assert_never

import polars as pl

from karet_worker.config.column_types import DeclaredType, parse_column_type
from karet_worker.expressions.parsing import (
    parse_bool,
    parse_date_iso,
    parse_decimal,
    parse_int,
    parse_number,
    parse_timestamp_iso,
)

STRING: pl.DataType = pl.String()
FLOAT: pl.DataType = pl.Float64()
INT: pl.DataType = pl.Int64()
BOOL: pl.DataType = pl.Boolean()
DATE: pl.DataType = pl.Date()
TIMESTAMP: pl.DataType = pl.Datetime("us", "UTC")
NULL: pl.DataType = pl.Null()
# Decimal(p, s) columns keep their type through `col` (so a decimal copied to a decimal stays
# exact); every computation reads them as Float64.

NUMERIC: tuple[pl.DataType, ...] = (INT, FLOAT)

# Integral floats below this magnitude are written without a fraction ("5", not "5.0").
_PLAIN_INTEGER_LIMIT = 1e15
TIMESTAMP_TEXT_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"  # 2024-01-05T10:30:00Z, fraction when present


class UnsupportedType(Exception):
    """A scope column has a Polars type the expression language has no meaning for."""


def is_decimal(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Decimal)


def is_numeric(dtype: pl.DataType) -> bool:
    """Int64, Float64 or a decimal."""
    return dtype in NUMERIC or is_decimal(dtype)


def normalize_dtype(dtype: pl.DataType | type[pl.DataType]) -> tuple[pl.DataType, bool]:
    """The language type for a scope dtype, and whether the column must be cast to it.

    Besides the language types, other integer/float widths, categoricals and datetimes of any
    unit or zone (naive ones are taken as UTC) are accepted and cast, so callers may hand over
    frames read with other types.
    """
    dt = dtype() if isinstance(dtype, type) else dtype
    for known in (STRING, FLOAT, INT, BOOL, DATE, TIMESTAMP, NULL):
        if dt == known:
            return known, False
    if is_decimal(dt):
        return dt, False
    if dt.is_integer():
        return INT, True
    if dt.is_float():
        return FLOAT, True
    if isinstance(dt, pl.Categorical | pl.Enum):
        return STRING, True
    if isinstance(dt, pl.Datetime):
        return TIMESTAMP, True
    raise UnsupportedType(f"column type {dt} is not supported in expressions")


def null_of(dtype: pl.DataType) -> pl.Expr:
    """A typed null literal."""
    return pl.lit(None, dtype=dtype)


def float_to_text(expr: pl.Expr) -> pl.Expr:
    """Canonical number text: integral values as integers (`5`), others shortest round-trip
    (`0.1`, `1e+20`, `NaN`, `inf`), so concatenated ids do not grow a stray `.0`."""
    plain = (expr == expr.floor()) & (expr.abs() < _PLAIN_INTEGER_LIMIT)
    return (
        pl.when(plain)
        .then(expr.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(expr.cast(pl.String))
    )


def to_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Any value as String: numbers canonical, decimals with their scale (`12.50`), dates
    ISO, timestamps ISO in UTC (`2024-01-05T10:30:00Z`), booleans `true`/`false`."""
    if dtype == STRING:
        return expr
    if dtype == FLOAT:
        return float_to_text(expr)
    if dtype == NULL:
        return null_of(STRING)
    if dtype == TIMESTAMP:
        return expr.dt.to_string(TIMESTAMP_TEXT_FORMAT)
    return expr.cast(pl.String)


def to_number(expr: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.DataType]:
    """Any value as a number: text is parsed (non-numeric → null), booleans are 1/0,
    decimals Float64, dates and nulls give null. Int64 stays Int64 so integer arithmetic
    stays exact."""
    if dtype in NUMERIC:
        return expr, dtype
    if dtype == STRING:
        return parse_number(expr), FLOAT
    if dtype == BOOL or is_decimal(dtype):
        return expr.cast(pl.Float64), FLOAT
    return null_of(FLOAT), FLOAT


def to_bool(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Any value as Boolean: text via `parse_bool`, numbers are true when non-zero (NaN is
    non-zero), dates and nulls give null."""
    if dtype == BOOL:
        return expr
    if dtype == STRING:
        return parse_bool(expr)
    if is_numeric(dtype):
        return expr != 0
    return null_of(BOOL)


def to_date(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Dates stay, timestamps give their UTC day, text is parsed as ISO `YYYY-MM-DD`,
    anything else gives null."""
    if dtype == DATE:
        return expr
    if dtype == TIMESTAMP:
        return expr.dt.date()
    if dtype == STRING:
        return parse_date_iso(expr)
    return null_of(DATE)


def to_timestamp(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Timestamps stay, dates become their midnight UTC, text is parsed as ISO 8601
    (`parse_timestamp_iso`), anything else gives null (numbers: use `from_unix`)."""
    if dtype == TIMESTAMP:
        return expr
    if dtype == DATE:
        return expr.cast(TIMESTAMP)
    if dtype == STRING:
        return parse_timestamp_iso(expr)
    return null_of(TIMESTAMP)


def to_decimal(expr: pl.Expr, dtype: pl.DataType, precision: int, scale: int) -> pl.Expr:
    """Any value as Decimal(precision, scale), rounded half away from zero; a value too big
    for the precision, NaN, ±inf, dates and text that is no number give null."""
    target = pl.Decimal(precision, scale)
    if dtype == STRING:
        return parse_decimal(expr, precision, scale)
    if is_decimal(dtype):
        return expr.round(scale, mode="half_away_from_zero").cast(target, strict=False)
    if dtype in (*NUMERIC, BOOL):
        number = expr.cast(pl.Float64).round(scale, mode="half_away_from_zero")
        # Polars raises (even non-strict) on a float too big for the decimal: keep it out.
        fits = number.abs() < 10.0 ** (precision - scale)
        return pl.when(fits).then(number).cast(target, strict=False)
    return null_of(target)


def declared_dtype(column_type: str | DeclaredType) -> pl.DataType:
    """The Polars type of a declared column type: `number` is Float64, `timestamp` is
    Datetime(µs, UTC), `decimal(12,2)` is Decimal(12, 2)."""
    declared = parse_column_type(column_type) if isinstance(column_type, str) else column_type
    match declared.base:
        case "string":
            return STRING
        case "number" | "float64":
            return FLOAT
        case "int64":
            return INT
        case "bool":
            return BOOL
        case "date":
            return DATE
        case "timestamp":
            return TIMESTAMP
        case "decimal":
            assert declared.precision is not None and declared.scale is not None
            return pl.Decimal(declared.precision, declared.scale)
        case unreachable:
            assert_never(unreachable)


def parse_declared(text: pl.Expr, column_type: str | DeclaredType) -> pl.Expr:
    """Text read from a file as its declared type (SPEC §3, §13), non-strictly: a value that
    does not parse becomes null (the reader counts those)."""
    declared = parse_column_type(column_type) if isinstance(column_type, str) else column_type
    if declared.base == "int64":
        # Read strictly (SPEC §3): `1.5` in an int64 column is a value that does not parse
        # (null, counted), not 1; only the `cast` expression truncates.
        return parse_int(text)
    return to_declared(text, STRING, declared)


def to_declared(expr: pl.Expr, dtype: pl.DataType, column_type: str | DeclaredType) -> pl.Expr:
    """Any value as a declared column type, non-strictly (the `cast` expression and the output
    types of tables): text is parsed, numbers converted; what cannot convert is null."""
    declared = parse_column_type(column_type) if isinstance(column_type, str) else column_type
    match declared.base:
        case "string":
            return to_text(expr, dtype)
        case "number" | "float64":
            return to_number(expr, dtype)[0].cast(pl.Float64)
        case "int64":
            return _to_int(expr, dtype)
        case "bool":
            return to_bool(expr, dtype)
        case "date":
            return to_date(expr, dtype)
        case "timestamp":
            return to_timestamp(expr, dtype)
        case "decimal":
            assert declared.precision is not None and declared.scale is not None
            return to_decimal(expr, dtype, declared.precision, declared.scale)
        case unreachable:
            assert_never(unreachable)


def _to_int(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Int64: text takes integers (`007` → 7) or any number truncated toward zero; floats and
    decimals truncate (NaN/inf/out of range → null); booleans are 1/0."""
    if dtype == STRING:
        return pl.coalesce(parse_int(expr), parse_number(expr).cast(pl.Int64, strict=False))
    if is_numeric(dtype) or dtype == BOOL:
        return expr.cast(pl.Int64, strict=False)
    return null_of(INT)


def unify(dtypes: list[pl.DataType]) -> pl.DataType:
    """Common result type of `if`/`coalesce`/`case` branches: nulls are ignored, numbers of
    different types are Float64, dates with timestamps are timestamps, and any other mix is
    String (every branch rendered as text)."""
    distinct: list[pl.DataType] = []
    for dt in dtypes:
        if dt != NULL and dt not in distinct:
            distinct.append(dt)
    if not distinct:
        return NULL
    if len(distinct) == 1:
        return distinct[0]
    if all(is_numeric(dt) for dt in distinct):
        return FLOAT
    if all(dt in (DATE, TIMESTAMP) for dt in distinct):
        return TIMESTAMP
    return STRING


def convert(expr: pl.Expr, dtype: pl.DataType, target: pl.DataType) -> pl.Expr:
    """Convert a value to a `unify` result type."""
    if dtype == target or target == NULL:
        return expr
    if target == STRING:
        return to_text(expr, dtype)
    if target == FLOAT:
        return to_number(expr, dtype)[0].cast(pl.Float64)
    if target == TIMESTAMP:
        return to_timestamp(expr, dtype)
    return expr.cast(target, strict=False)
