"""A source's inputs as one stream of events, read and evaluated ahead of the run's main
thread: each file `Opened`, its chunks (`Chunk`, then `Evaluated`), then `Closed`, or
`Failed` where it stopped being usable. The run stages, counts and commits them in order
(`engine/run.py`); nothing here touches its bookkeeping.

    read_files(fetches, source, chunk_bytes)
    # Opened(a) Chunk(a) Chunk(a) Closed(a) Opened(b) Failed(b, "could not be read: …")
    evaluate(Chunk(a, chunk), work)  # Evaluated(a, rows=81264, ..., prepared=[Prepared(...)])
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import NamedTuple, assert_never

import polars as pl

from karet_worker.config.model import SourceContainer
from karet_worker.engine.extract import Prefetcher, removing
from karet_worker.engine.partition import Prepared, Staging, prepare
from karet_worker.engine.read import BadInputFile, SkippedRecords, TypedChunk, read_source_file
from karet_worker.engine.transform import Predicate, apply_plan
from karet_worker.layout import UnsafeKey
from karet_worker.storage.base import ObjectNotFound, is_disk_full


class Opened(NamedTuple):
    """The stream of a source's inputs (`read_files`): a file starts."""

    key: str


class Chunk(NamedTuple):
    """Rows of the file being read, parsed and typed."""

    key: str
    chunk: TypedChunk


class Evaluated(NamedTuple):
    """A chunk after `evaluate`: what the run counts of it, and every mapping's expressions
    evaluated on the records the source's `record_filter` kept, prepared for its output. The
    chunk's frames are not kept: only what the run reads of them."""

    key: str
    rows: int  # rows read
    unparsed: Mapping[str, int]  # source column -> values that did not parse as its type
    skipped: SkippedRecords | None
    record_filtered: int  # rows the source's `record_filter` dropped
    records: pl.DataFrame | None  # the rows it kept, when the source's assertions read them
    prepared: list[Prepared]  # one per mapping of the source, in order


class Failed(NamedTuple):
    """The file cannot be used (unreadable, gone, or an expression failed on it)."""

    key: str
    reason: str


class Closed(NamedTuple):
    """The file was read to its end."""

    key: str


Read = Opened | Chunk | Failed | Closed
Event = Opened | Evaluated | Failed | Closed


def read_files(
    fetches: Prefetcher, source: SourceContainer, chunk_bytes: int
) -> Generator[Read, None, None]:
    """Every input of a source as one stream: Opened, its chunks, then Closed, or Failed
    where reading it stopped (a file is deleted once read, if it was a download). A full work
    directory is not the input's fault: it raises and fails the run."""
    for key, future in fetches:
        yield Opened(key)
        try:
            local = future.result()
            with removing(local.path, temporary=local.temporary) as path:
                for chunk in read_source_file(path, key, source, chunk_bytes=chunk_bytes):
                    yield Chunk(key, chunk)
        except (BadInputFile, ObjectNotFound, pl.exceptions.PolarsError, OSError) as exc:
            if is_disk_full(exc):
                raise
            yield Failed(key, reason(exc))
            continue
        yield Closed(key)


@dataclass(frozen=True)
class SourceWork:
    """What `evaluate` does to every chunk of one source, fixed for a run."""

    keep: Predicate | None  # the source's `record_filter`
    reads_records: bool  # the source's assertions read the rows it keeps
    mappings: list[Staging]  # the source's mappings


def evaluate(read: Read, work: SourceWork) -> Event:
    """A chunk with its records kept by the source's `record_filter`, every mapping's
    expressions evaluated on them and the results prepared for the outputs (counted,
    filtered, cut by partition: `engine/partition.py`); other events pass through. Pure, so
    the run evaluates chunks ahead on its pool while the main thread stages the previous one.
    A partition value too long for a key fails the file here, as any bad value does."""
    match read:
        case Chunk(key, chunk):
            try:
                frame = chunk.frame
                if work.keep is not None:
                    frame = work.keep.keep(frame.lazy()).collect()
                prepared = [
                    prepare(apply_plan(staging.plan, frame.lazy()).collect(), staging)
                    for staging in work.mappings
                ]
            except (UnsafeKey, pl.exceptions.PolarsError, OSError) as exc:
                if is_disk_full(exc):
                    raise
                return Failed(key, reason(exc))
            return Evaluated(
                key,
                rows=chunk.frame.height,
                unparsed=chunk.unparsed,
                skipped=chunk.skipped,
                record_filtered=chunk.frame.height - frame.height,
                records=frame if work.reads_records else None,
                prepared=prepared,
            )
        case Opened() | Failed() | Closed():
            return read
        case unreachable:
            assert_never(unreachable)


def reason(exc: Exception) -> str:
    """Why an input was skipped, in the user's words."""
    match exc:
        case BadInputFile() | UnsafeKey():  # UnsafeKey: a partition value too long
            return str(exc)
        case ObjectNotFound():
            return "the object disappeared while the run was reading it"
        case _:
            return _polars_reason(exc)


def _polars_reason(exc: Exception) -> str:
    """A one-line reason from an error no reader translated (Polars or the file system), with
    a hint for the common encoding case. Readers word their own errors (`BadInputFile`)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "utf-8" in first.lower() or "utf8" in first.lower():
        return f"not valid UTF-8 ({first}); set csv.encoding (utf8-lossy, latin1, cp1252)"
    return f"could not be read: {first}"
