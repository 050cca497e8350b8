"""Values that cannot become a key are reported, never written elsewhere (SPEC §15)."""

from __future__ import annotations

import json

from karet_worker.engine.result import IssueKind

from .workspace import Workspace, make_config


def test_a_partition_value_too_long_for_a_folder_skips_its_file(ws: Workspace) -> None:
    ws.config(
        make_config(
            source_schema=[("k", "string"), ("v", "string")],
            table_schema=[("k", "string"), ("v", "string")],
            table_extra={"partition_keys": ["k"]},
        )
    )
    ws.put("raw/a.csv", "k,v\nshort,1\n")
    ws.put("raw/b.csv", "k,v\n" + "x" * 300 + ",2\n")

    result = ws.run()

    assert [issue.kind for issue in result.errors] == [IssueKind.FILE_SKIPPED]
    assert result.errors[0].file is not None and result.errors[0].file.endswith("raw/b.csv")
    assert "too long for a folder name" in result.errors[0].detail
    assert ws.objects() == ["clean/t/k=short/m1.parquet"]


def test_an_output_key_over_1024_bytes_fails_its_mapping(ws: Workspace) -> None:
    """A 400-byte pipeline prefix and three 250-byte partition folders: each piece is fine,
    the whole key is not (S3 keys hold 1024 bytes)."""
    prefix = "pipelines/" + "p" * 200 + "/" + "q" * 190 + "/"
    config = make_config(
        source_schema=[("a", "string"), ("b", "string"), ("c", "string"), ("d", "string")],
        table_schema=[("a", "string"), ("b", "string"), ("c", "string"), ("d", "string")],
        table_extra={"partition_keys": ["a", "b", "c"]},
    )
    ws.store.put(prefix + "pipeline.json", json.dumps(config).encode())
    value = "v" * 240
    ws.store.put(prefix + "raw/a.csv", f"a,b,c,d\n{value},{value},{value},1\n".encode())

    result = ws.runner.run(prefix)

    assert [issue.kind for issue in result.errors] == [IssueKind.UNSAFE_OUTPUT_KEY]
    assert result.errors[0].mapping == "m1" and "1024" in result.errors[0].detail
    assert result.partitions_written == 0
    assert ws.store.list(prefix + "clean/") == []
