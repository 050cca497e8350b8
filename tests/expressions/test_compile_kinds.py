"""Every expression kind of SPEC §4: values, null handling, coercions and static types."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import polars as pl
import pytest
from tests.expressions.expr_helpers import NULL, b, bin_, col, compile_json, evaluate, n, one, s, un

from karet_worker.expressions import ExpressionError

STR_SCHEMA = {"v": pl.String}


def over(values: list[Any], dtype: type[pl.DataType], expr: dict[str, Any]) -> list[Any]:
    """Evaluate `expr` over a single column `v` of the given type."""
    return evaluate(expr, {"v": values}, {"v": dtype})


# ---------------------------------------------------------------- leaves


def test_col_reads_the_scope_column_with_its_type() -> None:
    assert over([1, None, 3], pl.Int64, col("v")) == [1, None, 3]
    assert compile_json(col("v"), {"v": pl.Date}).dtype == pl.Date


def test_unknown_column_is_an_expression_error_naming_it() -> None:
    with pytest.raises(ExpressionError, match="'missing'"):
        compile_json(col("missing"), {"v": pl.String})


def test_narrow_scope_types_are_widened_to_language_types() -> None:
    compiled = compile_json(col("v"), {"v": pl.Int32})
    assert compiled.dtype == pl.Int64
    assert over([1, 2], pl.Int32, col("v")) == [1, 2]


def test_literals_have_their_static_types() -> None:
    assert compile_json(s("x"), {}).dtype == pl.String
    assert compile_json(n(5), {}).dtype == pl.Float64
    assert compile_json(b(True), {}).dtype == pl.Boolean
    assert compile_json(NULL, {}).dtype == pl.Null
    assert one(n(5)) == 5.0
    assert one(s("")) == ""
    assert one(b(False)) is False
    assert one(NULL) is None


def test_literals_broadcast_over_every_row() -> None:
    assert over(["a", "b", None], pl.String, s("k")) == ["k", "k", "k"]


# ---------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("kind", "left", "right", "expected"),
    [
        ("add", 1.5, 2.0, 3.5),
        ("sub", 1.5, 2.0, -0.5),
        ("mul", 1.5, 2.0, 3.0),
        ("div", 3.0, 2.0, 1.5),
    ],
)
def test_float_arithmetic(kind: str, left: float, right: float, expected: float) -> None:
    assert one(bin_(kind, n(left), n(right))) == expected


def test_string_operands_are_read_as_numbers() -> None:
    expr = bin_("add", col("v"), n(1))
    assert over(["12", " 2.5 ", "abc", "", None, "1e3"], pl.String, expr) == [
        13.0,
        3.5,
        None,
        None,
        None,
        1001.0,
    ]


def test_int_arithmetic_stays_int_except_division() -> None:
    data: dict[str, list[Any]] = {"a": [7, None], "c": [2, 3]}
    schema = {"a": pl.Int64, "c": pl.Int64}
    assert evaluate(bin_("add", col("a"), col("c")), data, schema) == [9, None]
    assert evaluate(bin_("mul", col("a"), col("c")), data, schema) == [14, None]
    assert compile_json(bin_("sub", col("a"), col("c")), schema).dtype == pl.Int64
    assert evaluate(bin_("div", col("a"), col("c")), data, schema) == [3.5, None]
    assert compile_json(bin_("div", col("a"), col("c")), schema).dtype == pl.Float64


def test_int_overflow_gives_null_instead_of_wrapping() -> None:
    data = {"a": [2**62, 2**62, -(2**62)], "c": [2**62, 1, 4]}
    schema = {"a": pl.Int64, "c": pl.Int64}
    assert evaluate(bin_("add", col("a"), col("c")), data, schema) == [
        None,
        2**62 + 1,
        -(2**62) + 4,
    ]
    assert evaluate(bin_("mul", col("a"), col("c")), data, schema) == [None, 2**62, None]


def test_int_mixed_with_float_gives_float() -> None:
    data, schema = {"a": [2]}, {"a": pl.Int64}
    assert evaluate(bin_("add", col("a"), n(0.5)), data, schema) == [2.5]


def test_division_by_zero_follows_ieee() -> None:
    assert one(bin_("div", n(1), n(0))) == math.inf
    assert one(bin_("div", n(-1), n(0))) == -math.inf
    assert math.isnan(one(bin_("div", n(0), n(0))))
    data, schema = {"a": [1, 0], "c": [0, 0]}, {"a": pl.Int64, "c": pl.Int64}
    result = evaluate(bin_("div", col("a"), col("c")), data, schema)
    assert result[0] == math.inf
    assert math.isnan(result[1])


def test_null_operands_give_null() -> None:
    assert one(bin_("add", NULL, n(1))) is None
    assert one(bin_("div", n(1), NULL)) is None
    assert compile_json(bin_("mul", NULL, NULL), {}).dtype == pl.Float64


def test_boolean_operands_count_as_one_and_zero_and_dates_as_null() -> None:
    assert one(bin_("add", b(True), n(1))) == 2.0
    assert over([date(2024, 1, 1)], pl.Date, bin_("add", col("v"), n(1))) == [None]


# ---------------------------------------------------------------- concat


def concat(sep: str, *args: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "concat", "sep": sep, "args": list(args)}


def test_concat_joins_with_separator() -> None:
    assert one(concat("-", s("a"), s("b"), s("c"))) == "a-b-c"


def test_concat_skips_nulls_with_their_separator() -> None:
    data = {"a": ["x", None, None], "c": [None, "y", None]}
    schema = {"a": pl.String, "c": pl.String}
    expr = concat("/", col("a"), s("m"), col("c"))
    assert evaluate(expr, data, schema) == ["x/m", "m/y", "m"]


def test_concat_all_null_and_no_args_give_empty_text() -> None:
    assert over([None], pl.String, concat("-", col("v"), col("v"))) == [""]
    assert one(concat("-", NULL)) == ""
    assert one(concat("-")) == ""


def test_concat_renders_non_text_canonically() -> None:
    assert one(concat(",", n(5), n(2.5), n(-0.0), n(1e20), b(True), b(False))) == (
        "5,2.5,0,1e+20,true,false"
    )
    assert over([date(2024, 3, 9)], pl.Date, concat("", s("d="), col("v"))) == ["d=2024-03-09"]
    assert over([7, -3], pl.Int64, concat("", col("v"))) == ["7", "-3"]
    assert one(concat("", bin_("div", n(0), n(0)), s(" "), bin_("div", n(1), n(0)))) == "NaN inf"


# ---------------------------------------------------------------- case and trim


def test_upper_lower_are_unicode() -> None:
    assert over(["straße", "École", None], pl.String, un("upper", col("v"))) == [
        "STRASSE",
        "ÉCOLE",
        None,
    ]
    assert over(["ÉCOLE", "ΣΑΣ"], pl.String, un("lower", col("v"))) == ["école", "σας"]


def test_trim_strips_unicode_whitespace_only_at_the_ends() -> None:
    values = [" a b ", "\t\u00a0x\u3000\n", "", None]
    assert over(values, pl.String, un("trim", col("v"))) == ["a b", "x", "", None]


def test_text_functions_accept_numbers() -> None:
    assert one(un("upper", n(1.5))) == "1.5"
    assert one(un("trim", NULL)) is None


# ---------------------------------------------------------------- substring


def substring(inner: dict[str, Any], start: int, length: int | None = None) -> dict[str, Any]:
    expr: dict[str, Any] = {"kind": "substring", "input": inner, "start": start}
    if length is not None:
        expr["length"] = length
    return expr


@pytest.mark.parametrize(
    ("start", "length", "expected"),
    [
        (0, None, "héllo"),
        (1, None, "éllo"),
        (1, 2, "él"),
        (4, 10, "o"),
        (5, None, ""),  # start at the end
        (9, 2, ""),  # start beyond the end
        (-2, None, "lo"),  # negative counts from the end
        (-4, 2, "él"),
        (-5, None, "héllo"),
        (-9, None, "héllo"),  # before the beginning: clamped to the first character
        (-9, 2, "hé"),
        (0, 0, ""),
        (1, -3, ""),  # a negative length is an empty window
        (10**20, None, ""),  # JSON integers beyond 64 bits are clamped
        (-(10**20), 2, "hé"),
        (1, 2**64, "éllo"),
    ],
)
def test_substring_is_character_based(start: int, length: int | None, expected: str) -> None:
    assert over(["héllo"], pl.String, substring(col("v"), start, length)) == [expected]


def test_substring_of_null_and_empty() -> None:
    assert over([None, ""], pl.String, substring(col("v"), -1, 1)) == [None, ""]


# ---------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("eq", False), ("ne", True), ("gt", True), ("lt", False), ("ge", True), ("le", False)],
)
def test_numeric_comparisons(kind: str, expected: bool) -> None:
    assert one(bin_(kind, n(2), n(1))) is expected


def test_string_vs_number_compares_numerically() -> None:
    # Numerically 10 > 9, although the text "10" sorts before "9".
    assert over(["10", " 9 ", "abc", None], pl.String, bin_("gt", col("v"), n(9))) == [
        True,
        False,
        None,
        None,
    ]
    assert one(bin_("gt", s("10"), s("9"))) is False
    assert one(bin_("eq", s("1.0"), n(1))) is True


def test_string_vs_string_is_lexicographic() -> None:
    assert one(bin_("lt", s("apple"), s("banana"))) is True
    assert one(bin_("lt", s("B"), s("a"))) is True  # code point order
    assert one(bin_("eq", s("a"), s("a"))) is True


def test_date_vs_string_parses_iso_dates() -> None:
    expr = bin_("ge", col("v"), s("2024-02-01"))
    assert over([date(2024, 1, 31), date(2024, 2, 1), None], pl.Date, expr) == [
        False,
        True,
        None,
    ]
    assert over([date(2024, 1, 31)], pl.Date, bin_("eq", col("v"), s("not a date"))) == [None]


def test_int_vs_float_and_bool_vs_text() -> None:
    assert over([2], pl.Int64, bin_("eq", col("v"), n(2.0))) == [True]
    assert over([True, False], pl.Boolean, bin_("eq", col("v"), s("yes"))) == [True, False]


def test_comparison_with_null_is_null() -> None:
    assert one(bin_("eq", NULL, NULL)) is None
    assert over([None, "a"], pl.String, bin_("eq", col("v"), s("a"))) == [None, True]


def test_nan_is_equal_to_itself_and_above_every_number() -> None:
    nan = bin_("div", n(0), n(0))
    assert one(bin_("eq", nan, nan)) is True
    assert one(bin_("gt", nan, n(math.inf))) is True


# ---------------------------------------------------------------- contains


def contains(inner: dict[str, Any], pattern: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "contains", "input": inner, "pattern": pattern}


def test_contains_is_literal_and_case_sensitive() -> None:
    values = ["a.c", "abc", "A.C", None]
    assert over(values, pl.String, contains(col("v"), s("."))) == [True, False, True, None]
    assert over(values, pl.String, contains(col("v"), s("a"))) == [True, True, False, None]
    assert over(["x(y"], pl.String, contains(col("v"), s("("))) == [True]


def test_contains_pattern_may_be_a_column() -> None:
    data = {"t": ["abc", "abc", "abc", None], "p": ["b", "z", None, "a"]}
    schema = {"t": pl.String, "p": pl.String}
    assert evaluate(contains(col("t"), col("p")), data, schema) == [True, False, None, None]


def test_contains_empty_pattern_and_numbers() -> None:
    assert one(contains(s("abc"), s(""))) is True
    assert one(contains(n(12.5), s("2.5"))) is True
    assert one(contains(s("abc"), NULL)) is None


# ---------------------------------------------------------------- logic

KLEENE_AND = {
    (True, True): True,
    (True, False): False,
    (True, None): None,
    (False, True): False,
    (False, False): False,
    (False, None): False,
    (None, True): None,
    (None, False): False,
    (None, None): None,
}
KLEENE_OR = {
    (True, True): True,
    (True, False): True,
    (True, None): True,
    (False, True): True,
    (False, False): False,
    (False, None): None,
    (None, True): True,
    (None, False): None,
    (None, None): None,
}


@pytest.mark.parametrize(("kind", "table"), [("and", KLEENE_AND), ("or", KLEENE_OR)])
def test_and_or_follow_kleene_logic(kind: str, table: dict[tuple[Any, Any], Any]) -> None:
    pairs = list(table)
    data = {"p": [p for p, _ in pairs], "q": [q for _, q in pairs]}
    schema = {"p": pl.Boolean, "q": pl.Boolean}
    assert evaluate(bin_(kind, col("p"), col("q")), data, schema) == [table[k] for k in pairs]


def test_not_keeps_null() -> None:
    assert over([True, False, None], pl.Boolean, un("not", col("v"))) == [False, True, None]


def test_non_boolean_operands_are_read_as_booleans() -> None:
    values = ["yes", "N", " true ", "maybe", None]
    assert over(values, pl.String, un("not", col("v"))) == [False, True, False, None, None]
    assert over([0.0, 2.0, None], pl.Float64, bin_("and", col("v"), b(True))) == [
        False,
        True,
        None,
    ]
    assert one(bin_("or", NULL, b(True))) is True
    assert one(bin_("and", NULL, b(False))) is False


# ---------------------------------------------------------------- if / coalesce


def if_(cond: dict[str, Any], then: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "if", "cond": cond, "then": then, "else": other}


def test_if_takes_else_on_false_or_null() -> None:
    expr = if_(col("v"), s("yes"), s("no"))
    assert over([True, False, None], pl.Boolean, expr) == ["yes", "no", "no"]


def test_if_unifies_branch_types() -> None:
    mixed = if_(col("v"), n(1.5), s("none"))
    assert compile_json(mixed, {"v": pl.Boolean}).dtype == pl.String
    assert over([True, False], pl.Boolean, mixed) == ["1.5", "none"]
    numeric = {"v": pl.Boolean, "i": pl.Int64}
    assert compile_json(if_(col("v"), col("i"), n(0.5)), numeric).dtype == pl.Float64
    assert compile_json(if_(col("v"), col("i"), NULL), numeric).dtype == pl.Int64
    assert compile_json(if_(col("v"), NULL, NULL), numeric).dtype == pl.Null


def test_if_condition_may_be_text() -> None:
    assert over(["true", "0", "?"], pl.String, if_(col("v"), n(1), n(2))) == [1.0, 2.0, 2.0]


def coalesce(*args: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "coalesce", "args": list(args)}


def test_coalesce_takes_first_non_null() -> None:
    data = {"a": [None, "x", None], "c": ["y", "z", None]}
    schema = {"a": pl.String, "c": pl.String}
    assert evaluate(coalesce(col("a"), col("c"), s("d")), data, schema) == ["y", "x", "d"]


def test_coalesce_without_args_or_values_is_null() -> None:
    assert one(coalesce()) is None
    assert one(coalesce(NULL, NULL)) is None
    assert compile_json(coalesce(), {}).dtype == pl.Null


def test_coalesce_unifies_types() -> None:
    assert over([None, 2], pl.Int64, coalesce(col("v"), n(0.5))) == [0.5, 2.0]
    assert over([None, 2], pl.Int64, coalesce(col("v"), s("none"))) == ["none", "2"]


# ---------------------------------------------------------------- dates


def parse_date(inner: dict[str, Any], fmt: str) -> dict[str, Any]:
    return {"kind": "parse_date", "input": inner, "format": fmt}


def test_parse_date_with_format() -> None:
    values = ["05/01/2024", "31/02/2024", "junk", "", None]
    assert over(values, pl.String, parse_date(col("v"), "%d/%m/%Y")) == [
        date(2024, 1, 5),
        None,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    "fmt",
    ["%Q", "", "%", "%Y%", "%Y-%m-%d %H", "%Y-%m-%d %S", "%Y-%m-%d %I:%M", "%d/%m", "%H:%M"],
)
def test_parse_date_with_unusable_format_is_null_never_an_error(fmt: str) -> None:
    values = ["2024-01-05", "2024-01-05 10", "05/01", "10:30", None]
    assert over(values, pl.String, parse_date(col("v"), fmt)) == [None] * len(values)


def test_parse_date_format_variants() -> None:
    assert over(["240105"], pl.String, parse_date(col("v"), "%y%m%d")) == [date(2024, 1, 5)]
    assert over(["2024-01-05"], pl.String, parse_date(col("v"), "%F")) == [date(2024, 1, 5)]
    with_time = parse_date(col("v"), "%Y-%m-%d %H:%M")
    assert over(["2024-01-05 10:30"], pl.String, with_time) == [date(2024, 1, 5)]


@pytest.mark.parametrize(("kind", "expected"), [("year", 2024), ("month", 3), ("day", 9)])
def test_date_parts_are_int64(kind: str, expected: int) -> None:
    assert over([date(2024, 3, 9), None], pl.Date, un(kind, col("v"))) == [expected, None]
    assert compile_json(un(kind, col("v")), {"v": pl.Date}).dtype == pl.Int64
    assert over(["2024-03-09", "x"], pl.String, un(kind, col("v"))) == [expected, None]


def from_unix(inner: dict[str, Any], unit: str | None = None) -> dict[str, Any]:
    expr: dict[str, Any] = {"kind": "from_unix", "input": inner}
    if unit is not None:
        expr["unit"] = unit
    return expr


def test_from_unix_seconds_and_milliseconds_are_utc_dates() -> None:
    seconds = [0, 86_399, 86_400, -1, 1_700_000_000, None]
    assert over(seconds, pl.Int64, from_unix(col("v"))) == [
        date(1970, 1, 1),
        date(1970, 1, 1),
        date(1970, 1, 2),
        date(1969, 12, 31),
        date(2023, 11, 14),
        None,
    ]
    assert over([1_700_000_000_000], pl.Int64, from_unix(col("v"), "ms")) == [date(2023, 11, 14)]


def test_from_unix_reads_text_and_rejects_non_finite() -> None:
    assert over(["86400", "x"], pl.String, from_unix(col("v"))) == [date(1970, 1, 2), None]
    assert one(from_unix(bin_("div", n(1), n(0)))) is None
    assert one(from_unix(n(1e300))) is None


# ---------------------------------------------------------------- cast


def cast(inner: dict[str, Any], to: str) -> dict[str, Any]:
    return {"kind": "cast", "input": inner, "to": to}


def test_cast_to_int64() -> None:
    values = ["42", " 007 ", "12.7", "-1e3", "abc", "", None]
    assert over(values, pl.String, cast(col("v"), "int64")) == [42, 7, 12, -1000, None, None, None]
    assert over([1.9, -1.9, math.nan, math.inf, 1e300], pl.Float64, cast(col("v"), "int64")) == [
        1,
        -1,
        None,
        None,
        None,
    ]
    assert over([True], pl.Boolean, cast(col("v"), "int64")) == [1]
    assert over([date(2024, 1, 1)], pl.Date, cast(col("v"), "int64")) == [None]


def test_cast_to_float64() -> None:
    values = ["1.5", " -2 ", "1,5", None]
    assert over(values, pl.String, cast(col("v"), "float64")) == [1.5, -2.0, None, None]
    assert over([3], pl.Int64, cast(col("v"), "float64")) == [3.0]


def test_cast_to_string() -> None:
    assert over([2.0, 0.1], pl.Float64, cast(col("v"), "string")) == ["2", "0.1"]
    assert over([True, None], pl.Boolean, cast(col("v"), "string")) == ["true", None]


def test_cast_to_date() -> None:
    values = ["2024-01-05", "2024-13-01", "05/01/2024", None]
    assert over(values, pl.String, cast(col("v"), "date")) == [date(2024, 1, 5), None, None, None]
    assert over([5], pl.Int64, cast(col("v"), "date")) == [None]


def test_cast_to_bool_accepts_the_source_words() -> None:
    words = ["true", "FALSE", "1", "0", "Yes", "no", "t", "F", "y", "N", "2", "", None]
    expected = [True, False, True, False, True, False, True, False, True, False, None, None, None]
    assert over(words, pl.String, cast(col("v"), "bool")) == expected
    assert over([0, 5], pl.Int64, cast(col("v"), "bool")) == [False, True]


def test_cast_of_null_literal_is_typed_null() -> None:
    for target, dtype in [
        ("int64", pl.Int64),
        ("float64", pl.Float64),
        ("string", pl.String),
        ("date", pl.Date),
        ("bool", pl.Boolean),
    ]:
        compiled = compile_json(cast(NULL, target), {})
        assert compiled.dtype == dtype
        assert one(cast(NULL, target)) is None


# ---------------------------------------------------------------- reuse


def test_compiled_expression_is_reusable_across_frames_and_streaming() -> None:
    expr = concat("-", un("upper", col("v")), cast(bin_("mul", col("v"), n(2)), "string"))
    compiled = compile_json(expr, {"v": pl.String})
    frames = [pl.DataFrame({"v": ["a", "3"]}), pl.DataFrame({"v": [None, "1.5"]})]
    results = [
        frame.lazy().select(compiled.expr.alias("o")).collect(engine="streaming")["o"].to_list()
        for frame in frames
    ]
    assert results == [["A", "3-6"], ["", "1.5-3"]]
