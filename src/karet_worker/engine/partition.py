"""A mapping's evaluated batch made ready for its output (SPEC §6): failed casts counted, the
`where` applied, the kept rows cut by partition and exported to Arrow for the Parquet writer.

Pure, so the run does it on its pool, two chunks at once, while the main thread stages the
chunk before: the cut and the export were 4 of the main thread's 7.6 s at plain-1gb, which
then went 7.3 → 6.85 s (bench/README.md "Round seven"). Only a mapping that dedups leaves the
cut to the main thread, because which rows are new depends on every chunk before (`prepare`
then hands over the kept rows, and the run calls `pieces` after dedup).

    prepare(batch, Staging(plan, columns=["amount"], reads_rows=False, dedups=False))
    # Prepared(cast_failures={"amount": 1}, filtered=2, kept=5, rows=None,
    #          pieces=Pieces(tables=[("year=2024", <pyarrow.Table: 5 rows, amount>)],
    #                        null_partition_rows=0))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import polars as pl
import pyarrow as pa

from karet_worker.engine.columns import ROW_INDEX, WHERE_FLAG, flag_counts
from karet_worker.engine.load import arrow_rows
from karet_worker.engine.transform import MappingPlan
from karet_worker.layout import partition_path


@dataclass(frozen=True)
class Staging:
    """How the batches of one mapping are prepared, fixed for a run."""

    plan: MappingPlan
    columns: list[str]  # the output columns, in order (a run: the payload; a preview: all)
    reads_rows: bool  # the table's assertions read the kept rows
    dedups: bool  # the table has dedup keys: the run dedups, then cuts


class Pieces(NamedTuple):
    """Rows by partition: (path segment, the rows as Arrow with the output columns), in the
    order the partitions first appear; and the rows with a null partition value."""

    tables: list[tuple[str, pa.Table]]
    null_partition_rows: int


class Prepared(NamedTuple):
    """One mapping's batch, ready for the run to count and stage."""

    cast_failures: dict[str, int]  # output column -> values that failed its table type
    filtered: int  # rows the `where` dropped
    kept: int  # rows it kept
    rows: pl.DataFrame | None  # the kept rows, when the run reads them (dedup, assertions)
    pieces: Pieces | None  # None when the run dedups first


def prepare(batch: pl.DataFrame, staging: Staging) -> Prepared:
    """Count, filter and (unless the mapping dedups) cut one evaluated batch."""
    plan = staging.plan
    kept = batch if plan.where is None else batch.filter(pl.col(WHERE_FLAG))
    cut = None if staging.dedups else pieces(kept, plan, staging.columns)
    return Prepared(
        cast_failures=flag_counts(batch, plan.cast_flags),
        filtered=batch.height - kept.height,
        kept=kept.height,
        rows=kept if staging.dedups or staging.reads_rows else None,
        pieces=cut,
    )


def pieces(rows: pl.DataFrame, plan: MappingPlan, columns: list[str]) -> Pieces:
    """`rows` by partition, each piece with `columns` in order, in one pass over the batch.

    The rows are gathered in partition order (partitions in the order they first appear, rows
    in batch order within each) and exported to Arrow at once; each piece is then copied out
    of that table, so it owns just its rows: a piece that shares the batch's buffers would keep
    them all alive while it waits for its row group (49 pieces of one 8 MB chunk, cut by
    `partition_by`, held 316 MB between them). One export and 49 copies took 9.3-9.7 ms per
    78k-row batch of the bench, `partition_by` and 49 exports 13.7-18.5 ms (bench/README.md
    "Round eight")."""
    if not plan.partition_columns:
        return Pieces([("", arrow_rows(rows.select(columns)))], 0)
    keys = plan.partition_columns
    shown = set(keys) & set(columns)
    assert not shown or shown == set(keys), "keys are all table columns or all path parts"
    assert set(columns) - set(keys), "validation keeps a table column out of the keys"
    groups = (
        rows.select(keys)
        .with_row_index(ROW_INDEX)
        .group_by(keys, maintain_order=True)
        .agg(pl.col(ROW_INDEX))
    )
    # Rechunked first: Polars gathers a batch of several chunks (one per parse block) by
    # copying its strings (6.5 ms for 78k rows), one chunk by moving their views (1 ms).
    ordered = rows.select(columns).rechunk()[groups[ROW_INDEX].explode()]
    table = arrow_rows(ordered)
    tables: list[tuple[str, pa.Table]] = []
    nulls = start = 0
    for values, length in zip(
        groups.select(keys).iter_rows(), groups[ROW_INDEX].list.len(), strict=True
    ):
        tables.append((segment(plan, values), _owned(table.slice(start, length))))
        nulls += length if None in values else 0
        start += length
    return Pieces(tables, nulls)


def _owned(table: pa.Table) -> pa.Table:
    """A copy of `table` (a slice) with buffers of its own, just its rows long."""
    return pa.Table.from_arrays(
        [pa.concat_arrays(column.chunks) for column in table.columns], schema=table.schema
    )


def segment(plan: MappingPlan, values: tuple[object, ...]) -> str:
    """`k1=v1/k2=v2`; `partition_by` pads year to 4 digits and month/day to 2. Raises
    `UnsafeKey` for a value too long for a folder name."""
    padded = plan.mapping.partition_by is not None
    pads = [(4 if name == "year" else 2) if padded else 0 for name in plan.partition_names]
    return partition_path(plan.partition_names, values, pads)
