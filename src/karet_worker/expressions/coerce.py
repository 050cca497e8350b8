"""Static types of compiled expressions and the coercions between them (SPEC §4).

The compiler knows every operand's type from the declared schema, so each coercion is chosen
once at compile time instead of inspecting values per row.
"""

from __future__ import annotations

import polars as pl

from karet_worker.expressions.parsing import parse_bool, parse_date_iso, parse_number

STRING: pl.DataType = pl.String()
FLOAT: pl.DataType = pl.Float64()
INT: pl.DataType = pl.Int64()
BOOL: pl.DataType = pl.Boolean()
DATE: pl.DataType = pl.Date()
NULL: pl.DataType = pl.Null()

NUMERIC: tuple[pl.DataType, ...] = (INT, FLOAT)

# Integral floats below this magnitude are written without a fraction ("5", not "5.0").
_PLAIN_INTEGER_LIMIT = 1e15


class UnsupportedType(Exception):
    """A scope column has a Polars type the expression language has no meaning for."""


def normalize_dtype(dtype: pl.DataType | type[pl.DataType]) -> tuple[pl.DataType, bool]:
    """The language type for a scope dtype, and whether the column must be cast to it.

    Besides the five language types, other integer/float widths, categoricals and datetimes
    are accepted and cast, so callers may hand over frames read with narrower types.
    """
    dt = dtype() if isinstance(dtype, type) else dtype
    for known in (STRING, FLOAT, INT, BOOL, DATE, NULL):
        if dt == known:
            return known, False
    if dt.is_integer():
        return INT, True
    if dt.is_float():
        return FLOAT, True
    if isinstance(dt, pl.Categorical | pl.Enum):
        return STRING, True
    if isinstance(dt, pl.Datetime):
        return DATE, True
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
    """Any value as String: numbers canonical, dates ISO, booleans `true`/`false`."""
    if dtype == STRING:
        return expr
    if dtype == FLOAT:
        return float_to_text(expr)
    if dtype == NULL:
        return null_of(STRING)
    return expr.cast(pl.String)


def to_number(expr: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.DataType]:
    """Any value as a number: text is parsed (non-numeric → null), booleans are 1/0,
    dates and nulls give null. Int64 stays Int64 so integer arithmetic stays exact."""
    if dtype in NUMERIC:
        return expr, dtype
    if dtype == STRING:
        return parse_number(expr), FLOAT
    if dtype == BOOL:
        return expr.cast(pl.Float64), FLOAT
    return null_of(FLOAT), FLOAT


def to_bool(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Any value as Boolean: text via `parse_bool`, numbers are true when non-zero (NaN is
    non-zero), dates and nulls give null."""
    if dtype == BOOL:
        return expr
    if dtype == STRING:
        return parse_bool(expr)
    if dtype in NUMERIC:
        return expr != 0
    return null_of(BOOL)


def to_date(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Dates stay, text is parsed as ISO `YYYY-MM-DD`, anything else gives null."""
    if dtype == DATE:
        return expr
    if dtype == STRING:
        return parse_date_iso(expr)
    return null_of(DATE)


def unify(dtypes: list[pl.DataType]) -> pl.DataType:
    """Common result type of `if`/`coalesce` branches: nulls are ignored, Int64 with Float64
    is Float64, and any other mix is String (every branch rendered as text)."""
    distinct: list[pl.DataType] = []
    for dt in dtypes:
        if dt != NULL and dt not in distinct:
            distinct.append(dt)
    if not distinct:
        return NULL
    if len(distinct) == 1:
        return distinct[0]
    if all(dt in NUMERIC for dt in distinct):
        return FLOAT
    return STRING


def convert(expr: pl.Expr, dtype: pl.DataType, target: pl.DataType) -> pl.Expr:
    """Convert a value to a `unify` result type."""
    if dtype == target:
        return expr
    if target == STRING:
        return to_text(expr, dtype)
    if target == FLOAT:
        return to_number(expr, dtype)[0].cast(pl.Float64)
    if target == NULL:
        return expr
    return expr.cast(target, strict=False)
