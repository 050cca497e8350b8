"""Static types of expressions, checked at validation (SPEC §13).

Every expression node gets a `StaticType`: its kind of value, and for text the set of values it
can take when that set is known (literals, lookup outputs, inline dimension values). A column
whose expression can never become its table column's type is a validation error located at
the expression, instead of a run that writes nothing but nulls:

    {"kind": "bool", "value": true} into a `date` column          → error (no bool is a date)
    a lookup whose outputs are "Food", "Travel" into an `int64`    → error (none is a number)
    a text column into an `int64`                                  → fine (some rows may be)

The same rule applies to explicit `cast` nodes. A condition — a mapping's `where`, a source's
`record_filter` — must be boolean (a comparison, `not`, `contains`, a bool column, ...):

    "where": {"kind": "col", "name": "amount"}              → error (a number, not a condition)
    "where": {"kind": "gt", "left": {"kind": "col", ...}, ...}  → fine

These types mirror the compiler's (in `expressions/compile.py`; a property test keeps the two
equal on random expressions).

A conversion that may fail on some rows (text into `int64`) is not reported here: the run
counts the values that did not convert and warns with the count (SPEC §13).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import assert_never

from karet_worker.config.column_types import DeclaredType, parse_column_type
from karet_worker.config.lookup_tree import resolve_lookup
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
    Dimension,
    DimRefExpr,
    Expr,
    FileDimensionRows,
    FromUnixExpr,
    IfExpr,
    InExpr,
    InlineDimensionRows,
    LengthExpr,
    LookupMapping,
    LookupRefExpr,
    NullExpr,
    NumExpr,
    OnMissLiteral,
    ParseDateExpr,
    PipelineConfig,
    RegexExtractExpr,
    RegexMatchExpr,
    ReplaceExpr,
    RoundExpr,
    SplitPartExpr,
    StrExpr,
    SubstringExpr,
    UnaryExpr,
)
from karet_worker.config.pointer import Path, to_pointer
from karet_worker.config.problems import SCHEMA, Problem

_TRUE_FALSE_WORDS = frozenset({"true", "false", "1", "0", "yes", "no", "t", "f", "y", "n"})
# Loose on purpose: a value that might parse must never be called impossible.
_ISO_DATE_START = re.compile(r"\s*[+-]?\d{1,6}-\d{1,2}-\d{1,2}")


class Kind(Enum):
    """The kinds of value an expression has (the compiler's Polars types, by name)."""

    TEXT = "text"
    INT = "int64"
    FLOAT = "float64"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    NULL = "null"


_NUMERIC = (Kind.INT, Kind.FLOAT, Kind.DECIMAL)


@dataclass(frozen=True)
class StaticType:
    """A node's type; `texts` are the values a TEXT node can take, when they are known."""

    kind: Kind
    texts: frozenset[str] | None = None


TEXT = StaticType(Kind.TEXT)
INT = StaticType(Kind.INT)
FLOAT = StaticType(Kind.FLOAT)
BOOL = StaticType(Kind.BOOL)
DATE = StaticType(Kind.DATE)
TIMESTAMP = StaticType(Kind.TIMESTAMP)
NULL = StaticType(Kind.NULL)


def kind_of(declared: DeclaredType) -> Kind:
    match declared.base:
        case "string":
            return Kind.TEXT
        case "number" | "float64":
            return Kind.FLOAT
        case "int64":
            return Kind.INT
        case "decimal":
            return Kind.DECIMAL
        case "bool":
            return Kind.BOOL
        case "date":
            return Kind.DATE
        case "timestamp":
            return Kind.TIMESTAMP
        case unreachable:
            assert_never(unreachable)


def unify(types: Sequence[StaticType]) -> StaticType:
    """The common type of branches, like `coerce.unify`: nulls ignored, numbers → Float64,
    dates with timestamps → timestamp, any other mix → text (values unknown unless every
    branch is text with known values)."""
    useful = [t for t in types if t.kind is not Kind.NULL]
    kinds = list(dict.fromkeys(t.kind for t in useful))
    if not kinds:
        return NULL
    if kinds == [Kind.TEXT]:
        sets = [t.texts for t in useful]
        known = all(s is not None for s in sets)
        return StaticType(Kind.TEXT, frozenset().union(*(s or () for s in sets)) if known else None)
    if len(kinds) == 1:
        return StaticType(kinds[0])
    if all(k in _NUMERIC for k in kinds):
        return FLOAT
    if set(kinds) <= {Kind.DATE, Kind.TIMESTAMP}:
        return TIMESTAMP
    return TEXT


# ---------------------------------------------------------------- can a value ever convert?


def never_converts(source: StaticType, target: DeclaredType) -> str | None:
    """Why no value of `source` can become `target` (the reason, for the message), or None
    when some can. Nulls and text of unknown values always can."""
    kind = source.kind
    if kind is Kind.NULL or target.base == "string":
        return None
    if kind is Kind.TEXT:
        return None if source.texts is None else _no_text_converts(source.texts, target)
    wanted = kind_of(target)
    if wanted is kind:
        return None
    if wanted in _NUMERIC and kind in (*_NUMERIC, Kind.BOOL):
        return None
    if wanted is Kind.BOOL and kind in _NUMERIC:
        return None
    if {wanted, kind} == {Kind.DATE, Kind.TIMESTAMP}:
        return None
    article = "an" if kind.value[0] in "aeiou" else "a"
    return f"{article} {kind.value} value never converts to {target_name(target)}"


def _no_text_converts(texts: frozenset[str], target: DeclaredType) -> str | None:
    if any(_text_may_convert(text, target) for text in texts):
        return None
    shown = ", ".join(repr(t) for t in sorted(texts)[:5]) + (", ..." if len(texts) > 5 else "")
    return f"none of its possible values ({shown}) converts to {target_name(target)}"


def _text_may_convert(text: str, target: DeclaredType) -> bool:
    match kind_of(target):
        case Kind.INT | Kind.FLOAT | Kind.DECIMAL:
            try:
                float(text.strip())
            except ValueError:
                return False
            return True
        case Kind.BOOL:
            return text.strip().lower() in _TRUE_FALSE_WORDS
        case Kind.DATE | Kind.TIMESTAMP:
            return _ISO_DATE_START.match(text) is not None
        case Kind.TEXT | Kind.NULL:
            return True
        case unreachable:
            assert_never(unreachable)


def target_name(target: DeclaredType) -> str:
    if target.base == "decimal":
        return f"decimal({target.precision},{target.scale})"
    return target.base


# ---------------------------------------------------------------- typing expressions


class Typer:
    """Types expressions over a scope of declared column types; `lookups` and `dimensions`
    give the values references can return."""

    def __init__(
        self,
        scope: Mapping[str, str],
        lookups: Sequence[LookupMapping] = (),
        dimensions: Sequence[Dimension] = (),
    ) -> None:
        self._scope = scope
        self._lookups = lookups
        self._dimensions = {d.id: d for d in dimensions}
        self.problems: list[tuple[Path, str]] = []  # impossible explicit casts found

    def type_of(self, expr: Expr, path: Path = ()) -> StaticType:
        """The static type of `expr`; impossible casts inside are added to `problems`."""
        match expr:
            case ColExpr():
                declared = self._scope.get(expr.name)
                if declared is None:
                    return NULL
                return StaticType(kind_of(parse_column_type(declared)))
            case StrExpr():
                return StaticType(Kind.TEXT, frozenset({expr.value}))
            case NumExpr():
                return FLOAT
            case BoolExpr():
                return BOOL
            case NullExpr():
                return NULL
            case BinaryExpr():
                left = self.type_of(expr.left, (*path, "left"))
                right = self.type_of(expr.right, (*path, "right"))
                if expr.kind in ("add", "sub", "mul", "div"):
                    both_int = left.kind is Kind.INT and right.kind is Kind.INT
                    return INT if both_int and expr.kind != "div" else FLOAT
                return BOOL
            case UnaryExpr():
                inner = self.type_of(expr.input, (*path, "input"))
                if expr.kind == "not":
                    return BOOL
                if expr.kind in ("year", "month", "day"):
                    return INT
                return _text_map(inner, _TEXT_FUNCTIONS[expr.kind])
            case ConcatExpr():
                self._all(expr.args, (*path, "args"))
                return TEXT
            case SubstringExpr() | RegexExtractExpr() | ReplaceExpr() | SplitPartExpr():
                self.type_of(expr.input, (*path, "input"))
                return TEXT
            case ContainsExpr() | AffixExpr():
                self.type_of(expr.input, (*path, "input"))
                self.type_of(expr.pattern, (*path, "pattern"))
                return BOOL
            case RegexMatchExpr() | InExpr():
                self.type_of(expr.input, (*path, "input"))
                return BOOL
            case LengthExpr():
                self.type_of(expr.input, (*path, "input"))
                return INT
            case IfExpr():
                self.type_of(expr.cond, (*path, "cond"))
                then = self.type_of(expr.then, (*path, "then"))
                return unify([then, self.type_of(expr.else_, (*path, "else"))])
            case CoalesceExpr():
                return unify(self._all(expr.args, (*path, "args")))
            case CaseExpr():
                branches: list[StaticType] = []
                for index, branch in enumerate(expr.branches):
                    self.type_of(branch.when, (*path, "branches", index, "when"))
                    branches.append(self.type_of(branch.then, (*path, "branches", index, "then")))
                if expr.else_ is not None:
                    branches.append(self.type_of(expr.else_, (*path, "else")))
                return unify(branches)
            case ParseDateExpr():
                self.type_of(expr.input, (*path, "input"))
                return DATE
            case FromUnixExpr():
                self.type_of(expr.input, (*path, "input"))
                return TIMESTAMP if expr.to == "timestamp" else DATE
            case CastExpr():
                inner = self.type_of(expr.input, (*path, "input"))
                target = parse_column_type(expr.to)
                reason = never_converts(inner, target)
                if reason is not None:
                    self.problems.append((path, f"this cast can never succeed: {reason}"))
                return StaticType(kind_of(target))
            case LookupRefExpr():
                self.type_of(expr.input, (*path, "input"))
                return StaticType(Kind.TEXT, self._lookup_outputs(expr.lookup_id))
            case DimRefExpr():
                self.type_of(expr.input, (*path, "input"))
                return StaticType(Kind.TEXT, self._dimension_values(expr.dim_id, expr.value))
            case RoundExpr() | AbsExpr():
                inner = self.type_of(expr.input, (*path, "input"))
                return INT if inner.kind is Kind.INT else FLOAT
            case DateTruncExpr():
                inner = self.type_of(expr.input, (*path, "input"))
                return DATE if inner.kind is Kind.DATE else TIMESTAMP
            case DateDiffExpr():
                self.type_of(expr.start, (*path, "start"))
                self.type_of(expr.end, (*path, "end"))
                return INT
            case unreachable:
                assert_never(unreachable)

    def _all(self, exprs: Sequence[Expr], path: Path) -> list[StaticType]:
        return [self.type_of(e, (*path, i)) for i, e in enumerate(exprs)]

    def _lookup_outputs(self, dotted_id: str) -> frozenset[str] | None:
        node = resolve_lookup(self._lookups, dotted_id)
        if node is None:
            return None
        outputs = set(_tree_outputs(node))
        if node.catch_all is not None:
            outputs.add(node.catch_all.output)
        return frozenset(outputs)

    def _dimension_values(self, dim_id: str, value: str | None) -> frozenset[str] | None:
        dimension = self._dimensions.get(dim_id)
        if dimension is None or dimension.on_miss == "passthrough":
            return None
        rows = dimension.rows
        if isinstance(rows, FileDimensionRows):
            return None
        assert isinstance(rows, InlineDimensionRows)
        column = rows.values.index(value) if value in rows.values else 0
        values = {row.values[column] for row in rows.rows if column < len(row.values)}
        if isinstance(dimension.on_miss, OnMissLiteral):
            values.add(dimension.on_miss.literal)
        return frozenset(values)


_TEXT_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "lower": str.lower,
    "trim": str.strip,
}


def _text_map(inner: StaticType, function: Callable[[str], str]) -> StaticType:
    """Text functions keep a known value set known (the values mapped)."""
    if inner.kind is Kind.TEXT and inner.texts is not None:
        return StaticType(Kind.TEXT, frozenset(function(t) for t in inner.texts))
    return TEXT


def _tree_outputs(node: LookupMapping) -> Iterator[str]:
    for row in node.rows:
        yield row.output
    for child in node.children:
        yield from _tree_outputs(child)


# ---------------------------------------------------------------- the validation pass


def type_problems(config: PipelineConfig) -> list[Problem]:
    """Mapping columns whose expression can never yield the table column's type, conditions
    (`where`, `record_filter`) that are not boolean, and explicit casts that can never
    succeed, each located at its expression."""
    sources = {s.id: s for s in config.source_containers}
    tables = {t.id: t for t in config.analytic_tables}
    problems: list[Problem] = []
    for s_index, container in enumerate(config.source_containers):
        if container.record_filter is not None:
            scope = {c.name: c.type for c in container.columns}
            problems.extend(
                _condition_problems(
                    Typer(scope, config.lookup_mappings, config.dimensions),
                    container.record_filter,
                    ("source_containers", s_index, "record_filter"),
                    f"the record_filter of source {container.id!r}",
                )
            )
    for m_index, mapping in enumerate(config.mappings):
        source = sources.get(mapping.source_container_id)
        table = tables.get(mapping.analytic_table_id)
        if source is None or table is None:
            continue
        typer = Typer(
            {c.name: c.type for c in source.columns}, config.lookup_mappings, config.dimensions
        )
        targets = {c.name: c.type for c in table.columns}
        for c_index, column in enumerate(mapping.columns):
            path: Path = ("mappings", m_index, "columns", c_index, "expr")
            static = typer.type_of(column.expr, path)
            target_text = targets.get(column.name)
            if target_text is None or any(at == path for at, _ in typer.problems):
                continue  # not in the table (reported before), or an impossible cast
            target = parse_column_type(target_text)
            reason = never_converts(static, target)
            if reason is not None:
                problems.append(
                    Problem(
                        SCHEMA,
                        f"output column {column.name!r} of mapping {mapping.id!r} can never "
                        f"be {target_name(target)}: {reason}",
                        to_pointer(path),
                    )
                )
        problems.extend(
            Problem(SCHEMA, f"{message} (in mapping {mapping.id!r})", to_pointer(at))
            for at, message in typer.problems
        )
        if mapping.where is not None:
            produced = {c.name for c in mapping.columns}
            outputs = {name: type_ for name, type_ in targets.items() if name in produced}
            problems.extend(
                _condition_problems(
                    Typer(outputs, config.lookup_mappings, config.dimensions),
                    mapping.where,
                    ("mappings", m_index, "where"),
                    f"the where of mapping {mapping.id!r}",
                )
            )
    return problems


def _condition_problems(typer: Typer, condition: Expr, path: Path, what: str) -> list[Problem]:
    """A condition that is not boolean, and impossible casts inside it, located. Rows are kept
    where a condition is true, so `{"kind": "col", "name": "amount"}` would have to guess."""
    static = typer.type_of(condition, path)
    problems = [
        Problem(SCHEMA, f"{message} (in {what})", to_pointer(at)) for at, message in typer.problems
    ]
    if static.kind is Kind.BOOL or any(at == path for at, _ in typer.problems):
        return problems
    if static.kind is Kind.NULL:
        reason = "it is always null, so it would drop every row"
    else:
        article = "an" if static.kind.value[0] in "aeiou" else "a"
        reason = (
            f"it gives {article} {static.kind.value} value, not true/false; compare it "
            '(eq, gt, contains, ...) or convert it with {"kind": "cast", "to": "bool"}'
        )
    problems.append(Problem(SCHEMA, f"{what} must be a condition: {reason}", to_pointer(path)))
    return problems
