"""Streaming Parquet output: row groups at fixed multiples, whatever the memory pressure,
the cap on open files or the order of commits and rollbacks; the budget is the process's."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.engine.workspace import Workspace, make_config

from karet_worker.engine.limits import Limits
from karet_worker.engine.load import (
    MemoryBudget,
    RowGroupGrid,
    StagedOutput,
    Writers,
    arrow_rows,
)

SCHEMA = pl.Schema({"n": pl.Int64(), "s": pl.String()})


def _frame(start: int, stop: int) -> pl.DataFrame:
    return pl.DataFrame({"n": range(start, stop), "s": [f"v{i}" for i in range(start, stop)]})


def _rows(start: int, stop: int) -> pa.Table:
    return arrow_rows(_frame(start, stop))


def _write(tmp_path: Path, limits: Limits, budget: MemoryBudget, name: str) -> dict[str, bytes]:
    """Three 'files' of rows over two partitions; the second is rolled back half-way."""
    writers = Writers(limits)
    output = StagedOutput(tmp_path / name, SCHEMA, budget, writers)
    try:
        for start in (0, 1000):
            for offset in range(0, 1000, 70):
                frame = _frame(start + offset, start + min(offset + 70, 1000))
                output.add("p=a", arrow_rows(frame.filter(pl.col("n") % 3 == 0)))
                output.add("p=b", arrow_rows(frame.filter(pl.col("n") % 3 != 0)))
            if start == 1000:
                output.rollback()
            else:
                output.commit()
        for offset in range(2000, 2500, 70):
            output.add("p=a", _rows(offset, min(offset + 70, 2500)))
        output.commit()
        files = {}
        for segment, path, done in output.finish():
            done.result()
            files[segment] = path.read_bytes()
        assert output.rows == 1000 + 500
        return files
    finally:
        output.discard()
        writers.shutdown()


def test_bytes_do_not_depend_on_memory_pressure_or_open_files(tmp_path: Path) -> None:
    roomy = MemoryBudget(1 << 30)
    reference = _write(tmp_path, Limits(row_group_rows=100), roomy, "roomy")
    tight = MemoryBudget(1)  # every add exceeds it: callers spill everything
    assert roomy.used == 0
    assert _write(tmp_path, Limits(row_group_rows=100, open_files=1), tight, "tight") == reference


def test_row_groups_are_cut_on_the_grid(tmp_path: Path) -> None:
    files = _write(tmp_path, Limits(row_group_rows=100), MemoryBudget(1 << 30), "out")
    path = tmp_path / "a.parquet"
    path.write_bytes(files["p=a"])
    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [100] * 8 + [34]  # 334 rows of 0..999 divisible by 3, then 500 more
    rows = duckdb.sql(f"select n from read_parquet('{path}') order by n").fetchall()
    assert [n for (n,) in rows] == [n for n in range(1000) if n % 3 == 0] + list(range(2000, 2500))
    # the second partition's grid is staggered: its first group is 1/16 shorter
    path.write_bytes(files["p=b"])
    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [94] + [100] * 5 + [72]  # the 666 committed rows of 0..999


def test_the_grid_of_each_partition() -> None:
    assert RowGroupGrid.of(0, 16) == RowGroupGrid(first=16, size=16)
    assert RowGroupGrid.of(3, 16) == RowGroupGrid(first=13, size=16)
    assert RowGroupGrid.of(16, 16) == RowGroupGrid(first=16, size=16)
    grid = RowGroupGrid(first=4, size=10)
    assert grid.sizes(0, 30) == [4, 10, 10, 6]
    assert grid.sizes(14, 24) == [10]
    assert (grid.floor(3), grid.groups(3)) == (0, 0)
    assert (grid.floor(23), grid.groups(23)) == (14, 2)
    assert (grid.floor(24), grid.groups(24)) == (24, 3)


def test_spilling_keeps_row_order(tmp_path: Path) -> None:
    budget = MemoryBudget(1)
    writers = Writers(Limits(row_group_rows=1000, open_files=1))
    output = StagedOutput(tmp_path / "o", SCHEMA, budget, writers)
    try:
        for offset in range(0, 2500, 100):
            output.add("x", _rows(offset, offset + 100))
            output.add("y", _rows(offset, offset + 100))
            while budget.exceeded and output.largest_in_memory():
                output.spill_largest()
        output.commit()
        assert list((tmp_path / "o").glob("spill-*.arrow"))
        for _segment, path, done in output.finish():
            done.result()
            assert pl.read_parquet(path)["n"].to_list() == list(range(2500))
    finally:
        output.discard()
        writers.shutdown()
    assert budget.used == 0


def test_runs_share_the_process_budget_and_give_it_back(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("k", "int64"), ("v", "string")],
        table_schema=[("k", "int64"), ("v", "string")],
        table_extra={"partition_keys": ["k"]},
    )
    ws.config(config)
    ws.put("raw/a.csv", "k,v\n" + "".join(f"{i % 5},a{i}\n" for i in range(3000)))
    ws.put("raw/b.csv", "k,v\n" + "".join(f"{i % 5},b{i}\n" for i in range(3000)) + "1,x,extra\n")
    ws = ws.with_limits(Limits(row_group_rows=256))
    budget = ws.runner.budget
    first = ws.run()
    assert first.rows_written == 3000 and budget.used == 0
    assert ws.run().rows_written == 3000 and budget.used == 0  # same object, every run


@pytest.mark.parametrize("name", ["chunk_bytes", "memory_budget_bytes", "writers", "open_files"])
def test_limits_refuse_zero(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Limits(**{name: 0})


def test_limits_follow_the_cores() -> None:
    assert Limits.for_machine(cores=4).writers == 4
    assert Limits.for_machine(cores=1).writers == 2  # encoding still overlaps the main thread
    assert Limits.for_machine(cores=2, memory_budget_mb=64).memory_budget_bytes == 64 << 20


def test_engine_output_has_one_file_per_partition(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("k", "int64"), ("v", "string")],
        table_schema=[("k", "int64"), ("v", "string")],
        table_extra={"partition_keys": ["k"]},
    )
    ws.config(config)
    ws.put("raw/a.csv", "k,v\n" + "".join(f"{i % 3},a{i}\n" for i in range(1000)))
    ws = ws.with_limits(Limits(row_group_rows=64, open_files=2))  # k=2 waits for `finish`
    assert ws.run().partitions_written == 3
    assert ws.objects() == [f"clean/t/k={k}/m1.parquet" for k in range(3)]
    table = ws.read("t")
    assert table.height == 1000
    assert table.filter(pl.col("k") == 2)["v"].to_list() == [f"a{i}" for i in range(2, 1000, 3)]
