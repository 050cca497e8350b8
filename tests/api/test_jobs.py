"""POST /jobs/run over HTTP on a real local store: request checks, aborts and a real run."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from karet_worker.demo import DEMO_PREFIX, seed_demo
from karet_worker.storage.base import ObjectInfo, ObjectStore, StorageUnavailable

from .conftest import MakeClient, assert_envelope, local_store

RUN_FIELDS = {
    "job_id",
    "partitions_written",
    "files_processed",
    "files_skipped",
    "rows_read",
    "rows_filtered",
    "rows_written",
    "rows_deduped",
    "duration_ms",
    "wait_ms",
    "errors",
    "warnings",
}


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return local_store(tmp_path / "data")


@pytest.fixture
def store_client(make_client: MakeClient, store: ObjectStore) -> TestClient:
    return make_client(store=store)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'"pipelines/demo/"',
        b"{}",
        b'{"pipeline_prefix": 7}',
        b'{"pipeline_prefix": null}',
        b'{"pipeline_prefix": "pipelines/demo/", "clean_run": "yes"}',
        b'{"pipeline_prefix": "pipelines/demo/", "clean_run": 1}',
        b'{"pipeline_prefix": "pipelines/demo/", "clean": true}',
    ],
    ids=[
        "not-json",
        "empty",
        "array",
        "string",
        "missing-prefix",
        "prefix-not-string",
        "prefix-null",
        "clean-run-string",
        "clean-run-int",
        "unknown-field",
    ],
)
def test_bad_bodies_are_400_invalid_request(client: TestClient, body: bytes) -> None:
    response = client.post("/jobs/run", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    payload = response.json()
    assert_envelope(payload, "invalid_request")
    assert payload["details"], "the details say what is wrong"


def test_body_that_is_not_json_is_invalid_request_with_an_invalid_json_detail(
    client: TestClient,
) -> None:
    response = client.post("/jobs/run", content=b'{"pipeline_prefix": ')
    assert response.status_code == 400
    body = response.json()
    assert_envelope(body, "invalid_request")
    assert body["details"][0]["kind"] == "invalid_json"
    assert "line 1" in body["message"]


def test_unknown_field_is_named(client: TestClient) -> None:
    response = client.post("/jobs/run", json={"pipeline_prefix": "pipelines/a/", "clena_run": 1})
    assert response.status_code == 400
    assert [d["path"] for d in response.json()["details"]] == ["/clena_run"]


@pytest.mark.parametrize(
    ("prefix", "fragment"),
    [
        ("pipelines/demo", "end with '/'"),
        ("/pipelines/demo/", "relative"),
        ("pipelines/../demo/", "'..'"),
        ("pipelines/./demo/", "'.'"),
        ("pipelines//demo/", "empty"),
        ("/", "relative"),
        ("", "end with '/'"),
        ("pipelines/my demo/", "may only contain"),
        ("pipelines/démo/", "may only contain"),
        ("pipelines/a\\b/", "may only contain"),
        ("p/" + "a" * 511 + "/", "512 bytes"),
    ],
)
def test_each_prefix_rule_is_a_400(client: TestClient, prefix: str, fragment: str) -> None:
    response = client.post("/jobs/run", json={"pipeline_prefix": prefix})
    assert response.status_code == 400
    body = response.json()
    assert_envelope(body, "invalid_request")
    assert fragment in body["message"]
    assert all(d["path"] == "/pipeline_prefix" for d in body["details"])


def test_longest_allowed_prefix_is_not_rejected_by_the_rules(store_client: TestClient) -> None:
    prefix = "p/" + ("a" * 254 + "/") * 2  # exactly 512 bytes, folder names of 254 bytes
    assert len(prefix.encode()) == 512
    response = store_client.post("/jobs/run", json={"pipeline_prefix": prefix})
    assert response.status_code == 404  # accepted, and simply not there


def test_missing_config_is_404(store_client: TestClient) -> None:
    response = store_client.post("/jobs/run", json={"pipeline_prefix": "pipelines/none/"})
    assert response.status_code == 404
    body = response.json()
    assert_envelope(body, "config_not_found")
    assert "pipelines/none/pipeline.json" in body["message"]
    assert response.headers["x-job-id"]


def test_invalid_stored_config_is_422_with_the_problems(
    store_client: TestClient, store: ObjectStore, demo_config: dict[str, Any]
) -> None:
    demo_config["mappings"][0]["analytic_table_id"] = "nowhere"
    store.put("pipelines/broken/pipeline.json", json.dumps(demo_config).encode())
    response = store_client.post("/jobs/run", json={"pipeline_prefix": "pipelines/broken/"})
    assert response.status_code == 422
    body = response.json()
    assert_envelope(body, "config_invalid")
    assert any(d["path"] == "/mappings/0/analytic_table_id" for d in body["details"])
    assert not store.list("pipelines/broken/clean/"), "nothing is written"


def test_stored_config_that_is_not_json_is_422(
    store_client: TestClient, store: ObjectStore
) -> None:
    store.put("pipelines/garbage/pipeline.json", b"\x00\x01 not json")
    response = store_client.post("/jobs/run", json={"pipeline_prefix": "pipelines/garbage/"})
    assert response.status_code == 422
    assert_envelope(response.json(), "config_invalid")
    assert response.json()["details"][0]["kind"] == "invalid_json"


def test_demo_run_answers_with_real_counts(
    store_client: TestClient, store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    seed_demo(store)
    with caplog.at_level(logging.INFO, logger="karet_worker"):
        response = store_client.post("/jobs/run", json={"pipeline_prefix": DEMO_PREFIX})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == RUN_FIELDS
    assert body["job_id"] == response.headers["x-job-id"]
    assert body["files_processed"] == 7  # every input read, the 2 unusable ones too
    assert body["files_skipped"] == 2
    assert body["partitions_written"] == 6  # 3 months x 2 mappings
    assert body["rows_deduped"] == 3  # the February export repeats three January rows
    assert body["rows_filtered"] == 2  # the zero-amount card holds, dropped by `where`
    assert body["rows_written"] == body["rows_read"] - body["rows_deduped"] - body["rows_filtered"]
    assert len(body["errors"]) == 2
    assert any("2024-04-partial.csv" in e and "amount" in e for e in body["errors"])
    assert any("receipt-scan.csv" in e for e in body["errors"])
    assert any("2024-03.csv" in w and "amount" in w for w in body["warnings"])
    written = [info.key for info in store.list(DEMO_PREFIX + "clean/transactions/")]
    assert len(written) == 6
    assert f"{DEMO_PREFIX}clean/transactions/year=2024/month=02/card.parquet" in written
    # one log line for the request and one for the run (with the counts), by job id
    lines = [r for r in caplog.records if r.name == "karet_worker.api"]
    assert len(lines) == 1
    assert vars(lines[0])["job_id"] == body["job_id"]
    finished = [r for r in caplog.records if r.getMessage() == "run finished"]
    assert len(finished) == 1
    assert vars(finished[0])["job_id"] == body["job_id"]
    assert vars(finished[0])["rows_written"] == body["rows_written"]


def test_clean_run_flag_is_passed_to_the_engine(
    store_client: TestClient, store: ObjectStore
) -> None:
    seed_demo(store)
    stale = f"{DEMO_PREFIX}clean/transactions/year=1999/month=01/bank.parquet"
    store.put(stale, b"old")
    first = store_client.post("/jobs/run", json={"pipeline_prefix": DEMO_PREFIX})
    assert first.status_code == 200
    assert stale in {i.key for i in store.list(DEMO_PREFIX + "clean/")}, "incremental keeps it"
    second = store_client.post(
        "/jobs/run", json={"pipeline_prefix": DEMO_PREFIX, "clean_run": True}
    )
    assert second.status_code == 200
    assert stale not in {i.key for i in store.list(DEMO_PREFIX + "clean/")}


class DownStore:
    """A store whose server is gone: every call fails the way the storage layer reports it."""

    def list(self, prefix: str) -> list[ObjectInfo]:
        raise StorageUnavailable("storage unavailable: connection refused")

    def get(self, key: str) -> bytes:
        raise StorageUnavailable("storage unavailable: connection refused")

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise StorageUnavailable("storage unavailable: connection refused")

        return fail


def test_storage_unavailable_is_503_and_the_service_stays_up(make_client: MakeClient) -> None:
    client = make_client(store=DownStore())
    response = client.post("/jobs/run", json={"pipeline_prefix": "pipelines/demo/"})
    assert response.status_code == 503
    assert_envelope(response.json(), "storage_unavailable")
    assert client.get("/health").status_code == 200


class RendezvousStore:
    """Delegates to a real store, but each config read waits until two runs are reading.

    If the API ran one job at a time, the first run would wait alone and the barrier would
    break (after its timeout) instead of passing.
    """

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(2, timeout=30)

    def get(self, key: str) -> bytes:
        if key.endswith("pipeline.json"):
            self.barrier.wait()
        return self.inner.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_runs_of_different_prefixes_run_concurrently(
    make_client: MakeClient, store: ObjectStore
) -> None:
    seed_demo(store, "pipelines/a/")
    seed_demo(store, "pipelines/b/")
    rendezvous = RendezvousStore(store)
    client = make_client(store=rendezvous)
    statuses: dict[str, int] = {}

    def run(prefix: str) -> None:
        statuses[prefix] = client.post("/jobs/run", json={"pipeline_prefix": prefix}).status_code

    with client:
        threads = [
            threading.Thread(target=run, args=(p,)) for p in ("pipelines/a/", "pipelines/b/")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not rendezvous.barrier.broken
    assert statuses == {"pipelines/a/": 200, "pipelines/b/": 200}
