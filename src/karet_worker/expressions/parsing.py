"""Non-strict String → typed parsers shared by the expression compiler and the source reader.

Every helper trims surrounding (Unicode) whitespace first and turns unparseable text into
null instead of failing, so one bad value never sinks a whole file.
"""

from __future__ import annotations

import polars as pl

TRUE_WORDS: tuple[str, ...] = ("true", "1", "yes", "t", "y")
FALSE_WORDS: tuple[str, ...] = ("false", "0", "no", "f", "n")

_BOOL_WORDS = pl.Series("words", [*TRUE_WORDS, *FALSE_WORDS], dtype=pl.String)
_BOOL_VALUES = pl.Series(
    "values", [True] * len(TRUE_WORDS) + [False] * len(FALSE_WORDS), dtype=pl.Boolean
)

ISO_DATE_FORMAT = "%Y-%m-%d"


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
    """ISO `YYYY-MM-DD` → Date (the parser also takes unpadded month/day); else null."""
    return text.str.strip_chars().str.to_date(ISO_DATE_FORMAT, strict=False)
