"""SPEC §3: text in an int64 source column is read strictly — a fraction is not an integer."""

from __future__ import annotations

import polars as pl

from karet_worker.expressions.coerce import parse_declared


def test_fractional_text_in_an_int64_column_does_not_parse() -> None:
    frame = pl.DataFrame({"v": ["007", " 42 ", "1.5", "-3", "x", None]})
    got = frame.select(parse_declared(pl.col("v"), "int64")).to_series().to_list()
    assert got == [7, 42, None, -3, None, None]
