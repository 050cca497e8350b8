"""`kill -9` of a real `karet-worker serve` at random moments of runs (SPEC §15).

After each kill: every object a reader can see is whole (DuckDB reads each file and the table
folder; Polars scans the folder, which a stray staging file used to break), and nothing but
Parquet objects is in the table folders. After the next start: no temp or work files remain,
and a re-run restores the table byte for byte (compared with a reference run). On the local
store and on SeaweedFS; the kill moments come from a seeded generator.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import duckdb
import httpx
import polars as pl
import pytest

from karet_worker.engine.run import Runner
from karet_worker.storage.factory import open_local_store
from karet_worker.storage.local_store import TEMP_DIR
from support.seaweed import SeaweedServer

from .pipelines import col, mapping, pipeline, source, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

PREFIX = "pipelines/crash/"
TABLES = ("by_shop", "by_month")
SEED = 20240607
FILES = 4
ROWS_PER_FILE = 15_000

CONFIG = pipeline(
    sources=[
        source(
            "ev",
            "raw/",
            [("id", "int64"), ("day", "date"), ("shop", "string"), ("amount", "number")],
        )
    ],
    tables=[
        table(
            "by_shop",
            [("id", "int64"), ("shop", "string"), ("amount", "number")],
            partition_keys=["shop"],
        ),
        table("by_month", [("id", "int64"), ("day", "date"), ("amount", "number")]),
    ],
    mappings=[
        mapping("m_shop", "ev", "by_shop", {c: col(c) for c in ("id", "shop", "amount")}),
        mapping(
            "m_month",
            "ev",
            "by_month",
            {c: col(c) for c in ("id", "day", "amount")},
            partition_by=("day", "month"),
        ),
    ],
)


def _inputs() -> dict[str, bytes]:
    rng = random.Random(SEED)
    files: dict[str, bytes] = {}
    for number in range(FILES):
        lines = ["id,day,shop,amount"]
        for row in range(ROWS_PER_FILE):
            day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            lines.append(f"{number * ROWS_PER_FILE + row},{day},shop {rng.randint(1, 20)},"
                         f"{rng.randint(0, 99999) / 100}")  # fmt: skip
        files[f"raw/part-{number}.csv"] = ("\n".join(lines) + "\n").encode()
    return files


class Target(Protocol):
    """Where the service stores its objects, seen from the test."""

    settings: dict[str, str]

    def put(self, rel_key: str, data: bytes) -> None: ...

    def snapshot(self) -> dict[str, bytes]:
        """Every object under `<prefix>clean/`, keyed relative to the prefix."""
        ...

    def temp_files(self) -> list[str]:
        """Files a writer left outside the key space (local store temp), if any."""
        ...


class LocalTarget:
    def __init__(self, root: Path, work: Path) -> None:
        self.root = root
        self.settings = {"KARET_DATA_DIR": str(root), "TMPDIR": str(work)}

    def put(self, rel_key: str, data: bytes) -> None:
        path = self.root / PREFIX / rel_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def snapshot(self) -> dict[str, bytes]:
        clean = self.root / PREFIX / "clean"
        if not clean.exists():
            return {}
        return {
            p.relative_to(self.root / PREFIX).as_posix(): p.read_bytes()
            for p in sorted(clean.rglob("*"))
            if p.is_file()
        }

    def temp_files(self) -> list[str]:
        return [p.name for p in (self.root / TEMP_DIR).rglob("*") if p.is_file()]


class S3Target:
    def __init__(self, workspace: Workspace, settings: dict[str, str]) -> None:
        self.workspace = workspace
        self.settings = settings

    def put(self, rel_key: str, data: bytes) -> None:
        self.workspace.put(rel_key, data)

    def snapshot(self) -> dict[str, bytes]:
        return self.workspace.snapshot("clean/")

    def temp_files(self) -> list[str]:
        return []  # an S3 object exists whole or not at all; unfinished uploads are invisible


@pytest.fixture(scope="module")
def inputs() -> dict[str, bytes]:
    return _inputs()


@pytest.fixture(scope="module")
def reference(
    inputs: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, bytes]:
    """The table after one uninterrupted run (in-process, local store)."""
    target = LocalTarget(tmp_path_factory.mktemp("reference"), tmp_path_factory.mktemp("work"))
    _seed(target, inputs)
    result = Runner(open_local_store(target.root)).run(PREFIX)
    assert result.errors == [] and result.partitions_written > 20
    return target.snapshot()


def _seed(target: Target, inputs: dict[str, bytes]) -> None:
    target.put("pipeline.json", json.dumps(CONFIG).encode())
    for key, data in inputs.items():
        target.put(key, data)


def _assert_readable(objects: dict[str, bytes], scratch: Path) -> None:
    """What a reader sees now: only Parquet objects, each whole, the folders scannable."""
    for key in objects:
        assert key.endswith(".parquet"), f"not an object of ours: {key}"
    folder = scratch / "read"
    for key, data in objects.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    with duckdb.connect() as con:
        for key in objects:
            con.sql(f"SELECT count(*) FROM read_parquet('{(folder / key).as_posix()}')").fetchall()
    for name in TABLES:
        table_dir = folder / "clean" / name
        if not table_dir.exists():
            continue
        with duckdb.connect() as con:
            glob = (table_dir / "**" / "*.parquet").as_posix()
            con.sql(
                f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true)"
            ).fetchall()
        pl.scan_parquet(table_dir, hive_partitioning=True).select(pl.len()).collect()


def _run_in_background(service: Service, clean_run: bool) -> threading.Thread:
    def post() -> None:
        with contextlib.suppress(httpx.TransportError):  # killed under this request: expected
            service.run(PREFIX, clean_run=clean_run)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def _work_files(work: Path) -> list[str]:
    return [p.relative_to(work).as_posix() for p in work.rglob("*")]


def _crash_trials(
    target: Target,
    reference: dict[str, bytes],
    service: Service,
    work: Path,
    scratch: Path,
    trials: int,
) -> None:
    """Kill runs at seeded random moments (incremental and clean runs in turn); check what
    readers see, the start-up clean-up, and the repair by the next run."""
    rng = random.Random(SEED)
    service.start()
    try:
        started = time.monotonic()
        assert service.run(PREFIX).status_code == 200
        duration = time.monotonic() - started
        assert target.snapshot() == reference
        for trial in range(trials):
            delay = rng.uniform(0.05, 1.0) * duration
            clean_run = trial % 2 == 1
            runner = _run_in_background(service, clean_run)
            time.sleep(delay)
            service.kill()
            runner.join(timeout=30)
            _assert_readable(target.snapshot(), scratch / f"trial-{trial}")

            service.start()  # the start-up sweep removes what the killed run left
            assert _work_files(work) == [], "work directories of the killed run remain"
            assert target.temp_files() == [], "temp files of the killed writer remain"
            assert service.run(PREFIX, clean_run=True).status_code == 200
            repaired = target.snapshot()
            assert sorted(repaired) == sorted(reference)
            assert repaired == reference, "the re-run did not restore the exact bytes"
    finally:
        service.stop()
    assert _work_files(work) == []


def test_kill_9_on_the_local_store_never_tears_an_object(
    tmp_path: Path, inputs: dict[str, bytes], reference: dict[str, bytes]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    target = LocalTarget(tmp_path / "data", work)
    _seed(target, inputs)
    service = Service(tmp_path / "service", target.settings)
    _crash_trials(target, reference, service, work, tmp_path, trials=4)


def test_kill_9_on_s3_never_tears_an_object(
    tmp_path: Path,
    seaweed: SeaweedServer,
    s3_bucket: str,
    inputs: dict[str, bytes],
    reference: dict[str, bytes],
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    settings: dict[str, Any] = {**seaweed.env_for(s3_bucket), "TMPDIR": str(work)}
    target = S3Target(Workspace(seaweed.client(), s3_bucket, PREFIX), settings)
    _seed(target, inputs)
    service = Service(tmp_path / "service", target.settings)
    _crash_trials(target, reference, service, work, tmp_path, trials=2)
