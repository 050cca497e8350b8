"""Opening an input file as bytes, the same for every text format (CSV, NDJSON).

    key "raw/a.csv.gz", content gzip(BOM + b"id,amount\\n...") → a stream of b"id,amount\\n..."

- A key ending in `.gz` (any case) is gunzipped on the fly; a broken or truncated gzip file
  is `BadInputFile` at whichever read finds it, however far into the file.
- A leading UTF-8 byte order mark is dropped (spreadsheet exports start with one).
- A UTF-16 byte order mark is refused in words the user can act on: read as bytes, UTF-16
  text would only say "NUL bytes" or "not valid UTF-8".
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from karet_worker.engine.read.base import BadInputFile

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_MARK_BYTES = max(len(codecs.BOM_UTF8), *(len(bom) for bom in _UTF16_BOMS))


class ByteStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ReadIntoStream(Protocol):
    """A stream that reads into the caller's buffer (no new bytes object per read)."""

    def readinto(self, buffer: memoryview, /) -> int: ...


class InputStream(ByteStream, ReadIntoStream, Protocol):
    """An opened input: read either way."""


@contextmanager
def open_input(path: Path, key: str) -> Iterator[InputStream]:
    """The local file `path` (stored as `key`) as a stream of its content bytes: gunzipped,
    without a UTF-8 BOM; gzip damage found while the caller reads is `BadInputFile`."""
    with path.open("rb") as file, gzip.GzipFile(fileobj=file, mode="rb") as unzipped:
        raw: InputStream = unzipped if key.lower().endswith(".gz") else file
        try:
            first = raw.read(_MARK_BYTES)
            if first.startswith(_UTF16_BOMS):
                raise BadInputFile("UTF-16 is not supported, convert the file to UTF-8")
            yield _Rest(first.removeprefix(codecs.BOM_UTF8), raw)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise BadInputFile(f"not a readable gzip file ({exc})") from None


class Prepended:
    """`first`, then the rest of `stream`."""

    def __init__(self, first: bytes, stream: ByteStream) -> None:
        self._first = first
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if not self._first:
            return self._stream.read(size)
        if size < 0:
            head, self._first = self._first, b""
            return head + self._stream.read()
        head, self._first = self._first[:size], self._first[size:]
        if len(head) < size:
            head += self._stream.read(size - len(head))
        return head


class _Rest(Prepended):
    """The bytes read to look at the file's start, then the rest of the file; both ways."""

    def __init__(self, first: bytes, stream: InputStream) -> None:
        super().__init__(first, stream)
        self._raw = stream

    def readinto(self, buffer: memoryview, /) -> int:
        if not self._first:
            return self._raw.readinto(buffer)
        size = min(len(buffer), len(self._first))
        buffer[:size] = self._first[:size]
        self._first = self._first[size:]
        return size
