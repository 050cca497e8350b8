"""`table_summaries`, `karet-worker tables` and `GET /pipelines/{slug}/tables`: counts from the
Parquet footers agree with DuckDB reading the files, and no data page is fetched."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from karet_worker.api import create_app
from karet_worker.authoring.tables import PipelineNotFound, table_summaries
from karet_worker.cli.main import app
from karet_worker.demo import DEMO_PREFIX, seed_demo
from karet_worker.engine.run import Runner
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectInfo, ObjectStore
from karet_worker.storage.factory import open_store


class FooterOnly:
    """A store that lets Parquet objects be read only by ranged requests near their end."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.ranges: list[tuple[str, int, int]] = []

    def list(self, prefix: str) -> list[ObjectInfo]:
        return self.inner.list(prefix)

    def get(self, key: str) -> bytes:
        assert not key.endswith(".parquet"), f"whole Parquet object read: {key}"
        return self.inner.get(key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        self.ranges.append((key, start, end))
        return self.inner.get_range(key, start, end)

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"{name} is not needed to summarise tables")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> ObjectStore:
    store = open_store(Settings.from_env({"KARET_DATA_DIR": str(data_dir)}))
    seed_demo(store)
    Runner(store).run(DEMO_PREFIX, clean_run=True)
    return store


def duckdb_rows(files: Sequence[Path]) -> int:
    paths = [str(f) for f in files]
    ((count,),) = duckdb.sql(f"select count(*) from read_parquet({paths!r})").fetchall()
    return int(count)


def test_counts_come_from_footers_and_agree_with_duckdb(store: ObjectStore, data_dir: Path) -> None:
    footers = FooterOnly(store)
    (table,) = table_summaries(footers, DEMO_PREFIX)  # type: ignore[arg-type]
    root = data_dir / DEMO_PREFIX / "clean" / "transactions"
    files = sorted(root.rglob("*.parquet"))
    assert table.table_id == "transactions" and table.declared
    assert table.files == len(files) == 6
    assert table.rows == duckdb_rows(files) > 0
    assert table.bytes == sum(f.stat().st_size for f in files)
    assert [p.path for p in table.partitions] == sorted(
        {str(f.parent.relative_to(root)) for f in files}
    )
    for part in table.partitions:
        mine = sorted((root / part.path).glob("*.parquet"))
        assert (part.files, part.rows) == (len(mine), duckdb_rows(mine))
    assert table.last_written is not None
    assert table.last_written == max(p.last_written for p in table.partitions if p.last_written)
    assert len(footers.ranges) == 6  # one small ranged read per file
    assert all(end - start <= 64 * 1024 for _, start, end in footers.ranges)


def test_a_footer_larger_than_the_first_read_costs_a_second_read(store: ObjectStore) -> None:
    footers = FooterOnly(store)
    small = table_summaries(footers, DEMO_PREFIX, footer_guess=16)  # type: ignore[arg-type]
    assert len(footers.ranges) == 12
    assert [t.rows for t in small] == [t.rows for t in table_summaries(store, DEMO_PREFIX)]


def test_undeclared_tables_and_broken_files_are_reported(
    store: ObjectStore, data_dir: Path
) -> None:
    store.put(f"{DEMO_PREFIX}clean/old_table/old.parquet", b"not parquet at all, no footer")
    store.put(f"{DEMO_PREFIX}clean/transactions/year=2024/month=01/x.parquet", b"PAR")
    found = {t.table_id: t for t in table_summaries(store, DEMO_PREFIX)}
    assert not found["old_table"].declared
    assert found["old_table"].files == 0
    assert "no PAR1 footer" in found["old_table"].unreadable[0]
    assert found["transactions"].files == 6
    assert "x.parquet: not a Parquet file" in found["transactions"].unreadable[0]


def test_a_declared_table_without_output_is_listed_with_zeros(data_dir: Path) -> None:
    store = open_store(Settings.from_env({"KARET_DATA_DIR": str(data_dir)}))
    seed_demo(store)
    (table,) = table_summaries(store, DEMO_PREFIX)
    assert (table.table_id, table.files, table.rows, table.partitions) == ("transactions", 0, 0, [])
    with pytest.raises(PipelineNotFound):
        table_summaries(store, "pipelines/nothing/")


def test_cli_prints_the_table_and_json(
    store: ObjectStore, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARET_DATA_DIR", str(data_dir))
    monkeypatch.delenv("S3_BUCKET", raising=False)
    runner = CliRunner()
    shown = runner.invoke(app, ["tables", DEMO_PREFIX])
    assert shown.exit_code == 0, shown.output
    assert "transactions" in shown.stdout
    as_json = runner.invoke(app, ["tables", DEMO_PREFIX, "--json"])
    body = json.loads(as_json.stdout)
    assert body["tables"][0]["files"] == 6
    assert body["tables"][0]["last_written"].endswith("Z")
    missing = runner.invoke(app, ["tables", "pipelines/nothing/"])
    assert missing.exit_code == 1
    assert "no pipeline at pipelines/nothing/" in missing.stderr


def test_api_answers_the_same_body(store: ObjectStore, data_dir: Path) -> None:
    settings = Settings.from_env({"KARET_DATA_DIR": str(data_dir)})
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        response = client.get("/pipelines/demo/tables")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["pipeline_prefix"] == DEMO_PREFIX
        assert body["tables"][0]["rows"] == table_summaries(store, DEMO_PREFIX)[0].rows
        assert client.get("/pipelines/nothing/tables").status_code == 404
        assert client.get("/pipelines/..%2F/tables").status_code in (400, 404)
        assert client.get("/pipelines/a%20b/tables").json()["error"] == "invalid_request"
