"""Bad input files are isolated (skipped, one error each) while the rest lands; a bad value deep
inside a good file becomes null with a warning instead (SPEC §3, §6)."""

from __future__ import annotations

import random
import re

import pytest

from .pipelines import copy_columns, copy_pipeline, csv_text, mapping, pipeline, source, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

COLUMNS = [("id", "int64"), ("name", "string"), ("amount", "number")]
CONFIG = copy_pipeline(COLUMNS)


def png_like_bytes() -> bytes:
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
    return header + random.Random(7).randbytes(4096)


def test_bad_files_are_skipped_with_their_errors_while_the_rest_lands(
    service: Service, workspace: Workspace
) -> None:
    workspace.put_config(CONFIG)
    good = {
        "raw/a_good.csv": [[1, "alpha", "1.5"], [2, "beta", "2"]],
        "raw/z_good.csv": [[3, "gamma", "3"]],
    }
    for key, rows in good.items():
        workspace.put_csv(key, csv_text(["id", "name", "amount"], rows))
    # Missing the `amount` column: the error lists it and the headers found.
    workspace.put_csv("raw/b_missing_column.csv", "id,name,total\n9,nine,9\n")
    workspace.put("raw/c_binary.csv", png_like_bytes())
    # Latin-1 bytes in a source declared UTF-8 (the default): undecodable.
    workspace.put("raw/d_latin1.csv", "id,name,amount\n8,Café,1\n".encode("latin-1"))

    body = service.run_ok(workspace.prefix)

    assert workspace.read_table("out") == [
        {"id": 1, "name": "alpha", "amount": 1.5},
        {"id": 2, "name": "beta", "amount": 2.0},
        {"id": 3, "name": "gamma", "amount": 3.0},
    ]
    errors = body["errors"]
    assert len(errors) == 3, errors
    by_file = {
        name: [e for e in errors if name in e]
        for name in ("b_missing_column.csv", "c_binary.csv", "d_latin1.csv")
    }
    assert all(len(found) == 1 for found in by_file.values()), errors
    (missing,) = by_file["b_missing_column.csv"]
    assert "amount" in missing  # the missing column ...
    assert all(header in missing for header in ("id", "name", "total"))  # ... and headers found
    assert not any("a_good.csv" in e or "z_good.csv" in e for e in errors)
    assert body["rows_written"] == 3
    assert body["partitions_written"] == 1
    assert workspace.keys("clean/") == ["clean/out/m.parquet"]


def test_a_late_unparseable_value_becomes_null_with_a_warning(
    service: Service, workspace: Workspace
) -> None:
    """Row 5,000 of 6,000 breaks the declared type: only that value is lost, not the file."""
    workspace.put_config(CONFIG)
    rows: list[list[object]] = [[i, f"n{i}", f"{i}.25"] for i in range(1, 6001)]
    rows[4999][2] = "n/a"  # the 5,000th data row
    rows[5499][0] = "12x"  # and a bad int64 later still
    workspace.put_csv("raw/big.csv", csv_text(["id", "name", "amount"], rows))

    body = service.run_ok(workspace.prefix)

    assert body["errors"] == []
    assert body["rows_read"] == 6000
    assert body["rows_written"] == 6000
    with workspace.duck("out") as con:
        assert con.sql("SELECT count(*) FROM t").fetchall() == [(6000,)]
        assert con.sql("SELECT id, name FROM t WHERE amount IS NULL").fetchall() == [
            (5000, "n5000")
        ]
        assert con.sql("SELECT name, amount FROM t WHERE id IS NULL").fetchall() == [
            ("n5500", 5500.25)
        ]
        assert con.sql("SELECT amount FROM t WHERE id = 4999").fetchall() == [(4999.25,)]
    warnings = body["warnings"]
    for column in ("amount", "id"):
        # One warning per column per file, with the count of values lost.
        mentioning = [w for w in warnings if re.search(rf"\b{column}\b", w) and "big.csv" in w]
        assert len(mentioning) == 1, (column, warnings)
        assert re.search(r"\b1\b", mentioning[0]), mentioning


def test_csv_options_and_encodings_are_honoured(service: Service, workspace: Workspace) -> None:
    """Delimiter, quote, skip_rows, null_values, cp1252, a UTF-8 BOM and padded header names."""
    options = {
        "delimiter": "|",
        "quote": "'",
        "skip_rows": 2,
        "null_values": ["NA", "-"],
        "encoding": "cp1252",
    }
    workspace.put_config(
        pipeline(
            sources=[
                source("legacy", "raw/legacy/", COLUMNS, **options),
                source("modern", "raw/modern/", COLUMNS),
            ],
            tables=[table("out", COLUMNS)],
            mappings=[
                mapping("m_legacy", "legacy", "out", copy_columns(COLUMNS)),
                mapping("m_modern", "modern", "out", copy_columns(COLUMNS)),
            ],
        )
    )
    legacy = (
        "exported by the bank\nsecond preamble line\n id | name |amount\n1|'a|b'|NA\n2|Caf€|-\n"
    )
    workspace.put("raw/legacy/2024.csv", legacy.encode("cp1252"))
    workspace.put("raw/modern/a.csv", "\ufeffid,name,amount\n10,naïve,1.25\n".encode())

    body = service.run_ok(workspace.prefix)

    assert body["errors"] == []
    assert workspace.read_table("out") == [
        {"id": 1, "name": "a|b", "amount": None},
        {"id": 2, "name": "Caf€", "amount": None},
        {"id": 10, "name": "naïve", "amount": 1.25},
    ]
    # null_values are nulls, not unparseable numbers: nothing to warn about.
    assert not [w for w in body["warnings"] if "amount" in w], body["warnings"]


def test_every_log_line_of_a_run_carries_its_job_id(service: Service, workspace: Workspace) -> None:
    workspace.put_config(CONFIG)
    workspace.put_csv("raw/a.csv", csv_text(["id", "name", "amount"], [[1, "a", "1"]]))
    workspace.put_csv("raw/b_bad.csv", "x,y\n1,2\n")

    body = service.run_ok(workspace.prefix)

    mine = [r for r in service.log_records() if r.get("job_id") == body["job_id"]]
    messages = " ".join(str(r.get("message", "")) + " " + str(r.get("key", "")) for r in mine)
    assert len(mine) >= 2, mine
    assert "b_bad.csv" in messages  # the skipped file is logged under the run's job id
    assert all({"ts", "level", "message"} <= set(r) for r in mine)
