"""File-backed dimensions (SPEC §13): at run start, read the reference rows kept under a
dimension's `path_prefix` and compile them into the one lookup matcher.

`path_prefix` is a key prefix in the bucket, from its root (SPEC §13; the later Rust worker
read it from the root of its data-lake bucket, so configs of that era run unchanged):
reference tables are shared by pipelines. A source's `path_prefix`, by contrast, is relative to
the pipeline prefix (SPEC §3). Every `.csv`, `.csv.gz` and `.parquet` key under it is read, in
key order, with the readers of sources: a CSV by header name, a Parquet file by column name,
every value as text.

    {"id": "sections", "rows": {"path_prefix": "reference/sections/", "key": "path",
                                "values": ["section"]}}
    reference/sections/a.csv = "path,section\n/blog/,Blog\n/shop/,Shop\n"
    → a matcher giving "Blog" for "/blog/"

Anything that makes the rows unusable — no file, a file that cannot be read or lacks a
column, more than MAX_DIMENSION_ROWS rows (reading stops there), a repeated exact key — is a
`DimensionRowsError` naming the dimension; the run reports it and does not run the mappings
that use the dimension.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from karet_worker.config.model import (
    SOURCE_SUFFIXES,
    Dimension,
    FileDimensionRows,
    SourceContainer,
    SourceFormat,
)
from karet_worker.engine.extract import removing
from karet_worker.engine.read import BadInputFile, read_source_file
from karet_worker.expressions.lookups import (
    MAX_DIMENSION_ROWS,
    DimensionRowsError,
    Matcher,
    compile_dimension,
)
from karet_worker.layout import UnsafeKey, reference_prefix
from karet_worker.storage.base import ObjectStore

_READ_FORMATS: tuple[SourceFormat, ...] = ("csv", "parquet")


def load_dimension(
    store: ObjectStore,
    dimension: Dimension,
    spec: FileDimensionRows,
    workdir: Path,
    *,
    max_rows: int = MAX_DIMENSION_ROWS,
) -> Matcher:
    """The matcher of a file-backed dimension, from the files under its `path_prefix`."""
    try:
        prefix = reference_prefix(spec.path_prefix)
    except UnsafeKey as exc:  # validation refuses these; a stored config is validated
        raise DimensionRowsError(f"dimension '{dimension.id}': {exc}") from None
    files = sorted(
        (o.key, fmt)
        for o in store.list(prefix)
        for fmt in _READ_FORMATS
        if o.key.lower().endswith(SOURCE_SUFFIXES[fmt])
    )
    if not files:
        suffixes = ", ".join(s for fmt in _READ_FORMATS for s in SOURCE_SUFFIXES[fmt])
        raise DimensionRowsError(
            f"dimension '{dimension.id}': no reference file ({suffixes}) under {prefix}"
        )
    frames: list[pl.DataFrame] = []
    rows = 0
    for index, (key, fmt) in enumerate(files):
        for frame in _read_file(store, key, fmt, dimension, spec, workdir / f"dim-{index:06d}"):
            rows += frame.height
            if rows > max_rows:
                raise DimensionRowsError(
                    f"dimension '{dimension.id}' has more than {max_rows:,} rows under {prefix} "
                    f"(counted up to {key}); at most {max_rows:,} are allowed"
                )
            frames.append(frame)
    return compile_dimension(dimension, pl.concat(frames, how="vertical"))


def _read_file(
    store: ObjectStore,
    key: str,
    fmt: SourceFormat,
    dimension: Dimension,
    spec: FileDimensionRows,
    local: Path,
) -> Iterator[pl.DataFrame]:
    """The named columns of one reference file, every value as text, chunk by chunk."""
    names = [spec.key, *spec.values, *([spec.priority_column] if spec.priority_column else [])]
    reader_view = SourceContainer.model_validate(
        {
            "id": dimension.id,
            "name": dimension.id,
            "path_prefix": spec.path_prefix,
            "format": fmt,
            "schema": [{"name": n, "type": "string"} for n in dict.fromkeys(names)],
        }
    )
    in_place = store.local_path(key)
    if in_place is None:
        store.get_to_file(key, local)
    try:
        with removing(in_place or local, temporary=in_place is None) as path:
            for chunk in read_source_file(path, key, reader_view):
                yield chunk.frame
    except BadInputFile as exc:
        raise DimensionRowsError(f"dimension '{dimension.id}': {key}: {exc}") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DimensionRowsError(f"dimension '{dimension.id}': {key}: {reason}") from None
