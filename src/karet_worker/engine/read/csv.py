"""CSV files (SPEC §3), read the way Python's `csv` module reads them.

    bytes ─ gunzip ─ transcode to UTF-8 ─ refuse NULs/UTF-16 ─ skip `skip_rows` lines
          ─ header row (Python `csv`) ─ data rows (Arrow's streaming CSV reader) ─ typed chunks

- Line endings `\\n`, `\\r\\n` and a lone `\\r` (classic Mac) all end a record, mixed or not;
  inside a quoted field they are data. Blank lines are skipped (as `csv` and pandas do).
- Arrow's reader cuts the input into blocks at record boundaries, tracking quotes in one pass
  (linear whatever the quoting), and reads at most 32 blocks ahead. A record longer than a
  block (e.g. a stray quote that never closes swallows the rest of the file into one field)
  stops the file with an error after reading at most about 34 blocks: the bytes carried
  between chunks are bounded by the block size (`MAX_BLOCK_BYTES` at most).
- Every data row must have as many fields as the header. One that has fewer or more skips the
  file with an error naming the row: padding or cutting it would guess which field is missing.
- NUL bytes anywhere make the file binary; a UTF-16 byte order mark gets its own message.
- A header name the source declares may appear once only (which column would be meant?).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from karet_worker.config.model import CsvOptions, SourceContainer
from karet_worker.engine.columns import reader_column
from karet_worker.engine.read.base import CHUNK_BYTES, BadInputFile, TypedChunk, typed_from_text
from karet_worker.engine.read.opener import ByteStream, Prepended, open_input

# Longest header row (with its quoted line breaks). Real headers are a few KiB; an 8 MiB one
# was once truncated and quoted whole in an 11.6 MB error message.
MAX_HEADER_BYTES = 1024 * 1024
# Bytes read at a time while looking for the header (bigger preambles take several reads).
_HEAD_BYTES = 64 * 1024
# Arrow's block size at most: Arrow reads up to 32 blocks ahead, so this bounds the memory a
# file being read holds (about 34 MiB), and it is the longest record a file may have.
MAX_BLOCK_BYTES = 1024 * 1024
_LINE_END = re.compile(rb"\r\n|\r|\n")
_MIB = 1024 * 1024


def read_csv(
    path: Path, key: str, source: SourceContainer, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[TypedChunk]:
    """The file's rows as typed chunks of about `chunk_bytes` input bytes each (see
    `read_source_file`)."""
    options = source.csv
    with open_text(path, key, options) as text:
        stream = _NoNul(text)
        lines = _Lines(stream, chunk_bytes)
        for _ in range(options.skip_rows):
            if lines.next_line(chunk_bytes, "a line of the preamble (csv.skip_rows)") is None:
                raise BadInputFile("empty file: no header row")
        header = read_header(lines, options)
        positions = header_positions(header, source)
        data = Prepended(lines.rest(), stream)
        yield from typed_rows(data, len(header), positions, source, chunk_bytes)


# ---------------------------------------------------------------- bytes


@contextmanager
def open_text(path: Path, key: str, options: CsvOptions) -> Iterator[ByteStream]:
    """The file as a stream of UTF-8 bytes: opened as every text input is (`open_input`:
    gunzipped, the UTF-8 BOM stripped, UTF-16 refused), transcoded on the fly from a declared
    encoding."""
    with open_input(path, key) as opened:
        stream: ByteStream = opened
        if options.encoding != "utf8":
            stream = _Transcoder(stream, options.encoding)
        yield stream


class _ArrowInput:
    """A byte stream as the Python file object Arrow reads from, never ending a read between
    the `\r` and `\n` of a line break: Arrow 26 drops that `\n` when it falls at the start
    of a block inside a quoted field (`"a\r\nb"` became `a\rb`)."""

    closed = False  # Arrow asks before each read

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        self._held = b""

    def read(self, size: int = -1, /) -> bytes:
        held, self._held = self._held, b""
        if 0 <= size <= len(held):  # Arrow asks for whole blocks; this is only for safety
            self._held = held[size:]
            return held[:size]
        data = held + self._stream.read(size - len(held) if size > 0 else size)
        if data.endswith(b"\r") and len(data) > 1:
            more = self._stream.read(1)
            if more == b"\n":  # keep the pair whole: cut before the \r, send it next time
                data, self._held = data[:-1], b"\r\n"
            else:
                self._held = more
        return data


class _Transcoder:
    """UTF-8 out of a declared encoding (`latin1`, `cp1252`) or out of UTF-8 with invalid
    sequences replaced (`utf8-lossy`); the incremental decoder keeps characters cut by a read
    whole."""

    def __init__(self, raw: ByteStream, encoding: str) -> None:
        self._raw = raw
        self._name = encoding
        codec = "utf-8" if encoding == "utf8-lossy" else encoding
        errors = "replace" if encoding == "utf8-lossy" else "strict"
        self._decoder = codecs.getincrementaldecoder(codec)(errors)

    def read(self, size: int = -1, /) -> bytes:
        while True:
            data = self._raw.read(size)
            try:
                text = self._decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise BadInputFile(f"not valid {self._name} ({exc.reason})") from None
            if text or not data:  # a read may end inside a character: read on
                return text.encode("utf-8")


class _NoNul:
    """Refuses the file at the first NUL byte, wherever it is: text files have none."""

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        self._offset = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        nul = data.find(b"\x00")
        if nul >= 0:
            at = self._offset + nul
            raise BadInputFile(f"binary content (a NUL byte at offset {at:,}), not a CSV text file")
        self._offset += len(data)
        return data


class _Lines:
    """Physical lines (ending in `\\r\\n`, `\\r` or `\\n`) off the front of a stream, for the
    preamble and the header; `rest()` hands back what was read past them. Each byte is
    searched once: a line longer than its limit stops the search."""

    def __init__(self, stream: ByteStream, read_size: int) -> None:
        self._stream = stream
        self._read_size = max(_HEAD_BYTES, min(read_size, _HEAD_BYTES * 16))
        self._buffer = b""
        self._eof = False
        self.count = 0  # lines handed out

    def next_line(self, limit: int, what: str) -> bytes | None:
        """The next line with its line ending; None at the end of the file."""
        searched = 0
        while True:
            end = _LINE_END.search(self._buffer, searched)
            # a `\r` last in the buffer may be the first half of `\r\n`: decide after a read
            if end is not None and (end.end() < len(self._buffer) or self._eof or end[0] != b"\r"):
                line, self._buffer = self._buffer[: end.end()], self._buffer[end.end() :]
                break
            if len(self._buffer) > limit:
                raise BadInputFile(f"{what} is longer than {_size(limit)}")
            if self._eof:
                if not self._buffer:
                    return None
                line, self._buffer = self._buffer, b""
                break
            searched = max(0, len(self._buffer) - 1)
            more = self._stream.read(self._read_size)
            self._eof = not more
            self._buffer += more
        if len(line) > limit:
            raise BadInputFile(f"{what} is longer than {_size(limit)}")
        self.count += 1
        return line

    def rest(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return rest


# ---------------------------------------------------------------- header


def read_header(lines: _Lines, options: CsvOptions) -> list[str]:
    """The header row's names, trimmed, read by Python's `csv` (a quoted name may span lines),
    at most MAX_HEADER_BYTES long."""
    budget = MAX_HEADER_BYTES

    def physical_lines() -> Iterator[str]:
        nonlocal budget
        while (line := lines.next_line(budget, "the header row")) is not None:
            budget -= len(line)
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"the header row is not valid UTF-8 ({exc.reason}); {_HINT}"
                raise BadInputFile(reason) from None

    reader = csv.reader(physical_lines(), delimiter=options.delimiter, quotechar=options.quote)
    try:
        row = next(reader, None)
    except csv.Error as exc:
        raise BadInputFile(f"unreadable header row ({exc})") from None
    if row is None:
        raise BadInputFile("empty file: no header row")
    if not row:
        raise BadInputFile(f"the header row (line {lines.count}) is empty")
    return [name.strip() for name in row]


def header_positions(header: list[str], source: SourceContainer) -> dict[str, int]:
    """Where each declared column is in the header. Every one must be there exactly once; the
    error lists the missing ones and the headers found."""
    missing = [c.name for c in source.columns if c.name not in header]
    if missing:
        raise BadInputFile(
            f"missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"headers found: {', '.join(repr(h) for h in header) or '(none)'}"
        )
    twice = [c.name for c in source.columns if header.count(c.name) > 1]
    if twice:
        raise BadInputFile(
            f"the header names column(s) {', '.join(repr(t) for t in twice)} more than once "
            "(after trimming spaces): which one is meant is unclear"
        )
    return {c.name: header.index(c.name) for c in source.columns}


# ---------------------------------------------------------------- data rows


def typed_rows(
    data: ByteStream,
    width: int,
    positions: dict[str, int],
    source: SourceContainer,
    chunk_bytes: int,
) -> Iterator[TypedChunk]:
    """The data rows after the header as typed chunks of about `chunk_bytes` input bytes.

    Arrow parses blocks of `block = min(chunk_bytes, 1 MiB)` and reads at most 32 blocks ahead
    (its background queue): a file being read holds at most about 34 blocks, and a record
    may not be longer than a block."""
    options = source.csv
    block = min(chunk_bytes, MAX_BLOCK_BYTES)
    names = [reader_column(i) for i in range(width)]
    ragged: list[str] = []

    def refuse_ragged(row: pacsv.InvalidRow) -> str:
        where = f"data row {row.number:,}" if row.number is not None and row.number > 0 else "a row"
        ragged.append(
            f"{where} has {row.actual_columns} field(s) but the header has "
            f"{row.expected_columns}: {_quoted(row.text)}"
        )
        return "error"

    wanted = sorted(set(positions.values()))
    rows = 0
    batches: list[pa.RecordBatch] = []
    try:
        reader = pacsv.open_csv(
            _ArrowInput(data),
            read_options=pacsv.ReadOptions(column_names=names, block_size=block, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=options.delimiter,
                quote_char=options.quote,
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=True,
                invalid_row_handler=refuse_ragged,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=[names[i] for i in wanted],
                null_values=["", *options.null_values],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        for batch in reader:  # one batch per block
            rows += batch.num_rows
            batches.append(batch)
            if len(batches) * block >= chunk_bytes:
                yield _typed_batches(batches, positions, source)
                batches = []
        if batches:
            yield _typed_batches(batches, positions, source)
    except pa.ArrowException as exc:
        if ragged:
            reason = f"{ragged[0]}; every row must have one field per header name"
            raise BadInputFile(reason) from None
        message = str(exc)
        if message.startswith("Empty CSV file"):
            return  # a header and no data rows
        raise BadInputFile(_reason(message, rows, block)) from None


def _typed_batches(
    batches: list[pa.RecordBatch], positions: dict[str, int], source: SourceContainer
) -> TypedChunk:
    frame = pl.from_arrow(pa.Table.from_batches(batches))
    assert isinstance(frame, pl.DataFrame)
    return typed_from_text(frame, [(c, reader_column(positions[c.name])) for c in source.columns])


_HINT = "set csv.encoding (utf8-lossy, latin1, cp1252)"
_UNBALANCED = (
    "a quote character is unbalanced (a stray quote at the start of a field opens "
    "a quoted field that never closes; if the file does not quote fields, set csv.quote to a "
    "character it never contains)"
)


def _reason(message: str, rows: int, chunk_bytes: int) -> str:
    """Arrow's error message in the user's terms."""
    if "straddl" in message:
        return (
            f"data row {rows + 1:,} is longer than {_size(chunk_bytes)}; a row this long usually "
            f"means {_UNBALANCED}"
        )
    if "invalid UTF8" in message:
        return f"not valid UTF-8; {_HINT}"
    return f"could not be parsed as CSV: {_quoted(message.splitlines()[0] if message else '')}"


def _quoted(text: str, limit: int = 200) -> str:
    """`text` in quotes, cut to `limit` characters (rows can be megabytes long)."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _size(n: int) -> str:
    """1 MiB, 64 KiB, 100 bytes"""
    if n >= _MIB:
        return f"{n / _MIB:g} MiB"
    return f"{n / 1024:g} KiB" if n >= 1024 else f"{n} bytes"
