"""Load: spill a mapping's output rows to local Arrow pieces per partition, then write one
deterministic Parquet object per partition and upload it; prune stale objects on clean runs.

Spilling keeps memory bounded by the batch in flight while one partition may gather rows
from every input file; nothing reaches the store until the whole mapping has passed its checks.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import polars as pl

# Output rows held in memory per run before spilling. 192 MB bought no speed over 96 MB and
# cost 100-250 MB of peak RSS (bench/README.md, "Memory").
MEMORY_BUDGET = 96 * 1024 * 1024
# 128k rows, about DuckDB's default (122,880): the writers' buffers scale with it.
ROW_GROUP_SIZE = 128 * 1024


Part = Path | pl.DataFrame  # spilled to a local Arrow file, or still in memory


class MemoryBudget:
    """The bytes of output all spills of a run may hold in memory together; past it, the
    spill holding the most writes its buffered rows to disk."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MEMORY_BUDGET if limit is None else limit
        self._spills: list[Spill] = []

    def register(self, spill: Spill) -> None:
        self._spills.append(spill)

    def check(self) -> None:
        while sum(s.buffered_bytes for s in self._spills) > self.limit:
            biggest = max(self._spills, key=lambda s: s.buffered_bytes)
            if biggest.buffered_bytes == 0:
                return
            biggest.flush()


class Spill:
    """Output rows of one mapping per partition path, in ingest order: in memory while the
    run's memory budget allows, then spilled to local Arrow IPC files.

    Parts of the file being processed are pending until `commit`; `rollback` drops them.
    """

    def __init__(self, directory: Path, columns: list[str], budget: MemoryBudget) -> None:
        self._dir = directory
        self._columns = columns
        self._budget = budget
        budget.register(self)
        self._committed: dict[str, list[Part]] = {}
        self._pending: dict[str, list[Part]] = {}
        self.buffered_bytes = 0
        self._sequence = 0
        self._pending_rows = 0
        self.rows = 0  # committed rows

    def add(self, segment: str, frame: pl.DataFrame) -> None:
        self._pending.setdefault(segment, []).append(frame.select(self._columns))
        self._pending_rows += frame.height
        self.buffered_bytes += int(frame.estimated_size())
        self._budget.check()

    def commit(self) -> None:
        for segment, parts in self._pending.items():
            self._committed.setdefault(segment, []).extend(parts)
        self._pending = {}
        self.rows += self._pending_rows
        self._pending_rows = 0

    def rollback(self) -> None:
        for parts in self._pending.values():
            for part in parts:
                if isinstance(part, Path):
                    part.unlink(missing_ok=True)
                else:
                    self.buffered_bytes -= int(part.estimated_size())
        self._pending = {}
        self._pending_rows = 0

    def segments(self) -> dict[str, list[Part]]:
        """Partition path → its parts in ingest order; sorted paths give a stable write order."""
        return {segment: self._committed[segment] for segment in sorted(self._committed)}

    def discard(self) -> None:
        self._committed = {}
        self._pending = {}
        self.buffered_bytes = 0
        shutil.rmtree(self._dir, ignore_errors=True)

    def flush(self) -> None:
        """Spill the in-memory tail of every part list (frames added since the last flush)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        for parts_by_segment in (self._committed, self._pending):
            for parts in parts_by_segment.values():
                tail = len(parts)
                while tail > 0 and isinstance(parts[tail - 1], pl.DataFrame):
                    tail -= 1
                frames = [p for p in parts[tail:] if isinstance(p, pl.DataFrame)]
                if not frames:
                    continue
                self._sequence += 1
                path = self._dir / f"{self._sequence:09d}.arrow"
                pl.concat(frames, rechunk=False).write_ipc(path, compression="uncompressed")
                parts[tail:] = [path]
        self.buffered_bytes = 0


def write_parquet(parts: Sequence[Part], schema: pl.Schema, target: Path) -> None:
    """Concatenate parts into one Parquet file, streaming. Fixed row groups and settings keep
    the bytes identical for identical input; no parts gives an empty file of the schema.
    Snappy, like DuckDB's and Spark's default: half the encoding time of zstd here."""
    frames = [pl.scan_ipc(p) if isinstance(p, Path) else p.lazy() for p in parts]
    # One part at a time: a parallel concat reads ahead in many spilled parts at once, and
    # the load phase's memory then grew with the partition's size.
    frame = pl.concat(frames, parallel=False) if frames else pl.LazyFrame(schema=schema)
    frame.select(schema.names()).sink_parquet(
        target, compression="snappy", statistics=True, row_group_size=ROW_GROUP_SIZE
    )
