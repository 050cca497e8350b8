"""Transform: compile a mapping once into Polars expressions, then apply it to each input batch
(columns → output types → where), keeping the counts the run reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from karet_worker.config.model import (
    AnalyticTable,
    CastExpr,
    ColExpr,
    ColumnType,
    LookupMapping,
    Mapping,
    SourceContainer,
)
from karet_worker.engine.extract import POLARS_TYPES, bad_flag
from karet_worker.expressions.compile import compile_expr

WHERE_FLAG = "__keep"


def cast_flag(column: str) -> str:
    return f"__cast_{column}"


def part_column(name: str) -> str:
    return f"__part_{name}"


@dataclass(frozen=True)
class MappingPlan:
    """Everything needed to run one mapping over batches of its source, compiled once."""

    mapping: Mapping
    table: AnalyticTable
    source: SourceContainer
    evaluate: list[pl.Expr]  # step 1: the mapping's expressions, as the expressions type them
    convert: list[pl.Expr]  # step 2: cast to the table's types, flags, partition values
    payload: list[str]  # columns stored in the Parquet objects, in table order
    partition_names: list[str]  # path segment names, e.g. ["year", "month"]
    partition_columns: list[str]  # the frame columns holding their values
    source_flags: list[str]  # `__bad_<col>` flags of the source columns
    cast_flags: list[str]  # `__cast_<col>` flags of the output columns


def plan_mapping(
    mapping: Mapping,
    table: AnalyticTable,
    source: SourceContainer,
    lookups: Sequence[LookupMapping],
) -> MappingPlan:
    """Compile the mapping's expressions against the source's typed schema. Values are
    computed once (step 1) and then converted (step 2), so a lookup never runs twice."""
    scope = {c.name: POLARS_TYPES[c.type] for c in source.columns}
    produced = {c.name: c.expr for c in mapping.columns}
    evaluate: list[pl.Expr] = []
    convert: list[pl.Expr] = []
    cast_flags: list[str] = []
    for column in table.columns:
        target = POLARS_TYPES[column.type]
        if column.name not in produced:
            convert.append(pl.lit(None, dtype=target).alias(column.name))
            continue
        compiled = compile_expr(produced[column.name], scope, lookups)
        if compiled.dtype == target:
            evaluate.append(compiled.expr.alias(column.name))
            continue
        raw = f"__raw_{column.name}"
        evaluate.append(compiled.expr.alias(raw))
        cast = compile_expr(_cast_to(ColExpr(kind="col", name=raw), column.type),
                            {raw: compiled.dtype}, lookups).expr  # fmt: skip
        flag = cast_flag(column.name)
        convert.append(cast.alias(column.name))
        convert.append((pl.col(raw).is_not_null() & cast.is_null()).alias(flag))
        cast_flags.append(flag)

    partition_names: list[str] = []
    partition_columns: list[str] = []
    if mapping.partition_by is not None:
        date = pl.col(mapping.partition_by.column)
        parts = {"year": date.dt.year(), "month": date.dt.month(), "day": date.dt.day()}
        depth = ["year", "month", "day"].index(mapping.partition_by.granularity) + 1
        for name in list(parts)[:depth]:
            partition_names.append(name)
            partition_columns.append(part_column(name))
    else:
        partition_names = list(table.partition_keys)
        partition_columns = list(table.partition_keys)

    payload = [c.name for c in table.columns if c.name not in table.partition_keys]
    return MappingPlan(
        mapping=mapping,
        table=table,
        source=source,
        evaluate=evaluate,
        convert=convert,
        payload=payload,
        partition_names=partition_names,
        partition_columns=partition_columns,
        source_flags=[bad_flag(c.name) for c in source.columns if c.type != "string"],
        cast_flags=cast_flags,
    )


def where_expr(plan: MappingPlan, lookups: Sequence[LookupMapping]) -> pl.Expr | None:
    """`where` over the output columns (as typed by the table); rows where it is not true go."""
    if plan.mapping.where is None:
        return None
    scope = {c.name: POLARS_TYPES[c.type] for c in plan.table.columns}
    condition = plan.mapping.where
    if compile_expr(condition, scope, lookups).dtype != pl.Boolean():
        condition = CastExpr(kind="cast", input=condition, to="bool")
    return compile_expr(condition, scope, lookups).expr.fill_null(False).alias(WHERE_FLAG)


def apply_plan(plan: MappingPlan, where: pl.Expr | None, typed: pl.LazyFrame) -> pl.LazyFrame:
    """The per-file query: typed source rows → output rows with their flags, partition values
    and `where` verdict."""
    flags = [pl.col(f) for f in plan.source_flags]
    frame = typed.select(*plan.evaluate, *flags).with_columns(*plan.convert)
    if plan.mapping.partition_by is not None:
        date = pl.col(plan.mapping.partition_by.column)
        parts = {"year": date.dt.year(), "month": date.dt.month(), "day": date.dt.day()}
        frame = frame.with_columns(
            parts[name].alias(column)
            for name, column in zip(plan.partition_names, plan.partition_columns, strict=True)
        )
    return frame if where is None else frame.with_columns(where)


def _cast_to(expr: ColExpr, column_type: ColumnType) -> CastExpr:
    """Output types are enforced with the same non-strict `cast` the expression language has."""
    target = "float64" if column_type == "number" else column_type
    return CastExpr(kind="cast", input=expr, to=target)
