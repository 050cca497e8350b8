"""Extract: list a source's input objects, bring each to a local file, and open it as a typed
LazyFrame. A file that cannot be used raises `BadInputFile`; the run skips it and goes on."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import shutil
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from karet_worker.config.model import ColumnType, CsvOptions, SourceContainer
from karet_worker.expressions.parsing import parse_bool, parse_date_iso, parse_int, parse_number
from karet_worker.storage.base import ObjectInfo, ObjectStore

INPUT_SUFFIXES = (".csv", ".csv.gz")
_SNIFF_BYTES = 64 * 1024
_CHUNK = 4 * 1024 * 1024

POLARS_TYPES: dict[ColumnType, pl.DataType] = {
    "string": pl.String(),
    "number": pl.Float64(),
    "float64": pl.Float64(),
    "int64": pl.Int64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
}


class BadInputFile(Exception):
    """This input cannot be used; the message says why (and is reported with its key)."""


def list_inputs(store: ObjectStore, pipeline_prefix: str, source: SourceContainer) -> list[str]:
    """Every `.csv`/`.csv.gz` key under the source's prefix, sorted (= ingest order)."""
    objects: list[ObjectInfo] = store.list(pipeline_prefix + source.path_prefix)
    return sorted(o.key for o in objects if o.key.lower().endswith(INPUT_SUFFIXES))


@dataclass(frozen=True)
class LocalInput:
    """An input object as a local UTF-8 file (downloaded, gunzipped and transcoded as needed).
    `temporary` is false when it is the local store's own file, read in place."""

    key: str
    path: Path
    temporary: bool


class Prefetcher:
    """Brings inputs to local disk ahead of use with a bounded number of downloads in flight,
    so reading S3 overlaps with computing on the previous file."""

    def __init__(
        self,
        store: ObjectStore,
        keys: list[str],
        csv_options: CsvOptions,
        workdir: Path,
        pool: ThreadPoolExecutor,
        ahead: int,
    ) -> None:
        self._store = store
        self._keys = keys
        self._csv = csv_options
        self._workdir = workdir
        self._pool = pool
        self._ahead = max(1, ahead)

    def __iter__(self) -> Iterator[tuple[str, Future[LocalInput]]]:
        pending: list[tuple[str, Future[LocalInput]]] = []
        keys = iter(enumerate(self._keys))
        for index, key in keys:
            pending.append((key, self._pool.submit(self._fetch, index, key)))
            if len(pending) >= self._ahead:
                break
        while pending:
            yield pending.pop(0)
            nxt = next(keys, None)
            if nxt is not None:
                pending.append((nxt[1], self._pool.submit(self._fetch, *nxt)))

    def _fetch(self, index: int, key: str) -> LocalInput:
        scratch = self._workdir / f"in-{index:06d}"
        in_place = self._store.local_path(key)
        raw = in_place or scratch.with_suffix(".raw")
        if in_place is None:
            self._store.get_to_file(key, raw)
        path = to_utf8_csv(raw, key, self._csv, scratch, owned=in_place is None)
        return LocalInput(key, path, temporary=path != in_place)


def to_utf8_csv(raw: Path, key: str, options: CsvOptions, scratch: Path, *, owned: bool) -> Path:
    """Gunzip and transcode in streaming chunks, so the CSV reader sees plain UTF-8.
    Intermediate files are written next to `scratch`; `raw` is deleted only when `owned`."""

    def done_with(path: Path) -> None:
        if owned or path != raw:
            path.unlink(missing_ok=True)

    path = raw
    if key.lower().endswith(".gz"):
        path = scratch.with_suffix(".csv")
        try:
            with gzip.open(raw, "rb") as src, path.open("wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInputFile(f"not a readable gzip file ({exc})") from None
        finally:
            done_with(raw)
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise BadInputFile("binary content (NUL bytes), not a CSV text file")
    if options.encoding in ("latin1", "cp1252"):
        decoded = scratch.with_suffix(".utf8")
        decoder = codecs.getincrementaldecoder(options.encoding)(errors="strict")
        try:
            with path.open("rb") as encoded, decoded.open("w", encoding="utf-8", newline="") as out:
                while chunk := encoded.read(_CHUNK):
                    out.write(decoder.decode(chunk))
                out.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError as exc:
            raise BadInputFile(f"not valid {options.encoding} ({exc.reason})") from None
        done_with(path)
        path = decoded
    return path


def read_header(path: Path, options: CsvOptions) -> list[str]:
    """The header names (BOM stripped, surrounding whitespace trimmed) after `skip_rows` lines."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    text = head.decode("utf-8", errors="replace")  # the reader itself rejects bad UTF-8
    lines = io.StringIO(text, newline="")
    for _ in range(options.skip_rows):
        lines.readline()
    try:
        header = next(csv.reader(lines, delimiter=options.delimiter, quotechar=options.quote))
    except StopIteration:
        raise BadInputFile("empty file: no header row") from None
    except csv.Error as exc:
        raise BadInputFile(f"unreadable header row ({exc})") from None
    return [name.strip() for name in header]


def check_header(header: list[str], source: SourceContainer) -> None:
    """Every declared column must be present; the error lists the missing and the found."""
    missing = [c.name for c in source.columns if c.name not in header]
    if missing:
        raise BadInputFile(
            f"missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"headers found: {', '.join(repr(h) for h in header) or '(none)'}"
        )


def scan_typed(path: Path, header: list[str], source: SourceContainer) -> pl.LazyFrame:
    """The file as a LazyFrame with the declared columns typed per SPEC §3, plus one boolean
    `__bad_<column>` flag per parsed (non-string) column marking values that did not parse."""
    options = source.csv
    names = _unique_names(header)
    lf = pl.scan_csv(
        path,
        has_header=True,
        separator=options.delimiter,
        quote_char=options.quote,
        skip_lines=options.skip_rows,  # raw lines, as read_header counts them
        infer_schema=False,  # every column as text; the declared types are applied below
        new_columns=names,
        null_values=options.null_values or None,
        encoding="utf8-lossy" if options.encoding == "utf8-lossy" else "utf8",
    )
    typed: list[pl.Expr] = []
    flags: list[pl.Expr] = []
    for column in source.columns:
        raw = pl.col(names[header.index(column.name)])
        value = _parse(raw, column.type)
        typed.append(value.alias(column.name))
        if column.type != "string":
            flags.append((raw.is_not_null() & value.is_null()).alias(bad_flag(column.name)))
    return lf.select(*typed, *flags)


def bad_flag(column: str) -> str:
    return f"__bad_{column}"


def _parse(raw: pl.Expr, column_type: ColumnType) -> pl.Expr:
    if column_type == "string":
        return raw
    if column_type in ("number", "float64"):
        return parse_number(raw)
    if column_type == "int64":
        return parse_int(raw)
    if column_type == "bool":
        return parse_bool(raw)
    return parse_date_iso(raw)


def _unique_names(header: list[str]) -> list[str]:
    """Positional names for the reader: duplicates/blank headers get a suffix so none collide."""
    seen: dict[str, int] = {}
    names: list[str] = []
    for name in header:
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 and name else f"{name}__{count}")
    return names


@contextmanager
def removing(path: Path, *, temporary: bool = True) -> Iterator[Path]:
    """Delete a temporary file as soon as every user is done with it (bounded disk use)."""
    try:
        yield path
    finally:
        if temporary:
            path.unlink(missing_ok=True)
