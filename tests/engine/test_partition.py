"""Preparing an evaluated batch for its output (`engine/partition.py`): the counts, the
`where`, and the cut by partition that the pool makes, or leaves to the run when it dedups."""

from __future__ import annotations

import json

import polars as pl
import pytest
from tests.engine.workspace import col, make_config

from karet_worker.config.validate import validate_json
from karet_worker.engine.load import arrow_rows
from karet_worker.engine.partition import Staging, pieces, prepare
from karet_worker.engine.transform import MappingPlan, apply_plan, plan_mapping
from karet_worker.expressions.lookups import LookupCompiler
from karet_worker.layout import UnsafeKey

SOURCE = {
    "region": ["eu", "us", "eu", None, "eu", "us"],
    "amount": ["1", "x", "3", "4", "-5", "6"],
}


def _plan() -> MappingPlan:
    config = make_config(
        source_schema=[("region", "string"), ("amount", "string")],
        table_schema=[("region", "string"), ("amount", "float64")],
        table_extra={"partition_keys": ["region"]},
        mapping_extra={
            "where": {"kind": "gt", "left": col("amount"), "right": {"kind": "num", "value": 0}}
        },
    )
    valid = validate_json(json.dumps(config).encode()).config
    assert valid is not None
    source, mapping, table = valid.source_containers[0], valid.mappings[0], valid.analytic_tables[0]
    return plan_mapping(mapping, table, source, LookupCompiler([], []))


def _batch(plan: MappingPlan, source: dict[str, list[str | None]] = SOURCE) -> pl.DataFrame:
    return apply_plan(plan, pl.LazyFrame(source)).collect()


def _tables(prepared_pieces: object) -> list[tuple[str, list[dict[str, object]]]]:
    assert hasattr(prepared_pieces, "tables")
    return [(segment, table.to_pylist()) for segment, table in prepared_pieces.tables]


def test_a_batch_is_counted_filtered_and_cut_in_order_of_first_appearance() -> None:
    plan = _plan()
    prepared = prepare(_batch(plan), Staging(plan, ["amount"], reads_rows=False, dedups=False))
    assert prepared.cast_failures == {"amount": 1}  # "x"
    assert (prepared.filtered, prepared.kept, prepared.rows) == (2, 4, None)  # "x", -5 dropped
    assert prepared.pieces is not None and prepared.pieces.null_partition_rows == 1
    assert _tables(prepared.pieces) == [
        ("region=eu", [{"amount": 1.0}, {"amount": 3.0}]),
        ("region=__HIVE_DEFAULT_PARTITION__", [{"amount": 4.0}]),
        ("region=us", [{"amount": 6.0}]),
    ]
    schema = arrow_rows(pl.DataFrame(schema={"amount": pl.Float64})).schema
    assert all(table.schema == schema for _, table in prepared.pieces.tables)


def test_a_mapping_that_dedups_gets_its_kept_rows_to_cut_after_dedup() -> None:
    """Which rows are new depends on the chunks before: the run dedups, then cuts the rest
    exactly as the pool would have."""
    plan = _plan()
    batch = _batch(plan)
    prepared = prepare(batch, Staging(plan, ["amount"], reads_rows=False, dedups=True))
    assert prepared.pieces is None and prepared.rows is not None
    assert prepared.rows.height == prepared.kept == 4
    direct = prepare(batch, Staging(plan, ["amount"], reads_rows=False, dedups=False))
    assert direct.pieces is not None
    assert _tables(pieces(prepared.rows, plan, ["amount"])) == _tables(direct.pieces)


def test_assertions_get_the_kept_rows() -> None:
    plan = _plan()
    prepared = prepare(_batch(plan), Staging(plan, ["amount"], reads_rows=True, dedups=False))
    assert prepared.rows is not None and prepared.rows["amount"].to_list() == [1.0, 3.0, 4.0, 6.0]
    assert prepared.pieces is not None


def test_a_preview_keeps_the_key_columns_in_table_order() -> None:
    plan = _plan()
    staging = Staging(plan, ["region", "amount"], reads_rows=False, dedups=False)
    prepared = prepare(_batch(plan), staging)
    assert _tables(prepared.pieces)[0] == (
        "region=eu",
        [{"region": "eu", "amount": 1.0}, {"region": "eu", "amount": 3.0}],
    )


def test_a_partition_value_too_long_for_a_key_is_refused() -> None:
    plan = _plan()
    batch = _batch(plan, {"region": ["x" * 2000], "amount": ["1"]})
    with pytest.raises(UnsafeKey, match="too long for a folder name"):
        prepare(batch, Staging(plan, ["amount"], reads_rows=False, dedups=False))


def test_each_piece_owns_just_its_rows_whatever_the_batch_chunks() -> None:
    """A piece waits in memory for its row group: if it shared the batch's buffers it would
    keep the whole batch alive. A batch of several chunks (one per parse block) is cut the
    same as one chunk."""
    plan = _plan()
    rows = 3_000
    source: dict[str, list[str | None]] = {
        "region": [f"r{i % 3}-{'long text ' * 10}" for i in range(rows)],
        "amount": [str(i + 1) for i in range(rows)],
    }
    one = _batch(plan, source)
    blocks = pl.concat([one.slice(start, 1_000) for start in range(0, rows, 1_000)], rechunk=False)
    assert blocks.n_chunks() > 1
    staging = Staging(plan, ["region", "amount"], reads_rows=False, dedups=False)
    cut_one, cut_blocks = prepare(one, staging).pieces, prepare(blocks, staging).pieces
    assert cut_one is not None and cut_blocks is not None
    assert _tables(cut_blocks) == _tables(cut_one)
    assert [segment.split("-")[0] for segment, _ in cut_one.tables] == [
        "region=r0",
        "region=r1",
        "region=r2",
    ]
    assert [t["amount"].to_pylist()[:2] for _, t in cut_one.tables] == [
        [1.0, 4.0],
        [2.0, 5.0],
        [3.0, 6.0],
    ]
    batch_bytes = arrow_rows(one.select("region", "amount")).get_total_buffer_size()
    for _, table in cut_one.tables:
        assert table.num_rows == 1_000
        # a third of the rows, a third of the bytes (give or take the validity bitmap)
        assert table.get_total_buffer_size() <= batch_bytes // 3 + 256
