"""Column assertions over a mapping's whole output (or a source's rows), fed batch by batch.

State changes are staged per input file (`commit`/`rollback`), so a file that turns out to be
unusable half-way leaves no trace in the keys seen or the violations counted."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from karet_worker.config.model import ColumnSchema
from karet_worker.engine.columns import INTERNAL
from karet_worker.engine.keys import KeySet

# Offending values named per violated rule: enough to recognise the pattern, few enough to
# keep the message one line.
MAX_EXAMPLES = 5


@dataclass
class _ColumnCheck:
    column: ColumnSchema
    unique: KeySet | None
    counts: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)  # rule -> "value (file)"
    pending_examples: dict[str, list[str]] = field(default_factory=dict)

    def add_examples(self, label: str, values: pl.Series, file: str | None) -> None:
        """Keep up to MAX_EXAMPLES offending values per rule, each with its input file."""
        mine = self.pending_examples.setdefault(label, [])
        room = MAX_EXAMPLES - len(self.examples.get(label, [])) - len(mine)
        for value in values.head(max(0, room)).to_list():
            text = (
                "null" if value is None else repr(value) if isinstance(value, str) else str(value)
            )
            mine.append(f"{text} ({file})" if file else text)


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

    @property
    def reads_rows(self) -> bool:
        """Whether `observe` looks at the rows at all (some column has an assertion)."""
        return bool(self._checks)

    def observe(self, frame: pl.DataFrame, file: str | None = None) -> None:
        """Count the violations in one batch of rows (for a table: after `where`, before dedup)
        read from `file`, keeping the first offending values as examples."""
        if frame.is_empty():
            return
        predicates = {id(c): _violations(c.column) for c in self._checks}
        exprs = [
            rule.sum().alias(f"{c.column.name}\x00{label}")
            for c in self._checks
            for label, rule in predicates[id(c)].items()
        ]
        totals = frame.select(exprs).row(0, named=True) if exprs else {}
        for check in self._checks:
            name = check.column.name
            for label, rule in predicates[id(check)].items():
                value = totals.get(f"{name}\x00{label}")
                if value:
                    check.pending[label] = check.pending.get(label, 0) + int(value)
                    check.add_examples(label, frame.filter(rule).get_column(name), file)
            if check.unique is not None:
                values = frame.select(name).drop_nulls().with_row_index(_ROW)
                first = check.unique.first_new(values)
                duplicates = values.height - first.height
                if duplicates:
                    check.pending["unique"] = check.pending.get("unique", 0) + duplicates
                    repeated = values.filter(~pl.col(_ROW).is_in(first.get_column(_ROW).implode()))
                    check.add_examples("unique", repeated.get_column(name), file)

    def commit(self) -> None:
        for check in self._checks:
            for label, count in check.pending.items():
                check.counts[label] = check.counts.get(label, 0) + count
            for label, found in check.pending_examples.items():
                check.examples.setdefault(label, []).extend(found)
            check.pending = {}
            check.pending_examples = {}
            if check.unique is not None:
                check.unique.commit()

    def rollback(self) -> None:
        for check in self._checks:
            check.pending = {}
            check.pending_examples = {}
            if check.unique is not None:
                check.unique.rollback()

    def violations(self) -> list[str]:
        """One message per violated assertion, naming the column, the rule, the count and up
        to MAX_EXAMPLES offending values with their files:
        "column 'amount' violates min 0.0: 2 row(s), e.g. -5.0 (p/raw/a.csv), -1.0 (p/raw/b.csv)"
        """
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
                examples = check.examples.get(label, [])
                shown = f", e.g. {', '.join(examples)}" if examples else ""
                messages.append(
                    f"{self._subject} '{column.name}' violates {rule}: {count} row(s){shown}"
                )
        return messages


_ROW = INTERNAL + "assertion:row"


def _violations(column: ColumnSchema) -> dict[str, pl.Expr]:
    """Per rule (but `unique`, which needs the keys seen), the predicate of violating rows."""
    value = pl.col(column.name)
    a = column.assertions
    rules: dict[str, pl.Expr] = {}
    if not column.nullable or (a is not None and a.not_null):
        rules["not_null"] = value.is_null()
    if a is None:
        return rules
    if a.accepted_values:
        accepted = pl.Series(values=[_text(v) for v in a.accepted_values], dtype=pl.String)
        rules["accepted_values"] = value.is_not_null() & ~_as_text(value, column).is_in(
            accepted.implode()
        )
    if a.min is not None:
        rules["min"] = (_as_number(value, column) < a.min).fill_null(False)
    if a.max is not None:
        rules["max"] = (_as_number(value, column) > a.max).fill_null(False)
    return rules


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
