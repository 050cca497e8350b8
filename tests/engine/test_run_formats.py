"""Runs over NDJSON and Parquet sources and with a record_filter (SPEC §13), on the local store."""

from __future__ import annotations

import gzip
import io
from typing import Any

import polars as pl
from tests.engine.workspace import Workspace, col, make_config, skipped

from karet_worker.engine.result import IssueKind, RunIssue


def ndjson_config(**source_extra: Any) -> dict[str, Any]:
    config = make_config(
        source_schema=[("status", "int64"), ("ua", "string"), ("uri", "string")],
        table_schema=[("status", "int64"), ("ua", "string"), ("uri", "string")],
    )
    source = config["source_containers"][0]
    source["format"] = "ndjson"
    source["schema"][1]["path"] = "request.headers.User-Agent[0]"
    source["schema"][2]["path"] = "request.uri"
    source.update(source_extra)
    return config


def log_line(status: object, ua: str, uri: str) -> str:
    return (
        f'{{"status": {status}, "request": {{"uri": "{uri}", '
        f'"headers": {{"User-Agent": ["{ua}"]}}}}}}\n'
    )


NOT_BOT = {
    "kind": "not",
    "input": {"kind": "contains", "input": col("ua"), "pattern": {"kind": "str", "value": "bot"}},
}


def test_an_ndjson_source_reads_only_its_suffixes_in_key_order(ws: Workspace) -> None:
    ws.config(ndjson_config())
    ws.put("raw/a.ndjson", log_line(200, "curl", "/a"))
    ws.put("raw/b.jsonl", log_line(404, "curl", "/b"))
    ws.put("raw/c.json.gz", gzip.compress(log_line(500, "curl", "/c").encode()))
    ws.put("raw/d.csv", "status\n1\n")  # not this source's format
    ws.put("raw/e.JSON", log_line(201, "curl", "/e"))  # suffixes match in any case
    result = ws.run()
    assert result.errors == []
    assert result.files_processed == 4
    assert ws.read("t")["uri"].to_list() == ["/a", "/b", "/c", "/e"]


def test_no_ndjson_input_names_the_suffixes_of_the_format(ws: Workspace) -> None:
    ws.config(ndjson_config())
    ws.put("raw/d.csv", "status\n1\n")
    [issue] = ws.run().errors
    assert issue.kind is IssueKind.NO_INPUT_FILES
    assert ".jsonl" in issue.detail and ".ndjson.gz" in issue.detail


def test_record_filter_drops_records_before_the_mappings(ws: Workspace) -> None:
    config = ndjson_config(record_filter=NOT_BOT)
    config["source_containers"][0]["schema"][0]["assertions"] = {"max": 499}
    ws.config(config)
    ws.put(
        "raw/a.ndjson",
        log_line(200, "curl", "/a") + log_line(500, "Googlebot", "/x") + log_line(301, "ff", "/b"),
    )
    result = ws.run()
    # the bot's 500 would break the source assertion: it was dropped first
    assert result.errors == []
    assert (result.rows_read, result.rows_filtered, result.rows_written) == (3, 1, 2)
    assert ws.read("t")["uri"].to_list() == ["/a", "/b"]


def test_rows_a_record_filter_drops_are_filtered_rows_of_every_mapping(ws: Workspace) -> None:
    """SPEC §6: each mapping accounts for every row its source gave, rows_read =
    rows_filtered + rows_deduped + rows_written; the record_filter's drops count for each
    mapping reading the source, next to its own `where` drops; a skipped file counts none."""
    config = ndjson_config(record_filter=NOT_BOT)
    second = {**config["mappings"][0], "id": "m2", "analytic_table_id": "t2"}
    second["where"] = {"kind": "lt", "left": col("status"), "right": {"kind": "num", "value": 400}}
    config["mappings"].append(second)
    config["analytic_tables"].append({**config["analytic_tables"][0], "id": "t2"})
    ws.config(config)
    lines = [(200, "curl", "/a"), (500, "Googlebot", "/x"), (404, "ff", "/b"), (200, "bot", "/y")]
    ws.put("raw/a.ndjson", "".join(log_line(*line) for line in lines))
    ws.put("raw/b.ndjson", log_line(200, "bot", "/z") + "[1]\n" + "x" * 10 + "\n" * 3)
    ws.put("raw/c.ndjson", "[1, 2]\n")  # not NDJSON: skipped, its rows count nowhere
    result = ws.run()
    assert list(skipped(result)) == ["c.ndjson"]
    assert [ws.read(t)["uri"].to_list() for t in ("t", "t2")] == [["/a", "/b"], ["/a"]]
    # m1: 2 bots of a.ndjson + 1 of b.ndjson; m2: the same 3 and the 404 its `where` drops
    assert result.rows_read == 5 and result.rows_written == 2 + 1
    assert result.rows_filtered == 3 + 4


def test_a_null_record_filter_verdict_drops_the_record(ws: Workspace) -> None:
    ws.config(ndjson_config(record_filter=NOT_BOT))
    ws.put("raw/a.ndjson", log_line(200, "curl", "/a") + '{"status": 200}\n')
    ws.run()
    assert ws.read("t")["uri"].to_list() == ["/a"]


def test_bad_lines_and_values_are_warnings_and_a_non_ndjson_file_an_error(ws: Workspace) -> None:
    ws.config(ndjson_config())
    ws.put("raw/a.ndjson", log_line(200, "c", "/a") + "oops\n" + log_line('"x"', "c", "/b"))
    ws.put("raw/b.ndjson", "status,ua\n200,curl\n")
    result = ws.run()
    assert list(skipped(result)) == ["b.ndjson"]
    assert "not NDJSON" in skipped(result)["b.ndjson"]
    assert result.warnings == [
        RunIssue(
            IssueKind.RECORDS_SKIPPED,
            file="pipelines/t/raw/a.ndjson",
            count=1,
            detail="line 2: not valid JSON (Expecting value at character 1)",
        ),
        RunIssue(
            IssueKind.UNPARSED_VALUES,
            file="pipelines/t/raw/a.ndjson",
            column="status",
            count=1,
            expected="int64",
        ),
    ]
    assert "1 line(s) are not JSON objects and were skipped" in result.warning_texts()[0]
    assert ws.read("t").to_dicts() == [
        {"status": 200, "ua": "c", "uri": "/a"},
        {"status": None, "ua": "c", "uri": "/b"},
    ]


def test_a_parquet_source_is_read_with_the_declared_types(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("id", "string"), ("amount", "number")],
        table_schema=[("id", "string"), ("amount", "float64")],
        mapping_extra={
            "where": {"kind": "gt", "left": col("amount"), "right": {"kind": "num", "value": 0}}
        },
    )
    config["source_containers"][0]["format"] = "parquet"
    ws.config(config)

    def parquet(frame: pl.DataFrame) -> bytes:
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        return buffer.getvalue()

    ws.put("raw/a.parquet", parquet(pl.DataFrame({"id": [7, 8], "amount": ["1.5", "-2"]})))
    ws.put("raw/b.parquet", parquet(pl.DataFrame({"id": ["009"], "amount": [3]})))
    ws.put("raw/c.parquet", parquet(pl.DataFrame({"id": ["x"]})))
    ws.put("raw/d.parquet", b"not parquet")
    result = ws.run()
    assert sorted(skipped(result)) == ["c.parquet", "d.parquet"]
    assert "missing column(s) 'amount'" in skipped(result)["c.parquet"]
    assert ws.read("t").to_dicts() == [{"id": "7", "amount": 1.5}, {"id": "009", "amount": 3.0}]
