"""Shared helpers for the expression tests: build ASTs from JSON and evaluate them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import polars as pl
from pydantic import TypeAdapter

from karet_worker.config.model import Expr, LookupMapping
from karet_worker.expressions import Compiled, compile_expr

EXPR: TypeAdapter[Any] = TypeAdapter(Expr)


def parse(expr: Mapping[str, Any]) -> Any:
    """An Expr model from its JSON form."""
    return EXPR.validate_python(expr)


def lookups(*nodes: Mapping[str, Any]) -> list[LookupMapping]:
    return [LookupMapping.model_validate(node) for node in nodes]


def compile_json(
    expr: Mapping[str, Any],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    lookup_nodes: Sequence[LookupMapping] = (),
) -> Compiled:
    return compile_expr(parse(expr), schema, lookup_nodes)


def evaluate(
    expr: Mapping[str, Any],
    data: Mapping[str, Sequence[Any]] | None = None,
    schema: Mapping[str, pl.DataType | type[pl.DataType]] | None = None,
    lookup_nodes: Sequence[LookupMapping] = (),
    *,
    engine: Literal["auto", "in-memory", "streaming"] = "auto",
) -> list[Any]:
    """Values of `expr` per row; also checks the static dtype equals the produced dtype."""
    if data is None:
        data, schema = {"_row": [0]}, {"_row": pl.Int64}
    assert schema is not None
    compiled = compile_json(expr, schema, lookup_nodes)
    frame = pl.DataFrame(dict(data), schema=dict(schema))
    result = frame.lazy().with_columns(compiled.expr.alias("__out")).collect(engine=engine)
    out = result.get_column("__out")
    assert out.dtype == compiled.dtype, (out.dtype, compiled.dtype)
    values: list[Any] = out.to_list()
    return values


def one(expr: Mapping[str, Any]) -> Any:
    """The value of an expression that only uses literals."""
    return evaluate(expr)[0]


def col(name: str) -> dict[str, Any]:
    return {"kind": "col", "name": name}


def s(value: str) -> dict[str, Any]:
    return {"kind": "str", "value": value}


def n(value: float) -> dict[str, Any]:
    return {"kind": "num", "value": value}


def b(value: bool) -> dict[str, Any]:
    return {"kind": "bool", "value": value}


NULL: dict[str, Any] = {"kind": "null"}


def bin_(kind: str, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "left": left, "right": right}


def un(kind: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "input": inner}
