"""Transform: compile a mapping once into Polars expressions, then apply it to each input batch
(columns → output types → where), keeping the counts the run reports."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from karet_worker.config.model import (
    AnalyticTable,
    CastExpr,
    ColExpr,
    ColumnType,
    Expr,
    Mapping,
    SourceContainer,
)
from karet_worker.engine.columns import (
    SCAN_PREFIX,
    SHARED_PREFIX,
    STAGE_PREFIX,
    WHERE_FLAG,
    cast_flag,
    part_value,
    raw_value,
)
from karet_worker.engine.read.base import within_years
from karet_worker.expressions.coerce import declared_dtype
from karet_worker.expressions.compile import Compiled, Stages, compile_expr
from karet_worker.expressions.hoist import hoist_shared
from karet_worker.expressions.lookups import KeywordScans, LookupCompiler

_DATE_PARTS = ("year", "month", "day")


@dataclass(frozen=True)
class MappingPlan:
    """Everything needed to run one mapping over batches of its source, compiled once."""

    mapping: Mapping
    table: AnalyticTable
    source: SourceContainer
    # step 0: subexpressions several columns use, computed once, in order (each after the
    # values it reads more than once: `Stages`)
    shared: list[pl.Expr]
    scans: list[pl.Expr]  # step 0b: keyword searches of a column lookups share, one pass each
    staged: list[pl.Expr]  # step 0c: values step 1 reads more than once, computed once, in order
    evaluate: list[pl.Expr]  # step 1: the mapping's expressions, as the expressions type them
    # step 2, in stages: cast to the table's types; dates bounded to years 1-9999; cast flags.
    # Stages, not one `with_columns`: Polars evaluates an expression once per use within one,
    # and a converted value is used by its bound and its flag (a text → date parse ran 4 times).
    convert: list[list[pl.Expr]]
    where: Predicate | None  # step 3: the `where` verdict, as boolean column WHERE_FLAG
    payload: list[str]  # columns stored in the Parquet objects, in table order
    partition_names: list[str]  # path segment names, e.g. ["year", "month"]
    partition_columns: list[str]  # the frame columns holding their values
    cast_flags: dict[str, str]  # output column -> its flag of values that failed the cast


def plan_mapping(
    mapping: Mapping,
    table: AnalyticTable,
    source: SourceContainer,
    lookups: LookupCompiler,
) -> MappingPlan:
    """Compile the mapping's expressions against the source's typed schema. Values are
    computed once (step 1) and then converted (step 2), so a lookup never runs twice.
    One `LookupCompiler` per run builds each lookup once for all mappings."""

    # Keyword searches of step 1 share one pass per column (computed after step 0). Step 0's
    # own ones search inline: a shared stage cannot read a scan computed after it.
    scans = KeywordScans(SCAN_PREFIX)
    # Values a helper of step 1 reads more than once (a cast's input, say) are computed once
    # before it (after the scans: such a value may be a lookup that reads one).
    computed_once = Stages(STAGE_PREFIX)

    def compile_(
        expr: Expr,
        scope: dict[str, pl.DataType],
        scans: KeywordScans | None = None,
        stages: Stages | None = None,
    ) -> Compiled:
        return compile_expr(
            expr, scope, lookups.lookups, lookup_compiler=lookups, scans=scans, stages=stages
        )

    stages, rewritten = hoist_shared([c.expr for c in mapping.columns], SHARED_PREFIX)
    produced = {c.name: expr for c, expr in zip(mapping.columns, rewritten, strict=True)}
    source_scope = {c.name: declared_dtype(c.type) for c in source.columns}
    shared: list[pl.Expr] = []
    for name, definition in stages:
        compiled = compile_(definition, source_scope, stages=computed_once)
        source_scope[name] = compiled.dtype
        shared.extend(computed_once.take())
        shared.append(compiled.expr.alias(name))
    evaluate: list[pl.Expr] = []
    casts: list[pl.Expr] = []
    bounds: list[pl.Expr] = []
    flags: list[pl.Expr] = []
    cast_flags: dict[str, str] = {}
    for column in table.columns:
        target = declared_dtype(column.type)
        if column.name not in produced:
            casts.append(pl.lit(None, dtype=target).alias(column.name))
            continue
        compiled = compile_(produced[column.name], source_scope, scans, computed_once)
        dated = target == pl.Date or isinstance(target, pl.Datetime)
        if compiled.dtype == target and not dated:
            evaluate.append(compiled.expr.alias(column.name))
            continue
        raw = raw_value(column.name)
        evaluate.append(compiled.expr.alias(raw))
        cast = compile_(_cast_to(ColExpr(kind="col", name=raw), column.type), {raw: compiled.dtype})
        casts.append(cast.expr.alias(column.name))
        value = pl.col(column.name)
        if dated:  # outside years 1-9999 (e.g. from_unix of a huge number): not convertible
            bounds.append(within_years(value, target).alias(column.name))
        flag = cast_flag(column.name)
        flags.append((pl.col(raw).is_not_null() & value.is_null()).alias(flag))
        cast_flags[column.name] = flag
    convert = [stage for stage in (casts, bounds, flags) if stage]

    partition_names = list(table.partition_keys)
    partition_columns = list(table.partition_keys)
    if mapping.partition_by is not None:
        depth = _DATE_PARTS.index(mapping.partition_by.granularity) + 1
        partition_names = list(_DATE_PARTS[:depth])
        partition_columns = [part_value(name) for name in partition_names]

    where: Predicate | None = None
    if mapping.where is not None:
        table_scope = {c.name: declared_dtype(c.type) for c in table.columns}
        where = Predicate.of(mapping.where, table_scope, lookups)

    return MappingPlan(
        mapping=mapping,
        table=table,
        source=source,
        shared=shared,
        scans=scans.stage(),
        staged=computed_once.take(),
        evaluate=evaluate,
        convert=convert,
        where=where,
        payload=[c.name for c in table.columns if c.name not in table.partition_keys],
        partition_names=partition_names,
        partition_columns=partition_columns,
        cast_flags=cast_flags,
    )


def record_filter(source: SourceContainer, lookups: LookupCompiler) -> Predicate | None:
    """The source's `record_filter` over its typed columns: true keeps a record, false and
    null drop it (SPEC §13). None when the source has no filter."""
    if source.record_filter is None:
        return None
    scope = {c.name: declared_dtype(c.type) for c in source.columns}
    return Predicate.of(source.record_filter, scope, lookups)


@dataclass(frozen=True)
class Predicate:
    """A condition (`where`, `record_filter`) as a Boolean that is never null (null counts as
    false), computed after the values it reads more than once (`stages`, see `Stages`)."""

    stages: list[pl.Expr]
    verdict: pl.Expr

    @staticmethod
    def of(condition: Expr, scope: dict[str, pl.DataType], lookups: LookupCompiler) -> Predicate:
        """A non-boolean condition is read with the `cast` to bool of SPEC §4."""
        stages = Stages(STAGE_PREFIX)

        def compile_(expr: Expr) -> Compiled:
            return compile_expr(
                expr, scope, lookups.lookups, lookup_compiler=lookups, stages=stages
            )

        if compile_(condition).dtype != pl.Boolean():
            condition = CastExpr(kind="cast", input=condition, to="bool")
        verdict = compile_(condition).expr.fill_null(False)
        return Predicate(stages.take(), verdict)

    def flag(self, frame: pl.LazyFrame, name: str) -> pl.LazyFrame:
        """`frame` with the verdict as column `name`."""
        return self._staged(frame).with_columns(self.verdict.alias(name)).drop(self._names)

    def keep(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """The rows of `frame` the condition keeps."""
        return self._staged(frame).filter(self.verdict).drop(self._names)

    def _staged(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        return add_in_order(frame, self.stages)

    @property
    def _names(self) -> list[str]:
        return [stage.meta.output_name() for stage in self.stages]


def apply_plan(plan: MappingPlan, typed: pl.LazyFrame) -> pl.LazyFrame:
    """The per-file query: typed source rows → output rows with their flags, partition values
    and `where` verdict. `with_columns` (not `select`) keeps one row per input row even when
    every output is a literal."""
    step1 = [e.meta.output_name() for e in plan.evaluate]
    typed = add_in_order(typed, plan.shared)
    if plan.scans:
        typed = typed.with_columns(plan.scans)
    typed = add_in_order(typed, plan.staged)
    frame = typed.with_columns(*plan.evaluate).select(step1)
    for conversion in plan.convert:
        frame = frame.with_columns(conversion)
    if plan.mapping.partition_by is not None:  # from the date as converted to the table type
        date = pl.col(plan.mapping.partition_by.column)
        parts = {"year": date.dt.year(), "month": date.dt.month(), "day": date.dt.day()}
        frame = frame.with_columns(
            parts[name].alias(part_value(name)) for name in plan.partition_names
        )
    return frame if plan.where is None else plan.where.flag(frame, WHERE_FLAG)


def add_in_order(frame: pl.LazyFrame, columns: list[pl.Expr]) -> pl.LazyFrame:
    """`frame` with `columns` added one `with_columns` each: a later one may read an earlier."""
    for column in columns:
        frame = frame.with_columns(column)
    return frame


def _cast_to(expr: ColExpr, column_type: ColumnType) -> CastExpr:
    """Output types are enforced with the same non-strict `cast` the expression language has."""
    target = "float64" if column_type == "number" else column_type
    return CastExpr(kind="cast", input=expr, to=target)
