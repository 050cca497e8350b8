"""Cutting CSV inputs into record-aligned chunks and reading headers (engine/read/csv.py)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from karet_worker.config.model import CsvOptions
from karet_worker.engine.read import BadInputFile
from karet_worker.engine.read.csv import read_header, record_chunks

FIELD = st.text(alphabet='ab,"\n\r x', max_size=8)


def _csv_bytes(rows: list[list[str]], quote: str = '"') -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, quotechar=quote, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(FIELD, min_size=2, max_size=2), max_size=40),
    chunk=st.integers(min_value=1, max_value=64),
    quote=st.sampled_from(['"', "'"]),
)
def test_chunks_end_on_record_boundaries(rows: list[list[str]], chunk: int, quote: str) -> None:
    data = _csv_bytes(rows, quote)
    stream = io.BytesIO(data)
    first = stream.read(3)
    chunks = list(record_chunks(stream, first, quote, chunk))
    assert b"".join(chunks).strip() == data.strip()
    parsed = [
        row
        for piece in chunks
        for row in csv.reader(io.StringIO(piece.decode(), newline=""), quotechar=quote)
    ]
    expected = list(csv.reader(io.StringIO(data.decode(), newline=""), quotechar=quote))
    assert [r for r in parsed if r] == [r for r in expected if r]


def test_header_after_skipped_lines_with_bom_crlf_and_quotes() -> None:
    data = b'\xef\xbb\xbfexported "today\r\n" my id" ,"multi\nline" \r\n1,2\r\n'
    header = read_header(io.BytesIO(data), CsvOptions(skip_rows=1))
    assert header.names == ["my id", "multi\nline"]
    assert header.rest == b"1,2\r\n"


def test_binary_and_empty_inputs_are_refused() -> None:
    with pytest.raises(BadInputFile, match="binary"):
        read_header(io.BytesIO(b"a,b\n\x00\x01"), CsvOptions())
    with pytest.raises(BadInputFile, match="empty"):
        read_header(io.BytesIO(b""), CsvOptions())
