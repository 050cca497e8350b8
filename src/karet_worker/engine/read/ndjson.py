"""NDJSON files (SPEC §13): one JSON object per line; each column is found in a record by its
`path` (`request.headers.User-Agent[0]`; default: the column's name as a top-level key).

The file (gunzipped on the fly) is cut into chunks that end at a line end, so memory follows
the chunk size, not the file size. Each chunk becomes one text column per schema column — a
JSON string as its text, a number or boolean as its JSON text (`1.5`, `true`), an object or
array as compact JSON — and the text is typed with the CSV rules of SPEC §3. So `"42"` and
`42` both read as int64 42, while `"abc"`, `true` or `{...}` in an int64 column become null
and are counted. A missing path (absent key, index past the end, a string where the path
expects an object) is null and not counted: records of a log stream differ in shape.

    {"ts": "2026-01-05T10:00:00Z", "request": {"headers": {"User-Agent": ["curl/8"]}}}
    path "request.headers.User-Agent[0]" → "curl/8";  path "request.host" → null

Speed: Polars' NDJSON reader parses a chunk at about 480 MB/s of CPU (two threads) when every
line is an object whose shape fits the paths (0.20 CPU-s for 96 MB of the benchmark's NDJSON).
A chunk it rejects (a line that is not a JSON object, a record of another shape) is parsed
again line by line with Python's `json` (about 20 MB/s), which skips and counts the lines that
are not objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import polars as pl

from karet_worker.config.json_path import Step, default_path, parse_path
from karet_worker.config.model import ColumnSchema, SourceContainer
from karet_worker.engine.read.base import (
    CHUNK_BYTES,
    BadInputFile,
    SkippedRecords,
    TypedChunk,
    typed_from_text,
)
from karet_worker.engine.read.opener import ReadIntoStream, open_input

# A line longer than this is refused rather than buffered: it keeps memory bounded when a
# file is one huge JSON document without line breaks (far above any log record).
MAX_LINE_BYTES = 64 * 1024 * 1024
_HEAD_BYTES = 64 * 1024
# JSON text repeats every key on every line: the bench's rows take 383 MB as NDJSON and 258 MB
# as CSV (1.48x). A chunk of 1.5x the chunk size holds about the rows of a CSV chunk, which is
# what memory and the per-chunk costs follow; at 1x the NDJSON run cut twice as many chunks
# and took 15% more CPU (4.8 vs 4.1 CPU-s, 250mb, median of 4; bench/README.md "NDJSON").
_JSON_TEXT_FACTOR = 1.5


def read_ndjson(
    path: Path, key: str, source: SourceContainer, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[TypedChunk]:
    """The file's records as typed chunks (see `read_source_file`). A file whose first chunk
    holds no JSON object at all is not NDJSON: `BadInputFile`."""
    plan = JsonPlan.of(source.columns)
    lines = _LineNumbers(path, key)
    seen_object = False
    with open_input(path, key) as stream:
        for chunk in line_chunks(stream, int(chunk_bytes * _JSON_TEXT_FACTOR)):
            parsed = plan.parse(chunk, lines.first)
            if not seen_object and parsed.frame.height == 0 and parsed.skipped is not None:
                read = lines.first() - 1 + chunk.count(b"\n")
                raise BadInputFile(
                    f"not NDJSON (one JSON object per line): none of the first {read} "
                    f"line(s) is a JSON object ({parsed.skipped.first})"
                )
            seen_object = seen_object or parsed.frame.height > 0
            typed = typed_from_text(parsed.frame, [(c, c.name) for c in source.columns])
            yield typed._replace(skipped=parsed.skipped)
            lines.passed(chunk)


class _LineNumbers:
    """The number of the current chunk's first line, for messages, worked out only once a
    message needs one: counting every chunk's lines as it passed cost 3% of an NDJSON run
    (`bytes.count` over 383 MB, in the run's profile). The first time, the file's start is
    read again and counted; from then on each chunk is counted as it passes, so a file with
    many bad lines is never re-read more than once."""

    def __init__(self, path: Path, key: str) -> None:
        self._path, self._key = path, key
        self._offset = 0  # bytes of the file before the current chunk
        self._line: int | None = None  # its first line's number, once counted

    def first(self) -> int:
        if self._line is None:
            self._line = 1 + _newlines(self._path, self._key, self._offset)
        return self._line

    def passed(self, chunk: bytes) -> None:
        self._offset += len(chunk)
        if self._line is not None:
            self._line += chunk.count(b"\n")


def _newlines(path: Path, key: str, size: int) -> int:
    """Line breaks among the first `size` bytes of the file (as `open_input` reads it)."""
    count = 0
    with open_input(path, key) as stream:
        buffer = bytearray(min(max(size, 1), 16 * _HEAD_BYTES))
        while size > 0:
            read = stream.readinto(memoryview(buffer)[: min(size, len(buffer))])
            if not read:
                break
            count += buffer.count(b"\n", 0, read)
            size -= read
    return count


def line_chunks(
    stream: ReadIntoStream,
    chunk_bytes: int = CHUNK_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[bytes]:
    """Chunks of about `chunk_bytes` that end at a line end (a JSON text never holds a raw line
    break, so every newline ends a record). The file's start is checked first: NUL bytes
    (binary) or a leading `[` (one JSON array) are `BadInputFile`.

    The file is read into one reused buffer and each chunk copied out of it once: the earlier
    read-append-slice-delete cycle copied each byte four times (0.107 vs 0.033 CPU-s for
    96 MB, bench/README.md "NDJSON")."""
    size = max(chunk_bytes, 1)
    buffer = bytearray(size)
    view = memoryview(buffer)
    held = _fill(stream, view, 0)  # bytes in the buffer
    head = min(held, _HEAD_BYTES)
    if buffer.find(b"\x00", 0, head) >= 0:
        raise BadInputFile("binary content (NUL bytes), not an NDJSON text file")
    if bytes(view[:head]).lstrip()[:1] == b"[":
        raise BadInputFile(
            "the file is one JSON array; an ndjson source reads one JSON object per line"
        )
    while held:
        cut = buffer.rfind(b"\n", 0, held) + 1
        if cut:
            yield bytes(view[:cut])
            view[: held - cut] = view[cut:held]  # the start of the next line
            held -= cut
            if held <= size and len(buffer) > size:  # back to size after a long line
                view.release()
                del buffer[size:]
                view = memoryview(buffer)
        elif held == len(buffer):  # one line fills the buffer: grow it, up to the limit
            if held > max_line_bytes:
                raise BadInputFile(
                    f"a line is longer than {max_line_bytes:,} bytes; an ndjson source reads "
                    "one JSON object per line"
                )
            view.release()
            buffer.extend(bytes(min(size, max_line_bytes + 1 - held)))
            view = memoryview(buffer)
        more = _fill(stream, view, held)
        if more == held:  # the end of the file
            break
        held = more
    if bytes(view[:held]).strip():
        yield bytes(view[:held])
    view.release()


def _fill(stream: ReadIntoStream, view: memoryview, held: int) -> int:
    """Reads into `view` after its first `held` bytes until it is full or the file ends;
    returns how many bytes it holds now."""
    while held < len(view):
        read = stream.readinto(view[held:])
        if not read:
            break
        held += read
    return held


class ParsedChunk(NamedTuple):
    """One text column per schema column (named like it), and the lines skipped."""

    frame: pl.DataFrame
    skipped: SkippedRecords | None


@dataclass(frozen=True)
class JsonPlan:
    """How to pull the schema's columns out of records, worked out once per source.

    `schema` is the NDJSON reader's schema: the top-level keys the paths start with, nested
    as Struct (keys) and List (indexes) down to String leaves; `extract` picks each column out
    of it. `schema` is None when two paths disagree about a value's shape (`a` read as a value
    and `a.b` as an object): then every chunk is read line by line.
    """

    columns: tuple[tuple[str, tuple[Step, ...]], ...]
    schema: dict[str, pl.DataType] | None
    extract: tuple[pl.Expr, ...]

    @staticmethod
    def of(columns: list[ColumnSchema]) -> JsonPlan:
        paths = tuple(
            (c.name, parse_path(c.path) if c.path is not None else default_path(c.name))
            for c in columns
        )
        tree: _Tree = {}
        for _, steps in paths:
            if not _insert(tree, steps):
                return JsonPlan(paths, None, ())
        schema = {str(key): _dtype(child) for key, child in tree.items()}
        extract = tuple(_extract(steps).alias(name) for name, steps in paths)
        return JsonPlan(paths, schema, extract)

    def parse(self, chunk: bytes, first_line: Callable[[], int]) -> ParsedChunk:
        """The chunk's records as text columns; lines that are not JSON objects are skipped
        and counted (`first_line()`, the number of the chunk's first line, numbers them in the
        message)."""
        if self.schema is not None:
            try:
                raw = pl.read_ndjson(chunk, schema=self.schema)
            except pl.exceptions.PolarsError:
                pass  # some line is not an object of the expected shape: go line by line
            else:
                return ParsedChunk(raw.select(self.extract), None)
        return self._parse_lines(chunk, first_line())

    def _parse_lines(self, chunk: bytes, first_line: int) -> ParsedChunk:
        values: list[list[str | None]] = [[] for _ in self.columns]
        skipped = 0
        first: str | None = None
        for number, line in enumerate(chunk.split(b"\n"), first_line):
            if not line.strip():
                continue
            record, problem = _load_object(line)
            if record is None:
                skipped += 1
                first = first or f"line {number}: {problem}"
                continue
            for column, (_, steps) in zip(values, self.columns, strict=True):
                column.append(_as_text(_resolve(record, steps)))
        frame = pl.DataFrame(
            [
                pl.Series(name, column, dtype=pl.String)
                for (name, _), column in zip(self.columns, values, strict=True)
            ]
        )
        return ParsedChunk(frame, SkippedRecords(skipped, first) if first else None)


# ---------------------------------------------------------------- the reader's schema

_INDEX = -1  # every `[n]` of a path shares one element type in the tree


class _Leaf:
    """Marks where a path ends: the value is read as text."""


_LEAF = _Leaf()
_Tree = dict[str | int, "_Tree | _Leaf"]


def _insert(tree: _Tree, steps: tuple[Step, ...]) -> bool:
    """Adds a path; False when it contradicts a path already in (leaf vs. container, or
    object vs. array)."""
    node: _Tree = tree
    for position, step in enumerate(steps):
        slot: str | int = _INDEX if isinstance(step, int) else step
        if any(isinstance(k, int) != isinstance(slot, int) for k in node):
            return False  # one path indexes an array where another reads an object key
        last = position == len(steps) - 1
        child = node.get(slot)
        if last:
            if isinstance(child, dict):
                return False
            node[slot] = _LEAF
        else:
            if isinstance(child, _Leaf):
                return False
            node = node.setdefault(slot, {})  # type: ignore[assignment]
    return True


def _dtype(node: _Tree | _Leaf) -> pl.DataType:
    if isinstance(node, _Leaf):
        return pl.String()
    if _INDEX in node:
        return pl.List(_dtype(node[_INDEX]))
    return pl.Struct({str(key): _dtype(child) for key, child in node.items()})


def _extract(steps: tuple[Step, ...]) -> pl.Expr:
    expr = pl.col(str(steps[0]))
    for step in steps[1:]:
        if isinstance(step, int):
            expr = expr.list.get(step, null_on_oob=True)
        else:
            expr = expr.struct.field(step)
    return expr


# ---------------------------------------------------------------- line by line


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _load_object(line: bytes) -> tuple[dict[str, object] | None, str]:
    """The line's JSON object, or why the line is not one."""
    try:
        value = json.loads(line, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        return None, "not valid UTF-8"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at character {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(value, dict):
        return None, f"a JSON {_json_type(value)}, not an object"
    return value, ""


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _resolve(record: dict[str, object], steps: tuple[Step, ...]) -> object:
    """The value at `steps`, None when the record has no such value."""
    node: object = record
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return None
            node = node[step]
        else:
            if not isinstance(node, dict):
                return None
            node = node.get(step)
    return node


def _as_text(value: object) -> str | None:
    """A JSON value as the NDJSON reader renders it into a String column."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    return json.dumps(value, ensure_ascii=False)


def _float_text(value: float) -> str:
    """`1.5` → "1.5", `1e3` → "1000" (a whole float has no `.0`, as Polars writes it)."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)
