"""`infer_source`: the draft names the dialect and types of its samples, validates, and a real
run with it reads the samples without skipping a file or losing a value."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from karet_worker.api import create_app
from karet_worker.authoring.infer import NoSample, Sample, infer_source
from karet_worker.cli.main import app
from karet_worker.config.validate import validate_document
from karet_worker.demo import demo_files
from karet_worker.engine.result import RunResult
from karet_worker.engine.run import Runner
from karet_worker.settings import Settings
from karet_worker.storage.factory import open_store

PREFIX = "pipelines/inferred/"


def run_with_draft(
    data_dir: Path, source: dict[str, Any], files: dict[str, bytes]
) -> tuple[RunResult, list[dict[str, Any]]]:
    """A pipeline copying every drafted column into a table of the same types, run on `files`;
    the result and the rows DuckDB reads back."""
    store = open_store(Settings.from_env({"KARET_DATA_DIR": str(data_dir)}))
    for name, data in files.items():
        store.put(f"{PREFIX}{source['path_prefix']}{name}", data)
    columns = [{"name": c["name"], "type": c["type"]} for c in source["schema"]]
    config = {
        "version": 1,
        "source_containers": [source],
        "mappings": [
            {
                "id": "copy",
                "source_container_id": source["id"],
                "analytic_table_id": "t",
                "columns": [
                    {"name": c["name"], "expr": {"kind": "col", "name": c["name"]}} for c in columns
                ],
            }
        ],
        "analytic_tables": [{"id": "t", "name": "t", "schema": columns}],
    }
    report = validate_document(config)
    assert report.ok and not report.warnings, (report.problems, report.warnings)
    store.put(f"{PREFIX}pipeline.json", json.dumps(config).encode())
    result = Runner(store).run(PREFIX)
    out = data_dir / PREFIX / "clean" / "t" / "copy.parquet"
    rows = duckdb.sql(f"select * from read_parquet('{out}')").pl().to_dicts()
    return result, rows


def test_demo_card_statement_preamble_semicolons_and_day_first_dates(tmp_path: Path) -> None:
    demo = demo_files()
    names = ["raw/card/statement-2024-01.csv", "raw/card/statement-2024-02-03.csv"]
    draft = infer_source([Sample(n, demo[n]) for n in names], source_id="card")
    assert draft.source["csv"] == {"delimiter": ";", "skip_rows": 1}
    types = {c["name"]: c["type"] for c in draft.source["schema"]}
    assert types == {
        "Transaction Date": "string",
        "Reference": "string",
        "Merchant Details": "string",
        "Amount": "number",
    }
    (dated,) = [c for c in draft.columns if c.format]
    assert (dated.name, dated.format) == ("Transaction Date", "%d/%m/%Y")
    assert any('"format": "%d/%m/%Y"' in note for note in draft.notes)
    result, rows = run_with_draft(tmp_path / "data", draft.source, {n: demo[n] for n in names})
    assert result.errors == [] and result.warnings == []
    data_lines = sum(len(demo[n].decode().strip().splitlines()) - 2 for n in names)
    assert result.rows_read == len(rows) == data_lines


CP1252_EXPORT = (
    "id|code|when|amount|ok|note\r\n"
    "1|007|2024-02-29|1.5|yes|caf\u00e9 \u20ac5\r\n"
    "2|010|2024-03-01|NA|no|\r\n"
    "3|123|2024-03-02|-2e3|Y|'quoted' text\r\n"
).encode("cp1252")


def test_encoding_null_markers_identifiers_and_gzip(tmp_path: Path) -> None:
    sample = Sample("export.csv.gz", gzip.compress(CP1252_EXPORT, mtime=0))
    draft = infer_source([sample], source_id="exp")
    assert draft.source["csv"] == {"delimiter": "|", "null_values": ["NA"], "encoding": "cp1252"}
    types = {c["name"]: c["type"] for c in draft.source["schema"]}
    assert types == {
        "id": "int64",
        "code": "string",  # leading zeros: an identifier, not the number 7
        "when": "date",
        "amount": "number",
        "ok": "bool",
        "note": "string",
    }
    result, rows = run_with_draft(tmp_path / "data", draft.source, {"a.csv.gz": sample.data})
    assert result.errors == [] and result.warnings == []
    assert [r["code"] for r in rows] == ["007", "010", "123"]
    assert [r["amount"] for r in rows] == [1.5, None, -2000.0]
    assert rows[0]["note"] == "caf\u00e9 \u20ac5"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_quoted_fields_with_delimiters_and_newlines_inside(delimiter: str, tmp_path: Path) -> None:
    d = delimiter
    text = (
        f'name{d}qty{d}comment\n"Smith{d} J."{d}3{d}"two\nlines"\n'
        f'"O\'Brien"{d}4{d}"say ""hi"""\nplain{d}5{d}\n'
    )
    draft = infer_source([Sample("q.csv", text.encode())], source_id="q")
    assert draft.source["csv"] == {"delimiter": d}
    assert [c["type"] for c in draft.source["schema"]] == ["string", "int64", "string"]
    result, rows = run_with_draft(tmp_path / "data", draft.source, {"q.csv": text.encode()})
    assert result.errors == []
    assert rows[0] == {"name": f"Smith{d} J.", "qty": 3, "comment": "two\nlines"}
    assert rows[1]["comment"] == 'say "hi"'


def test_iso_timestamps_are_timestamps_and_read_back_typed(tmp_path: Path) -> None:
    text = b"at,n\n2024-03-01T10:00:00Z,1\n2024-03-01 11:30:00+02:00,2\n2024-03-02T00:00:00,3\n"
    draft = infer_source([Sample("t.csv", text)], source_id="t")
    assert draft.source["schema"][0] == {"name": "at", "type": "timestamp"}
    result, rows = run_with_draft(tmp_path / "data", draft.source, {"t.csv": text})
    assert result.errors == [] and result.warnings == []
    assert [r["at"].isoformat() for r in rows] == [
        "2024-03-01T10:00:00+00:00",
        "2024-03-01T09:30:00+00:00",
        "2024-03-02T00:00:00+00:00",
    ]


def test_a_value_the_engine_would_not_read_keeps_the_column_a_string(tmp_path: Path) -> None:
    # Python reads 1_000 as a number; the engine's reader does not: the draft says string.
    text = b"n\n1\n1_000\n"
    draft = infer_source([Sample("u.csv", text)], source_id="u")
    assert draft.source["schema"] == [{"name": "n", "type": "string"}]
    assert any("do not read as" in note for note in draft.notes)
    result, rows = run_with_draft(tmp_path / "data", draft.source, {"u.csv": text})
    assert result.warnings == [] and [r["n"] for r in rows] == ["1", "1_000"]


def test_unusable_samples_are_named() -> None:
    with pytest.raises(NoSample, match="binary content"):
        infer_source([Sample("x.csv", b"\x89PNG\x00\x00")], source_id="x")
    draft = infer_source(
        [Sample("bad.csv", b"\x00"), Sample("good.csv", b"a,b\n1,2\n")], source_id="x"
    )
    assert draft.notes[0].startswith("bad.csv: binary content")
    assert [c["name"] for c in draft.source["schema"]] == ["a", "b"]


def test_cli_on_files_and_on_a_store_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("S3_BUCKET", raising=False)
    sample = tmp_path / "bank-2024.csv"
    sample.write_bytes(demo_files()["raw/bank/2024-01.csv"])
    runner = CliRunner()
    out = runner.invoke(app, ["infer", str(sample)])
    assert out.exit_code == 0, out.output
    source = json.loads(out.stdout)
    assert (source["id"], source["path_prefix"]) == ("bank-2024", "raw/bank-2024/")
    assert runner.invoke(app, ["demo", "--allow-errors"]).exit_code == 0
    out = runner.invoke(app, ["infer", "pipelines/demo/raw/card/", "--id", "card"])
    assert out.exit_code == 0, out.output
    source = json.loads(out.stdout)
    assert source["path_prefix"] == "raw/card/"
    assert "receipt-scan.csv: binary content" in out.stderr  # the demo's broken file: noted
    missing = runner.invoke(app, ["infer", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "not a file" in missing.stderr


def test_api_drafts_from_an_uploaded_sample(tmp_path: Path) -> None:
    settings = Settings.from_env({"KARET_DATA_DIR": str(tmp_path / "data")})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post(
            "/sources/infer?id=bank&path_prefix=raw/bank/",
            content=demo_files()["raw/bank/2024-01.csv"],
            headers={"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["source"]["schema"][0] == {"name": "date", "type": "date"}
        assert body["source"]["path_prefix"] == "raw/bank/"
        assert body["columns"][2]["examples"][0] == "2850.00"
        empty = client.post("/sources/infer", content=b"")
        assert empty.status_code == 400
        assert empty.json()["error"] == "invalid_request"
