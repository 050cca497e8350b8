"""Source readers: one input file → typed chunks of rows, whatever the file's format.

The run calls `read_source_file` only; each format lives in its own module next to this one.
Adding a format = a module with a `read_<format>(path, key, source, chunk_bytes=...)` function
and one arm in the `match` below.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import assert_never

from karet_worker.config.model import SourceContainer
from karet_worker.engine.read.base import CHUNK_BYTES, BadInputFile, SkippedRecords, TypedChunk
from karet_worker.engine.read.csv import read_csv
from karet_worker.engine.read.ndjson import read_ndjson
from karet_worker.engine.read.parquet import read_parquet

__all__ = ["CHUNK_BYTES", "BadInputFile", "SkippedRecords", "TypedChunk", "read_source_file"]


def read_source_file(
    path: Path, key: str, source: SourceContainer, *, chunk_bytes: int = CHUNK_BYTES
) -> Generator[TypedChunk, None, None]:
    """The rows of the local file `path` (stored as `key`, whose suffix tells e.g. gzip) as
    typed chunks of about `chunk_bytes` input bytes each. Raises `BadInputFile` (at any chunk)
    when the file cannot be used; the chunks already yielded must then be discarded."""
    fmt = source.format
    match fmt:
        case "csv":
            yield from read_csv(path, key, source, chunk_bytes=chunk_bytes)
        case "ndjson":
            yield from read_ndjson(path, key, source, chunk_bytes=chunk_bytes)
        case "parquet":
            yield from read_parquet(path, key, source, chunk_bytes=chunk_bytes)
        case _:
            assert_never(fmt)
