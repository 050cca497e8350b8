"""The CSV reader (engine/read/csv.py) against Python's `csv` module and hostile inputs
(issue 7: defects 1, 3, 4, 9, 10, 11 and the CSV fuzzer)."""

from __future__ import annotations

import codecs
import gzip
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.engine.csvgen import (
    HostileCsv,
    Read,
    engine_read,
    hostile_csvs,
    reference_read,
    source_of,
)
from tests.engine.fuzzing import fuzz_settings

from karet_worker.config.model import CsvOptions
from karet_worker.engine.read import BadInputFile
from karet_worker.engine.read.csv import (
    MAX_BLOCK_BYTES,
    MAX_HEADER_BYTES,
    _Lines,
    read_header,
    typed_rows,
)

KIB = 1024
AB = source_of(["a", "b"])


def _read(data: bytes, chunk_bytes: int = 64 * KIB, **csv_options: object) -> Read:
    return engine_read(data, source_of(["a", "b"], dict(csv_options)), chunk_bytes=chunk_bytes)


# ---------------------------------------------------------------- the fuzzer


def _check_against_python_csv(f: HostileCsv, got: Read) -> None:
    """Exactly the rows Python's csv reads, or a refusal for a reason the file really has."""
    if f.utf16:
        assert got.refused is not None and "UTF-16 is not supported" in got.refused
        return
    if f.has_nul:
        assert got.refused is not None and "NUL byte" in got.refused
        return
    ref = reference_read(f.plain(), delimiter=f.delimiter, quote=f.quote, skip_rows=f.skip_rows)
    if ref is None:
        assert got.refused is not None
        return
    if set(f.header) - set(ref.header):
        assert got.refused is not None and "missing column" in got.refused
        return
    longest = max((len(f.delimiter.join(row).encode()) for row in ref.rows), default=0)
    if got.refused is None:
        assert not ref.ragged, "a ragged file was read"
        index = [ref.header.index(name) for name in f.header]
        expected = [tuple(row[i] for i in index) for row in ref.expected()]
        assert got.rows == expected
    else:
        reasons = []
        if ref.ragged:
            reasons.append("field(s) but the header has")
        if longest > f.chunk_bytes:
            reasons.append("is longer than")
        assert any(reason in got.refused for reason in reasons), got.refused


@fuzz_settings(400)
@given(hostile_csvs())
def test_reads_what_pythons_csv_reads_or_refuses_the_file(f: HostileCsv) -> None:
    source = source_of(f.header, f.csv_options())
    _check_against_python_csv(f, engine_read(f.data, source, chunk_bytes=f.chunk_bytes, key=f.key))


@fuzz_settings(150)
@given(hostile_csvs())
def test_results_do_not_depend_on_the_chunk_size(f: HostileCsv) -> None:
    """Defect 9: one rule wherever chunk boundaries fall. Only a record longer than the chunk
    bound may make a small chunk size refuse what a big one reads."""
    source = source_of(f.header, f.csv_options())
    reads = [engine_read(f.data, source, chunk_bytes=c, key=f.key) for c in (256, 4096, 1 << 20)]
    comparable = [r for r in reads if not (r.refused and "is longer than" in r.refused)]
    assert reads[-1] in comparable  # files here are far below 1 MiB
    for other in comparable:
        assert (other.rows, other.refused) == (reads[-1].rows, reads[-1].refused)


# ---------------------------------------------------------------- 1: line endings


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_every_line_ending_reads_every_row(ending: str) -> None:
    data = ending.join(["a,b", "1,x", '2,"y', 'z"', "3,"]) + ending
    got = _read(data.encode())
    assert got.refused is None
    assert got.rows == [("1", "x"), ("2", f"y{ending}z"), ("3", None)]


@fuzz_settings(200)
@given(
    rows=st.lists(
        st.tuples(st.text('ab\r\n,"', max_size=5), st.text("xy", max_size=3)), max_size=20
    ),
    endings=st.lists(st.sampled_from(["\r", "\r\n", "\n"]), min_size=21, max_size=21),
    chunk=st.sampled_from([64, 256, 4096]),
)
def test_mixed_line_endings_read_like_pythons_csv(
    rows: list[tuple[str, str]], endings: list[str], chunk: int
) -> None:
    lines = ["a,b"] + ['"' + a.replace('"', '""') + '",' + b for a, b in rows]
    data = "".join(line + endings[i] for i, line in enumerate(lines)).encode()
    got = _read(data, chunk_bytes=chunk)
    ref = reference_read(data)
    assert ref is not None and got.refused is None
    assert got.rows == ref.expected()
    assert len(got.rows) == len(rows)  # never fewer rows than written


@pytest.mark.parametrize("delta", range(-4, 5))
@pytest.mark.parametrize("block", [64, 256])
def test_a_crlf_inside_a_quoted_field_survives_a_block_boundary(delta: int, block: int) -> None:
    """Arrow 26 dropped the `\\n` of a quoted `\\r\\n` cut by a block boundary (found by the
    long fuzz run): whatever the offset, the value keeps both characters."""
    pad = block - 8 + delta  # delta 0: the block ends between the \r and the \n
    data = b"a,b\n" + b"x" * pad + b',1\n"aaa\r\n",x\n'
    got = _read(data, chunk_bytes=block)
    assert got.refused is None and got.rows == [("x" * pad, "1"), ("aaa\r\n", "x")]


# ---------------------------------------------------------------- 3: linear, bounded carry


class _Counting:
    """A byte stream that counts what was read from it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read_bytes = 0

    def read(self, size: int = -1, /) -> bytes:
        out = self._data.read(size)
        self.read_bytes += len(out)
        return out


# Arrow parses blocks and reads at most 32 of them ahead (its background queue), plus the
# block being parsed and the one a record may straddle into.
BLOCKS_HELD = 35


@pytest.mark.parametrize("where", [0, 1, 500])
def test_a_stray_quote_stops_the_file_after_a_bounded_read(where: int) -> None:
    """A quote opening a field that never closes, near the top of an 8 MB file: the reader
    refuses the file, naming where the record starts, having read a bounded number of
    blocks (35 of the file's 128) instead of carrying the rest of the file."""
    chunk = 64 * KIB
    rows = [b"%d,plain" % i for i in range(700_000)]
    rows[where] = b'%d,"stray' % where
    data = b"\n".join(rows) + b"\n"
    stream = _Counting(data)
    with pytest.raises(BadInputFile) as info:
        list(typed_rows(stream, 2, {"a": 0, "b": 1}, AB, chunk))
    assert stream.read_bytes <= BLOCKS_HELD * chunk < len(data) / 3
    assert "is longer than 64 KiB" in str(info.value)
    assert str(info.value).startswith(f"data row {where + 1:,} is longer than 64 KiB; ")


def test_reading_holds_a_bounded_number_of_blocks() -> None:
    """Memory per file being read: when the first chunk arrives, at most 35 blocks were read."""
    data = b"".join(b"%d,some text\n" % i for i in range(2_000_000))  # 30 MB
    for chunk in (64 * KIB, 256 * KIB):
        stream = _Counting(data)
        next(typed_rows(stream, 2, {"a": 0, "b": 1}, AB, chunk))
        assert stream.read_bytes <= BLOCKS_HELD * chunk < len(data) / 3
    assert MAX_BLOCK_BYTES == 1 << 20  # bigger chunks parse 1 MiB blocks: at most 35 MiB held


def test_many_quoted_line_breaks_are_read_in_one_pass() -> None:
    """Every field quoted and spanning lines: read whole, each byte handed over once."""
    body = b"".join(b'%d,"line one\nline two\r\nline three"\n' % i for i in range(60_000))
    stream = _Counting(body)
    chunks = list(typed_rows(stream, 2, {"a": 0, "b": 1}, AB, 64 * KIB))
    assert sum(c.frame.height for c in chunks) == 60_000
    assert len(chunks) > 20 and stream.read_bytes == len(body)
    assert chunks[-1].frame.row(-1) == ("59999", "line one\nline two\r\nline three")


# ---------------------------------------------------------------- 4: preamble


def test_a_preamble_longer_than_64_kib_is_skipped_line_by_line() -> None:
    preamble = b"".join(b"# export line %d %s\r\n" % (i, b"x" * 40) for i in range(3_000))
    assert len(preamble) > 128 * KIB
    got = _read(preamble + b"a,b\r\n1,2\r\n", skip_rows=3_000)
    assert got.refused is None and got.rows == [("1", "2")]


def test_one_preamble_line_longer_than_64_kib() -> None:
    got = _read(b"x" * (200 * KIB) + b"\na,b\n1,2\n", chunk_bytes=1 << 20, skip_rows=1)
    assert got.refused is None and got.rows == [("1", "2")]


def test_skip_rows_past_the_end_of_the_file_is_an_empty_file() -> None:
    got = _read(b"one\ntwo\n", skip_rows=9_999)
    assert got.refused == "empty file: no header row"


# ---------------------------------------------------------------- 10: header cap


def test_a_header_over_the_cap_is_refused_after_reading_about_the_cap() -> None:
    data = b'a,"b' + b"x" * (3 * MAX_HEADER_BYTES)
    stream = _Counting(data)
    with pytest.raises(BadInputFile) as info:
        read_header(_Lines(stream, 64 * KIB), CsvOptions())
    assert str(info.value) == "the header row is longer than 1 MiB"
    assert stream.read_bytes <= MAX_HEADER_BYTES + 1024 * KIB + 1


def test_a_wide_header_just_under_the_cap_is_read() -> None:
    names = [f"column number {i}" for i in range(MAX_HEADER_BYTES // 20)]
    header = ",".join(["a", *names])
    assert 0.95 * MAX_HEADER_BYTES < len(header) < MAX_HEADER_BYTES
    row = ",".join(["1"] + ["x"] * len(names))
    got = engine_read(f"{header}\n{row}\n".encode(), source_of(["a"]), chunk_bytes=1 << 20)
    assert got.refused is None and got.rows == [("1",)]


# ---------------------------------------------------------------- 11: values and bytes


def test_numbers_must_be_finite_and_dates_within_years_1_to_9999() -> None:
    source = source_of(["n", "d"], types=["number", "date"])
    data = (
        b"n,d\n1.5,2024-01-31\n1e309,0000-12-31\n-1e309,10000-01-01\ninf,-001-01-01\n"
        b"NaN,9999-12-31\n-0.0,0001-01-01\n"
    )
    got = engine_read(data, source, chunk_bytes=64 * KIB)
    assert got.refused is None
    assert [r[0] for r in got.rows] == [1.5, None, None, None, None, -0.0]
    assert [str(r[1]) if r[1] else None for r in got.rows] == [
        "2024-01-31",
        None,
        None,
        None,
        "9999-12-31",
        "0001-01-01",
    ]
    assert got.unparsed == {"n": 4, "d": 3}


@pytest.mark.parametrize("offset", [0, 5, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 300 * KIB])
@pytest.mark.parametrize("gz", [False, True])
def test_a_nul_byte_anywhere_makes_the_file_binary(offset: int, gz: bool) -> None:
    data = bytearray(b"a,b\n" + b"1,abc\n" * (60 * KIB))
    data[max(offset, 4)] = 0
    payload = gzip.compress(bytes(data)) if gz else bytes(data)
    source = source_of(["a", "b"])
    got = engine_read(payload, source, chunk_bytes=64 * KIB, key="f.csv.gz" if gz else "f.csv")
    assert got.refused is not None and "binary content (a NUL byte at offset" in got.refused


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_named_as_such(encoding: str) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    got = _read(bom + "a,b\n1,2\n".encode(encoding))
    assert got.refused == "UTF-16 is not supported, convert the file to UTF-8"


@pytest.mark.parametrize(
    "header", ["a,b,a", "a, b ,b", "a,b,\ta"], ids=["plain", "trimmed", "tab-trimmed"]
)
def test_a_declared_column_named_twice_in_the_header_is_refused(header: str) -> None:
    got = _read(f"{header}\n1,2,3\n".encode())
    assert got.refused is not None and "more than once" in got.refused
    name = "b" if header.count("b") > 1 else "a"
    assert repr(name) in got.refused


def test_repeated_undeclared_and_empty_header_names_are_fine() -> None:
    got = _read(b"a,,x,b,x,\n1,,,2,,\n")
    assert got.refused is None and got.rows == [("1", "2")]


# ---------------------------------------------------------------- 9: ragged rows


@pytest.mark.parametrize("row", ["3", "3,4,5", ""], ids=["short", "long", "empty-is-skipped"])
@pytest.mark.parametrize("position", [0, 1_000, 2_999])
@pytest.mark.parametrize("chunk", [256, 4096, 1 << 20])
def test_a_ragged_row_is_refused_wherever_it_is(row: str, position: int, chunk: int) -> None:
    lines = [f"{i},x" for i in range(3_000)]
    lines[position] = row
    got = _read(("a,b\n" + "\n".join(lines) + "\n").encode(), chunk_bytes=chunk)
    if row == "":
        assert got.refused is None and len(got.rows) == 2_999  # blank lines are not rows
        return
    fields = len(row.split(","))
    assert got.refused == (
        f"data row {position + 1:,} has {fields} field(s) but the header has 2: {row!r}; "
        "every row must have one field per header name"
    )


def test_header_after_skipped_lines_with_bom_crlf_and_quotes() -> None:
    data = b'\xef\xbb\xbfexported "today\r\n" my id" ,"multi\nline" \r\n1,2\r\n'
    got = engine_read(data, source_of(["my id", "multi\nline"], {"skip_rows": 1}), chunk_bytes=KIB)
    assert got.refused is None and got.rows == [("1", "2")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file: no header row"),
        (b"\n1,2\n", "the header row (line 1) is empty"),
        (b"a,b\n" + "é".encode("latin1") + b",2\n", "not valid UTF-8; set csv.encoding"),
        (b"a,\xff\n1,2\n", "the header row is not valid UTF-8"),
    ],
)
def test_unusable_files_are_refused_in_words(data: bytes, reason: str) -> None:
    got = _read(data)
    assert got.refused is not None and got.refused.startswith(reason)
