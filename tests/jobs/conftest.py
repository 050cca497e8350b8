"""Queue tests run once per backend: `embedded` (no REDIS_URL) and `redis` (the suite's
redis-server, or REDIS_URL, under a key prefix of the test's own)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from karet_worker.api import create_app
from karet_worker.jobs.locks import Lease, PipelineLocks
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore, StorageUnavailable
from karet_worker.storage.factory import open_local_store

PREFIX = "pipelines/jobs/"
WAIT_S = 60.0  # a guard against a hang, not a performance assertion

# Short heartbeats and backoffs so the tests see locks, retries and reclaims quickly.
FAST = {
    "KARET_LOCK_HEARTBEAT_S": "0.2",
    "KARET_RECLAIM_IDLE_S": "2",
    "KARET_RETRY_BASE_S": "0.05",
    "KARET_RETRY_CAP_S": "0.2",
}


def tiny_config(*, partitioned: bool = True) -> dict[str, Any]:
    """One source of `day,amount` CSVs into one table, partitioned by day."""
    table: dict[str, Any] = {
        "id": "sales",
        "name": "sales",
        "schema": [{"name": "day", "type": "string"}, {"name": "amount", "type": "int64"}],
    }
    if partitioned:
        table["partition_keys"] = ["day"]
    return {
        "version": 1,
        "source_containers": [
            {
                "id": "src",
                "name": "src",
                "path_prefix": "raw/",
                "schema": [{"name": "day", "type": "string"}, {"name": "amount", "type": "int64"}],
            }
        ],
        "lookup_mappings": [],
        "mappings": [
            {
                "id": "m",
                "name": "m",
                "source_container_id": "src",
                "analytic_table_id": "sales",
                "columns": [
                    {"name": "day", "expr": {"kind": "col", "name": "day"}},
                    {"name": "amount", "expr": {"kind": "col", "name": "amount"}},
                ],
            }
        ],
        "analytic_tables": [table],
    }


def seed(store: ObjectStore, prefix: str = PREFIX, *, files: int = 3) -> None:
    store.put(prefix + "pipeline.json", json.dumps(tiny_config()).encode())
    for n in range(files):
        rows = "".join(f"d{(n + r) % 3},{n * 10 + r}\n" for r in range(5))
        store.put(f"{prefix}raw/{n:04d}.csv", ("day,amount\n" + rows).encode())


@pytest.fixture(params=["embedded", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def queue_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings selecting `backend`, with fast heartbeats and retries."""
    env = dict(FAST)
    if backend == "redis":
        env.update(request.getfixturevalue("redis_target").env())
    return env


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return open_local_store(tmp_path / "data")


MakeJobsClient = Callable[..., TestClient]


@pytest.fixture
def make_jobs_client(
    tmp_path: Path, queue_env: dict[str, str], store: ObjectStore
) -> Iterator[MakeJobsClient]:
    """`make(consume=True, store=None, **env)`: a started app (consumers running) on the store."""
    clients: list[TestClient] = []

    def make(*, consume: bool = True, on: ObjectStore | None = None, **env: str) -> TestClient:
        settings = Settings.from_env({"KARET_DATA_DIR": str(tmp_path / "data"), **queue_env, **env})
        app = create_app(settings, on if on is not None else store, consume=consume)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@contextlib.contextmanager
def held_lock(
    locks: PipelineLocks, pipeline: str, fence: str = "someone-else:1"
) -> Iterator[Lease]:
    """Hold `pipeline`'s lock as another run would: renewed every 50 ms until the block ends,
    then released (also on failure, so no waiting run is left behind).

    A Redis lease lapses after 3 missed heartbeats (0.6 s here); a test that only took the
    lock lost it whenever a loaded CI machine was slower than that between two steps."""
    lease = locks.try_acquire(pipeline, fence)
    assert lease is not None, f"{pipeline} is already locked"
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(0.05):
            lease.renew()

    renewer = threading.Thread(target=renew, daemon=True)
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join()
        lease.release()


def wait_for(
    client: TestClient, job_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll `GET /jobs/{id}` until `done(record)`; fails (never hangs) after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while True:
        record: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if done(record):
            return record
        assert time.monotonic() < deadline, f"job never got there: {record}"
        time.sleep(0.02)


def wait_terminal(client: TestClient, job_id: str) -> dict[str, Any]:
    terminal = {"completed", "failed", "cancelled", "abandoned"}
    return wait_for(client, job_id, lambda r: r.get("status") in terminal)


class GatedStore:
    """A real store whose input listing waits until the test opens the gate, so a test can act
    while a run is known to be between reading its config and reading its first input."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.reached = threading.Event()
        self.gate = threading.Event()

    def list(self, prefix: str) -> Any:
        if prefix.endswith("raw/"):
            self.reached.set()
            assert self.gate.wait(WAIT_S), "the test never opened the gate"
        return self.inner.list(prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FailingConfigStore:
    """A real store whose config reads fail as if the object store were down."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.config_reads = 0

    def get(self, key: str) -> bytes:
        if key.endswith("pipeline.json"):
            self.config_reads += 1
            raise StorageUnavailable("storage unavailable: the test's store is down")
        return self.inner.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def assert_envelope(body: Any, error: str) -> None:
    """The SPEC §7 error envelope with the given kind."""
    assert set(body) == {"error", "message", "details"}, body
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
