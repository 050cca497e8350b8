"""Hostile CSV inputs through whole runs (issue 7): every file is either written exactly as
Python's csv reads it or reported as skipped — never a silent loss, never an exception."""

from __future__ import annotations

import uuid
from pathlib import Path

import polars as pl
from hypothesis import given
from tests.engine.csvgen import HostileCsv, hostile_csvs, reference_read
from tests.engine.fuzzing import fuzz_settings
from tests.engine.workspace import PREFIX, Workspace, make_config, skipped

from karet_worker.engine.limits import Limits
from karet_worker.engine.result import MAX_MESSAGE_CHARS, IssueKind

TWO = make_config(
    source_schema=[("a", "string"), ("b", "string")],
    table_schema=[("a", "string"), ("b", "string")],
)


def test_cr_only_line_endings_are_read(ws: Workspace) -> None:
    """Defect 1: classic-Mac files were read as one header line and `rows_read: 0`."""
    ws.config(TWO)
    ws.put("raw/mac.csv", b"a,b\r1,x\r2,y\r")
    ws.put("raw/mixed.csv", b'a,b\r\n3,"multi\rline"\r4,z\n5,\r\n')
    result = ws.run()
    assert result.errors == []
    assert (result.rows_read, result.rows_written) == (5, 5)
    assert ws.read("t").to_dicts() == [
        {"a": "1", "b": "x"},
        {"a": "2", "b": "y"},
        {"a": "3", "b": "multi\rline"},
        {"a": "4", "b": "z"},
        {"a": "5", "b": None},
    ]


def test_every_message_is_capped(ws: Workspace) -> None:
    """Defect 10: a reason quoting a huge header is cut, saying how much was left out."""
    ws.config(TWO)
    header = ",".join(f"not_it_{i}" for i in range(60_000))  # about 700 KB, under the cap
    ws.put("raw/wide.csv", f"{header}\n")
    result = ws.run()
    [text] = result.error_texts()
    assert len(text) <= MAX_MESSAGE_CHARS
    assert "missing column(s) 'a', 'b'" in text and "more characters)" in text
    assert len(result.errors[0].detail) <= MAX_MESSAGE_CHARS


@fuzz_settings(40)
@given(hostile_csvs())
def test_runs_write_what_pythons_csv_reads_or_report_the_file(
    tmp_path: Path, f: HostileCsv
) -> None:
    ws = Workspace(tmp_path / uuid.uuid4().hex, limits=Limits(chunk_bytes=f.chunk_bytes))
    columns = [(name, "string") for name in f.header]
    ws.config(make_config(source_schema=columns, table_schema=columns, csv=f.csv_options()))
    ws.put("raw/" + f.key, f.data)
    result = ws.run()  # never raises

    reasons = skipped(result)
    if reasons:
        assert list(reasons) == [f.key]
        assert result.rows_written == 0
        return
    assert not (f.has_nul or f.utf16)
    ref = reference_read(f.plain(), delimiter=f.delimiter, quote=f.quote, skip_rows=f.skip_rows)
    assert ref is not None and not ref.ragged
    expected = [dict(zip(ref.header, row, strict=True)) for row in ref.expected()]
    assert result.rows_read == result.rows_written == len(expected)
    assert [w.kind for w in result.warnings] == []
    if expected:
        path = ws.root / PREFIX / "clean" / "t" / "m1.parquet"
        assert pl.read_parquet(path).to_dicts() == [{h: r[h] for h in f.header} for r in expected]
    assert all(e.kind is not IssueKind.FILE_SKIPPED for e in result.errors)
