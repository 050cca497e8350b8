"""Column assertions over a mapping's whole output (or a source's rows), fed batch by batch.

State changes are staged per input file (`commit`/`rollback`), so a file that turns out to be
unusable half-way leaves no trace in the keys seen or the violations counted."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from karet_worker.config.model import ColumnSchema
from karet_worker.engine.keys import KeySet


@dataclass
class _ColumnCheck:
    column: ColumnSchema
    unique: KeySet | None
    counts: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)


class AssertionChecker:
    """Counts violations of column assertions (`nullable: false` = `not_null`).

    Used for a table's columns (on a mapping's output) and for a source's columns (on the rows
    read); `subject` says which in the messages, e.g. "source 'bank' column"."""

    def __init__(self, columns: list[ColumnSchema], subject: str = "column") -> None:
        self._subject = subject
        self._checks: list[_ColumnCheck] = []
        for column in columns:
            a = column.assertions
            if a is None and column.nullable:
                continue
            unique = KeySet([column.name]) if a is not None and a.unique else None
            self._checks.append(_ColumnCheck(column, unique))

    def observe(self, frame: pl.DataFrame) -> None:
        """Count the violations in one batch of rows (for a table: after `where`, before dedup)."""
        if frame.is_empty():
            return
        exprs: list[pl.Expr] = []
        for check in self._checks:
            exprs.extend(_violation_counts(check.column))
        totals = frame.select(exprs).row(0, named=True) if exprs else {}
        for check in self._checks:
            name = check.column.name
            for label in ("not_null", "accepted_values", "min", "max"):
                value = totals.get(f"{name}\x00{label}")
                if value:
                    check.pending[label] = check.pending.get(label, 0) + int(value)
            if check.unique is not None:
                values = frame.select(name).drop_nulls()
                duplicates = values.height - check.unique.first_new(values).height
                if duplicates:
                    check.pending["unique"] = check.pending.get("unique", 0) + duplicates

    def commit(self) -> None:
        for check in self._checks:
            for label, count in check.pending.items():
                check.counts[label] = check.counts.get(label, 0) + count
            check.pending = {}
            if check.unique is not None:
                check.unique.commit()

    def rollback(self) -> None:
        for check in self._checks:
            check.pending = {}
            if check.unique is not None:
                check.unique.rollback()

    def violations(self) -> list[str]:
        """One message per violated assertion, naming the column, the rule and the count."""
        messages: list[str] = []
        for check in self._checks:
            column = check.column
            a = column.assertions
            for label, count in check.counts.items():
                rule = {
                    "not_null": "not_null",
                    "unique": "unique",
                    "accepted_values": f"accepted_values {list(a.accepted_values) if a else []}",
                    "min": f"min {a.min if a else ''}",
                    "max": f"max {a.max if a else ''}",
                }[label]
                messages.append(f"{self._subject} '{column.name}' violates {rule}: {count} row(s)")
        return messages


def _violation_counts(column: ColumnSchema) -> list[pl.Expr]:
    """Per-rule counts of violating rows, as named aggregations over one batch."""
    value = pl.col(column.name)
    a = column.assertions
    key = f"{column.name}\x00"
    exprs: list[pl.Expr] = []
    if not column.nullable or (a is not None and a.not_null):
        exprs.append(value.is_null().sum().alias(key + "not_null"))
    if a is None:
        return exprs
    if a.accepted_values:
        accepted = pl.Series(values=[_text(v) for v in a.accepted_values], dtype=pl.String)
        outside = value.is_not_null() & ~_as_text(value, column).is_in(accepted.implode())
        exprs.append(outside.sum().alias(key + "accepted_values"))
    if a.min is not None:
        exprs.append((_as_number(value, column) < a.min).sum().alias(key + "min"))
    if a.max is not None:
        exprs.append((_as_number(value, column) > a.max).sum().alias(key + "max"))
    return exprs


def _text(value: str | int | float | bool) -> str:
    """Canonical text of an accepted value: 1 and 1.0 agree, booleans are lower case."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_text(value: pl.Expr, column: ColumnSchema) -> pl.Expr:
    """The column's values in the canonical text of `_text`, so accepted values compare."""
    if column.type in ("number", "float64"):
        whole = value.cast(pl.Int64, strict=False).cast(pl.String)
        return pl.when(value == value.floor()).then(whole).otherwise(value.cast(pl.String))
    if column.type == "bool":
        return pl.when(value).then(pl.lit("true")).otherwise(pl.lit("false"))
    return value.cast(pl.String)


def _as_number(value: pl.Expr, column: ColumnSchema) -> pl.Expr:
    if column.type == "date":
        return value.cast(pl.Int64)  # days since epoch; min/max on dates are day numbers
    if column.type == "string":
        return value.str.strip_chars().cast(pl.Float64, strict=False)
    return value.cast(pl.Float64)
