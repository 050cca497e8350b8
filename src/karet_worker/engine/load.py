"""Load: stream a mapping's output rows into one local Parquet file per partition, a row group
at a time as each fills, and hand the files over for upload once the mapping passed its checks.

Every output row is encoded once, on writer threads, while the main thread transforms the next
chunk. A partition's rows are cut into row groups on a fixed grid (`RowGroupGrid`: a first
group of its own size, then `row_group_rows` each), so the bytes depend only on the input and
the settings — never on timing, on memory pressure or on other runs sharing the process's memory
budget (SPEC §6: reruns give identical objects).

Rows wait in memory until their row group is full. When all runs of the process together hold
more waiting rows than the memory budget, the largest waiting buffers are spilled to local Arrow
IPC files and read back when their row group is cut.

Per-file isolation: the rows of the input file being read are pending until `commit`. They may
already sit in a written row group; `rollback` (rare: an input found unusable half-way) then
rewrites that partition's file without them, keeping the row-group grid, so the result is the
file a run without that input would have written.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from karet_worker.engine.limits import Limits


def _parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """The one writer configuration (the bytes of the output depend on it). Snappy, like
    DuckDB's and Spark's default: half zstd's encoding time here. A column chunk whose
    dictionary passes 32 KB falls back to plain encoding early: low-cardinality columns
    (accounts, dates, lookup outputs) stay dictionary-encoded, free text and amounts stop
    paying for a dictionary that saves nothing (encoding -19% CPU, files -4% on the bench)."""
    return pq.ParquetWriter(
        path,
        schema,
        compression="snappy",
        write_statistics=True,
        dictionary_pagesize_limit=32 * 1024,
    )


def arrow_rows(frame: pl.DataFrame) -> pa.Table:
    """`frame` as Arrow with plain (large) strings, which the Parquet writer encodes: the rows
    `StagedOutput.add` takes. Polars' default export arrives at the same types a slower way:
    8.5 vs 5.6 CPU ms for the 49 partition pieces of one 80k-row chunk."""
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


# Partitions' first row groups are 1/_STAGGER apart in size (the n-th partition's holds
# row_group_rows * (1 - (n % _STAGGER) / _STAGGER) rows), so that partitions filling in step
# do not all cross a row-group mark on the same chunk: on the bench all 49 did, queueing up to
# 24 row groups (74 MB) for the writers at once and leaving them idle in between.
_STAGGER = 16


@dataclass(frozen=True)
class RowGroupGrid:
    """Where a partition's file is cut into row groups: after `first` rows, then every `size`.

    RowGroupGrid(first=4, size=10).sizes(0, 30)  # [4, 10, 10, 6]
    RowGroupGrid(first=4, size=10).floor(23)     # 14: rows in whole groups
    """

    first: int
    size: int

    @staticmethod
    def of(index: int, size: int) -> RowGroupGrid:
        """The grid of the `index`-th partition created (a function of the input only)."""
        return RowGroupGrid(size - (index % _STAGGER) * size // _STAGGER, size)

    def floor(self, rows: int) -> int:
        """The last mark at or before `rows`: the rows of the whole groups among them."""
        if rows < self.first:
            return 0
        return self.first + (rows - self.first) // self.size * self.size

    def groups(self, rows: int) -> int:
        """How many whole groups the first `rows` rows make."""
        end = self.floor(rows)
        return 0 if end == 0 else 1 + (end - self.first) // self.size

    def sizes(self, start: int, stop: int) -> list[int]:
        """Row-group sizes of rows `start` (a mark) to `stop`; the last may be partial."""
        sizes: list[int] = []
        while start < stop:
            mark = self.first if start < self.first else start + self.size
            sizes.append(min(mark, stop) - start)
            start += sizes[-1]
        return sizes


class MemoryBudget:
    """Bytes of waiting output rows that every run of the process may hold in memory together
    (SPEC §15: resources are bounded per process). Thread-safe; runs charge and release it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def charge(self, size: int) -> None:
        """Add (or, negative, remove) bytes held in memory."""
        with self._lock:
            self._used += size

    @property
    def used(self) -> int:
        return self._used

    @property
    def exceeded(self) -> bool:
        return self._used > self.limit


class Writers:
    """One run's Parquet encoding: a bounded thread pool, a cap on row groups waiting for it
    (the main thread blocks past it: back-pressure) and a cap on open partition files."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.pool = ThreadPoolExecutor(limits.writers, thread_name_prefix="karet-write")
        self._slots = threading.BoundedSemaphore(limits.writer_queue)
        self.open_files = 0

    def submit(self, after: Future[None] | None, task: Callable[[], None]) -> Future[None]:
        """Run `task` on a writer once `after` (the partition's previous write) has finished.
        Writes of one partition are submitted in order to a FIFO pool, so `after` has started
        before `task` can: waiting on it cannot deadlock."""
        self._slots.acquire()

        def run() -> None:
            try:
                if after is not None:
                    after.result()
                task()
            finally:
                self._slots.release()

        return self.pool.submit(run)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Piece:
    """A run of waiting rows: in memory, or spilled to a local Arrow IPC file."""

    rows: int
    table: pa.Table | None
    path: Path | None = None

    def load(self) -> pa.Table:
        if self.table is not None:
            return self.table
        assert self.path is not None
        with pa.memory_map(str(self.path)) as source:
            return pa.ipc.open_file(source).read_all()

    def drop(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass
class _Partition:
    """One partition of one mapping: its staging file and the rows waiting for a row group."""

    segment: str
    path: Path
    schema: pa.Schema
    grid: RowGroupGrid
    waiting: list[_Piece] = field(default_factory=list)
    waiting_rows: int = 0
    memory_bytes: int = 0  # of waiting pieces held in memory
    file_rows: int = 0  # rows handed to the writer (whole row groups until the final write)
    added: int = 0
    committed: int = 0
    streaming: bool = False  # has a file open for row groups as they fill
    last: Future[None] | None = None  # the latest write submitted for this file
    writer: pq.ParquetWriter | None = None  # used on writer threads only, one write at a time

    def write(self, table: pa.Table, sizes: list[int], close: bool) -> None:
        """Append `table` to the file as row groups of `sizes` rows (whole groups of the grid,
        except the final write's last)."""
        if self.writer is None:
            self.writer = _parquet_writer(self.path, self.schema)
        offset = 0
        for size in sizes:
            self.writer.write_table(table.slice(offset, size), row_group_size=size)
            offset += size
        if close:
            self.writer.close()
            self.writer = None

    def wait(self) -> None:
        if self.last is not None:
            self.last.result()


class StagedOutput:
    """A mapping's output rows by partition path, streamed into local Parquet files.

    `add` appends rows of the input being read (pending until `commit`; `rollback` drops them),
    `finish` completes every file once the mapping passed its checks, `discard` throws all away.
    """

    def __init__(
        self,
        directory: Path,
        schema: pl.Schema,
        budget: MemoryBudget,
        writers: Writers,
    ) -> None:
        self._dir = directory
        self._arrow_schema = arrow_rows(pl.DataFrame(schema=schema)).schema
        self._budget = budget
        self._writers = writers
        self._rows_per_group = writers.limits.row_group_rows
        self._partitions: dict[str, _Partition] = {}
        self._spills = 0

    @property
    def rows(self) -> int:
        """Committed rows."""
        return sum(p.committed for p in self._partitions.values())

    def add(self, segment: str, table: pa.Table) -> None:
        """Rows of the partition `segment`, with the output's columns (`arrow_rows`)."""
        if not table.num_rows:
            return
        if table.schema != self._arrow_schema:
            raise ValueError(f"rows of {table.schema} added to an output of {self._arrow_schema}")
        partition = self._partitions.get(segment)
        if partition is None:
            self._dir.mkdir(parents=True, exist_ok=True)
            index = len(self._partitions)
            path = self._dir / f"{index:06d}.parquet"
            grid = RowGroupGrid.of(index, self._rows_per_group)
            partition = _Partition(segment, path, self._arrow_schema, grid)
            self._partitions[segment] = partition
        size = int(table.get_total_buffer_size())
        partition.waiting.append(_Piece(table.num_rows, table))
        partition.waiting_rows += table.num_rows
        partition.memory_bytes += size
        partition.added += table.num_rows
        self._budget.charge(size)
        end = partition.grid.floor(partition.file_rows + partition.waiting_rows)
        if end > partition.file_rows and self._may_stream(partition):
            self._cut(partition, end)

    def commit(self) -> None:
        for partition in self._partitions.values():
            partition.committed = partition.added

    def rollback(self) -> None:
        for segment, partition in list(self._partitions.items()):
            if partition.added == partition.committed:
                continue
            if partition.file_rows > partition.committed:
                self._rewrite(partition)
            else:
                self._truncate_waiting(partition, partition.committed - partition.file_rows)
            partition.added = partition.committed
            if partition.added == 0 and partition.file_rows == 0:
                partition.wait()
                self._close(partition)
                partition.path.unlink(missing_ok=True)
                del self._partitions[segment]

    def largest_in_memory(self) -> int:
        """Bytes of this output's largest in-memory waiting buffer (0: nothing to spill)."""
        return max((p.memory_bytes for p in self._partitions.values()), default=0)

    def spill_largest(self) -> None:
        """Write the largest in-memory waiting buffer to a local Arrow file. Spilled pieces
        always precede in-memory ones (a cut takes every waiting piece), so the in-memory
        tail becomes one file and the order of rows is kept."""
        partition = max(self._partitions.values(), key=lambda p: p.memory_bytes)
        tables = [piece.table for piece in partition.waiting if piece.table is not None]
        if not tables:
            return
        self._spills += 1
        path = self._dir / f"spill-{self._spills:09d}.arrow"
        # Uncompressed: lz4 made reading back slower than it saved (bench/README.md).
        with pa.ipc.new_file(str(path), self._arrow_schema) as spill:
            for table in tables:
                spill.write_table(table)
        spilled = [piece for piece in partition.waiting if piece.table is None]
        rows = sum(table.num_rows for table in tables)
        partition.waiting = [*spilled, _Piece(rows, None, path)]
        self._budget.charge(-partition.memory_bytes)
        partition.memory_bytes = 0

    def segments(self, *, empty_file: bool = False) -> list[str]:
        """The partition paths `finish` will write, sorted (a stable write order)."""
        if empty_file and not self._partitions:
            return [""]
        return sorted(self._partitions)

    def finish(self, *, empty_file: bool = False) -> Iterator[tuple[str, Path, Future[None]]]:
        """Write every partition's remaining rows and close its file: (segment, local file,
        the write to wait for) in `segments` order. `empty_file`: a mapping without partitions
        and without rows still gets one file holding only the schema."""
        if empty_file and not self._partitions:
            self._dir.mkdir(parents=True, exist_ok=True)
            path = self._dir / "empty.parquet"
            grid = RowGroupGrid.of(0, self._rows_per_group)
            partition = _Partition("", path, self._arrow_schema, grid)
            self._partitions[""] = partition
        for segment in sorted(self._partitions):
            partition = self._partitions[segment]
            sizes = partition.grid.sizes(
                partition.file_rows, partition.file_rows + partition.waiting_rows
            )
            table = self._take(partition, partition.waiting_rows)
            partition.streaming = True
            task = partial(partition.write, table, sizes, True)
            partition.last = self._writers.submit(partition.last, task)
            yield segment, partition.path, partition.last

    def discard(self) -> None:
        """Drop everything: waiting rows (memory back to the budget) and local files. Safe to
        call after `finish`, twice, or after a failed write."""
        pending = [p.last for p in self._partitions.values() if p.last is not None]
        wait(pending)  # a failed write has already failed the run: only stop using the files
        for partition in self._partitions.values():
            with suppress(OSError):
                self._close(partition)
            self._budget.charge(-partition.memory_bytes)
            partition.memory_bytes = 0
        self._partitions = {}
        shutil.rmtree(self._dir, ignore_errors=True)

    # ------------------------------------------------------------------ internals

    def _may_stream(self, partition: _Partition) -> bool:
        if partition.streaming:
            return True
        if self._writers.open_files >= self._writers.limits.open_files:
            return False  # waits (spilled under pressure) and is written by `finish`
        self._writers.open_files += 1
        partition.streaming = True
        return True

    def _cut(self, partition: _Partition, end: int) -> None:
        """Hand the waiting rows up to the grid's mark `end` (whole row groups) to a writer."""
        sizes = partition.grid.sizes(partition.file_rows, end)
        table = self._take(partition, end - partition.file_rows)
        partition.file_rows = end
        task = partial(partition.write, table, sizes, False)
        partition.last = self._writers.submit(partition.last, task)

    def _take(self, partition: _Partition, rows: int) -> pa.Table:
        """Remove the first `rows` waiting rows, as one table."""
        tables = [piece.load() for piece in partition.waiting]
        for piece in partition.waiting:
            piece.drop()  # a spilled file stays readable while its table is in use
        rest = pa.concat_tables(tables) if tables else self._arrow_schema.empty_table()
        taken = rest.slice(0, rows)
        self._keep_waiting(partition, rest.slice(rows))
        return taken

    def _truncate_waiting(self, partition: _Partition, rows: int) -> None:
        """Keep only the first `rows` waiting rows."""
        self._keep_waiting(partition, self._take(partition, rows))

    def _keep_waiting(self, partition: _Partition, table: pa.Table) -> None:
        """Make `table` the partition's only waiting rows, in memory."""
        self._budget.charge(-partition.memory_bytes)
        partition.memory_bytes = int(table.get_total_buffer_size()) if table.num_rows else 0
        self._budget.charge(partition.memory_bytes)
        partition.waiting = [_Piece(table.num_rows, table)] if table.num_rows else []
        partition.waiting_rows = table.num_rows

    def _rewrite(self, partition: _Partition) -> None:
        """Pending rows reached the file: rewrite it with the committed whole row groups and
        put the committed rest of the next group back to wait (same grid, same bytes)."""
        partition.wait()
        self._close(partition)
        keep_groups = partition.grid.groups(partition.committed)
        kept_rows = partition.grid.floor(partition.committed)
        rest = partition.committed - kept_rows
        old = partition.path.with_suffix(".old")
        partition.path.replace(old)
        source = pq.ParquetFile(old)
        for piece in partition.waiting:  # every waiting row is pending: it came after the file's
            piece.drop()
        tail = self._arrow_schema.empty_table()
        if rest:
            tail = source.read_row_group(keep_groups).slice(0, rest)
        self._keep_waiting(partition, tail)
        partition.file_rows = kept_rows
        if keep_groups:
            writer = _parquet_writer(partition.path, partition.schema)
            for index in range(keep_groups):
                writer.write_table(source.read_row_group(index))
            partition.writer = writer
        else:
            self._writers.open_files -= 1
            partition.streaming = False
        source.close()
        old.unlink()

    def _close(self, partition: _Partition) -> None:
        if partition.writer is not None:
            partition.writer.close()
            partition.writer = None
