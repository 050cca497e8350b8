"""The edge of the job API in-process, in both queue modes (embedded, and a real Redis):
`POST /events/s3`, `GET /ready`, `GET /metrics`, `GET /jobs/{id}/events`.

The app runs its lifespan (consumer threads, the debounce loop) inside a TestClient; the store
is a real local directory. The multi-process variant lives in tests/integration/test_webhook.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.integration.pipelines import copy_pipeline, csv_text

from karet_worker.api import create_app
from karet_worker.storage.factory import open_local_store
from karet_worker.storage.obstore_store import ObstoreStore
from support.ports import free_ports
from support.redis import RedisServer

from .conftest import assert_envelope, settings_for

SECRET = "edge-test-secret"
COLUMNS = [("id", "string"), ("amount", "int64")]
PIPELINES = ["pipelines/edge-a/", "pipelines/edge-b/", "pipelines/edge-c/"]
ROWS_PER_FILE = 3
SETTLE_TIMEOUT = 120.0  # a guard against a hang, not a performance assertion


def seed(store: ObstoreStore, prefix: str, files: int = 1) -> list[str]:
    store.put(prefix + "pipeline.json", json.dumps(copy_pipeline(COLUMNS)).encode())
    keys = []
    for n in range(files):
        key = f"{prefix}raw/f{n}.csv"
        rows = [[f"{prefix}{n}-{r}", r] for r in range(ROWS_PER_FILE)]
        store.put(key, csv_text(["id", "amount"], rows).encode())
        keys.append(key)
    return keys


@pytest.fixture(params=["embedded", "redis"])
def queue_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "embedded":
        return {}
    env: dict[str, str] = request.getfixturevalue("redis_target").env()
    return env


@pytest.fixture
def store(tmp_path: Path) -> ObstoreStore:
    return open_local_store(tmp_path / "data")


def client_for(tmp_path: Path, store: ObstoreStore, **env: str) -> TestClient:
    settings = settings_for(tmp_path / "data", **env)
    return TestClient(create_app(settings, store), raise_server_exceptions=False)


@pytest.fixture
def client(tmp_path: Path, store: ObstoreStore, queue_env: dict[str, str]) -> Iterator[TestClient]:
    env = {
        **queue_env,
        "KARET_WEBHOOK_SECRET": SECRET,
        "KARET_WEBHOOK_QUIET_S": "1",
        "KARET_WEBHOOK_MAX_WAIT_S": "10",
    }
    with client_for(tmp_path, store, **env) as running:  # `with`: the lifespan runs
        yield running


def record(key: str, name: str = "s3:ObjectCreated:Put") -> dict[str, Any]:
    return {"eventName": name, "s3": {"bucket": {"name": "any"}, "object": {"key": key}}}


def post_events(client: TestClient, keys: list[str], **headers: str) -> Any:
    return client.post(
        "/events/s3",
        json={"Records": [record(k) for k in keys]},
        headers=headers or {"X-Karet-Webhook-Secret": SECRET},
    )


def wait_until_done(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        body: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
        if body["status"] not in ("queued", "running"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def submit(client: TestClient, prefix: str) -> str:
    response = client.post("/jobs", json={"pipeline_prefix": prefix})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


# ------------------------------------------------------------------ POST /events/s3


def test_a_burst_of_50_uploads_runs_each_of_3_pipelines_once(
    client: TestClient, store: ObstoreStore
) -> None:
    files = dict(zip(PIPELINES, [17, 17, 16], strict=True))
    keys = [key for prefix in PIPELINES for key in seed(store, prefix, files=files[prefix])]
    assert len(keys) == 50
    scheduled: set[str] = set()
    for start in range(0, 50, 10):  # 5 notifications of 10 records, back to back
        response = post_events(client, keys[start : start + 10])
        assert response.status_code == 200, response.text
        assert response.json()["received"] == 10
        scheduled.update(response.json()["scheduled"])
    assert sorted(scheduled) == PIPELINES

    uploads = client.app.state.uploads  # type: ignore[attr-defined]
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        runs = {p: client.get(f"/jobs?pipeline_prefix={p}").json() for p in PIPELINES}
        if uploads.pending() == 0 and all(
            jobs and jobs[0]["status"] not in ("queued", "running") for jobs in runs.values()
        ):
            break
        assert time.monotonic() < deadline, runs
        time.sleep(0.1)
    for prefix, jobs in runs.items():
        (job,) = jobs
        assert (job["trigger"], job["status"]) == ("webhook", "completed"), job
        assert job["result"]["rows_read"] == files[prefix] * ROWS_PER_FILE


def test_events_need_the_webhook_secret(client: TestClient, store: ObstoreStore) -> None:
    keys = seed(store, PIPELINES[0])
    for headers in (
        {"X-Karet-Webhook-Secret": "nope"},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Token {SECRET}"},
        {"Accept": "application/json"},  # no credentials at all
    ):
        response = post_events(client, keys, **headers)
        assert response.status_code == 401, headers
        assert_envelope(response.json(), "unauthorized")
    response = post_events(client, keys, Authorization=f"Bearer {SECRET}")
    assert response.status_code == 200
    assert response.json() == {"received": 1, "scheduled": [PIPELINES[0]]}


def test_without_a_configured_secret_every_event_is_refused(
    tmp_path: Path, store: ObstoreStore
) -> None:
    keys = seed(store, PIPELINES[0])
    with client_for(tmp_path, store) as client:
        response = post_events(client, keys, **{"X-Karet-Webhook-Secret": ""})
        assert response.status_code == 401
        assert "KARET_WEBHOOK_SECRET" in response.json()["message"]
        assert client.app.state.uploads.pending() == 0  # type: ignore[attr-defined]


def test_keys_outside_every_source_schedule_nothing(
    client: TestClient, store: ObstoreStore
) -> None:
    seed(store, PIPELINES[0])
    keys = [
        PIPELINES[0] + "notes/a.csv",
        PIPELINES[0] + "clean/out/m.parquet",
        PIPELINES[0] + "_jobs/job-1-abc.json",
        "pipelines/none/raw/a.csv",
    ]
    response = post_events(client, keys)
    assert response.json() == {"received": 4, "scheduled": []}
    assert client.app.state.uploads.pending() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"Records": {"a": 1}}', b'{"Records": [{"eventName": 5}]}'],
)
def test_a_body_that_is_no_notification_is_400(
    tmp_path: Path, store: ObstoreStore, body: bytes
) -> None:
    with client_for(tmp_path, store, KARET_WEBHOOK_SECRET=SECRET) as client:
        response = client.post(
            "/events/s3", content=body, headers={"X-Karet-Webhook-Secret": SECRET}
        )
    assert response.status_code == 400
    assert_envelope(response.json(), "invalid_request")


# ------------------------------------------------------------------ GET /jobs/{id}/events


def read_events(client: TestClient, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    with client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                assert name is not None
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_the_event_stream_follows_a_job_to_done(client: TestClient, store: ObstoreStore) -> None:
    seed(store, PIPELINES[0], files=5)
    job_id = submit(client, PIPELINES[0])
    events = read_events(client, job_id)  # returns only once the stream ended
    names = [name for name, _ in events]
    assert names[-1] == "done" and names.count("done") == 1
    assert set(names[:-1]) <= {"progress"}
    done = events[-1][1]
    assert done["job_id"] == job_id and done["status"] == "completed"
    assert done["result"]["rows_read"] == 5 * ROWS_PER_FILE
    assert done == client.get(f"/jobs/{job_id}").json()
    # Progress never goes backwards while the job runs.
    seen = [body["progress"]["files_done"] for name, body in events if name == "progress"]
    assert seen == sorted(seen)


def test_the_event_stream_of_a_finished_job_is_just_done(
    client: TestClient, store: ObstoreStore
) -> None:
    seed(store, PIPELINES[0])
    job_id = submit(client, PIPELINES[0])
    final = wait_until_done(client, job_id)
    assert read_events(client, job_id) == [("done", final)]


def test_the_event_stream_of_an_unknown_job_is_404(client: TestClient) -> None:
    response = client.get("/jobs/job-1-abcdef/events")
    assert response.status_code == 404
    assert_envelope(response.json(), "job_not_found")


# ------------------------------------------------------------------ GET /ready, GET /metrics


def test_ready_names_the_queue_mode(client: TestClient, queue_env: dict[str, str]) -> None:
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["store"] == "ok"
    assert body["queue"] == ("ok" if queue_env else "embedded")
    assert body["queue_depth"] >= 0 and body["consumers"] >= 0


def test_ready_is_503_naming_redis_when_it_is_down(tmp_path: Path, store: ObstoreStore) -> None:
    server = RedisServer(root=tmp_path / "redis")  # our own: the shared one must stay up
    server.start()
    try:
        with client_for(tmp_path, store, REDIS_URL=server.url) as client:
            assert client.get("/ready").status_code == 200
            server.stop(save=False)
            response = client.get("/ready")
            assert response.status_code == 503
            body = response.json()
            assert_envelope(body, "queue_unavailable")
            by_dependency = {d["dependency"]: d["status"] for d in body["details"]}
            assert by_dependency == {"store": "ok", "queue": "down"}
            assert client.get("/health").status_code == 200  # liveness is not readiness
    finally:
        server.stop(save=False)


def test_ready_and_events_are_503_naming_the_store_when_s3_is_unreachable(
    tmp_path: Path,
) -> None:
    (port,) = free_ports(1)  # nothing listens there: connection refused, like a dead S3
    env = {
        "S3_ENDPOINT": f"http://127.0.0.1:{port}",
        "S3_BUCKET": "gone",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "KARET_WEBHOOK_SECRET": SECRET,
    }
    with TestClient(
        create_app(settings_for(tmp_path, **env)), raise_server_exceptions=False
    ) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        body = response.json()
        assert_envelope(body, "storage_unavailable")
        by_dependency = {d["dependency"]: d["status"] for d in body["details"]}
        assert by_dependency == {"store": "down", "queue": "ok"}
        events = {"Records": [record("pipelines/a/raw/x.csv")]}
        events["Records"][0]["s3"]["bucket"]["name"] = "gone"
        response = client.post(
            "/events/s3", json=events, headers={"X-Karet-Webhook-Secret": SECRET}
        )
        assert response.status_code == 503
        assert_envelope(response.json(), "storage_unavailable")


def metric_values(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def test_metrics_parse_and_count_finished_jobs(client: TestClient, store: ObstoreStore) -> None:
    seed(store, PIPELINES[0], files=2)
    before = metric_values(client)
    completed = ("karet_jobs_total", (("status", "completed"),))
    assert before[completed] == 0
    assert before[("karet_queue_up", ())] == 1
    wait_until_done(client, submit(client, PIPELINES[0]))
    after = metric_values(client)
    assert after[completed] == 1
    assert after[("karet_jobs_total", (("status", "queued"),))] == 1
    assert after[("karet_jobs_submitted_total", (("trigger", "api"),))] == 1
    assert after[("karet_rows_read_total", ())] == 2 * ROWS_PER_FILE
    assert after[("karet_files_processed_total", ())] == 2
    duration_count = ("karet_run_duration_seconds_count", (("status", "completed"),))
    assert after[duration_count] == 1
    assert after[("karet_runs_in_flight", ())] == 0
    assert ("karet_queue_depth", ()) in after
    assert SECRET not in client.get("/metrics").text


def test_the_new_endpoints_are_in_the_openapi_document(tmp_path: Path, store: ObstoreStore) -> None:
    with client_for(tmp_path, store) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert {"400", "401", "503"} <= set(paths["/events/s3"]["post"]["responses"])
    assert "503" in paths["/ready"]["get"]["responses"]
    assert "/metrics" in paths
    assert {"404", "503"} <= set(paths["/jobs/{job_id}/events"]["get"]["responses"])
