"""The names of every helper column the engine adds to a frame next to the user's columns.

They all start with `INTERNAL`, which begins with the ASCII unit separator (U+001F): Polars
accepts it in a column name, no CSV header or config column can contain it (the validator
refuses control characters in column names, `config/rules.py`), so a user column can never be
overwritten by, or overwrite, a helper column — whatever the user names it, `__keep` included.

    >>> cast_flag("amount")
    '\\x1fkaret:cast:amount'
"""

from __future__ import annotations

import polars as pl

INTERNAL = "\x1fkaret:"

# The `where` verdict of each output row (true = kept).
WHERE_FLAG = INTERNAL + "where"
# A row's position in its batch, to cut the batch by partition (engine/partition.py).
ROW_INDEX = INTERNAL + "row"
# Subexpressions several output columns share, computed once (expressions/hoist.py).
SHARED_PREFIX = INTERNAL + "shared:"
# Keyword matches of a column that several lookups or dimensions search (expressions/lookups.py).
SCAN_PREFIX = INTERNAL + "scan:"
# Values an expression reads more than once, computed once (expressions/compile.py `Stages`).
STAGE_PREFIX = INTERNAL + "stage:"


def reader_column(index: int) -> str:
    """The reader's name for the CSV field at `index` (0-based) before it is typed."""
    return f"{INTERNAL}field:{index}"


def parsed_value(column: str) -> str:
    """A source column's value as read, materialised before it is checked and counted
    (`engine/read/base.py` `typed_columns`)."""
    return f"{INTERNAL}parsed:{column}"


def unparsed_flag(column: str) -> str:
    """True where a source value of `column` was present but did not parse as its type."""
    return f"{INTERNAL}unparsed:{column}"


def raw_value(column: str) -> str:
    """An output column's value as its expression typed it, before the table's type is applied."""
    return f"{INTERNAL}raw:{column}"


def cast_flag(column: str) -> str:
    """True where an output value could not be converted to the table's type."""
    return f"{INTERNAL}cast:{column}"


def part_value(name: str) -> str:
    """A `partition_by` path part (`year`, `month`, `day`) computed from the date column."""
    return f"{INTERNAL}part:{name}"


def flag_counts(frame: pl.DataFrame, flags: dict[str, str]) -> dict[str, int]:
    """`{column: number of true values of its flag}`, for the columns where it is not zero."""
    if not flags or frame.is_empty():
        return {}
    sums = frame.select(pl.col(list(flags.values())).sum()).row(0, named=True)
    return {column: int(sums[flag]) for column, flag in flags.items() if sums[flag]}
