"""The String → typed parsers the source reader shares with the compiler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl

from karet_worker.expressions import parse_bool, parse_date_iso, parse_int, parse_number


def run(helper: Callable[[pl.Expr], pl.Expr], values: list[str | None]) -> list[Any]:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    out: list[Any] = frame.lazy().select(helper(pl.col("v"))).collect()["v"].to_list()
    return out


def test_parse_bool_words_any_case_with_whitespace() -> None:
    values = ["TRUE", " false ", "1", "0", "Yes", "NO", "t", "F", "y", "n", "2", "ja", "", None]
    assert run(parse_bool, values) == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        None,
        None,
        None,
        None,
    ]


def test_parse_number() -> None:
    values = ["1.5", " -2 ", "1e3", "007", "1,5", "abc", "", None]
    assert run(parse_number, values) == [1.5, -2.0, 1000.0, 7.0, None, None, None, None]


def test_parse_int_keeps_leading_zero_values_and_rejects_fractions() -> None:
    values = ["007", " -12 ", "+3", "1.5", "99999999999999999999", "x", None]
    assert run(parse_int, values) == [7, -12, 3, None, None, None, None]


def test_parse_date_iso() -> None:
    values = ["2024-01-05", " 2024-12-31 ", "2024-02-30", "05/01/2024", "", None]
    assert run(parse_date_iso, values) == [
        date(2024, 1, 5),
        date(2024, 12, 31),
        None,
        None,
        None,
        None,
    ]
