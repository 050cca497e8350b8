"""Hoisting shared subtrees (expressions/hoist.py) never changes what columns evaluate to."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.expressions.expr_helpers import parse
from tests.expressions.test_expr_properties import SCHEMA, expressions, rows

from karet_worker.config.model import ColExpr
from karet_worker.expressions.compile import compile_expr
from karet_worker.expressions.hoist import hoist_shared


def _with_repeats(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns that reuse each other's subtrees, so there is something to hoist."""
    first, *others = parts
    return [first, *others, {"kind": "concat", "sep": "|", "args": [first, *others, first]}]


def test_shared_subtrees_become_columns_computed_first() -> None:
    trimmed = {"kind": "upper", "input": {"kind": "trim", "input": {"kind": "col", "name": "s"}}}
    lookup_input = {"kind": "concat", "sep": "", "args": [trimmed, trimmed]}
    stages, rewritten = hoist_shared([parse(trimmed), parse(lookup_input), parse(lookup_input)])
    assert [name for name, _ in stages] == ["__shared_1", "__shared_0"]
    assert stages[0][1] == parse(trimmed)
    assert (
        rewritten
        == [ColExpr(kind="col", name="__shared_1")] + [ColExpr(kind="col", name="__shared_0")] * 2
    )


_EMPTY_ROW = {"s": None, "t": None, "x": None, "i": None, "p": None}
_IF_S = {"kind": "if", "cond": {"kind": "col", "name": "s"}, "then": {"kind": "null"},
         "else": {"kind": "str", "value": ""}}  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(expressions, min_size=1, max_size=3), data=rows)
@example(  # found in CI: a literal compared with a column-dependent `if`
    parts=[{"kind": "eq", "left": {"kind": "concat", "sep": "", "args": []}, "right": _IF_S}],
    data=[_EMPTY_ROW, _EMPTY_ROW],
)
def test_hoisted_columns_equal_direct_evaluation(
    parts: list[dict[str, Any]], data: list[dict[str, Any]]
) -> None:
    exprs = [parse(e) for e in _with_repeats(parts)]
    frame = pl.DataFrame({n: [r[n] for r in data] for n in SCHEMA}, schema=SCHEMA)
    names = [f"c{i}" for i in range(len(exprs))]
    # lazy with_columns, as the engine runs them: literal-only columns still get one value per
    # row (Polars 2.1's eager with_columns refuses `lit == when(...)` as length 1)
    direct = (
        frame.lazy()
        .with_columns(
            compile_expr(e, SCHEMA, ()).expr.alias(n) for n, e in zip(names, exprs, strict=True)
        )
        .select(names)
        .collect()
    )
    stages, rewritten = hoist_shared(exprs)
    scope: dict[str, Any] = dict(SCHEMA)
    staged = frame.lazy()
    for name, definition in stages:
        compiled = compile_expr(definition, scope, ())
        scope[name] = compiled.dtype
        staged = staged.with_columns(compiled.expr.alias(name))
    hoisted = (
        staged.with_columns(
            compile_expr(e, scope, ()).expr.alias(n) for n, e in zip(names, rewritten, strict=True)
        )
        .select(names)
        .collect()
    )
    assert hoisted.schema == direct.schema
    assert hoisted.equals(direct, null_equal=True)


def test_subtrees_inside_case_branches_are_shared_too() -> None:
    shared = {"kind": "upper", "input": {"kind": "trim", "input": {"kind": "col", "name": "d"}}}
    when = {"kind": "eq", "left": shared, "right": {"kind": "str", "value": "A"}}
    case = {"kind": "case", "branches": [{"when": when, "then": shared}]}
    stages, rewritten = hoist_shared([parse(case), parse(shared)])
    assert [parse(shared)] == [definition for _, definition in stages]
    branch = rewritten[0].branches[0]
    assert branch.then == ColExpr(kind="col", name=stages[0][0])
    assert rewritten[1] == branch.then
