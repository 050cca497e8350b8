"""The queued-jobs API and its semantics (SPEC §12), the same tests on both backends."""

from __future__ import annotations

import json
import logging
import time

import pytest
from fastapi.testclient import TestClient

from karet_worker.storage.base import ObjectStore

from .conftest import (
    PREFIX,
    WAIT_S,
    FailingConfigStore,
    GatedStore,
    MakeJobsClient,
    assert_envelope,
    held_lock,
    seed,
    wait_terminal,
)


def test_submitted_job_runs_to_completion_with_history(
    make_jobs_client: MakeJobsClient, store: ObjectStore
) -> None:
    seed(store)
    client: TestClient = make_jobs_client()
    response = client.post("/jobs", json={"pipeline_prefix": PREFIX, "clean_run": True})
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued"
    assert response.headers["location"] == f"/jobs/{queued['job_id']}"

    record = wait_terminal(client, queued["job_id"])
    assert record["status"] == "completed", record
    assert record["attempts"] == 1
    assert record["trigger"] == "api"
    assert record["clean_run"] is True
    assert record["error"] is None
    assert record["result"]["files_processed"] == 3
    assert record["result"]["rows_read"] == 15
    assert record["result"]["partitions_written"] == 3
    assert record["progress"]["files_done"] == 3
    assert record["progress"]["files_total"] == 3
    assert record["started_at"] and record["finished_at"]

    history = json.loads(store.get(f"{PREFIX}_jobs/{queued['job_id']}.json"))
    assert history["status"] == "completed"
    assert history["result"] == record["result"]
    listed = client.get("/jobs", params={"pipeline_prefix": PREFIX}).json()
    assert [r["job_id"] for r in listed] == [queued["job_id"]]


def test_a_missing_config_fails_at_once(
    make_jobs_client: MakeJobsClient, store: ObjectStore
) -> None:
    client = make_jobs_client()
    job = client.post("/jobs", json={"pipeline_prefix": "pipelines/none/"}).json()
    record = wait_terminal(client, job["job_id"])
    assert record["status"] == "failed"
    assert record["attempts"] == 1  # permanent: not retried
    assert "no pipeline config at pipelines/none/pipeline.json" in record["error"]
    assert record["result"] is None
    assert json.loads(store.get(f"pipelines/none/_jobs/{job['job_id']}.json"))["status"] == "failed"


def test_transient_failures_are_retried_then_fail(
    make_jobs_client: MakeJobsClient, store: ObjectStore
) -> None:
    seed(store)
    failing = FailingConfigStore(store)
    client = make_jobs_client(on=failing, KARET_MAX_ATTEMPTS="3")
    job = client.post("/jobs", json={"pipeline_prefix": PREFIX}).json()
    record = wait_terminal(client, job["job_id"])
    assert record["status"] == "failed"
    assert record["attempts"] == 3
    assert failing.config_reads == 3
    assert "gave up after 3 attempts" in record["error"]
    assert "storage unavailable" in record["error"]


def test_cancel_a_queued_job(make_jobs_client: MakeJobsClient, store: ObjectStore) -> None:
    seed(store)
    client = make_jobs_client(consume=False)
    job = client.post("/jobs", json={"pipeline_prefix": PREFIX}).json()
    response = client.post(f"/jobs/{job['job_id']}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/jobs/{job['job_id']}/cancel")
    assert again.status_code == 409
    assert_envelope(again.json(), "job_finished")
    stored = json.loads(store.get(f"{PREFIX}_jobs/{job['job_id']}.json"))
    assert stored["status"] == "cancelled"


def test_cancel_a_running_job_writes_nothing_more(
    make_jobs_client: MakeJobsClient, store: ObjectStore
) -> None:
    seed(store)
    gated = GatedStore(store)
    client = make_jobs_client(on=gated)
    job = client.post("/jobs", json={"pipeline_prefix": PREFIX, "clean_run": True}).json()
    assert gated.reached.wait(WAIT_S)
    assert client.get(f"/jobs/{job['job_id']}").json()["status"] == "running"
    response = client.post(f"/jobs/{job['job_id']}/cancel")
    assert response.status_code == 202
    gated.gate.set()
    record = wait_terminal(client, job["job_id"])
    assert record["status"] == "cancelled"
    assert store.list(f"{PREFIX}clean/") == []  # stopped before writing anything
    assert json.loads(store.get(f"{PREFIX}_jobs/{job['job_id']}.json"))["status"] == "cancelled"


def wait_deferred(caplog: pytest.LogCaptureFixture) -> None:
    """Until the worker logged that it deferred a job; fails (never hangs) after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not any(r.getMessage() == "pipeline busy; job deferred" for r in caplog.records):
        assert time.monotonic() < deadline, "the job was never deferred"
        time.sleep(0.02)


def test_a_busy_pipeline_defers_the_job_without_using_an_attempt(
    make_jobs_client: MakeJobsClient, store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    seed(store)
    client = make_jobs_client()
    locks = client.app.state.jobs.queue.locks  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="karet_worker.jobs"):
        with held_lock(locks, "jobs"):
            job = client.post("/jobs", json={"pipeline_prefix": PREFIX}).json()
            wait_deferred(caplog)
            assert client.get(f"/jobs/{job['job_id']}").json()["status"] == "queued"
        record = wait_terminal(client, job["job_id"])
    assert record["status"] == "completed"
    assert record["attempts"] == 1


def test_job_queries_and_their_errors(make_jobs_client: MakeJobsClient, store: ObjectStore) -> None:
    client = make_jobs_client(consume=False)
    ids = [
        client.post("/jobs", json={"pipeline_prefix": prefix}).json()["job_id"]
        for prefix in ("pipelines/a/", "pipelines/b/", "pipelines/a/")
    ]
    client.post(f"/jobs/{ids[0]}/cancel")
    everything = client.get("/jobs").json()
    assert [r["job_id"] for r in everything] == ids[::-1]
    only_a = client.get("/jobs", params={"pipeline_prefix": "pipelines/a/"}).json()
    assert [r["job_id"] for r in only_a] == [ids[2], ids[0]]
    queued_a = client.get("/jobs", params={"pipeline_prefix": "pipelines/a/", "status": "queued"})
    assert [r["job_id"] for r in queued_a.json()] == [ids[2]]
    assert len(client.get("/jobs", params={"limit": 1}).json()) == 1

    missing = client.get("/jobs/job-0-nothing")
    assert missing.status_code == 404
    assert_envelope(missing.json(), "job_not_found")
    assert client.post("/jobs/job-0-nothing/cancel").status_code == 404
    for params in ({"status": "sleeping"}, {"limit": 0}, {"pipeline_prefix": "../x/"}):
        bad = client.get("/jobs", params=params)
        assert bad.status_code == 400, params
        assert_envelope(bad.json(), "invalid_request")
    bad_body = client.post("/jobs", json={"pipeline_prefix": "/abs/"})
    assert bad_body.status_code == 400
    assert_envelope(bad_body.json(), "invalid_request")


def test_history_outlives_the_queue(
    make_jobs_client: MakeJobsClient, store: ObjectStore, backend: str
) -> None:
    seed(store)
    client = make_jobs_client()
    job = client.post("/jobs", json={"pipeline_prefix": PREFIX}).json()
    assert wait_terminal(client, job["job_id"])["status"] == "completed"
    # A queue that never saw the job (embedded: a new process; Redis: emptied) still lists it.
    fresh = make_jobs_client(consume=False, KARET_QUEUE_PREFIX="karet-test-fresh-" + backend + ":")
    listed = fresh.get("/jobs", params={"pipeline_prefix": PREFIX}).json()
    assert [(r["job_id"], r["status"]) for r in listed] == [(job["job_id"], "completed")]


def test_jobs_endpoints_are_in_the_openapi_document(make_jobs_client: MakeJobsClient) -> None:
    paths = make_jobs_client(consume=False).get("/openapi.json").json()["paths"]
    assert set(paths["/jobs"]) == {"get", "post"}
    assert "202" in paths["/jobs"]["post"]["responses"]
    assert "503" in paths["/jobs"]["post"]["responses"]
    assert "404" in paths["/jobs/{job_id}"]["get"]["responses"]
    assert {"202", "404", "409"} <= set(paths["/jobs/{job_id}/cancel"]["post"]["responses"])


def test_a_job_cancelled_while_deferred_stays_cancelled(
    make_jobs_client: MakeJobsClient, store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    seed(store)
    client = make_jobs_client()
    queue = client.app.state.jobs.queue  # type: ignore[attr-defined]
    with held_lock(queue.locks, "jobs"):
        with caplog.at_level(logging.INFO, logger="karet_worker.jobs"):
            job = client.post("/jobs", json={"pipeline_prefix": PREFIX}).json()
            wait_deferred(caplog)
        assert client.post(f"/jobs/{job['job_id']}/cancel").json()["status"] == "cancelled"
    deadline = time.monotonic() + WAIT_S
    while queue.health().depth:  # the deferred delivery comes back and is dropped
        assert time.monotonic() < deadline
        time.sleep(0.02)
    record = client.get(f"/jobs/{job['job_id']}").json()
    assert record["status"] == "cancelled"
    assert record["result"] is None
    assert store.list(f"{PREFIX}clean/") == []
