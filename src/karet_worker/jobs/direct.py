"""Synchronous runs (`POST /jobs/run`): the same pipeline lock and run slots as queued jobs,
waited for on the event loop so that waiting holds no thread (issue 7, defect 8).

The lock is taken first (other pipelines' runs are not held up by this one's queue), then a run
slot; only the run itself occupies a worker thread. `duration_ms` is the run; `wait_ms` the
wait for the lock and the slot.
"""

from __future__ import annotations

import functools
import time
import uuid

import anyio
import anyio.to_thread

from karet_worker.engine.result import ProgressListener, RunResult, RunStage, RunStopped
from karet_worker.engine.run import Runner
from karet_worker.jobs.admission import RunSlots
from karet_worker.jobs.factory import open_queue
from karet_worker.jobs.keeper import Keeper
from karet_worker.jobs.locks import Lease
from karet_worker.jobs.model import pipeline_name
from karet_worker.jobs.queue import JobQueue
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore

LOCK_POLL_FIRST_S = 0.02
LOCK_POLL_MAX_S = 0.5  # a free lock is noticed within half a second at most


class LockLost(Exception):
    """The run lost its pipeline lock (Redis unreachable past the lock's TTL) and stopped."""


async def run_now(
    queue: JobQueue,
    runner: Runner,
    slots: RunSlots,
    heartbeat_s: float,
    prefix: str,
    *,
    clean_run: bool,
    job_id: str,
    progress: ProgressListener | None = None,
) -> RunResult:
    """Run `prefix` once its lock and a slot are free. Raises what `Runner.run` raises,
    QueueUnavailable (Redis down while asking for the lock) and LockLost."""
    waiting = time.monotonic()
    fence = f"{job_id}:1"
    lease = await _acquire(queue, pipeline_name(prefix), fence)
    try:
        with Keeper(queue, None, heartbeat_s) as keeper:
            keeper.lease = lease
            await slots.take_async()
            try:
                wait_ms = int((time.monotonic() - waiting) * 1000)
                call = functools.partial(
                    runner.run,
                    prefix,
                    clean_run=clean_run,
                    job_id=job_id,
                    progress=progress,
                    checkpoint=functools.partial(_check, lease),
                )
                try:
                    result = await anyio.to_thread.run_sync(call)
                except RunStopped:
                    raise LockLost(
                        f"the run of {prefix} lost its pipeline lock (the job queue was "
                        "unreachable for longer than the lock's TTL) and stopped; nothing more "
                        "was written; run it again"
                    ) from None
            finally:
                slots.give_back()
    finally:
        await anyio.to_thread.run_sync(lease.release)
    result.wait_ms = wait_ms
    return result


async def _acquire(queue: JobQueue, pipeline: str, fence: str) -> Lease:
    delay = LOCK_POLL_FIRST_S
    while True:
        lease = await anyio.to_thread.run_sync(queue.locks.try_acquire, pipeline, fence)
        if lease is not None:
            return lease
        await anyio.sleep(delay)
        delay = min(LOCK_POLL_MAX_S, delay * 2)


def _check(lease: Lease, stage: RunStage) -> None:
    if not lease.held():
        raise RunStopped("lost_lock")


def run_in_this_thread(
    settings: Settings,
    store: ObjectStore,
    prefix: str,
    *,
    clean_run: bool,
    progress: ProgressListener | None = None,
) -> RunResult:
    """`karet-worker run`: one run under the pipeline's lock, so that it never overlaps a
    queued or HTTP run of the same pipeline (with REDIS_URL: on any machine)."""
    queue = open_queue(settings, store)
    try:
        call = functools.partial(
            run_now,
            queue,
            Runner(store),
            RunSlots(1),
            settings.queue.heartbeat_s,
            prefix,
            clean_run=clean_run,
            job_id=uuid.uuid4().hex,
            progress=progress,
        )
        return anyio.run(call)
    finally:
        queue.close()
