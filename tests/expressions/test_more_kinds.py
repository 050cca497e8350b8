"""The expression kinds of SPEC §13: examples and null behaviour of each, date_trunc and
date_diff against a plain-Python reference, and regex patterns checked before they run.
(The text and number kinds are also in the random trees of test_expr_properties.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.expressions.expr_helpers import NULL, col, compile_json, evaluate, n, one, s

from karet_worker.config.regex import regex_problem
from karet_worker.expressions import ExpressionError

UTC = dt.UTC


def on_text(kind: str, rows: list[str | None], **fields: Any) -> list[Any]:
    return evaluate({"kind": kind, "input": col("v"), **fields}, {"v": rows}, {"v": pl.String})


def test_round_and_abs() -> None:
    assert one({"kind": "round", "input": n(2.5)}) == 3.0
    assert one({"kind": "round", "input": n(-2.5)}) == -3.0
    assert one({"kind": "round", "input": n(1.2345), "digits": 2}) == 1.23
    assert one({"kind": "round", "input": s("7.25"), "digits": 1}) == 7.3
    assert one({"kind": "round", "input": NULL}) is None
    assert one({"kind": "abs", "input": n(-1.5)}) == 1.5
    ints = evaluate(
        {"kind": "abs", "input": col("i")}, {"i": [-3, None, -(2**63)]}, {"i": pl.Int64}
    )
    assert ints == [3, None, None]  # |-2^63| overflows Int64: null


def test_affixes_replace_length_split_part() -> None:
    values = ["/blog/2024/post", "", None]
    prefix = {"pattern": s("/blog/")}
    assert on_text("starts_with", values, **prefix) == [True, False, None]
    assert on_text("ends_with", values, pattern=s("post")) == [True, False, None]
    assert on_text("replace", values, pattern="/", replacement="::") == [
        "::blog::2024::post",
        "",
        None,
    ]
    assert on_text("length", ["añ😀", "", None]) == [3, 0, None]
    assert on_text("split_part", values, sep="/", index=1) == ["blog", None, None]
    assert on_text("split_part", values, sep="/", index=-1) == ["post", "", None]
    assert on_text("split_part", values, sep="/", index=9) == [None, None, None]


def test_regex_match_and_extract() -> None:
    values = ["order-12, order-34", "ORDER-5", None]
    assert on_text("regex_match", values, pattern="order-[0-9]+") == [True, False, None]
    assert on_text("regex_match", values, pattern="(?i)^order") == [True, True, None]
    assert on_text("regex_extract", values, pattern="order-([0-9]+)") == ["12", None, None]
    assert on_text("regex_extract", values, pattern="(?i)(o)rder-([0-9]+)", group=2) == [
        "12",
        "5",
        None,
    ]
    assert on_text("regex_extract", values, pattern="order-[0-9]+", group=0) == [
        "order-12",
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("pattern", "group", "words"),
    [
        ("(?=a)", None, "look-around, including look-ahead and look-behind, is not supported"),
        ("a(?<!b)", None, "look-around"),
        (r"(a)\1", None, "backreferences are not supported"),
        ("[a-", None, "unclosed character class"),
        ("(a)", 2, "has 1 capture group(s); group 2 does not exist"),
    ],
)
def test_bad_patterns_are_explained(pattern: str, group: int | None, words: str) -> None:
    problem = regex_problem(pattern, group)
    assert problem is not None and words in problem
    with pytest.raises(ExpressionError, match="regular expression"):
        kind = "regex_match" if group is None else "regex_extract"
        fields = {} if group is None else {"group": group}
        compile_json(
            {"kind": kind, "input": col("v"), "pattern": pattern, **fields}, {"v": pl.String}
        )


def test_in_compares_like_eq() -> None:
    assert on_text("in", ["GET", "get", None, "5"], values=["GET", "HEAD", 5]) == [
        True,
        False,
        None,
        True,
    ]
    ints = evaluate(
        {"kind": "in", "input": col("i"), "values": [1, 2.5, "3", True]},
        {"i": [1, 2, 3, None]},
        {"i": pl.Int64},
    )
    assert ints == [True, False, True, None]
    assert on_text("in", ["x"], values=[]) == [False]


def test_case_takes_the_first_true_branch() -> None:
    expr = {
        "kind": "case",
        "branches": [
            {"when": {"kind": "lt", "left": col("x"), "right": n(0)}, "then": s("negative")},
            {"when": {"kind": "eq", "left": col("x"), "right": n(0)}, "then": n(0)},
            {"when": {"kind": "lt", "left": col("x"), "right": n(100)}, "then": s("small")},
        ],
        "else": s("big"),
    }
    data = {"x": [-1.0, 0.0, 5.0, 500.0, None]}
    # branches of different types unify to text
    assert evaluate(expr, data, {"x": pl.Float64}) == ["negative", "0", "small", "big", "big"]
    del expr["else"]
    assert evaluate(expr, data, {"x": pl.Float64}) == ["negative", "0", "small", None, None]


# ---------------------------------------------------------------- date_trunc / date_diff

stamps = st.datetimes(min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(2090, 12, 31)).map(
    lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000, tzinfo=UTC)
)
TRUNC_UNITS = ["year", "quarter", "month", "week", "day", "hour"]
DIFF_UNITS = [*TRUNC_UNITS, "minute", "second"]


def trunc(t: dt.datetime, unit: str) -> dt.datetime:
    if unit == "year":
        return t.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "quarter":
        month = (t.month - 1) // 3 * 3 + 1
        return t.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "month":
        return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        day = t.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - dt.timedelta(days=day.weekday())
    if unit == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    if unit == "minute":
        return t.replace(second=0, microsecond=0)
    return t.replace(microsecond=0)


def diff(a: dt.datetime, b: dt.datetime, unit: str) -> int:
    if unit in ("year", "quarter", "month"):
        per = {"year": 12, "quarter": 3, "month": 1}[unit]
        return (b.year * 12 + b.month - 1) // per - (a.year * 12 + a.month - 1) // per
    seconds = {"week": 604800, "day": 86400, "hour": 3600, "minute": 60, "second": 1}[unit]
    return int((trunc(b, unit) - trunc(a, unit)).total_seconds()) // seconds


TS = {"a": pl.Datetime("us", "UTC"), "b": pl.Datetime("us", "UTC")}


@settings(max_examples=60, deadline=None)
@given(values=st.lists(stamps, min_size=1, max_size=10), unit=st.sampled_from(TRUNC_UNITS))
def test_date_trunc_equals_reference(values: list[dt.datetime], unit: str) -> None:
    expr = {"kind": "date_trunc", "input": col("a"), "unit": unit}
    got = evaluate(expr, {"a": values}, {"a": TS["a"]})
    assert got == [trunc(v, unit) for v in values]
    days = [v.date() for v in values]
    expr = {"kind": "date_trunc", "input": col("d"), "unit": unit}
    got_days = evaluate(expr, {"d": days}, {"d": pl.Date})
    assert got_days == [trunc(v, unit).date() for v in values]


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(stamps, stamps), min_size=1, max_size=10),
    unit=st.sampled_from(DIFF_UNITS),
)
def test_date_diff_counts_boundaries_like_the_reference(
    pairs: list[tuple[dt.datetime, dt.datetime]], unit: str
) -> None:
    data = {"a": [a for a, _ in pairs], "b": [b for _, b in pairs]}
    expr = {"kind": "date_diff", "start": col("a"), "end": col("b"), "unit": unit}
    assert evaluate(expr, data, TS) == [diff(a, b, unit) for a, b in pairs]


def test_date_kinds_nulls_text_and_dates() -> None:
    data = {"d": [dt.date(2024, 1, 31), None], "t": ["2024-02-01T10:00:00+01:00", "x"]}
    schema = {"d": pl.Date, "t": pl.String}
    months = {"kind": "date_diff", "start": col("d"), "end": col("t"), "unit": "month"}
    assert evaluate(months, data, schema) == [1, None]
    hours = {"kind": "date_diff", "start": col("d"), "end": col("t"), "unit": "hour"}
    assert evaluate(hours, data, schema) == [24 + 9, None]
    trunc_text = {"kind": "date_trunc", "input": col("t"), "unit": "hour"}
    assert evaluate(trunc_text, data, schema) == [dt.datetime(2024, 2, 1, 9, tzinfo=UTC), None]
    assert one({"kind": "date_trunc", "input": NULL, "unit": "day"}) is None
