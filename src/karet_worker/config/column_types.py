"""Declared column types (SPEC §3, §13) as they are written in `pipeline.json`, and parsed.

A type is a name (`string`, `int64`, `timestamp`, ...) or `decimal(p,s)` with a precision
`p` (1-38, Parquet's and DuckDB's widest) and a scale `0 <= s <= p`. The config keeps the text
the user wrote; `parse_column_type` turns it into a `DeclaredType` wherever code needs to know
what it means:

    >>> parse_column_type("decimal(12, 2)")
    DeclaredType(base='decimal', precision=12, scale=2)
    >>> parse_column_type("date")
    DeclaredType(base='date', precision=None, scale=None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

BaseType = Literal["string", "number", "int64", "float64", "bool", "date", "timestamp", "decimal"]
SIMPLE_TYPES: Final = tuple(t for t in get_args(BaseType) if t != "decimal")
MAX_DECIMAL_PRECISION: Final = 38  # Parquet DECIMAL in 16 bytes, DuckDB's DECIMAL(38, s)

_DECIMAL = re.compile(r"decimal\(\s*([1-9][0-9]{0,3}|0)\s*,\s*([1-9][0-9]{0,3}|0)\s*\)")
# Published in the JSON schema; the validator below gives the precise message.
_PRECISION = r"(?:[1-9]|[12][0-9]|3[0-8])"  # 1-38; that the scale is at most p is checked
COLUMN_TYPE_PATTERN: Final = (
    r"^(" + "|".join(SIMPLE_TYPES) + rf"|decimal\(\s*{_PRECISION}\s*,\s*{_PRECISION[:-1]}|0)\s*\))$"
)
EXPECTED: Final = ", ".join(repr(t) for t in SIMPLE_TYPES) + " or 'decimal(p,s)'"
# `cast` converts to any column type but `number`, which is only another name for float64.
CAST_TARGET_PATTERN: Final = COLUMN_TYPE_PATTERN.replace("number|", "")


@dataclass(frozen=True)
class DeclaredType:
    """What a declared type means: its base and, for decimals, precision and scale."""

    base: BaseType
    precision: int | None = None
    scale: int | None = None


class InvalidColumnType(ValueError):
    """The text is no column type; the message says what is accepted."""


def parse_column_type(text: str) -> DeclaredType:
    """The meaning of a declared type; raises `InvalidColumnType` with a message to show."""
    for name in SIMPLE_TYPES:
        if text == name:
            return DeclaredType(name)
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidColumnType(f"unknown column type {text!r}; expected one of {EXPECTED}")
    precision, scale = int(match.group(1)), int(match.group(2))
    if not 1 <= precision <= MAX_DECIMAL_PRECISION:
        raise InvalidColumnType(
            f"{text!r}: decimal precision must be between 1 and {MAX_DECIMAL_PRECISION}"
        )
    if scale > precision:
        raise InvalidColumnType(f"{text!r}: decimal scale must not exceed its precision")
    return DeclaredType("decimal", precision, scale)


def parse_cast_target(text: str) -> DeclaredType:
    """Like `parse_column_type`, without `number` (write `float64`)."""
    if text == "number":
        raise InvalidColumnType("cast to 'number' is not supported; use 'float64'")
    return parse_column_type(text)


def is_column_type(text: str) -> bool:
    try:
        parse_column_type(text)
    except InvalidColumnType:
        return False
    return True
