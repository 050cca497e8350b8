"""Values a compiled helper reads more than once are computed once (expressions/compile.py
`Stages`), and staging never changes what an expression evaluates to."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.expressions.expr_helpers import col, lookups, n, parse, s
from tests.expressions.test_expr_properties import SCHEMA, expressions, rows

from karet_worker.config.model import (
    EXPRESSION_KINDS,
    AnalyticTable,
    Dimension,
    Mapping,
    SourceContainer,
)
from karet_worker.engine.columns import WHERE_FLAG
from karet_worker.engine.transform import apply_plan, plan_mapping, record_filter
from karet_worker.expressions.compile import Stages, compile_expr
from karet_worker.expressions.lookups import LookupCompiler

# The expensive input: a regex over a trimmed column. `trim` holds a null literal, which keeps
# Polars' own common-subexpression elimination away from every subtree containing it.
_MARK = r"(\d+)#"
_TEXT = {"kind": "regex_extract", "input": {"kind": "trim", "input": col("a")}, "pattern": _MARK}
_NUMBER = {"kind": "cast", "input": _TEXT, "to": "float64"}
_STAMP = {"kind": "cast", "input": _TEXT, "to": "timestamp"}
_DATE = {"kind": "parse_date", "input": _TEXT, "format": "%Y-%m-%d"}
_FLAG = {"kind": "regex_match", "input": {"kind": "trim", "input": col("a")}, "pattern": _MARK}
_LEAVES = {"col", "str", "num", "bool", "null"}

_LOOKUPS = lookups(
    {
        "id": "mixed",  # two groups of patterns: the input is read once per group
        "match": "exact",
        "rows": [{"input_patterns": ["1"], "output": "one"}],
        "children": [
            {
                "id": "words",
                "match": "keyword_substring",
                "rows": [{"input_patterns": ["2"], "output": "two"}],
            }
        ],
    }
)
_DIMENSION = Dimension.model_validate(
    {
        "id": "codes",
        "on_miss": "passthrough",  # read again to pass a miss through
        "rows": {"values": ["name"], "rows": [{"patterns": ["1"], "values": ["one"]}]},
    }
)

CASES: dict[str, dict[str, Any]] = {
    **{k: {"kind": k, "left": _NUMBER, "right": n(2)} for k in ("add", "sub", "mul", "div")},
    **{k: {"kind": k, "left": _TEXT, "right": s("1")} for k in ("eq", "ne", "gt", "lt", "ge")},
    "le": {"kind": "le", "left": _NUMBER, "right": n(1)},
    "and": {"kind": "and", "left": _FLAG, "right": {"kind": "bool", "value": True}},
    "or": {"kind": "or", "left": _FLAG, "right": {"kind": "bool", "value": False}},
    **{k: {"kind": k, "input": _TEXT} for k in ("upper", "lower", "trim", "length")},
    **{k: {"kind": k, "input": _DATE} for k in ("year", "month", "day")},
    "not": {"kind": "not", "input": _FLAG},
    "concat": {"kind": "concat", "args": [_TEXT, s("x")]},
    "substring": {"kind": "substring", "input": _TEXT, "start": -2, "length": 1},
    "contains": {"kind": "contains", "input": _TEXT, "pattern": s("1")},
    "if": {"kind": "if", "cond": _FLAG, "then": s("y"), "else": s("n")},
    "coalesce": {"kind": "coalesce", "args": [_TEXT, s("x")]},
    "parse_date": _DATE,
    "from_unix": {"kind": "from_unix", "input": _TEXT, "unit": "ms", "to": "timestamp"},
    "cast": {"kind": "cast", "input": _TEXT, "to": "timestamp"},  # five formats
    "lookup_ref": {"kind": "lookup_ref", "lookup_id": "mixed", "input": _TEXT},
    "dim_ref": {"kind": "dim_ref", "dim_id": "codes", "input": _TEXT},
    "round": {"kind": "round", "input": _TEXT, "digits": 1},
    "abs": {"kind": "abs", "input": _TEXT},
    "starts_with": {"kind": "starts_with", "input": _TEXT, "pattern": s("1")},
    "ends_with": {"kind": "ends_with", "input": _TEXT, "pattern": s("1")},
    "regex_match": {"kind": "regex_match", "input": _TEXT, "pattern": "1"},
    "regex_extract": {"kind": "regex_extract", "input": _TEXT, "pattern": "(1)"},
    "replace": {"kind": "replace", "input": _TEXT, "pattern": "1", "replacement": "2"},
    "date_trunc": {"kind": "date_trunc", "input": _STAMP, "unit": "hour"},
    "date_diff": {"kind": "date_diff", "start": _STAMP, "end": _STAMP, "unit": "quarter"},
    "split_part": {"kind": "split_part", "input": _TEXT, "sep": "/", "index": -1},
    "in": {"kind": "in", "input": _TEXT, "values": ["1", 2, True]},  # one test per value type
    "case": {"kind": "case", "branches": [{"when": _FLAG, "then": s("y")}], "else": s("n")},
}
# Conversions of `cast` that read their input more than once (text → int64 tries an integer,
# then any number; a number → text formats integers and fractions apart).
CASTS = [("text", "int64"), ("text", "timestamp"), ("number", "string"), ("number", "decimal(9,2)")]


def _compile(expr: dict[str, Any], stages: Stages | None) -> pl.Expr:
    compiler = LookupCompiler(_LOOKUPS, [_DIMENSION])
    scope = {"a": pl.String()}
    return compile_expr(parse(expr), scope, _LOOKUPS, lookup_compiler=compiler, stages=stages).expr


def _regex_runs(exprs: list[pl.Expr]) -> int:
    return sum(str(e).count(_MARK) for e in exprs)


def test_every_kind_with_an_input_is_covered() -> None:
    assert set(CASES) == set(EXPRESSION_KINDS) - _LEAVES


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_evaluates_its_input_once(kind: str) -> None:
    stages = Stages("stage:")  # date_diff's start and end are the same value: one stage
    compiled = _compile(CASES[kind], stages)
    assert _regex_runs([*stages.take(), compiled]) == 1


@pytest.mark.parametrize(("source", "target"), CASTS)
def test_casts_that_read_their_input_twice_evaluate_it_once(source: str, target: str) -> None:
    expr = {"kind": "cast", "input": _TEXT if source == "text" else _NUMBER, "to": target}
    assert _regex_runs([_compile(expr, None)]) > 1  # what staging is for
    stages = Stages("stage:")
    compiled = _compile(expr, stages)
    assert _regex_runs([*stages.take(), compiled]) == 1


def test_the_same_value_read_by_two_helpers_is_staged_once() -> None:
    stages = Stages("stage:")
    as_int = {"kind": "cast", "input": _TEXT, "to": "int64"}
    both = {"kind": "concat", "args": [CASES["in"], as_int]}
    compiled = _compile(both, stages)
    staged = stages.take()
    assert len(staged) == 1
    assert _regex_runs([*staged, compiled]) == 1


def test_staged_and_direct_evaluation_agree_on_every_case() -> None:
    values = [" 12# ", "2024-01-05# ", None, "x", "-3#", "1714000000000#"]
    frame = pl.LazyFrame({"a": values}, schema={"a": pl.String})
    for kind, expr in CASES.items():
        stages = Stages("stage:")
        staged = _compile(expr, stages)
        with_stages = frame
        for stage in stages.take():
            with_stages = with_stages.with_columns(stage)
        got = with_stages.select(staged.alias("v")).collect()["v"]
        want = frame.select(_compile(expr, None).alias("v")).collect()["v"]
        assert got.to_list() == want.to_list(), kind


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(expressions, min_size=1, max_size=3), data=rows)
def test_staged_expressions_equal_direct_evaluation(
    parts: list[dict[str, Any]], data: list[dict[str, Any]]
) -> None:
    frame = pl.DataFrame({k: [r[k] for r in data] for k in SCHEMA}, schema=SCHEMA).lazy()
    exprs = [parse(e) for e in parts]
    names = [f"c{i}" for i in range(len(exprs))]
    direct = frame.with_columns(
        compile_expr(e, SCHEMA, ()).expr.alias(name) for name, e in zip(names, exprs, strict=True)
    )
    stages = Stages("stage:")
    compiled = [compile_expr(e, SCHEMA, (), stages=stages).expr for e in exprs]
    staged = frame
    for stage in stages.take():
        staged = staged.with_columns(stage)
    staged = staged.with_columns(c.alias(name) for name, c in zip(names, compiled, strict=True))
    assert staged.select(names).collect().equals(direct.select(names).collect())


def _regex(pattern: str) -> dict[str, Any]:
    trimmed = {"kind": "trim", "input": col("a")}
    return {"kind": "regex_extract", "input": trimmed, "pattern": pattern}


def test_a_plan_evaluates_each_value_once_in_every_step() -> None:
    """Shared subexpressions, columns, `where` and `record_filter` all stage what they reread."""
    as_int = {"kind": "cast", "input": _regex(r"(\d+)A"), "to": "int64"}  # shared by two columns
    n_text = {"kind": "trim", "input": {"kind": "cast", "input": col("n"), "to": "string"}}
    where_text = {"kind": "regex_extract", "input": n_text, "pattern": r"(\d+)W?"}
    source = SourceContainer.model_validate(
        {
            "id": "s",
            "name": "s",
            "path_prefix": "raw/",
            "schema": [{"name": "a", "type": "string"}],
            "record_filter": {"kind": "in", "input": _regex(r"(\d+)F"), "values": ["1", 2]},
        }
    )
    table = AnalyticTable.model_validate(
        {
            "id": "t",
            "name": "t",
            "columns": [{"name": c, "type": "int64"} for c in ("n", "m", "k")],
        }
    )
    mapping = Mapping.model_validate(
        {
            "id": "m",
            "name": "m",
            "source_container_id": "s",
            "analytic_table_id": "t",
            "columns": [
                {"name": "n", "expr": as_int},
                {"name": "m", "expr": {"kind": "add", "left": as_int, "right": n(1)}},
                {"name": "k", "expr": {"kind": "cast", "input": _regex(r"(\d+)K"), "to": "int64"}},
            ],
            "where": {"kind": "in", "input": where_text, "values": ["7", 2]},  # on table columns
        }
    )
    compiler = LookupCompiler([], [])
    plan = plan_mapping(mapping, table, source, compiler)
    keep = record_filter(source, compiler)
    assert plan.where is not None and keep is not None
    steps = [*plan.shared, *plan.scans, *plan.staged, *plan.evaluate]
    steps += [*plan.where.stages, plan.where.verdict, *keep.stages, keep.verdict]
    for mark in ("A", "K", "W", "F"):
        assert sum(str(e).count(rf"(\d+){mark}") for e in steps) == 1, mark
    frame = pl.LazyFrame({"a": [" 7A 1F 2W 3K ", "8A 3F 1W 4K", None]})
    kept = keep.keep(frame)
    rows = apply_plan(plan, kept).select("n", "m", "k", WHERE_FLAG).collect().rows()
    assert rows == [(7, 8, 3, True)]
