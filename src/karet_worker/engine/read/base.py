"""What every source reader hands the run: typed chunks of rows, or `BadInputFile`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import polars as pl

# Input bytes per chunk: memory follows the chunk size, not the size of an input file.
CHUNK_BYTES = 8 * 1024 * 1024


class BadInputFile(Exception):
    """This input cannot be used; the message says why in the user's terms (the run reports it
    with the file's key and skips the file)."""


class SkippedRecords(NamedTuple):
    """Records of a chunk that were not rows (an NDJSON line that is not a JSON object):
    how many, and where the first was with why (`line 7: not valid JSON (...)`)."""

    records: int
    first: str


class TypedChunk(NamedTuple):
    """Consecutive rows of one input file.

    `frame` has exactly the source's declared columns, typed per SPEC §3, in schema order;
    `unparsed` counts, per column, the values that were present but did not parse as the
    declared type (they are null in `frame`); columns without such values are absent.

        TypedChunk(frame=<2 rows: id "007", amount 1.5 | null>, unparsed={"amount": 1})
    """

    frame: pl.DataFrame
    unparsed: Mapping[str, int]
    skipped: SkippedRecords | None = None


def plausible(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """`value` where it is a value a file can mean, else null (counted as unparsed by the
    readers): floats must be finite (`1e309` is not infinity but unreadable), dates and
    timestamps within years 1-9999 (what ISO 8601 and Parquet readers agree on; year 0 once
    became the partition `year=-001`)."""
    if dtype.is_float():
        return pl.when(value.is_finite()).then(value)
    return within_years(value, dtype)


def within_years(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Dates and timestamps outside years 1-9999 become null; other types pass as they are."""
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return pl.when(value.dt.year().is_between(1, 9999)).then(value)
    return value
