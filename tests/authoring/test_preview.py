"""Preview: the run's own evaluation, stopped early, writing nothing. Its rows are the rows a
real run writes for the same inputs, read back with DuckDB."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from karet_worker.api import create_app
from karet_worker.authoring.preview import Preview, jsonable, preview_config
from karet_worker.cli.main import app
from karet_worker.config.validate import validate_document
from karet_worker.demo import DEMO_PREFIX, demo_files, seed_demo
from karet_worker.engine.run import Runner, StoredConfig, load_config
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore
from karet_worker.storage.factory import open_store

PREFIX = "pipelines/keys/"
# A table partitioned by a key column, with `where` and dedup: every stage of a run shows.
KEYED: dict[str, Any] = {
    "version": 1,
    "source_containers": [
        {
            "id": "tx",
            "name": "tx",
            "path_prefix": "raw/",
            "schema": [
                {"name": "id", "type": "string"},
                {"name": "shop", "type": "string"},
                {"name": "amount", "type": "number"},
            ],
        }
    ],
    "mappings": [
        {
            "id": "m",
            "source_container_id": "tx",
            "analytic_table_id": "t",
            "columns": [
                {"name": "id", "expr": {"kind": "col", "name": "id"}},
                {
                    "name": "shop",
                    "expr": {"kind": "upper", "input": {"kind": "col", "name": "shop"}},
                },
                {"name": "amount", "expr": {"kind": "col", "name": "amount"}},
            ],
            "where": {
                "kind": "ne",
                "left": {"kind": "col", "name": "amount"},
                "right": {"kind": "num", "value": 0},
            },
        }
    ],
    "analytic_tables": [
        {
            "id": "t",
            "name": "t",
            "schema": [
                {"name": "id", "type": "string"},
                {"name": "shop", "type": "string"},
                {"name": "amount", "type": "int64"},
            ],
            "partition_keys": ["shop"],
            "dedup_keys": ["id"],
        }
    ],
}
FILES = {
    "raw/1.csv": "id,shop,amount\n1,b,10\n2,a,0\n3,a,7.0\n1,b,99\n4,c,x\n",
    "raw/2.csv": "id,shop,amount\n5,b,5\n6,a,-3\n3,a,1\n",
}


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    store = open_store(Settings.from_env({"KARET_DATA_DIR": str(tmp_path / "data")}))
    store.put(PREFIX + "pipeline.json", json.dumps(KEYED).encode())
    for name, text in FILES.items():
        store.put(PREFIX + name, text.encode())
    return store


def written_rows(root: Path, table: str, mapping: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of each object the run wrote for `mapping`, by partition path, read by DuckDB
    (partition key columns restored from the path as text)."""
    by_partition: dict[str, list[dict[str, Any]]] = {}
    base = root / "clean" / table
    for file in sorted(base.rglob(f"{mapping}.parquet")):
        part = file.parent.relative_to(base).as_posix()
        rows = duckdb.sql(f"select * from read_parquet('{file}')").pl().to_dicts()
        keys = dict(seg.split("=", 1) for seg in part.split("/")) if part != "." else {}
        by_partition["" if part == "." else part] = [{**row, **keys} for row in rows]
    return by_partition


def as_preview(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    return [{c: jsonable(r[c]) for c in columns} for r in rows]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_preview_rows_are_the_rows_a_run_writes(store: ObjectStore, tmp_path: Path) -> None:
    root = tmp_path / "data"
    before = snapshot(root)
    shown = preview_config(store, load_config(store, PREFIX), prefix=PREFIX, inline={}, limit=100)
    assert snapshot(root) == before, "a preview writes nothing"
    (m,) = shown.mappings
    Runner(store).run(PREFIX)
    written = written_rows(root / PREFIX, "t", "m")
    columns = ["id", "shop", "amount"]
    expected = [row for part in sorted(written) for row in as_preview(written[part], columns)]
    assert m.rows == expected
    assert m.partitions == sorted(written) == ["shop=A", "shop=B"]
    # 0 and "x" (null) fail the where; the second id 1 and the second id 3 are duplicates
    assert (m.rows_read, m.rows_filtered, m.rows_deduped) == (8, 2, 2)
    assert any("could not be read as number" in w for w in m.warnings)


def test_a_small_limit_shows_a_prefix_of_each_partition_and_stops_reading(
    store: ObjectStore, tmp_path: Path
) -> None:
    many = "id,shop,amount\n" + "".join(f"{i},s{i % 3},{i + 1}\n" for i in range(60_000))
    store.put(PREFIX + "raw/3-big.csv", many.encode())
    store.put(PREFIX + "raw/4-big.csv", many.encode())
    shown = preview_config(store, load_config(store, PREFIX), prefix=PREFIX, inline={}, limit=4)
    (m,) = shown.mappings
    assert len(m.rows) == 4
    assert m.rows_read < 8 + 2 * 60_000, "the preview stopped reading once it had its rows"
    Runner(store).run(PREFIX)
    written = written_rows(tmp_path / "data" / PREFIX, "t", "m")
    for part in sorted({f"shop={r['shop']}" for r in m.rows}):
        mine = [r for r in m.rows if f"shop={r['shop']}" == part]
        assert mine == as_preview(written[part], ["id", "shop", "amount"])[: len(mine)]


def test_inline_text_is_read_instead_of_the_files(store: ObjectStore, tmp_path: Path) -> None:
    stored = StoredConfig(validate_document(KEYED).config, [])  # type: ignore[arg-type]
    text = "id,shop,amount\n9,z,1\n"
    for prefix in (PREFIX, None):  # with a store, and with no store at all
        shown = preview_config(store, stored, prefix=prefix, inline={"tx": text}, limit=10)
        (m,) = shown.mappings
        assert m.rows == [{"id": "9", "shop": "Z", "amount": 1}]
        assert (m.rows_read, m.errors) == (1, [])


def test_assertion_failures_and_config_warnings_are_shown(store: ObjectStore) -> None:
    config = copy.deepcopy(KEYED)
    config["analytic_tables"][0]["schema"][2]["assertions"] = {"min": 0}
    config["analytic_tables"][0]["dedup_key"] = ["typo"]
    report = validate_document(config)
    assert report.config is not None
    shown = preview_config(
        store, StoredConfig(report.config, report.warnings), prefix=PREFIX, inline={}, limit=10
    )
    (m,) = shown.mappings
    assert any("violates min" in e and "write nothing" in e for e in m.errors)
    assert any("dedup_key" in w for w in shown.warnings)


def test_demo_preview_matches_the_demo_run(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = open_store(Settings.from_env({"KARET_DATA_DIR": str(root)}))
    seed_demo(store)
    shown: Preview = preview_config(
        store, load_config(store, DEMO_PREFIX), prefix=DEMO_PREFIX, inline={}, limit=1000
    )
    Runner(store).run(DEMO_PREFIX)
    for m in shown.mappings:
        written = written_rows(root / DEMO_PREFIX, m.table_id, m.mapping_id)
        columns = [c["name"] for c in m.schema]
        expected = [r for part in sorted(written) for r in as_preview(written[part], columns)]
        assert m.rows == expected, m.mapping_id
        assert m.partitions == sorted(written)


def test_api_preview(store: ObjectStore, tmp_path: Path) -> None:
    settings = Settings.from_env({"KARET_DATA_DIR": str(tmp_path / "data")})
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        ok = client.post(
            "/config/preview", json={"config": KEYED, "pipeline_prefix": PREFIX, "limit": 2}
        )
        assert ok.status_code == 200, ok.text
        (m,) = ok.json()["mappings"]
        assert m["schema"][2] == {"name": "amount", "type": "int64"}
        assert len(m["rows"]) == 2 and m["partitions"]
        inline = client.post(
            "/config/preview", json={"config": KEYED, "sources": {"tx": "id,shop,amount\n1,q,2\n"}}
        )
        assert inline.json()["mappings"][0]["rows"] == [{"id": "1", "shop": "Q", "amount": 2}]
        bad = copy.deepcopy(KEYED)
        bad["mappings"][0]["analytic_table_id"] = "nowhere"
        invalid = client.post("/config/preview", json={"config": bad})
        assert invalid.status_code == 422
        assert invalid.json()["details"][0]["path"] == "/config/mappings/0/analytic_table_id"
        for body in (
            {"config": KEYED, "mapping_id": "nope"},
            {"config": KEYED, "limit": 0},
            {"config": KEYED, "sources": {"nope": "a\n"}},
            {"config": KEYED, "pipeline_prefix": "../x/"},
            {"config": KEYED, "colour": "red"},
        ):
            answer = client.post("/config/preview", json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["error"] == "invalid_request"


def test_cli_preview_of_a_prefix_and_of_a_file_with_a_sample(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("S3_BUCKET", raising=False)
    runner = CliRunner()
    shown = runner.invoke(app, ["preview", PREFIX, "--limit", "2"])
    assert shown.exit_code == 0, shown.output
    assert "mapping 'm' -> table 't'" in shown.stdout
    assert "2 row(s) shown; rows read 5" in shown.stdout  # it stopped after the 1st file
    config = tmp_path / "pipeline.json"
    config.write_text(json.dumps(KEYED))
    sample = tmp_path / "sample.csv"
    sample.write_text("id,shop,amount\n1,q,2\n")
    as_json = runner.invoke(app, ["preview", str(config), "--source", f"tx={sample}", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["mappings"][0]["rows"] == [
        {"id": "1", "shop": "Q", "amount": 2}
    ]
    local = runner.invoke(app, ["preview", str(tmp_path / "data" / PREFIX / "pipeline.json")])
    assert "rows read 8" in local.stdout, local.output  # its prefix in the local store
    assert runner.invoke(app, ["preview", PREFIX, "--mapping", "x"]).exit_code == 2
    assert demo_files()  # the demo package is importable next to the preview (smoke)


def test_what_no_previewed_mapping_owns_is_reported_at_the_top(store: ObjectStore) -> None:
    config = copy.deepcopy(KEYED)
    config["dimensions"] = [
        {"id": "shops", "rows": {"path_prefix": "ref/shops/", "key": "code", "values": ["name"]}}
    ]
    config["mappings"][0]["columns"][1]["expr"] = {
        "kind": "dim_ref",
        "dim_id": "shops",
        "input": {"kind": "col", "name": "shop"},
    }
    report = validate_document(config)
    assert report.config is not None, report.problems
    shown = preview_config(
        store, StoredConfig(report.config, []), prefix=PREFIX, inline={}, limit=5
    )
    assert shown.mappings == []  # its dimension has no rows: the mapping cannot run
    assert any("shops" in e for e in shown.errors), shown.errors
    assert any("'m'" in e for e in shown.errors), shown.errors
