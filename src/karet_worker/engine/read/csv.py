"""CSV files (SPEC §3): gunzip and transcode on the fly, skip the preamble, read the header,
cut the data into record-aligned chunks and parse each chunk with the declared types.

Each chunk is parsed on its own, so memory depends on the chunk size, not on how big one input
file is (a memory-mapped 4 GB CSV would count fully against the process)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

from karet_worker.config.model import CsvOptions, SourceContainer
from karet_worker.engine.columns import flag_counts, reader_column, unparsed_flag
from karet_worker.engine.read.base import CHUNK_BYTES, BadInputFile, TypedChunk
from karet_worker.expressions.coerce import parse_declared

_HEAD_BYTES = 64 * 1024


def read_csv(
    path: Path, key: str, source: SourceContainer, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[TypedChunk]:
    """The file's rows as typed chunks (see `read_source_file`)."""
    with open_text(path, key, source.csv) as stream:
        header = read_header(stream, source.csv, chunk_bytes)
        check_header(header.names, source)
        for chunk in record_chunks(stream, header.rest, source.csv.quote, chunk_bytes):
            yield parse_chunk(chunk, header.names, source)


@contextmanager
def open_text(path: Path, key: str, options: CsvOptions) -> Iterator[ByteStream]:
    """The file as a stream of UTF-8 bytes: gunzipped and transcoded on the fly."""
    with path.open("rb") as file, gzip.GzipFile(fileobj=file, mode="rb") as unzipped:
        raw: ByteStream = unzipped if key.lower().endswith(".gz") else file
        try:
            if options.encoding in ("latin1", "cp1252"):
                yield _Transcoder(raw, options.encoding)
            else:
                yield raw
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise BadInputFile(f"not a readable gzip file ({exc})") from None


class ByteStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Transcoder:
    """Reads a single-byte encoding and hands out UTF-8 (every byte is a character, so any
    cut is safe)."""

    def __init__(self, raw: ByteStream, encoding: str) -> None:
        self._raw = raw
        self._encoding = encoding

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        try:
            return data.decode(self._encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInputFile(f"not valid {self._encoding} ({exc.reason})") from None


@dataclass(frozen=True)
class Header:
    names: list[str]  # trimmed header names, BOM stripped
    rest: bytes  # bytes read past the header line: the start of the data


def read_header(stream: ByteStream, options: CsvOptions, chunk_bytes: int = CHUNK_BYTES) -> Header:
    """Skip `skip_rows` raw lines, then parse the header row (quotes respected)."""
    head = stream.read(_HEAD_BYTES)
    if b"\x00" in head:
        raise BadInputFile("binary content (NUL bytes), not a CSV text file")
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    start = 0
    for _ in range(options.skip_rows):
        newline = head.find(b"\n", start)
        start = len(head) if newline < 0 else newline + 1
    end = _record_end(head, start, options.quote.encode())
    if end is None:  # the header is longer than the head: read on until its end
        more = stream.read(chunk_bytes)
        head += more
        end = _record_end(head, start, options.quote.encode()) or len(head)
    line = head[start:end].decode("utf-8", errors="replace")
    if not line.strip():
        raise BadInputFile("empty file: no header row")
    try:
        lines = io.StringIO(line, newline="")
        row = next(csv.reader(lines, delimiter=options.delimiter, quotechar=options.quote))
    except (csv.Error, StopIteration) as exc:
        raise BadInputFile(f"unreadable header row ({exc})") from None
    return Header([name.strip() for name in row], head[end:])


def record_chunks(
    stream: ByteStream, first: bytes, quote: str, size: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """Cut the data into chunks of about `size` bytes that end at a record boundary: a newline
    preceded by an even number of quote characters (quoted newlines stay inside a chunk)."""
    quote_byte = quote.encode()
    buffer = bytearray(first)  # appended in place; each chunk is copied out once
    while True:
        more = stream.read(size)
        if not more:
            break
        buffer += more
        cut = _last_record_end(buffer, quote_byte)
        if cut:
            with memoryview(buffer) as view:
                chunk = bytes(view[:cut])
            del buffer[:cut]
            yield chunk
    if buffer.strip():
        yield bytes(buffer)


def _record_end(data: bytes, start: int, quote: bytes) -> int | None:
    """The offset just past the first record that starts at `start`, if it ends in `data`."""
    position = start
    inside = False
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            return None
        inside ^= data.count(quote, position, newline) % 2 == 1
        if not inside:
            return newline + 1
        position = newline + 1


def _last_record_end(data: bytes | bytearray, quote: bytes) -> int:
    """The offset just past the last complete record in `data` (0 when there is none)."""
    quotes_before = data.count(quote) % 2
    newline = len(data)
    while True:
        newline = data.rfind(b"\n", 0, newline)
        if newline < 0:
            return 0
        # quotes up to this newline = all quotes minus those after it
        if (quotes_before - data.count(quote, newline)) % 2 == 0:
            return newline + 1


def check_header(header: list[str], source: SourceContainer) -> None:
    """Every declared column must be present; the error lists the missing and the found."""
    missing = [c.name for c in source.columns if c.name not in header]
    if missing:
        raise BadInputFile(
            f"missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"headers found: {', '.join(repr(h) for h in header) or '(none)'}"
        )


def parse_chunk(chunk: bytes, header: list[str], source: SourceContainer) -> TypedChunk:
    """One chunk as the declared columns typed per SPEC §3, with the per-column counts of
    values that did not parse."""
    options = source.csv
    names = [reader_column(index) for index in range(len(header))]
    text = pl.read_csv(
        chunk,
        has_header=False,
        schema=dict.fromkeys(names, pl.String()),
        separator=options.delimiter,
        quote_char=options.quote,
        null_values=options.null_values or None,
        encoding="utf8-lossy" if options.encoding == "utf8-lossy" else "utf8",
        columns=sorted({header.index(c.name) for c in source.columns}),
    )
    typed: list[pl.Expr] = []
    flags: dict[str, str] = {}  # column -> its unparsed flag
    for column in source.columns:
        raw = pl.col(names[header.index(column.name)])
        value = parse_declared(raw, column.type)
        typed.append(value.alias(column.name))
        if column.type != "string":
            flags[column.name] = unparsed_flag(column.name)
            typed.append((raw.is_not_null() & value.is_null()).alias(flags[column.name]))
    frame = text.select(typed)
    return TypedChunk(frame.drop(flags.values()), flag_counts(frame, flags))
