"""Upload-triggered runs end to end (SPEC §12): real uploads to SeaweedFS, their S3 event
notifications posted to two `karet-worker serve` processes sharing a real Redis, runs executed
by those processes and read back with DuckDB."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import pytest
import redis

from support.redis import external_redis_url
from support.seaweed import SeaweedServer

from .pipelines import copy_pipeline, csv_text
from .service import Service
from .workspace import Workspace

SECRET = "webhook-test-secret"
QUIET_S = 2  # a burst is the 50 events posted back to back, well within 2 s of each other
COLUMNS = [("id", "string"), ("amount", "int64")]
SETTLE_TIMEOUT = 120.0  # a guard against a hang, not a performance assertion


def created(bucket: str, key: str, name: str = "s3:ObjectCreated:Put") -> dict[str, Any]:
    """One record as SeaweedFS/MinIO send it (the key URL-encoded)."""
    return {
        "eventVersion": "2.0",
        "eventSource": "aws:s3",
        "eventName": name,
        "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key), "size": 1}},
    }


@dataclass(frozen=True)
class Shared:
    """What the module's tests share: a bucket and a Redis key prefix of their own."""

    bucket: str
    redis_url: str
    queue_prefix: str

    def pending_bursts(self) -> int:
        client = redis.Redis.from_url(self.redis_url)
        try:
            return int(client.zcard(f"{self.queue_prefix}debounce"))
        finally:
            client.close()


@pytest.fixture(scope="module")
def shared(request: pytest.FixtureRequest, seaweed: SeaweedServer) -> Shared:
    url = external_redis_url() or request.getfixturevalue("redis_server").url
    bucket = f"webhook-{os.getpid()}"
    seaweed.create_bucket(bucket)
    return Shared(bucket, url, f"karet-test-webhook-{os.getpid()}:")


@pytest.fixture(scope="module")
def cluster(
    seaweed: SeaweedServer, shared: Shared, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Service]]:
    """Two `serve` processes on one bucket and one Redis (both consume)."""
    settings = {
        **seaweed.env_for(shared.bucket),
        "REDIS_URL": shared.redis_url,
        "KARET_QUEUE_PREFIX": shared.queue_prefix,
        "KARET_WEBHOOK_SECRET": SECRET,
        "KARET_WEBHOOK_QUIET_S": str(QUIET_S),
        "KARET_WEBHOOK_MAX_WAIT_S": "30",
    }
    root = tmp_path_factory.mktemp("webhook")
    services = [Service(root / f"serve-{n}", settings) for n in range(2)]
    try:
        for service in services:
            # From this thread: children die with the thread that spawned them (PDEATHSIG).
            service.start()
        yield services
    finally:
        for service in services:
            service.stop()


def post_events(service: Service, records: list[dict[str, Any]], secret: str = SECRET) -> Any:
    return service.post(
        "/events/s3",
        json={"Records": records},
        headers={"X-Karet-Webhook-Secret": secret},
        timeout=30.0,
    )


def jobs_of(service: Service, prefix: str) -> list[dict[str, Any]]:
    response = service.get(f"/jobs?pipeline_prefix={prefix}")
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()
    return jobs


def test_a_burst_of_50_uploads_for_3_pipelines_runs_each_pipeline_once(
    cluster: list[Service], seaweed: SeaweedServer, shared: Shared
) -> None:
    s3_bucket = shared.bucket
    client = seaweed.client()
    spaces = [Workspace(client, s3_bucket, f"pipelines/burst-{name}/") for name in "abc"]
    for space in spaces:
        space.put_config(copy_pipeline(COLUMNS))
    # 50 real uploads, spread over the 3 pipelines' sources (one name needs URL-encoding).
    records = []
    for n in range(50):
        space = spaces[n % 3]
        rel = f"raw/2024/upload {n}.csv"
        space.put_csv(rel, csv_text(["id", "amount"], [[f"r{n}", n]]))
        records.append(created(s3_bucket, space.prefix + rel))
    # Noise that must start nothing: our own outputs, a key beside the sources, a delete,
    # another bucket's upload.
    noise = [
        created(s3_bucket, spaces[0].prefix + "clean/out/m.parquet"),
        created(s3_bucket, spaces[0].prefix + "notes/readme.csv"),
        created(s3_bucket, spaces[1].prefix + "raw/gone.csv", name="s3:ObjectRemoved:Delete"),
        created("another-bucket", spaces[2].prefix + "raw/x.csv"),
    ]
    # The burst arrives in 10 notifications alternating between the two processes.
    batches = [records[i : i + 5] for i in range(0, 50, 5)]
    batches[3] = batches[3] + noise
    scheduled: set[str] = set()
    for n, batch in enumerate(batches):
        response = post_events(cluster[n % 2], batch)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["received"] == len(batch)
        scheduled.update(body["scheduled"])
    prefixes = sorted(space.prefix for space in spaces)
    assert sorted(scheduled) == prefixes

    # Wait until every pipeline's run is over and no burst is pending any more.
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        runs = {p: jobs_of(cluster[0], p) for p in prefixes}
        pending = shared.pending_bursts()
        settled = all(
            jobs and all(job["status"] not in ("queued", "running") for job in jobs)
            for jobs in runs.values()
        )
        if settled and pending == 0:
            break
        assert time.monotonic() < deadline, (runs, pending)
        time.sleep(0.2)

    for space in spaces:
        (job,) = runs[space.prefix]  # exactly one run per pipeline
        assert job["trigger"] == "webhook"
        assert job["status"] == "completed", job
        assert job["result"]["errors"] == []
        expected = sorted(f"r{n}" for n in range(50) if spaces[n % 3] is space)
        assert sorted(row["id"] for row in space.read_table("out")) == expected


def test_a_wrong_or_missing_secret_is_401_and_schedules_nothing(
    cluster: list[Service], shared: Shared
) -> None:
    record = created(shared.bucket, "pipelines/secret/raw/a.csv")
    for headers in (
        {"X-Karet-Webhook-Secret": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {SECRET}"},
        {},
    ):
        response = cluster[0].post("/events/s3", json={"Records": [record]}, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"] == "unauthorized"
    bearer = {"Authorization": f"Bearer {SECRET}"}
    response = cluster[1].post("/events/s3", json={"Records": [record]}, headers=bearer)
    assert response.status_code == 200, response.text


def test_events_outside_every_source_schedule_nothing(
    cluster: list[Service], seaweed: SeaweedServer, shared: Shared
) -> None:
    space = Workspace(seaweed.client(), shared.bucket, "pipelines/quiet/")
    space.put_config(copy_pipeline(COLUMNS))
    keys = [
        "pipelines/quiet/elsewhere/a.csv",
        "pipelines/quiet/clean/out/m.parquet",
        "pipelines/quiet/_jobs/job-1-abc.json",
        "pipelines/nobody/raw/a.csv",
        "top-level.csv",
    ]
    response = post_events(cluster[0], [created(shared.bucket, key) for key in keys])
    assert response.status_code == 200, response.text
    assert response.json() == {"received": len(keys), "scheduled": []}
    assert shared.pending_bursts() == 0  # no burst was opened for any pipeline
