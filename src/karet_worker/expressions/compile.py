"""Expression AST (SPEC §4) → one pure Polars expression, statically typed by the scope.

The result holds no data and no Python callbacks, so the engine compiles a mapping once and
applies it lazily (streaming included) to every file and batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import assert_never

import polars as pl

from karet_worker.config.column_types import parse_cast_target
from karet_worker.config.model import (
    AbsExpr,
    AffixExpr,
    BinaryExpr,
    BoolExpr,
    CaseExpr,
    CastExpr,
    CoalesceExpr,
    ColExpr,
    ConcatExpr,
    ContainsExpr,
    DateDiffExpr,
    DateTruncExpr,
    DimRefExpr,
    Expr,
    FromUnixExpr,
    IfExpr,
    InExpr,
    LengthExpr,
    LookupMapping,
    LookupRefExpr,
    NullExpr,
    NumExpr,
    ParseDateExpr,
    RegexExtractExpr,
    RegexMatchExpr,
    ReplaceExpr,
    RoundExpr,
    SplitPartExpr,
    StrExpr,
    SubstringExpr,
    UnaryExpr,
)
from karet_worker.config.regex import regex_problem
from karet_worker.expressions.coerce import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    NULL,
    STRING,
    TIMESTAMP,
    UnsupportedType,
    convert,
    declared_dtype,
    is_numeric,
    normalize_dtype,
    null_of,
    to_bool,
    to_date,
    to_declared,
    to_number,
    to_text,
    to_timestamp,
    unify,
)
from karet_worker.expressions.lookups import KeywordScans, LookupCompiler, Matcher, UnknownLookup

_SECONDS_PER_DAY = 86_400
_INT64_MIN = -(2**63)
_PART_LIMIT = 2**31  # `split_part` indexes beyond any string's number of parts
_TRUNCATE_EVERY = {
    "year": "1y",
    "quarter": "1q",
    "month": "1mo",
    "week": "1w",
    "day": "1d",
    "hour": "1h",
}
_DIFF_EVERY = {"minute": "1m", "second": "1s"}
_UNIT_MICROS = {
    "week": 7 * 86_400_000_000,
    "day": 86_400_000_000,
    "hour": 3_600_000_000,
    "minute": 60_000_000,
    "second": 1_000_000,
}
_MICROSECONDS = {"s": 1_000_000, "ms": 1_000}
_MAX_EPOCH_MICROS = float(2**62)
# strftime directives that carry a year (with an optional padding flag, e.g. `%-y`).
_YEAR_DIRECTIVE = re.compile(r"%[-_0^#]?[YyGgCFDc+s]")
_FORMAT_PROBE = "2024-01-05 10:30:00"
_SLICE_LIMIT = 2**62
# Int64 results at or beyond this magnitude are treated as overflow (→ null), with a margin
# for the rounding of the float cross-check.
_INT_OVERFLOW_GUARD = float(2**63) * (1 - 2**-50)


@dataclass(frozen=True)
class Compiled:
    """A compiled expression and its static result type."""

    expr: pl.Expr
    dtype: pl.DataType  # one of the types in `coerce` (String ... Datetime(us, UTC), Null)


class ExpressionError(Exception):
    """Something validation should have rejected: an unknown column, lookup or column type."""


class Stages:
    """Values that a compiled expression reads more than once, computed once as columns.

    Polars evaluates a sub-expression once per use within one expression. Its common-
    subexpression elimination would share it, but leaves alone every subtree that holds a null
    literal, and every `trim` and text parse holds one (`strip_chars()`): so
    `cast(regex_extract(trim(x), …), int64)` ran its regex twice, and a cast of it to timestamp
    five times (once per ISO format). Helpers that read their input more than once take it
    through `once`, which makes it a column of its own unless it is one already.

        stages = Stages("stage:")
        compiled = compile_expr(expr, scope, lookups, stages=stages)  # may read "stage:0"
        for stage in stages.take():  # in order: a later stage may read an earlier one
            frame = frame.with_columns(stage)
        frame.with_columns(compiled.expr)
    """

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._columns: list[pl.Expr] = []  # every stage, for reuse: taken ones stay computed
        self._taken = 0

    def once(self, compiled: Compiled) -> Compiled:
        """`compiled` read from a stage column (a column or a literal is read as it is)."""
        expr = compiled.expr
        if expr.meta.is_column() or expr.meta.is_literal(allow_aliasing=True):
            return compiled
        for stage in self._columns:
            if stage.meta.undo_aliases().meta.eq(expr):
                return Compiled(pl.col(stage.meta.output_name()), compiled.dtype)
        name = f"{self._prefix}{len(self._columns)}"
        self._columns.append(expr.alias(name))
        return Compiled(pl.col(name), compiled.dtype)

    def take(self) -> list[pl.Expr]:
        """The stages added since the last `take`, to compute (in order) before the
        expressions compiled since then."""
        new, self._taken = self._columns[self._taken :], len(self._columns)
        return new

    def holds(self, expr: pl.Expr) -> bool:
        """Whether `expr` reads a stage column."""
        return expr.meta.is_column() and expr.meta.output_name().startswith(self._prefix)


def compile_expr(
    expr: Expr,
    scope: Mapping[str, pl.DataType | type[pl.DataType]],
    lookups: Sequence[LookupMapping],
    *,
    lookup_compiler: LookupCompiler | None = None,
    scans: KeywordScans | None = None,
    stages: Stages | None = None,
) -> Compiled:
    """Compile `expr` over the columns in `scope` (name → dtype).

    Pass one `lookup_compiler` to several calls to share compiled lookups between them, one
    `scans` to let their keyword searches of a column share one pass, and one `stages` to have
    values a helper reads more than once computed once. The caller then computes
    `scans.stage()`, then `stages.take()`, before the compiled expressions.
    """
    compiler = lookup_compiler if lookup_compiler is not None else LookupCompiler(lookups)
    return _Compiler(scope, compiler, scans, stages).compile(expr)


class _Compiler:
    def __init__(
        self,
        scope: Mapping[str, pl.DataType | type[pl.DataType]],
        lookups: LookupCompiler,
        scans: KeywordScans | None,
        stages: Stages | None,
    ) -> None:
        self._scope = scope
        self._lookups = lookups
        self._scans = scans
        self._stages = stages

    def _once(self, compiled: Compiled) -> Compiled:
        """`compiled`, computed once for a helper that reads it more than once (see Stages)."""
        return compiled if self._stages is None else self._stages.once(compiled)

    def _scans_of(self, text: pl.Expr) -> KeywordScans | None:
        """The shared keyword scans, unless `text` is a stage: those are computed after the
        scans (a stage may hold a lookup that reads one), so its keywords are searched inline."""
        if self._stages is not None and self._stages.holds(text):
            return None
        return self._scans

    def compile(self, expr: Expr) -> Compiled:
        """One case per member of the `Expr` union; mypy proves none is missing."""
        match expr:
            case ColExpr():
                return self._column(expr)
            case StrExpr():
                return Compiled(pl.lit(expr.value, dtype=pl.String), STRING)
            case NumExpr():
                return Compiled(pl.lit(float(expr.value), dtype=pl.Float64), FLOAT)
            case BoolExpr():
                return Compiled(pl.lit(expr.value, dtype=pl.Boolean), BOOL)
            case NullExpr():
                return Compiled(null_of(NULL), NULL)
            case BinaryExpr():
                return self._binary(expr)
            case UnaryExpr():
                return self._unary(expr)
            case ConcatExpr():
                return self._concat(expr)
            case SubstringExpr():
                return self._substring(expr)
            case ContainsExpr():
                return self._contains(expr)
            case IfExpr():
                return self._if(expr)
            case CoalesceExpr():
                return self._coalesce(expr)
            case ParseDateExpr():
                return self._parse_date(expr)
            case FromUnixExpr():
                return self._from_unix(expr)
            case CastExpr():  # several conversions read their input twice or more
                inner = self._once(self.compile(expr.input))
                target = parse_cast_target(expr.to)
                return Compiled(
                    to_declared(inner.expr, inner.dtype, target), declared_dtype(target)
                )
            case LookupRefExpr():
                return self._lookup_ref(expr)
            case DimRefExpr():
                return self._dim_ref(expr)
            case RoundExpr():
                return self._round(expr)
            case AbsExpr():
                return self._abs(expr)
            case AffixExpr():
                text = self._text(expr.input)
                needle = self._needle(expr.pattern)
                if expr.kind == "starts_with":
                    return Compiled(text.str.starts_with(needle), BOOL)
                return Compiled(text.str.ends_with(needle), BOOL)
            case RegexMatchExpr():
                _require_regex(expr.pattern)
                return Compiled(self._text(expr.input).str.contains(expr.pattern), BOOL)
            case RegexExtractExpr():
                _require_regex(expr.pattern, expr.group)
                extracted = self._text(expr.input).str.extract(expr.pattern, expr.group)
                return Compiled(extracted, STRING)
            case ReplaceExpr():
                text = self._text(expr.input)
                replaced = text.str.replace_all(expr.pattern, expr.replacement, literal=True)
                return Compiled(replaced, STRING)
            case DateTruncExpr():
                return self._date_trunc(expr)
            case DateDiffExpr():
                return self._date_diff(expr)
            case LengthExpr():
                return Compiled(self._text(expr.input).str.len_chars().cast(pl.Int64), INT)
            case SplitPartExpr():
                index = min(max(expr.index, -_PART_LIMIT), _PART_LIMIT)
                parts = self._text(expr.input).str.split(expr.sep, inclusive=False)
                return Compiled(parts.list.get(index, null_on_oob=True), STRING)
            case InExpr():
                return self._in(expr)
            case CaseExpr():
                return self._case(expr)
            case unreachable:
                assert_never(unreachable)

    # ------------------------------------------------------------------ leaves

    def _column(self, expr: ColExpr) -> Compiled:
        if expr.name not in self._scope:
            raise ExpressionError(f"unknown column '{expr.name}'")
        try:
            dtype, needs_cast = normalize_dtype(self._scope[expr.name])
        except UnsupportedType as exc:
            raise ExpressionError(f"column '{expr.name}': {exc}") from exc
        column = pl.col(expr.name)
        return Compiled(column.cast(dtype) if needs_cast else column, dtype)

    # ------------------------------------------------------------------ binary operators

    def _binary(self, expr: BinaryExpr) -> Compiled:
        left = self.compile(expr.left)
        right = self.compile(expr.right)
        if expr.kind in ("add", "sub", "mul", "div"):
            return _arithmetic(expr.kind, left, right)
        if expr.kind in ("and", "or"):
            lb = to_bool(left.expr, left.dtype)
            rb = to_bool(right.expr, right.dtype)
            return Compiled(lb & rb if expr.kind == "and" else lb | rb, BOOL)
        return _comparison(expr.kind, left, right)

    # ------------------------------------------------------------------ unary functions

    def _unary(self, expr: UnaryExpr) -> Compiled:
        inner = self.compile(expr.input)
        kind = expr.kind
        if kind == "not":
            return Compiled(~to_bool(inner.expr, inner.dtype), BOOL)
        if kind in ("year", "month", "day"):
            date = to_date(inner.expr, inner.dtype)
            part = {"year": date.dt.year(), "month": date.dt.month(), "day": date.dt.day()}[kind]
            return Compiled(part.cast(pl.Int64), INT)
        text = to_text(inner.expr, inner.dtype)
        if kind == "upper":
            return Compiled(text.str.to_uppercase(), STRING)
        if kind == "lower":
            return Compiled(text.str.to_lowercase(), STRING)
        return Compiled(text.str.strip_chars(), STRING)  # trim

    # ------------------------------------------------------------------ text

    def _concat(self, expr: ConcatExpr) -> Compiled:
        parts = [self.compile(arg) for arg in expr.args]
        texts = [to_text(p.expr, p.dtype) for p in parts if p.dtype != NULL]
        if not texts:
            return Compiled(pl.lit("", dtype=pl.String), STRING)
        # ignore_nulls drops a null together with its separator; all null gives "".
        return Compiled(pl.concat_str(texts, separator=expr.sep, ignore_nulls=True), STRING)

    def _substring(self, expr: SubstringExpr) -> Compiled:
        text = self._text(expr.input)
        # JSON integers are unbounded; beyond ±2^62 every string behaves the same anyway.
        start = min(max(expr.start, -_SLICE_LIMIT), _SLICE_LIMIT)
        length = None if expr.length is None else min(max(expr.length, 0), _SLICE_LIMIT)
        if start >= 0:
            return Compiled(text.str.slice(start, length), STRING)
        # Negative start counts from the end and is clamped to the first character, like
        # Python's s[start:][:length] (Polars alone would shrink the window instead).
        tail = text.str.slice(start)
        return Compiled(tail if length is None else tail.str.slice(0, length), STRING)

    def _contains(self, expr: ContainsExpr) -> Compiled:
        text = self._text(expr.input)
        return Compiled(text.str.contains(self._needle(expr.pattern), literal=True), BOOL)

    def _text(self, expr: Expr) -> pl.Expr:
        inner = self.compile(expr)
        return to_text(inner.expr, inner.dtype)

    def _needle(self, pattern: Expr) -> str | pl.Expr:
        """A literal pattern as a plain string (Polars then builds its searcher once)."""
        if isinstance(pattern, StrExpr):
            return pattern.value
        return self._text(pattern)

    # ------------------------------------------------------------------ conditionals

    def _if(self, expr: IfExpr) -> Compiled:
        cond = self.compile(expr.cond)
        then = self.compile(expr.then)
        other = self.compile(expr.else_)
        dtype = unify([then.dtype, other.dtype])
        result = (
            pl.when(to_bool(cond.expr, cond.dtype))
            .then(_as(then, dtype))
            .otherwise(_as(other, dtype))
        )
        return Compiled(result, dtype)

    def _coalesce(self, expr: CoalesceExpr) -> Compiled:
        parts = [self.compile(arg) for arg in expr.args]
        dtype = unify([p.dtype for p in parts])
        useful = [_as(p, dtype) for p in parts if p.dtype != NULL]
        if not useful:
            return Compiled(null_of(NULL), NULL)
        if len(useful) == 1:
            return Compiled(useful[0], dtype)
        return Compiled(pl.coalesce(useful), dtype)

    # ------------------------------------------------------------------ dates

    def _parse_date(self, expr: ParseDateExpr) -> Compiled:
        text = self._text(expr.input)
        if not usable_date_format(expr.format):
            return Compiled(null_of(DATE), DATE)
        # no per-value cache: see parsing.parse_date_iso
        return Compiled(text.str.to_date(expr.format, strict=False, cache=False), DATE)

    def _from_unix(self, expr: FromUnixExpr) -> Compiled:
        inner = self.compile(expr.input)
        if expr.to == "timestamp":  # the number is read for its range and its value
            inner = self._once(inner)
        number, _ = to_number(inner.expr, inner.dtype)
        if expr.to == "timestamp":
            per_microsecond = _MICROSECONDS[expr.unit]
            micros = (number.cast(pl.Float64) * per_microsecond).floor()
            # Beyond ±2^62 µs (±146,000 years) Polars cannot show the date: null.
            in_range = micros.abs() < _MAX_EPOCH_MICROS
            stamp = pl.when(in_range).then(micros).cast(pl.Int64, strict=False)
            if inner.dtype == INT:  # exact for integers, whatever their size
                stamp = pl.when(in_range).then(number * per_microsecond)
            return Compiled(stamp.cast(TIMESTAMP), TIMESTAMP)
        per_day = _SECONDS_PER_DAY * (1000 if expr.unit == "ms" else 1)
        days = (number // per_day).cast(pl.Int32, strict=False)
        return Compiled(days.cast(pl.Date), DATE)

    # ------------------------------------------------------------------ lookups

    def _lookup_ref(self, expr: LookupRefExpr) -> Compiled:
        try:
            lookup = self._lookups.get(expr.lookup_id)
        except UnknownLookup as exc:
            raise ExpressionError(str(exc)) from exc
        text = self._matched_text(expr.input, lookup)
        return Compiled(lookup.apply(text, scans=self._scans_of(text)), STRING)

    def _matched_text(self, expr: Expr, matcher: Matcher) -> pl.Expr:
        """The text a matcher reads: once per group of patterns, and again to pass it through."""
        text = Compiled(self._text(expr), STRING)
        return (self._once(text) if matcher.reads_input_more_than_once else text).expr

    # ------------------------------------------------------------------ numbers

    def _round(self, expr: RoundExpr) -> Compiled:
        inner = self.compile(expr.input)
        number, dtype = to_number(inner.expr, inner.dtype)
        if dtype == INT:
            return Compiled(number, INT)
        return Compiled(number.round(expr.digits, mode="half_away_from_zero"), FLOAT)

    def _abs(self, expr: AbsExpr) -> Compiled:
        inner = self.compile(expr.input)
        number, dtype = to_number(inner.expr, inner.dtype)
        if dtype == INT:  # |-2^63| does not fit: null, like other Int64 overflows
            return Compiled(pl.when(number != _INT64_MIN).then(number.abs()), INT)
        return Compiled(number.abs(), FLOAT)

    # ------------------------------------------------------------------ dates and times

    def _date_trunc(self, expr: DateTruncExpr) -> Compiled:
        inner = self.compile(expr.input)
        every = _TRUNCATE_EVERY[expr.unit]
        if inner.dtype == DATE:
            if expr.unit == "hour":
                return Compiled(inner.expr, DATE)
            return Compiled(inner.expr.dt.truncate(every), DATE)
        stamp = to_timestamp(inner.expr, inner.dtype)
        return Compiled(stamp.dt.truncate(every), TIMESTAMP)

    def _date_diff(self, expr: DateDiffExpr) -> Compiled:
        start = self.compile(expr.start)
        end = self.compile(expr.end)
        a = self._once(Compiled(to_timestamp(start.expr, start.dtype), TIMESTAMP)).expr
        b = self._once(Compiled(to_timestamp(end.expr, end.dtype), TIMESTAMP)).expr
        unit = expr.unit
        if unit in ("year", "quarter", "month"):
            per_year = {"year": 1, "quarter": 4, "month": 12}[unit]
            months_per = 12 // per_year

            def ordinal(t: pl.Expr) -> pl.Expr:
                month_index = (t.dt.month().cast(pl.Int64) - 1) // months_per
                return t.dt.year().cast(pl.Int64) * per_year + month_index

            return Compiled(ordinal(b) - ordinal(a), INT)
        every = _TRUNCATE_EVERY.get(unit, _DIFF_EVERY.get(unit, ""))
        span = b.dt.truncate(every) - a.dt.truncate(every)
        micros = span.dt.total_microseconds().cast(pl.Int64)
        return Compiled(micros // _UNIT_MICROS[unit], INT)

    # ------------------------------------------------------------------ membership and case

    def _in(self, expr: InExpr) -> Compiled:
        inner = self._once(self.compile(expr.input))  # read once per type of the values
        if inner.dtype == NULL:
            return Compiled(null_of(BOOL), BOOL)
        hits: list[pl.Expr] = []
        for dtype, values in _literal_groups(expr.values):
            candidates = Compiled(pl.lit(values), dtype)
            lhs, rhs = _comparable(inner, candidates)
            converted = pl.select(rhs.alias("v")).to_series().drop_nulls()
            if converted.dtype == FLOAT:  # an Int64 input meets the Float64 numbers
                lhs = lhs.cast(pl.Float64)
            hits.append(lhs.is_in(converted.implode()).fill_null(False))
        found = pl.any_horizontal(hits) if hits else pl.lit(False)
        return Compiled(pl.when(inner.expr.is_not_null()).then(found), BOOL)

    def _case(self, expr: CaseExpr) -> Compiled:
        conditions = [self.compile(branch.when) for branch in expr.branches]
        values = [self.compile(branch.then) for branch in expr.branches]
        other = self.compile(expr.else_) if expr.else_ is not None else None
        dtype = unify([v.dtype for v in values] + ([other.dtype] if other else []))
        result = _as(other, dtype) if other is not None else null_of(dtype)
        # Built from the last branch outwards, so the first true `when` wins.
        for condition, value in reversed(list(zip(conditions, values, strict=True))):
            when = to_bool(condition.expr, condition.dtype)
            result = pl.when(when).then(_as(value, dtype)).otherwise(result)
        return Compiled(result, dtype)

    def _dim_ref(self, expr: DimRefExpr) -> Compiled:
        try:
            matcher = self._lookups.dimension(expr.dim_id)
        except UnknownLookup as exc:
            raise ExpressionError(str(exc)) from exc
        if expr.value is not None and expr.value not in matcher.value_columns:
            raise ExpressionError(f"dimension '{expr.dim_id}' has no value column '{expr.value}'")
        text = self._matched_text(expr.input, matcher)
        return Compiled(matcher.apply(text, expr.value, self._scans_of(text)), STRING)


def _require_regex(pattern: str, group: int | None = None) -> None:
    problem = regex_problem(pattern, group)
    if problem is not None:
        raise ExpressionError(problem)


def _literal_groups(values: Sequence[str | float | bool]) -> list[tuple[pl.DataType, pl.Series]]:
    """`in` candidates grouped by JSON type, as typed Series (numbers Float64, like `num`)."""
    texts = [v for v in values if isinstance(v, str)]
    flags = [v for v in values if isinstance(v, bool)]
    numbers = [float(v) for v in values if not isinstance(v, str | bool)]
    groups = [
        (STRING, pl.Series(texts, dtype=pl.String)),
        (BOOL, pl.Series(flags, dtype=pl.Boolean)),
        (FLOAT, pl.Series(numbers, dtype=pl.Float64)),
    ]
    return [(dtype, series) for dtype, series in groups if len(series)]


def usable_date_format(fmt: str) -> bool:
    """Whether `parse_date` can use `fmt`. Polars rejects some formats at run time (an hour
    without minutes, ...) and gives year 1 when the format names no year; both would break
    "unparseable → null", so such formats give null for every row instead."""
    if not _YEAR_DIRECTIVE.search(fmt):
        return False
    try:
        pl.Series([_FORMAT_PROBE]).str.to_date(fmt, strict=False)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return False
    return True


def _as(compiled: Compiled, dtype: pl.DataType) -> pl.Expr:
    return convert(compiled.expr, compiled.dtype, dtype)


def _arithmetic(kind: str, left: Compiled, right: Compiled) -> Compiled:
    """Numbers (text parsed); Int64 stays Int64 except for `div`, with overflow → null."""
    lnum, ltype = to_number(left.expr, left.dtype)
    rnum, rtype = to_number(right.expr, right.dtype)
    if ltype == INT and rtype == INT and kind != "div":
        exact = _apply_op(kind, lnum, rnum)
        approx = _apply_op(kind, lnum.cast(pl.Float64), rnum.cast(pl.Float64))
        guarded = pl.when(approx.abs() < _INT_OVERFLOW_GUARD).then(exact)
        return Compiled(guarded, INT)
    return Compiled(_apply_op(kind, lnum.cast(pl.Float64), rnum.cast(pl.Float64)), FLOAT)


def _apply_op(kind: str, left: pl.Expr, right: pl.Expr) -> pl.Expr:
    if kind == "add":
        return left + right
    if kind == "sub":
        return left - right
    if kind == "mul":
        return left * right
    return left / right


_COMPARATORS: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "ge": lambda a, b: a >= b,
    "le": lambda a, b: a <= b,
}


def _comparison(kind: str, left: Compiled, right: Compiled) -> Compiled:
    """Compare after bringing both sides to one type (see `_comparable`)."""
    if NULL in (left.dtype, right.dtype):
        return Compiled(null_of(BOOL), BOOL)
    lhs, rhs = _comparable(left, right)
    return Compiled(_COMPARATORS[kind](lhs, rhs), BOOL)


def _comparable(left: Compiled, right: Compiled) -> tuple[pl.Expr, pl.Expr]:
    """Numbers with numbers (text parsed, booleans 1/0), dates and timestamps with each other
    and with text (parsed as ISO), booleans with booleans (text parsed), same types as they
    are, anything else as text."""
    types = {left.dtype, right.dtype}
    if len(types) == 1:
        return left.expr, right.expr
    if all(is_numeric(t) or t in (STRING, BOOL) for t in types) and any(map(is_numeric, types)):
        return to_number(left.expr, left.dtype)[0], to_number(right.expr, right.dtype)[0]
    if types == {DATE, STRING}:
        return to_date(left.expr, left.dtype), to_date(right.expr, right.dtype)
    if TIMESTAMP in types and types <= {DATE, TIMESTAMP, STRING}:
        return to_timestamp(left.expr, left.dtype), to_timestamp(right.expr, right.dtype)
    if types == {BOOL, STRING}:
        return to_bool(left.expr, left.dtype), to_bool(right.expr, right.dtype)
    return to_text(left.expr, left.dtype), to_text(right.expr, right.dtype)
