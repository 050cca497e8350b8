"""Fencing (issue 8): a worker paused past its lock's TTL (SIGSTOP) loses the pipeline to a
new owner; once resumed (SIGCONT) it writes, prunes and reports nothing more."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from karet_worker.jobs.factory import open_queue
from karet_worker.jobs.model import JobStatus, Trigger
from karet_worker.settings import Settings
from karet_worker.storage.factory import open_store
from support.redis import RedisServer
from support.seaweed import SeaweedServer

from .cluster import (
    Proc,
    ended,
    pipeline_files,
    reference,
    run_spans,
    upload,
    wait_until,
    worker_proc,
)

pytestmark = pytest.mark.integration

PREFIX = "pipelines/fenced/"
FILES = 300  # a run long enough to be paused in the middle of its reading

# Lock TTL 0.9 s; a stalled consumer's job is reclaimed after 2 s.
QUEUE = {
    "KARET_LOCK_HEARTBEAT_S": "0.3",
    "KARET_RECLAIM_IDLE_S": "2",
    "KARET_MAX_ATTEMPTS": "5",
}


def _entries(proc: Proc, message: str, fence: str) -> list[dict[str, Any]]:
    return [e for e in proc.lines() if e.get("message") == message and e.get("fence") == fence]


def test_a_worker_that_lost_its_lock_writes_nothing_after_the_new_owner_starts(
    seaweed: SeaweedServer, s3_bucket: str, tmp_path: Path
) -> None:
    redis = RedisServer(root=tmp_path / "redis")
    redis.start()
    env = {**seaweed.env_for(s3_bucket), "REDIS_URL": redis.url, **QUEUE}
    files = pipeline_files(0, FILES)
    upload(seaweed.client(), s3_bucket, {PREFIX: files})
    settings = Settings.from_env(env)
    queue = open_queue(settings, open_store(settings))
    first = worker_proc("first", env, tmp_path / "procs")
    second = worker_proc("second", env, tmp_path / "procs")
    try:
        first.start()
        job = queue.submit(PREFIX, clean_run=True, trigger=Trigger.manual)

        def reading() -> bool:
            record = queue.get(job.job_id)
            total = record.progress.files_total or 0
            return (
                record.status is JobStatus.running
                and record.worker is not None
                and record.worker.endswith(f":{first.pid}")
                and 1 <= record.progress.files_done < total - 100
            )

        wait_until("the first worker to be reading", reading)
        first.signal(signal.SIGSTOP)
        second.start()
        fence_1, fence_2 = f"{job.job_id}:1", f"{job.job_id}:2"
        wait_until("the second worker to start", lambda: _entries(second, "run started", fence_2))
        first.signal(signal.SIGCONT)
        record = wait_until("the job to complete", lambda: ended(queue, job.job_id))
        wait_until("the first worker to stop", lambda: _entries(first, "run ended", fence_1))
    finally:
        first.stop()
        second.stop()
        queue.close()
        redis.stop(save=False)

    assert record.status is JobStatus.completed
    assert record.attempts == 2
    assert record.worker is not None and record.worker.endswith(f":{second.pid}")

    taken_over = datetime.fromisoformat(_entries(second, "run started", fence_2)[0]["ts"])
    late = [
        e
        for e in _entries(first, "object written", fence_1)
        if e["ts"] >= taken_over.isoformat(timespec="milliseconds")
    ]
    assert late == []
    assert _entries(first, "run stopped", fence_1) or _entries(first, "run ended", fence_1)
    assert not [e for e in first.lines() if e.get("message") == "job finished"]
    [old] = [s for s in run_spans([first]) if s.fence == fence_1]
    assert all(write < taken_over for write in old.writes)

    # The table is exactly what one uninterrupted run writes.
    expected = reference(tmp_path / "reference", PREFIX, files)
    s3 = seaweed.client()
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix=PREFIX + "clean/")
    keys = sorted(o["Key"] for o in listed.get("Contents", []))
    assert keys == sorted(expected)
    for key in keys:
        assert s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == expected[key]
