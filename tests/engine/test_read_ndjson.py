"""The NDJSON reader (SPEC §13): paths, coercion and counting, skipped lines, files that are not
NDJSON, gzip, chunking; the fast (Polars) and line-by-line paths agree."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from karet_worker.config.model import ColumnSchema, SourceContainer
from karet_worker.engine.read.base import BadInputFile, TypedChunk
from karet_worker.engine.read.ndjson import JsonPlan, line_chunks, read_ndjson


def source(*columns: tuple[str, str] | tuple[str, str, str]) -> SourceContainer:
    schema = [
        {"name": c[0], "type": c[1], **({"path": c[2]} if len(c) == 3 else {})} for c in columns
    ]
    return SourceContainer.model_validate(
        {"id": "logs", "name": "Logs", "path_prefix": "logs/", "format": "ndjson", "schema": schema}
    )


def read(
    tmp_path: Path, body: bytes, src: SourceContainer, key: str = "a.ndjson", chunk: int = 1 << 20
) -> list[TypedChunk]:
    path = tmp_path / "input"
    path.write_bytes(gzip.compress(body) if key.endswith(".gz") else body)
    return list(read_ndjson(path, key, src, chunk_bytes=chunk))


def rows(chunks: list[TypedChunk]) -> list[dict[str, Any]]:
    return [row for c in chunks for row in c.frame.to_dicts()]


def unparsed(chunks: list[TypedChunk]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in chunks:
        for name, count in c.unparsed.items():
            total[name] = total.get(name, 0) + count
    return total


CADDY = (
    b'{"ts":"2026-03-01T10:00:00Z","status":200,"request":{"host":"etl.example","uri":"/a",'
    b'"headers":{"User-Agent":["curl/8"],"Cf-Ipcountry":["CA"]}}}\n'
)


def test_nested_paths_read_a_caddy_shaped_record(tmp_path: Path) -> None:
    src = source(
        ("status", "int64"),
        ("host", "string", "request.host"),
        ("ua", "string", "request.headers.User-Agent[0]"),
        ("country", "string", "request.headers.Cf-Ipcountry[0]"),
    )
    chunks = read(tmp_path, CADDY, src)
    assert rows(chunks) == [{"status": 200, "host": "etl.example", "ua": "curl/8", "country": "CA"}]
    assert chunks[0].frame.schema["status"] == pl.Int64
    assert unparsed(chunks) == {} and chunks[0].skipped is None


def test_a_missing_path_is_null_and_not_counted(tmp_path: Path) -> None:
    body = b'{"a":1}\n{"a":2,"n":{"b":"x"}}\n{"a":3,"n":"flat"}\n{"a":4,"n":{"l":[]}}\n'
    src = source(("a", "int64"), ("b", "string", "n.b"), ("l", "string", "n.l[0]"))
    chunks = read(tmp_path, body, src)
    assert rows(chunks) == [
        {"a": 1, "b": None, "l": None},
        {"a": 2, "b": "x", "l": None},
        {"a": 3, "b": None, "l": None},
        {"a": 4, "b": None, "l": None},
    ]
    assert unparsed(chunks) == {}


def test_values_are_typed_like_csv_text_and_failures_are_counted(tmp_path: Path) -> None:
    body = (
        b'{"n":"42","f":"1.5","b":"yes","d":"2024-02-29","s":7}\n'
        b'{"n":true,"f":true,"b":1,"d":20240229,"s":true}\n'
        b'{"n":{"x":1},"f":[1],"b":"maybe","d":"2024-13-01","s":{"k":[1,"x"]}}\n'
        b'{"n":null,"f":null,"b":null,"d":null,"s":null}\n'
    )
    src = source(("n", "int64"), ("f", "float64"), ("b", "bool"), ("d", "date"), ("s", "string"))
    chunks = read(tmp_path, body, src)
    got = rows(chunks)
    assert got[0] == {
        "n": 42,
        "f": 1.5,
        "b": True,
        "d": pl.Series(["2024-02-29"]).str.to_date()[0],
        "s": "7",
    }
    assert got[1] == {"n": None, "f": None, "b": True, "d": None, "s": "true"}
    assert got[2]["s"] == '{"k": [1, "x"]}'  # an object read as a string keeps its JSON text
    assert {k: v for k, v in got[2].items() if k != "s"} == dict.fromkeys("nfbd")
    assert got[3] == dict.fromkeys("nfbds")
    # row 2: n true, f true, d 20240229; row 3: n, f, b, d; nulls are never counted
    assert unparsed(chunks) == {"n": 2, "f": 2, "b": 1, "d": 2}


def test_lines_that_are_not_objects_are_skipped_and_counted(tmp_path: Path) -> None:
    body = b'{"a":1}\nnot json\n\n[1,2]\n{"a":2}\n"text"\n{"a": NaN}\n{"a":3'
    chunks = read(tmp_path, body, source(("a", "int64")))
    assert [r["a"] for r in rows(chunks)] == [1, 2]
    skipped = [c.skipped for c in chunks if c.skipped is not None]
    assert sum(s.records for s in skipped) == 5
    assert skipped[0].first.startswith("line 2: not valid JSON")


@pytest.mark.parametrize("key", ["a.ndjson", "a.ndjson.gz"])
def test_the_skipped_line_number_counts_across_chunks(tmp_path: Path, key: str) -> None:
    body = b"".join(b'{"a":%d}\n' % i for i in range(1000)) + b"\n  \n" + b"oops\n"
    chunks = read(tmp_path, body, source(("a", "int64")), key=key, chunk=1000)
    assert len(chunks) > 5
    assert [c.skipped.first for c in chunks if c.skipped] == [
        "line 1003: not valid JSON (Expecting value at character 1)"
    ]
    assert [r["a"] for r in rows(chunks)] == list(range(1000))


@pytest.mark.parametrize("key", ["a.ndjson", "a.ndjson.gz"])
def test_bad_lines_in_many_chunks_are_numbered_in_the_file(tmp_path: Path, key: str) -> None:
    """Line numbers are counted only once a message needs one; later chunks keep counting."""
    lines = [b'{"a":%d}' % i for i in range(1000)]
    for number in (300, 600, 900):
        lines[number - 1] = b"oops"
    chunks = read(tmp_path, b"\n".join(lines) + b"\n", source(("a", "int64")), key=key, chunk=1000)
    assert [c.skipped.first.split(":")[0] for c in chunks if c.skipped] == [
        "line 300",
        "line 600",
        "line 900",
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'[{"a":1},\n{"a":2}]\n', "one JSON array"),
        (b"a,b\n1,2\n3,4\n", "not NDJSON"),
        (b"\x00\x01\x02binary", "binary"),
        (b'"just a string"\n', "a JSON string, not an object"),
        (b"\xff\xfe{\x00", "UTF-16 is not supported"),  # the opener CSV files share
    ],
)
def test_a_file_that_is_not_ndjson_is_refused(tmp_path: Path, body: bytes, reason: str) -> None:
    with pytest.raises(BadInputFile, match=reason):
        read(tmp_path, body, source(("a", "int64")))


def test_an_empty_file_has_no_rows(tmp_path: Path) -> None:
    assert rows(read(tmp_path, b"", source(("a", "int64")))) == []
    assert rows(read(tmp_path, b"\n \n", source(("a", "int64")))) == []


def test_bom_crlf_and_gzip(tmp_path: Path) -> None:
    body = b'\xef\xbb\xbf{"a":1}\r\n{"a":2}\r\n'
    assert rows(read(tmp_path, body, source(("a", "int64")), key="x.jsonl.gz")) == [
        {"a": 1},
        {"a": 2},
    ]


def test_a_truncated_gzip_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "input"
    path.write_bytes(gzip.compress(b"".join(b'{"a":%d}\n' % i for i in range(10000)))[:2000])
    with pytest.raises(BadInputFile, match="gzip"):
        list(read_ndjson(path, "x.json.gz", source(("a", "int64"))))


def test_an_overlong_line_is_refused_instead_of_buffered() -> None:
    stream = io.BytesIO(b'{"a":1}\n' + b'{"a":"' + b"x" * 5000 + b'"}\n')
    with pytest.raises(BadInputFile, match="longer than 1,000 bytes"):
        list(line_chunks(stream, chunk_bytes=100, max_line_bytes=1000))


def test_chunks_end_at_line_ends() -> None:
    body = b"".join(b'{"a":%d}\n' % i for i in range(500)) + b'{"a":500}'
    chunks = list(line_chunks(io.BytesIO(body), chunk_bytes=64))
    assert b"".join(chunks) == body
    assert all(c.endswith(b"\n") for c in chunks[:-1])


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    last_newline=st.booleans(),
    chunk_bytes=st.integers(1, 64),
    read_size=st.integers(1, 50),
)
def test_chunks_cover_the_input_exactly_at_line_ends(
    lines: list[bytes],
    last_newline: bool,
    chunk_bytes: int,
    read_size: int,
) -> None:
    """Whatever the chunk sizes and however little each read returns (a gzip stream returns
    what it has): the chunks are the input, each but the last ends a line, and a chunk is
    longer than `chunk_bytes` only by a line longer than that (as memory is bounded)."""
    body = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    body = body.replace(b"\x00", b"").lstrip(b" \t\n\r\x0b\x0c[")  # not the refused starts

    class Trickle(io.BytesIO):
        def readinto(self, buffer: Any, /) -> int:
            return super().readinto(memoryview(buffer)[:read_size])

    stream = Trickle(body)
    chunks = list(line_chunks(stream, chunk_bytes, 1000))
    tail = body[body.rfind(b"\n") + 1 :]  # an unfinished last line: dropped when blank
    assert b"".join(chunks) == (body if tail.strip() else body[: len(body) - len(tail)])
    assert all(c.endswith(b"\n") for c in chunks[:-1])
    for chunk in chunks:
        longest_line = max(len(line) + 1 for line in chunk.split(b"\n"))
        assert len(chunk) <= chunk_bytes or len(chunk) < chunk_bytes + longest_line


def test_contradicting_paths_are_read_line_by_line(tmp_path: Path) -> None:
    src = source(("n", "string"), ("b", "string", "n.b"), ("first", "int64", "arr[0]"))
    assert JsonPlan.of(source(("n", "string"), ("b", "string", "n.b")).columns).schema is None
    body = b'{"n":{"b":"x"},"arr":[5]}\n{"n":"flat","arr":[]}\n'
    assert rows(read(tmp_path, body, src)) == [
        {"n": '{"b": "x"}', "b": "x", "first": 5},
        {"n": "flat", "b": None, "first": None},
    ]


# ---------------------------------------------------------------- fast and slow paths agree

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(float),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xyz"), inner, max_size=3)
    ),
    max_leaves=6,
)
_records = st.dictionaries(st.sampled_from(["a", "b", "n"]), _values, max_size=3)

_PLAN_COLUMNS = [
    ColumnSchema(name="a", type="string"),
    ColumnSchema(name="ai", type="int64", path="a"),
    ColumnSchema(name="bx", type="float64", path="b.x"),
    ColumnSchema(name="n0", type="string", path="n[0]"),
    ColumnSchema(name="n1y", type="bool", path="n[1].y"),
]


@settings(max_examples=150, deadline=None)
@given(st.lists(_records, min_size=1, max_size=6))
def test_polars_and_line_by_line_parsing_agree(records: list[dict[str, Any]]) -> None:
    """Whenever Polars accepts a chunk, the line-by-line reader gives the same text."""
    chunk = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    plan = JsonPlan.of(_PLAN_COLUMNS)
    fast = plan.parse(chunk, lambda: 1)
    slow = plan._parse_lines(chunk, 1)
    assert slow.skipped is None
    if fast.skipped is None:  # Polars took it (not every shape fits the schema)
        for name in fast.frame.columns:
            for got, want in zip(
                fast.frame[name].to_list(), slow.frame[name].to_list(), strict=True
            ):
                if got != want:  # numbers may be written differently; they read the same
                    assert float(got) == float(want), (name, got, want)


@pytest.mark.parametrize("bad_line", [b"", b"not json\n"])  # Polars' path, the line-by-line one
def test_floats_must_be_finite_and_dates_within_years_1_to_9999(
    tmp_path: Path, bad_line: bytes
) -> None:
    """As in CSV files (`base.plausible`): `1e309` is no number and year 0 no date; both are
    null and counted."""
    lines = [
        {"n": 1.5, "d": "2024-01-31", "ts": "2024-01-31T10:00:00Z"},
        {"n": "1e309", "d": "0000-12-31", "ts": "0000-01-01T00:00:00Z"},
        {"n": "-inf", "d": "10000-01-01", "ts": "-001-01-01T00:00:00Z"},
        {"n": "-0", "d": "0001-01-01", "ts": "9999-12-31T23:59:59Z"},
    ]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    body = body.replace(b'"1e309"', b"1e309")  # a JSON number too big for a float
    chunks = read(tmp_path, bad_line + body, source(("n", "number"), ("d", "date"),
                                                    ("ts", "timestamp")))  # fmt: skip
    got = rows(chunks)
    assert [r["n"] for r in got] == [1.5, None, None, -0.0]
    assert [str(r["d"]) if r["d"] else None for r in got] == [
        "2024-01-31",
        None,
        None,
        "0001-01-01",
    ]
    assert [r["ts"].year if r["ts"] else None for r in got] == [2024, None, None, 9999]
    assert unparsed(chunks) == {"n": 2, "d": 2, "ts": 2}
