"""`POST /jobs/run` beside the queue (issue 7 defect 8, SPEC §12/§15): it takes the same
pipeline lock as queued jobs, waits for it without holding a thread (other endpoints stay
responsive), goes through the process-wide run slots, and reports its wait apart from its
duration."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from karet_worker.storage.base import ObjectStore

from .conftest import PREFIX, WAIT_S, MakeJobsClient, held_lock, seed, tiny_config

WAITING = 40  # more than anyio's 40 worker threads: the old code starved everything else


def test_waiting_runs_hold_no_thread_and_report_their_wait(
    make_jobs_client: MakeJobsClient, store: ObjectStore
) -> None:
    seed(store)
    client = make_jobs_client(consume=False, KARET_MAX_CONCURRENT_RUNS="1")
    locks = client.app.state.jobs.queue.locks  # type: ignore[attr-defined]
    sent = threading.Barrier(WAITING + 1)

    def run() -> httpx.Response:
        sent.wait(WAIT_S)
        return client.post("/jobs/run", json={"pipeline_prefix": PREFIX})

    def validate() -> httpx.Response:
        return client.post("/config/validate", json=tiny_config())

    with ThreadPoolExecutor(WAITING + 1) as pool:
        with held_lock(locks, "jobs"):  # released also on failure: no thread is left waiting
            futures = [pool.submit(run) for _ in range(WAITING)]
            sent.wait(WAIT_S)
            # While 40 runs wait for the lock, validation still answers (it used to queue
            # behind them for a free thread until the lock came free: never, here).
            for _ in range(5):
                answer = pool.submit(validate).result(timeout=WAIT_S)
                assert answer.status_code == 200, answer.text
            assert all(not f.done() for f in futures)  # still waiting: the lock is held
        responses = [f.result(timeout=WAIT_S) for f in futures]

    assert [r.status_code for r in responses] == [200] * WAITING
    bodies = [r.json() for r in responses]
    assert all(b["rows_read"] == 15 for b in bodies)
    assert all(b["wait_ms"] > 0 for b in bodies)
    # Runs were admitted one at a time (KARET_MAX_CONCURRENT_RUNS=1) and never overlapped:
    # each one's wait covers at least the runs before it.
    waits = sorted(b["wait_ms"] for b in bodies)
    durations = sorted(b["duration_ms"] for b in bodies)
    assert waits[-1] >= sum(durations[:-1])
