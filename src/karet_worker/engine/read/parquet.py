"""Parquet files (SPEC §13): the declared columns, by name, in batches of about `chunk_bytes`
of uncompressed data, converted to the declared types.

Conversion is the non-strict one of the `cast` expression and of table output types
(`to_declared`): a text column is parsed as CSV text is (SPEC §3: `"007"` stays text in a
`string` column), an Int32 becomes a `number`, a Datetime a `date` or a `timestamp`. A value
that is present but does not convert, or is no plausible value (an infinite or NaN float, a
date outside years 1-9999: `base.plausible`), becomes null and is counted. A column the file
lacks, or whose type nothing converts (a list, a struct), skips the file with an error naming
it.

    file columns {id: Int32, amount: String}, schema [id: int64, amount: number]
    → TypedChunk(frame=<id: Int64, amount: Float64>, unparsed={"amount": <non-numbers>})
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from karet_worker.config.model import ColumnSchema, SourceContainer
from karet_worker.engine.read.base import (
    CHUNK_BYTES,
    BadInputFile,
    ColumnRead,
    TypedChunk,
    typed_columns,
)
from karet_worker.expressions.coerce import (
    UnsupportedType,
    declared_dtype,
    normalize_dtype,
    to_declared,
)

# Rows per batch are derived from the file's own bytes per row, within these bounds: a batch
# of fewer rows costs more in per-batch overhead than it saves in memory.
_MIN_BATCH_ROWS = 1_024
_MAX_BATCH_ROWS = 1_048_576


def read_parquet(
    path: Path, key: str, source: SourceContainer, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[TypedChunk]:
    """The file's rows as typed chunks (see `read_source_file`)."""
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise BadInputFile(f"not a readable Parquet file ({_first_line(exc)})") from None
    with file:
        found = file.schema_arrow.names
        missing = [c.name for c in source.columns if c.name not in found]
        if missing:
            raise BadInputFile(
                f"missing column(s) {', '.join(repr(m) for m in missing)}; "
                f"columns found: {', '.join(repr(f) for f in found) or '(none)'}"
            )
        wanted = list(dict.fromkeys(c.name for c in source.columns))
        batches = file.iter_batches(
            batch_size=batch_rows(file.metadata, chunk_bytes), columns=wanted, use_threads=False
        )
        reads: list[ColumnRead] | None = None
        try:
            for batch in batches:
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                if reads is None:
                    reads = _conversion(frame.schema, source.columns)
                yield typed_columns(frame, reads)
        except (pa.ArrowException, OSError) as exc:
            raise BadInputFile(f"not a readable Parquet file ({_first_line(exc)})") from None


def batch_rows(metadata: pq.FileMetaData, chunk_bytes: int) -> int:
    """Rows per batch so that a batch holds about `chunk_bytes` of uncompressed data."""
    rows = int(metadata.num_rows)
    size = sum(int(metadata.row_group(i).total_byte_size) for i in range(metadata.num_row_groups))
    if rows == 0 or size == 0:
        return _MIN_BATCH_ROWS
    return max(_MIN_BATCH_ROWS, min(_MAX_BATCH_ROWS, chunk_bytes * rows // size))


def _conversion(schema: pl.Schema, columns: list[ColumnSchema]) -> list[ColumnRead]:
    """Per declared column, the expression converting the file's column; values are counted
    unless the column is already of the declared type and every value of it is plausible."""
    reads: list[ColumnRead] = []
    for column in columns:
        raw = pl.col(column.name)
        have = schema[column.name]
        try:
            dtype, needs_cast = normalize_dtype(have)
        except UnsupportedType:
            raise BadInputFile(
                f"column {column.name!r} has type {have} in the file, which cannot be read "
                f"as {column.type}"
            ) from None
        wanted = declared_dtype(column.type)
        value = to_declared(raw.cast(dtype) if needs_cast else raw, dtype, column.type)
        counted = have != wanted or _may_be_implausible(wanted)
        reads.append(ColumnRead(column, column.name, value, counted))
    return reads


def _may_be_implausible(dtype: pl.DataType) -> bool:
    """Whether `plausible` may null a value already of this type: a file may hold infinite or
    NaN floats and dates past year 9999 (Arrow's dates reach year ±5.8 million)."""
    return dtype.is_float() or dtype == pl.Date or isinstance(dtype, pl.Datetime)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
