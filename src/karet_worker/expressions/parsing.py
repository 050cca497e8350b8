"""Non-strict String → typed parsers shared by the expression compiler and the source reader.

Every helper trims surrounding (Unicode) whitespace first and turns unparseable text into
null instead of failing, so one bad value never sinks a whole file.
"""

from __future__ import annotations

from typing import overload

import polars as pl

TRUE_WORDS: tuple[str, ...] = ("true", "1", "yes", "t", "y")
FALSE_WORDS: tuple[str, ...] = ("false", "0", "no", "f", "n")

_BOOL_WORDS = pl.Series("words", [*TRUE_WORDS, *FALSE_WORDS], dtype=pl.String)
_BOOL_VALUES = pl.Series(
    "values", [True] * len(TRUE_WORDS) + [False] * len(FALSE_WORDS), dtype=pl.Boolean
)

ISO_DATE_FORMAT = "%Y-%m-%d"
MAX_DECIMAL_DIGITS = 38


def parse_bool(text: pl.Expr) -> pl.Expr:
    """`true/false/1/0/yes/no/t/f/y/n` in any case → Boolean; anything else → null."""
    return (
        text.str.strip_chars()
        .str.to_lowercase()
        .replace_strict(_BOOL_WORDS, _BOOL_VALUES, default=None, return_dtype=pl.Boolean)
    )


def parse_number(text: pl.Expr) -> pl.Expr:
    """Decimal or scientific text (also `inf`, `NaN`) → Float64; anything else → null."""
    return text.str.strip_chars().cast(pl.Float64, strict=False)


def parse_int(text: pl.Expr) -> pl.Expr:
    """Integer text (optional sign, leading zeros kept as value: `007` → 7) → Int64, else null.

    Fractional text such as `1.5` is not an integer and gives null; out-of-range gives null.
    """
    return text.str.strip_chars().cast(pl.Int64, strict=False)


def parse_date_iso(text: pl.Expr) -> pl.Expr:
    """ISO `YYYY-MM-DD` → Date (the parser also takes unpadded month/day); else null.

    Every date and timestamp parse here runs without Polars' per-value cache (`cache=False`):
    on the bench's dates (1,465 distinct in 625k rows) the cache made it 2.2x slower (37 vs
    17 CPU-ms), the lookup costing more than parsing ten characters."""
    return text.str.strip_chars().str.to_date(ISO_DATE_FORMAT, strict=False, cache=False)


# Tried in order; the first that parses wins. A space may stand for the `T` (RFC 3339), a
# missing offset means UTC, and a date alone is midnight UTC. `%#z` takes `Z`, `+02`, `+0200`
# and `+02:00`; `%.f` takes no fraction or up to 9 digits (truncated to microseconds).
TIMESTAMP_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%dT%H:%M",
    ISO_DATE_FORMAT,
)


def parse_timestamp_iso(text: pl.Expr) -> pl.Expr:
    """ISO 8601 text → UTC timestamp (µs), else null.

    `2024-01-05T10:30:00+02:00` → 2024-01-05 08:30 UTC; `2024-01-05 10:30` → 10:30 UTC;
    `2024-01-05` → 00:00 UTC.

    As an expression it parses every value with all five formats (`pl.coalesce`: 1.2 CPU-s
    per 1M values); the readers type whole columns with `parse_timestamp_column` instead. An
    expression cannot do what that does: a Python callback (`map_batches`) inside the
    engine's multi-threaded evaluation is the pattern of Polars' GIL deadlock reports
    (pola-rs/polars#24448, #26821), and a chained expression is evaluated without sharing
    its repeated parts (1.6-2.3 CPU-s; bench/README.md "Round five")."""
    normalized = _iso_text(text)
    return pl.coalesce(_to_timestamp(normalized, fmt) for fmt in TIMESTAMP_FORMATS)


def parse_timestamp_column(text: pl.Series) -> pl.Series:
    """`parse_timestamp_iso` of a whole column, eagerly: each format is tried only on the
    values the formats before it left unparsed. 1M values, CPU-s: `…T10:30:00Z` 0.32 (1.21
    with every format on every value), no offset 0.54 (1.20), dates alone 0.58 (0.72).

    ["2024-01-05T10:30:00Z", "2024-01-05", "noon"] → [10:30 UTC, 00:00 UTC, null]"""
    normalized = text.to_frame("text").select(_iso_text(pl.col("text"))).to_series()
    parsed = _to_timestamp(normalized, TIMESTAMP_FORMATS[0])
    for fmt in TIMESTAMP_FORMATS[1:]:
        left = (parsed.is_null() & normalized.is_not_null()).arg_true()
        if left.is_empty():
            break
        parsed = parsed.scatter(left, _to_timestamp(normalized.gather(left), fmt))
    return parsed.alias(text.name)


def _iso_text(text: pl.Expr) -> pl.Expr:
    """Trimmed, with a space between date and time read as the `T` (RFC 3339)."""
    return text.str.strip_chars().str.replace(" ", "T", literal=True, n=1)


@overload
def _to_timestamp(text: pl.Expr, fmt: str) -> pl.Expr: ...
@overload
def _to_timestamp(text: pl.Series, fmt: str) -> pl.Series: ...
def _to_timestamp(text: pl.Expr | pl.Series, fmt: str) -> pl.Expr | pl.Series:
    return text.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False, cache=False)


def parse_decimal(text: pl.Expr, precision: int, scale: int) -> pl.Expr:
    """Decimal or scientific text → Decimal(precision, scale), rounded half away from zero;
    a value with more than `precision - scale` integer digits (or not a number) → null.

    `"12.345"` as decimal(12,2) → 12.35; `"1e3"` → 1000.00; `"abc"` → null."""
    stripped = text.str.strip_chars()
    if precision == MAX_DECIMAL_DIGITS:  # no spare digit: Polars' cast, ties to even
        return stripped.cast(pl.Decimal(precision, scale), strict=False)
    # Polars' own text → decimal cast rounds half to even, so the text is first read with
    # as many fractional digits as 38 digits hold beside the integer digits and one spare
    # (for the carry of 99.995 → 100.00), then rounded. Only text beyond 38 significant
    # digits is rounded twice.
    wide_scale = MAX_DECIMAL_DIGITS - 1 - (precision - scale)
    wide = stripped.cast(pl.Decimal(MAX_DECIMAL_DIGITS, wide_scale), strict=False)
    rounded = wide.round(scale, mode="half_away_from_zero")
    return rounded.cast(pl.Decimal(precision, scale), strict=False)
