"""Load: spill a mapping's output rows to local Arrow pieces per partition, then write one
deterministic Parquet object per partition and upload it; prune stale objects on clean runs.

Spilling keeps memory bounded by the batch in flight while one partition may gather rows
from every input file; nothing reaches the store until the whole mapping has passed its checks.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

import polars as pl

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_FLUSH_BYTES = 64 * 1024 * 1024
ROW_GROUP_SIZE = 256 * 1024


def encode_segment(value: object, *, zero_pad: int = 0) -> str:
    """A partition value as a Hive path segment value (SPEC §3): ints unpadded (or zero-padded
    for `partition_by`), booleans true/false, dates ISO, strings percent-encoded."""
    if value is None or value == "":
        return HIVE_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value).zfill(zero_pad) if zero_pad else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


class Spill:
    """Output rows of one mapping, as Arrow IPC pieces per partition path, in ingest order.

    Pieces of the file being processed are pending until `commit`; `rollback` removes them.
    """

    def __init__(self, directory: Path, columns: list[str]) -> None:
        self._dir = directory
        self._columns = columns
        self._dir.mkdir(parents=True, exist_ok=True)
        self._committed: dict[str, list[Path]] = {}
        self._pending: dict[str, list[Path]] = {}
        self._buffer: dict[str, list[pl.DataFrame]] = {}
        self._buffered_bytes = 0
        self._sequence = 0
        self._pending_rows = 0
        self.rows = 0  # committed rows

    def add(self, segment: str, frame: pl.DataFrame) -> None:
        self._buffer.setdefault(segment, []).append(frame.select(self._columns))
        self._pending_rows += frame.height
        self._buffered_bytes += int(frame.estimated_size())
        if self._buffered_bytes > _FLUSH_BYTES:
            self._flush()

    def commit(self) -> None:
        self._flush()
        for segment, paths in self._pending.items():
            self._committed.setdefault(segment, []).extend(paths)
        self._pending = {}
        self.rows += self._pending_rows
        self._pending_rows = 0

    def rollback(self) -> None:
        self._pending_rows = 0
        self._buffer = {}
        self._buffered_bytes = 0
        for paths in self._pending.values():
            for path in paths:
                path.unlink(missing_ok=True)
        self._pending = {}

    def segments(self) -> dict[str, list[Path]]:
        """Partition path → its pieces in ingest order; sorted paths give a stable write order."""
        return {segment: self._committed[segment] for segment in sorted(self._committed)}

    def discard(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def _flush(self) -> None:
        for segment, frames in self._buffer.items():
            self._sequence += 1
            path = self._dir / f"{self._sequence:09d}.arrow"
            pl.concat(frames).write_ipc(path, compression="uncompressed")
            self._pending.setdefault(segment, []).append(path)
        self._buffer = {}
        self._buffered_bytes = 0


def write_parquet(pieces: Sequence[Path], schema: pl.Schema, target: Path) -> None:
    """Concatenate pieces into one Parquet file, streaming. Fixed row groups and settings keep
    the bytes identical for identical input; no pieces gives an empty file of the schema."""
    frame = pl.scan_ipc(list(pieces)) if pieces else pl.LazyFrame(schema=schema)
    frame.select(schema.names()).sink_parquet(
        target, compression="zstd", statistics=True, row_group_size=ROW_GROUP_SIZE
    )
