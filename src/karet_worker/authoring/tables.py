"""What a pipeline has written: per table its partitions, files, rows, bytes and when it was
last written, read from the Parquet footers alone (SPEC §14).

One ranged request per file fetches its last FOOTER_GUESS bytes, which hold the footer of
every file the engine writes (a few KB: one row group per 128k rows); a larger footer costs a
second request for exactly its size. No data page is ever read.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from karet_worker.config.validate import validate_json
from karet_worker.layout import CLEAN_DIR, PipelineKeys
from karet_worker.storage.base import ObjectInfo, ObjectNotFound, ObjectStore

FOOTER_GUESS = 64 * 1024
_MAGIC = b"PAR1"


class PipelineNotFound(Exception):
    """Neither a config nor any output under the prefix (API: 404)."""

    def __init__(self, prefix: str) -> None:
        super().__init__(f"no pipeline at {prefix}: neither {prefix}pipeline.json nor output")
        self.prefix = prefix


@dataclass
class PartitionSummary:
    """One partition directory of a table (`path` "" for an unpartitioned table)."""

    path: str
    files: int = 0
    rows: int = 0
    bytes: int = 0
    last_written: datetime | None = None


@dataclass
class TableSummary:
    table_id: str
    declared: bool  # in the current config; False = output of a table the config dropped
    files: int = 0
    rows: int = 0
    bytes: int = 0
    last_written: datetime | None = None
    partitions: list[PartitionSummary] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "<key>: <reason>"


def table_summaries(
    store: ObjectStore, prefix: str, *, concurrency: int = 8, footer_guess: int = FOOTER_GUESS
) -> list[TableSummary]:
    """Every table of the pipeline at `prefix`: those the config declares (also when nothing
    was written yet) and those found under `<prefix>clean/`, sorted by id.

    `table_summaries(store, "pipelines/demo/")` -> [TableSummary("transactions", True,
    files=6, rows=23, partitions=[PartitionSummary("year=2024/month=01", ...), ...])]"""
    clean = prefix + CLEAN_DIR
    objects = [o for o in store.list(clean) if o.key.endswith(".parquet")]
    declared = _declared_tables(store, prefix)
    if declared is None and not objects:
        raise PipelineNotFound(prefix)
    tables = {t: TableSummary(t, declared=True) for t in declared or []}
    by_partition: dict[tuple[str, str], list[ObjectInfo]] = defaultdict(list)
    for info in objects:
        table_id, _, rest = info.key[len(clean) :].partition("/")
        partition = rest.rpartition("/")[0]
        tables.setdefault(table_id, TableSummary(table_id, declared=False))
        by_partition[(table_id, partition)].append(info)
    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="karet-footer") as pool:
        counts = pool.map(lambda o: _row_count(store, o, footer_guess), objects)
        footers = dict(zip(objects, counts, strict=True))
    for (table_id, path), infos in sorted(by_partition.items()):
        table = tables[table_id]
        part = PartitionSummary(path)
        for info in infos:
            rows = footers[info]
            if isinstance(rows, str):
                table.unreadable.append(f"{info.key}: {rows}")
                continue
            part.files += 1
            part.rows += rows
            part.bytes += info.size
            part.last_written = _latest(part.last_written, info.last_modified)
        table.partitions.append(part)
        table.files += part.files
        table.rows += part.rows
        table.bytes += part.bytes
        table.last_written = _latest(table.last_written, part.last_written)
    return [tables[t] for t in sorted(tables)]


def _declared_tables(store: ObjectStore, prefix: str) -> list[str] | None:
    """The table ids of the stored config; None without a config. An invalid config still
    lets the output be inspected: its tables are then those found under clean/."""
    try:
        raw = store.get(PipelineKeys(prefix).config)
    except ObjectNotFound:
        return None
    config = validate_json(raw).config
    return [] if config is None else [t.id for t in config.analytic_tables]


def _row_count(store: ObjectStore, info: ObjectInfo, footer_guess: int) -> int | str:
    """The row count from the file's footer, or the reason it cannot be read."""
    if info.size < 12:
        return "not a Parquet file (too short)"
    try:
        tail = store.get_range(info.key, max(0, info.size - footer_guess), info.size)
        if tail[-4:] != _MAGIC:
            return "not a Parquet file (no PAR1 footer)"
        length = struct.unpack("<I", tail[-8:-4])[0]
        if length + 8 > info.size:
            return "not a Parquet file (footer length past the start)"
        if length + 8 > len(tail):
            tail = store.get_range(info.key, info.size - length - 8, info.size)
        metadata = pq.read_metadata(pa.BufferReader(tail[-(length + 8) :]))
    except ObjectNotFound:
        return "deleted while being read"
    except (pa.ArrowException, OSError) as exc:
        return f"unreadable Parquet footer ({str(exc).splitlines()[0] if str(exc) else exc})"
    return int(metadata.num_rows)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def summaries_body(prefix: str, tables: list[TableSummary]) -> dict[str, object]:
    """The `GET /pipelines/{slug}/tables` answer; `tables --json` prints it too."""

    def when(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    return {
        "pipeline_prefix": prefix,
        "tables": [
            {
                "table_id": t.table_id,
                "declared": t.declared,
                "files": t.files,
                "rows": t.rows,
                "bytes": t.bytes,
                "last_written": when(t.last_written),
                "partitions": [
                    {
                        "path": p.path,
                        "files": p.files,
                        "rows": p.rows,
                        "bytes": p.bytes,
                        "last_written": when(p.last_written),
                    }
                    for p in t.partitions
                ],
                "unreadable": t.unreadable,
            }
            for t in tables
        ],
    }
