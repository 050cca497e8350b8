"""SIGTERM (SPEC §12): a worker stops claiming and lets its job finish within
KARET_SHUTDOWN_GRACE_S; past the grace it stops the run at a checkpoint and hands the job back
to the queue, where another worker completes it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from karet_worker.jobs.factory import open_queue
from karet_worker.jobs.model import JobRecord, JobStatus, Trigger
from karet_worker.jobs.queue import JobQueue
from karet_worker.settings import Settings
from karet_worker.storage.factory import open_local_store

from .cluster import Proc, pipeline_files, wait_until, worker_proc

PREFIX = "pipelines/shutdown/"
FILES = 600  # a run long enough to be signalled in the middle of its reading


def _setup(tmp_path: Path, redis_target: object, grace: str) -> tuple[dict[str, str], JobQueue]:
    env = {
        "KARET_DATA_DIR": str(tmp_path / "data"),
        "KARET_LOCK_HEARTBEAT_S": "0.3",
        "KARET_RECLAIM_IDLE_S": "2",
        "KARET_SHUTDOWN_GRACE_S": grace,
        **redis_target.env(),  # type: ignore[attr-defined]
    }
    store = open_local_store(tmp_path / "data")
    for name, data in pipeline_files(0, FILES).items():
        store.put(PREFIX + name, data)
    return env, open_queue(Settings.from_env(env), store)


def _reading(queue: JobQueue, job: JobRecord, worker: Proc) -> bool:
    record = queue.get(job.job_id)
    total = record.progress.files_total or 0
    return (
        record.status is JobStatus.running
        and (record.worker or "").endswith(f":{worker.pid}")
        and 1 <= record.progress.files_done < total - 200
    )


@pytest.mark.parametrize("grace", ["60", "0"], ids=["within-grace", "past-grace"])
def test_sigterm(tmp_path: Path, redis_target: object, grace: str) -> None:
    env, queue = _setup(tmp_path, redis_target, grace)
    first = worker_proc("first", env, tmp_path / "procs")
    second = worker_proc("second", env, tmp_path / "procs")
    try:
        first.start()
        job = queue.submit(PREFIX, clean_run=False, trigger=Trigger.manual)
        wait_until("the worker to be reading", lambda: _reading(queue, job, first))
        first.signal(signal.SIGTERM)
        assert first.proc is not None
        assert first.proc.wait(timeout=120) == 0
        if grace == "0":
            # Stopped at a checkpoint and handed back: queued again, run by another worker.
            [stopped] = [e for e in first.lines() if e.get("message") == "run stopped"]
            assert stopped["reason"] == "shutdown"
            assert queue.get(job.job_id).status is JobStatus.queued
            second.start()
        record = wait_until(
            "the job to end", lambda: (r := queue.get(job.job_id)).status.terminal and r
        )
    finally:
        first.stop()
        second.stop()
        queue.close()

    assert record.status is JobStatus.completed
    assert record.result is not None and record.result["files_processed"] == FILES
    finisher = first if grace == "60" else second
    assert (record.worker or "").endswith(f":{finisher.pid}")
    assert record.attempts == (1 if grace == "60" else 2)
