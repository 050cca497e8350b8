"""The run engine end to end on the local store (SPEC §6)."""

from __future__ import annotations

import datetime as dt
import gzip

import polars as pl
import pytest
from tests.engine.workspace import (
    PREFIX,
    Workspace,
    col,
    copy_mapping,
    kinds,
    make_config,
    skipped,
)

from karet_worker.engine.limits import Limits
from karet_worker.engine.result import ConfigInvalid, ConfigNotFound, IssueKind, RunIssue

SIMPLE = make_config(
    source_schema=[("id", "string"), ("amount", "number")],
    table_schema=[("id", "string"), ("amount", "float64")],
)


def test_reads_declared_types_and_writes_one_object(ws: Workspace) -> None:
    ws.config(SIMPLE)
    ws.put("raw/a.csv", "id,amount\n007,1.5\n008,2\n")
    ws.put("raw/sub/b.csv", "id,amount\n009,\n")
    result = ws.run()
    assert result.errors == []
    assert (result.files_processed, result.rows_read, result.rows_written) == (2, 3, 3)
    assert result.partitions_written == 1
    assert ws.objects() == ["clean/t/m1.parquet"]
    out = ws.read("t")
    assert out.to_dicts() == [
        {"id": "007", "amount": 1.5},
        {"id": "008", "amount": 2.0},
        {"id": "009", "amount": None},
    ]


def test_missing_config_and_invalid_config_abort(ws: Workspace) -> None:
    with pytest.raises(ConfigNotFound):
        ws.run()
    ws.put("pipeline.json", '{"version": 2}')
    with pytest.raises(ConfigInvalid) as info:
        ws.run()
    assert info.value.problems
    assert ws.objects() == []


def test_no_input_files_is_an_error_entry(ws: Workspace) -> None:
    ws.config(SIMPLE)
    result = ws.run()
    assert result.files_processed == 0
    assert result.errors == [
        RunIssue(
            IssueKind.NO_INPUT_FILES, source="src", detail="(.csv, .csv.gz) under pipelines/t/raw/"
        )
    ]


def test_bad_files_are_skipped_with_reasons_and_the_rest_lands(ws: Workspace) -> None:
    ws.config(SIMPLE)
    ws.put("raw/1-good.csv", "id,amount\na,1\n")
    ws.put("raw/2-missing.csv", "id,value\nb,2\n")
    ws.put("raw/3-binary.csv", bytes(range(256)) * 4)
    ws.put("raw/4-latin1.csv", "id,amount\ncaf\xe9,3\n".encode("latin1"))
    ws.put("raw/5-ragged.csv", "id,amount\nc,1,2,3\n")
    ws.put("raw/6-notgzip.csv.gz", b"plain text")
    ws.put("raw/7-ignored.txt", "id,amount\nx,1\n")
    result = ws.run()
    assert (result.files_processed, result.files_skipped) == (6, 5)  # skipped ones count too
    assert ws.read("t")["id"].to_list() == ["a"]
    by_file = skipped(result)
    assert set(kinds(result.errors)) == {IssueKind.FILE_SKIPPED}
    assert set(by_file) == {"2-missing.csv", "3-binary.csv", "4-latin1.csv", "5-ragged.csv",
                            "6-notgzip.csv.gz"}  # fmt: skip
    assert "'amount'" in by_file["2-missing.csv"] and "'value'" in by_file["2-missing.csv"]
    assert "binary" in by_file["3-binary.csv"]
    assert "UTF-8" in by_file["4-latin1.csv"]


def test_late_unparseable_value_becomes_null_with_a_warning(ws: Workspace) -> None:
    ws.config(SIMPLE)
    rows = [f"r{i},{i}" for i in range(6000)]
    rows[4999] = "r4999,not-a-number"
    ws.put("raw/a.csv", "id,amount\n" + "\n".join(rows) + "\n")
    result = ws.run()
    assert result.errors == []
    out = ws.read("t")
    assert out.height == 6000
    assert out["amount"].null_count() == 1
    assert out.row(4999, named=True) == {"id": "r4999", "amount": None}
    assert result.warnings == [
        RunIssue(
            IssueKind.UNPARSED_VALUES,
            file="pipelines/t/raw/a.csv",
            column="amount",
            count=1,
            expected="number",
        )
    ]


def test_csv_options_encoding_gzip_bom_and_trimmed_headers(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("id", "string"), ("ok", "bool"), ("day", "date")],
        table_schema=[("id", "string"), ("ok", "bool"), ("day", "date")],
        csv={"delimiter": ";", "skip_rows": 1, "null_values": ["NA"], "encoding": "latin1"},
    )
    ws.config(config)
    text = "exported by bank\n id ; ok ;day\ncaf\xe9;Yes;2024-01-31\nNA;n;bad\n"
    ws.put("raw/a.csv.gz", gzip.compress(b"\xef\xbb\xbf" * 0 + text.encode("latin1")))
    result = ws.run()
    assert result.errors == []
    assert ws.read("t").to_dicts() == [
        {"id": "café", "ok": True, "day": dt.date(2024, 1, 31)},
        {"id": None, "ok": False, "day": None},
    ]
    assert ws.objects("raw/") == ["raw/a.csv.gz"]  # inputs are read in place, never removed


def test_utf8_bom_is_stripped(ws: Workspace) -> None:
    ws.config(SIMPLE)
    ws.put("raw/a.csv", b"\xef\xbb\xbfid,amount\nx,1\n")
    result = ws.run()
    assert result.errors == []
    assert ws.read("t")["id"].to_list() == ["x"]


def test_partition_by_month_is_zero_padded_and_keeps_the_date(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("day", "date"), ("n", "int64")],
        table_schema=[("day", "date"), ("n", "int64")],
        mapping_extra={"partition_by": {"column": "day", "granularity": "month"}},
    )
    ws.config(config)
    ws.put("raw/a.csv", "day,n\n2024-03-05,1\n2024-11-01,2\n,3\n2024-03-06,4\n")
    result = ws.run()
    assert sorted(ws.objects()) == [
        "clean/t/year=2024/month=03/m1.parquet",
        "clean/t/year=2024/month=11/m1.parquet",
        "clean/t/year=__HIVE_DEFAULT_PARTITION__/month=__HIVE_DEFAULT_PARTITION__/m1.parquet",
    ]
    march = pl.read_parquet(ws.root / "pipelines/t/clean/t/year=2024/month=03/m1.parquet")
    assert march.to_dicts() == [
        {"day": dt.date(2024, 3, 5), "n": 1},
        {"day": dt.date(2024, 3, 6), "n": 4},
    ]
    assert result.warnings == [RunIssue(IssueKind.NULL_PARTITION, mapping="m1", count=1)]


def test_partition_keys_unpadded_encoded_and_dropped_from_payload(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("y", "int64"), ("who", "string"), ("v", "float64")],
        table_schema=[("y", "int64"), ("who", "string"), ("v", "float64")],
        table_extra={"partition_keys": ["y", "who"]},
    )
    ws.config(config)
    ws.put("raw/a.csv", "y,who,v\n2024,a b/c,1\n7,plain,2\n")
    ws.run()
    assert sorted(ws.objects()) == [
        "clean/t/y=2024/who=a%20b%2Fc/m1.parquet",
        "clean/t/y=7/who=plain/m1.parquet",
    ]
    payload = pl.read_parquet(ws.root / "pipelines/t/clean/t/y=7/who=plain/m1.parquet")
    assert payload.columns == ["v"]


def test_where_dedup_and_counts(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("id", "string"), ("amount", "float64")],
        table_schema=[("id", "string"), ("amount", "float64")],
        table_extra={"dedup_keys": ["id"]},
        mapping_extra={
            "where": {"kind": "gt", "left": col("amount"), "right": {"kind": "num", "value": 0}}
        },
    )
    ws.config(config)
    ws.put("raw/a.csv", "id,amount\nx,1\ny,-1\nx,2\n")
    ws.put("raw/b.csv", "id,amount\nz,3\nx,4\n,5\n,6\n")
    result = ws.run()
    assert result.rows_read == 7
    assert result.rows_deduped == 3
    assert ws.read("t").to_dicts() == [
        {"id": "x", "amount": 1.0},
        {"id": "z", "amount": 3.0},
        {"id": None, "amount": 5.0},
    ]
    assert result.rows_written == 3


def test_assertion_violation_fails_only_that_mapping(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("id", "string"), ("amount", "float64")],
        table_schema=[("id", "string"), ("amount", "float64")],
    )
    config["analytic_tables"][0]["schema"][0]["assertions"] = {"not_null": True, "unique": True}
    config["analytic_tables"][0]["schema"][1]["assertions"] = {"min": 0, "max": 10}
    config["analytic_tables"].append(
        {"id": "ok", "name": "OK", "schema": [{"name": "id", "type": "string"}]}
    )
    config["mappings"].append(copy_mapping("m2", "src", "ok", "id"))
    ws.config(config)
    ws.put("raw/a.csv", "id,amount\nx,1\nx,20\n,-3\n")
    result = ws.run()
    assert ws.objects() == ["clean/ok/m2.parquet"]
    assert kinds(result.errors) == [IssueKind.ASSERTION_FAILED] * 4  # every violation
    assert {e.mapping for e in result.errors} == {"m1"}
    details = [e.detail for e in result.errors]
    assert any("'id' violates unique: 1 row" in d for d in details)
    assert any("'amount' violates max" in d for d in details)


def test_source_column_assertions_fail_every_mapping_of_that_source(ws: Workspace) -> None:
    """Assertions declared on a source's columns check the rows read (all of them, before any
    mapping's `where`); a violation fails each mapping reading that source, and only those."""
    config = make_config(
        source_schema=[("id", "string"), ("amount", "float64")],
        table_schema=[("id", "string"), ("amount", "float64")],
        mapping_extra={
            "where": {"kind": "gt", "left": col("amount"), "right": {"kind": "num", "value": 0}}
        },
    )
    config["source_containers"][0]["schema"][0]["nullable"] = False
    config["source_containers"][0]["schema"][1]["assertions"] = {"max": 10}
    config["mappings"].append(copy_mapping("m2", "src", "t", "id"))
    config["source_containers"].append(
        {
            "id": "other",
            "name": "Other",
            "path_prefix": "other/",
            "schema": [{"name": "id", "type": "string", "nullable": False}],
        }
    )
    config["analytic_tables"].append(
        {"id": "ok", "name": "OK", "schema": [{"name": "id", "type": "string"}]}
    )
    config["mappings"].append(copy_mapping("m3", "other", "ok", "id"))
    ws.config(config)
    # -3 is dropped by `where` but still read: the source's not_null sees the empty id.
    ws.put("raw/a.csv", "id,amount\nx,1\n,-3\ny,20\n")
    ws.put("other/a.csv", "id\np\nq\n")
    result = ws.run()

    assert ws.objects() == ["clean/ok/m3.parquet"]
    for mapping_id in ("m1", "m2"):
        failures = sorted(
            result.error_texts()[i] for i, e in enumerate(result.errors) if e.mapping == mapping_id
        )
        assert failures == [
            f"mapping '{mapping_id}' failed an assertion: source 'src' column 'amount' "
            "violates max 10.0: 1 row(s), e.g. 20.0 (pipelines/t/raw/a.csv); nothing written "
            "for this mapping",
            f"mapping '{mapping_id}' failed an assertion: source 'src' column 'id' "
            "violates not_null: 1 row(s), e.g. null (pipelines/t/raw/a.csv); nothing written "
            "for this mapping",
        ]
    assert kinds(result.errors) == [IssueKind.ASSERTION_FAILED] * 4


def test_source_assertions_ignore_rows_of_skipped_files(ws: Workspace) -> None:
    """A file that fails after some of its chunks were checked leaves no violations behind."""
    config = make_config(source_schema=[("id", "string")], table_schema=[("id", "string")])
    config["source_containers"][0]["schema"][0]["assertions"] = {"unique": True}
    ws.config(config)
    ws.put("raw/a.csv", "id\n" + "".join(f"a{i}\n" for i in range(300)))
    # b.csv repeats a.csv's ids and empty ids over many chunks, then has a malformed line
    # (a blank line is skipped, like Python's csv does; a quoted empty field is a null)
    repeats = "".join(f'a{i}\n""\n\n' for i in range(300)) * 20
    ws.put("raw/b.csv", "id\n" + repeats + "x,extra\n")
    ws = ws.with_chunk_bytes(4096)
    result = ws.run()
    assert list(skipped(result)) == ["b.csv"], result.errors
    assert kinds(result.errors) == [IssueKind.FILE_SKIPPED]
    assert ws.read("t").height == 300

    config["source_containers"][0]["schema"][0]["nullable"] = False
    ws.config(config)
    ws.put("raw/b.csv", "id\n" + repeats)  # now readable: its repeats and nulls count
    errors = ws.run().errors
    assert kinds(errors) == [IssueKind.ASSERTION_FAILED] * 2
    details = sorted(e.detail for e in errors)
    assert details[0].startswith("source 'src' column 'id' violates not_null")
    assert details[1].startswith("source 'src' column 'id' violates unique")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('1,"12 pipe\n' + "2,x\n" * 4000, "a quote character is unbalanced"),
        ("1,x\n2,y,extra\n", "data row 2 has 3 field(s) but the header has 2: '2,y,extra'"),
        ("1,x\n2\n", "data row 2 has 1 field(s) but the header has 2: '2'"),
    ],
)
def test_malformed_rows_are_explained_in_the_users_terms(
    ws: Workspace, body: str, reason: str
) -> None:
    """A stray quote opening a field that never closes is caught once the record outgrows
    a chunk (here 4 KiB); a row with too many or too few fields skips the file."""
    ws = ws.with_chunk_bytes(4096)
    config = make_config(
        source_schema=[("a", "string"), ("b", "string")],
        table_schema=[("a", "string"), ("b", "string")],
    )
    ws.config(config)
    ws.put("raw/bad.csv", "a,b\n" + body)
    ws.put("raw/good.csv", "a,b\n1,ok\n")
    result = ws.run()
    assert result.rows_written == 1
    assert list(skipped(result)) == ["bad.csv"]
    [error] = result.error_texts()
    assert error.startswith("pipelines/t/raw/bad.csv: skipped: ")
    assert reason in error
    assert "schema" not in error and "row_offset" not in error  # no Polars API vocabulary


def test_output_types_are_enforced_with_typed_nulls_and_warnings(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("a", "string")],
        table_schema=[("a", "int64"), ("missing", "date")],
        columns={"a": col("a")},
    )
    ws.config(config)
    ws.put("raw/a.csv", "a\n12\nx\n")
    result = ws.run()
    out = ws.read("t")
    assert out.schema == pl.Schema({"a": pl.Int64, "missing": pl.Date})
    assert out["a"].to_list() == [12, None]
    assert result.warnings == [
        RunIssue(IssueKind.CAST_FAILED, mapping="m1", column="a", count=1, expected="int64")
    ]


def test_rerun_is_byte_identical_and_clean_run_prunes(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("y", "int64"), ("v", "string")],
        table_schema=[("y", "int64"), ("v", "string")],
        table_extra={"partition_keys": ["y"]},
    )
    ws.config(config)
    ws.put("raw/a.csv", "y,v\n1,a\n2,b\n")
    ws.put("raw/b.csv", "y,v\n3,c\n")
    ws.run()
    first = {k: ws.bytes_of(k) for k in ws.objects()}
    ws.run()
    assert {k: ws.bytes_of(k) for k in ws.objects()} == first

    ws.store.delete_many(["pipelines/t/raw/b.csv"])
    ws.run()  # incremental: the stale y=3 partition stays
    assert "clean/t/y=3/m1.parquet" in ws.objects()
    ws.run(clean=True)
    assert sorted(ws.objects()) == ["clean/t/y=1/m1.parquet", "clean/t/y=2/m1.parquet"]


def test_clean_run_keeps_a_failed_tables_objects(ws: Workspace) -> None:
    config = make_config(source_schema=[("v", "string")], table_schema=[("v", "string")])
    ws.config(config)
    ws.put("raw/a.csv", "v\na\n")
    ws.put("clean/t/old.parquet", b"old")
    config["analytic_tables"][0]["schema"][0]["assertions"] = {"accepted_values": ["b"]}
    ws.config(config)
    result = ws.run(clean=True)
    assert "clean/t/old.parquet" in ws.objects()
    assert [(w.kind, w.table) for w in result.warnings] == [(IssueKind.TABLE_NOT_PRUNED, "t")]


def test_two_mappings_into_one_table_and_two_from_one_source(ws: Workspace) -> None:
    config = make_config(source_schema=[("v", "string")], table_schema=[("v", "string")])
    config["mappings"].append(
        {
            "id": "m2",
            "source_container_id": "src",
            "analytic_table_id": "t",
            "columns": [{"name": "v", "expr": {"kind": "upper", "input": col("v")}}],
        }
    )
    ws.config(config)
    ws.put("raw/a.csv", "v\na\nb\n")
    result = ws.run()
    assert result.files_processed == 1 and result.rows_read == 2 and result.rows_written == 4
    assert ws.objects() == ["clean/t/m1.parquet", "clean/t/m2.parquet"]
    assert sorted(ws.read("t")["v"].to_list()) == ["A", "B", "a", "b"]


def test_skip_rows_counts_raw_lines_and_crlf_is_understood(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("a", "string"), ("b", "string")],
        table_schema=[("a", "string"), ("b", "string")],
        csv={"skip_rows": 2},
    )
    ws.config(config)
    ws.put("raw/a.csv", b'junk "line\nmore\r\n a ,b\r\n1,"x\r\ny"\r\n2,z\r\n')
    result = ws.run()
    assert result.errors == []
    assert ws.read("t").to_dicts() == [{"a": "1", "b": "x\r\ny"}, {"a": "2", "b": "z"}]


def test_empty_and_header_only_files(ws: Workspace) -> None:
    ws.config(SIMPLE)
    ws.put("raw/a.csv", b"")
    ws.put("raw/b.csv", "id,amount\n")
    result = ws.run()
    assert (result.files_processed, result.files_skipped) == (2, 1)
    assert list(skipped(result)) == ["a.csv"] and "empty" in skipped(result)["a.csv"]
    assert ws.read("t").height == 0


def test_spilled_and_rolled_back_output_matches_in_memory(ws: Workspace) -> None:
    """Tiny chunks and a tiny spill threshold: a file failing late leaves no rows behind."""
    config = make_config(
        source_schema=[("k", "int64"), ("v", "string")],
        table_schema=[("k", "int64"), ("v", "string")],
        table_extra={"partition_keys": ["k"], "dedup_keys": ["v"]},
    )
    ws.config(config)
    good_a = "".join(f"{i % 3},a{i}\n" for i in range(300))
    # many chunks before the reader meets the bad line
    bad_b = "".join(f"{i % 3},b{i}\n" for i in range(20_000)) + "1,x,extra\n"
    good_c = "".join(f"{i % 3},c{i}\n" for i in range(300))
    ws.put("raw/a.csv", "k,v\n" + good_a)
    ws.put("raw/b.csv", "k,v\n" + bad_b)
    ws.put("raw/c.csv", "k,v\n" + good_c)
    # 64-row groups: b.csv's rows fill (and write) many row groups before it fails
    tight = Limits(chunk_bytes=4096, memory_budget_bytes=1, row_group_rows=64)
    spilled = ws.with_limits(tight).run()
    spilled_bytes = {k: ws.bytes_of(k) for k in ws.objects()}
    assert spilled.rows_written == 600 and spilled.rows_deduped == 0
    assert list(skipped(spilled)) == ["b.csv"]
    in_memory = ws.with_limits(Limits(row_group_rows=64)).run()
    assert in_memory.rows_written == 600
    assert {k: ws.bytes_of(k) for k in ws.objects()} == spilled_bytes
    ws.store.delete_many([PREFIX + "raw/b.csv"])  # as if b.csv had never been there
    assert ws.with_limits(Limits(row_group_rows=64)).run().rows_written == 600
    assert {k: ws.bytes_of(k) for k in ws.objects()} == spilled_bytes
    out = ws.read("t").sort("k", maintain_order=True)
    expected = [f"a{i}" for i in range(300) if i % 3 == 0] + [
        f"c{i}" for i in range(300) if i % 3 == 0
    ]
    assert out.filter(pl.col("k") == 0)["v"].to_list() == expected


def test_all_literal_mapping_gives_one_row_per_input_row(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("a", "string")],
        table_schema=[("tag", "string")],
        columns={"tag": {"kind": "str", "value": "x"}},
    )
    ws.config(config)
    ws.put("raw/a.csv", "a\n1\n2\n3\n")
    assert ws.run().rows_written == 3
    assert ws.read("t")["tag"].to_list() == ["x", "x", "x"]


def test_partition_by_a_date_converted_from_text_and_a_lookup(ws: Workspace) -> None:
    lookups = [
        {
            "id": "cat",
            "rows": [{"input_patterns": ["COFFEE"], "output": "food"}],
            "catch_all": {"output": "other"},
        }
    ]
    config = make_config(
        source_schema=[("d", "string"), ("what", "string")],
        table_schema=[("d", "date"), ("category", "string")],
        columns={
            "d": col("d"),  # text, converted to the table's date type
            "category": {"kind": "lookup_ref", "lookup_id": "cat", "input": col("what")},
        },
        mapping_extra={"partition_by": {"column": "d", "granularity": "day"}},
        lookups=lookups,
    )
    ws.config(config)
    ws.put("raw/a.csv", "d,what\n2024-02-09,COFFEE shop\n2024-02-09,bus\n")
    result = ws.run()
    assert result.errors == []
    assert ws.objects() == ["clean/t/year=2024/month=02/day=09/m1.parquet"]
    assert ws.read("t")["category"].to_list() == ["food", "other"]


def test_a_table_without_mappings_is_reported_as_skipped(ws: Workspace) -> None:
    config = make_config(source_schema=[("v", "string")], table_schema=[("v", "string")])
    config["analytic_tables"].append(
        {"id": "orphan", "name": "O", "schema": [{"name": "v", "type": "string"}]}
    )
    ws.config(config)
    ws.put("raw/a.csv", "v\na\n")
    result = ws.run()
    assert result.warnings == [RunIssue(IssueKind.TABLE_UNFED, table="orphan")]
    assert result.warning_texts() == ["table 'orphan' is skipped: no mapping writes to it"]


ZERO = {"kind": "num", "value": 0}


def test_counts_account_for_every_file_and_row(ws: Workspace) -> None:
    """SPEC §6: files_processed counts skipped files too; rows_read = rows_filtered +
    rows_deduped + rows_written for one mapping."""
    config = make_config(
        source_schema=[("id", "string"), ("amount", "number")],
        table_schema=[("id", "string"), ("amount", "float64")],
        table_extra={"dedup_keys": ["id"]},
        mapping_extra={"where": {"kind": "gt", "left": col("amount"), "right": ZERO}},
    )
    ws.config(config)
    ws.put("raw/a.csv", "id,amount\na,1\nb,-1\na,2\nc,\n")  # b and c filtered, 2nd a deduped
    ws.put("raw/b.csv", "nope\n")
    result = ws.run()
    assert (result.files_processed, result.files_skipped) == (2, 1)
    assert (result.rows_read, result.rows_filtered, result.rows_deduped) == (4, 2, 1)
    assert result.rows_written == 1


def test_config_warnings_are_repeated_in_the_run(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("id", "string")],
        table_schema=[("id", "string")],
        table_extra={"dedup_key": ["id"]},  # a typo: nothing is deduplicated
    )
    ws.config(config)
    ws.put("raw/a.csv", "id\na\na\n")
    result = ws.run()
    (warning,) = result.warnings
    assert warning.kind == IssueKind.CONFIG_WARNING
    text = result.warning_texts()[0]
    assert "unknown field 'dedup_key'" in text and "dedup_keys" in text
    assert result.rows_written == 2


def test_assertion_messages_name_five_offending_values_with_their_files(ws: Workspace) -> None:
    config = make_config(
        source_schema=[("id", "string"), ("amount", "float64")],
        table_schema=[("id", "string"), ("amount", "float64")],
    )
    table = config["analytic_tables"][0]["schema"]
    table[0]["assertions"] = {"unique": True, "accepted_values": ["a", "b", "c"]}
    table[1]["assertions"] = {"min": 0}
    ws.config(config)
    ws.put("raw/1.csv", "id,amount\na,-1\nb,-2\n")
    ws.put("raw/2.csv", "id,amount\nzz,1\n,2\n")  # skipped below: its values must not show
    ws.put("raw/3.csv", "id,amount\na,-3\nq,-4\nb,-5\nc,-6\nd,-7\n")
    ws.put("raw/2.csv", 'id,amount,x\nzz,1\n"broken\n')
    result = ws.run()
    details = {e.detail.split(" violates ")[1].split(":")[0]: e.detail for e in result.errors
               if e.kind == IssueKind.ASSERTION_FAILED}  # fmt: skip
    assert details["min 0.0"].endswith(
        ": 7 row(s), e.g. -1.0 (pipelines/t/raw/1.csv), -2.0 (pipelines/t/raw/1.csv), "
        "-3.0 (pipelines/t/raw/3.csv), -4.0 (pipelines/t/raw/3.csv), -5.0 (pipelines/t/raw/3.csv)"
    )
    assert details["unique"].endswith(
        ": 2 row(s), e.g. 'a' (pipelines/t/raw/3.csv), 'b' (pipelines/t/raw/3.csv)"
    )
    assert (
        "'q' (pipelines/t/raw/3.csv), 'd' (pipelines/t/raw/3.csv)"
        in details["accepted_values ['a', 'b', 'c']"]
    )
    assert "zz" not in " ".join(details.values())
