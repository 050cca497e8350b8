"""The embedded queue (no `REDIS_URL`): jobs live in this process's memory, and their history
objects in the store. A restart forgets jobs that had not finished (SPEC §12); finished ones
stay listable from the store.

Same semantics as the Redis queue, with one process as the whole world: claims never need
reclaiming (the consumer threads live as long as the queue), locks never expire.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque

from karet_worker.jobs.errors import JobAlreadyFinished, JobNotFound
from karet_worker.jobs.history import JobHistory
from karet_worker.jobs.locks import LocalLocks
from karet_worker.jobs.model import (
    JobMessage,
    JobRecord,
    JobStatus,
    Progress,
    Stage,
    Trigger,
)
from karet_worker.jobs.queue import Claim, QueueHealth
from karet_worker.jobs.records import merge_newest_first, started, terminal_copy


class EmbeddedQueue:
    def __init__(self, history: JobHistory) -> None:
        self.history = history
        self.locks = LocalLocks()
        self._cond = threading.Condition()
        self._records: dict[str, JobRecord] = {}
        self._messages: dict[str, JobMessage] = {}
        self._attempts: dict[str, int] = {}
        self._cancel_requested: set[str] = set()
        self._ready: deque[str] = deque()
        self._delayed: list[tuple[float, int, str]] = []  # (due monotonic, seq, job id)
        self._seq = itertools.count()

    # ------------------------------------------------------------------ producer side

    def submit(self, prefix: str, *, clean_run: bool, trigger: Trigger) -> JobRecord:
        message = JobMessage.new(prefix, clean_run=clean_run, trigger=trigger)
        record = message.queued_record()
        with self._cond:
            self._records[message.job_id] = record
            self._messages[message.job_id] = message
            self._attempts[message.job_id] = 0
            self._ready.append(message.job_id)
            self._cond.notify()
        return record.model_copy(deep=True)

    def get(self, job_id: str) -> JobRecord:
        with self._cond:
            record = self._records.get(job_id)
            if record is None:
                raise JobNotFound(job_id)
            return record.model_copy(deep=True)

    def list(
        self, *, prefix: str | None = None, status: JobStatus | None = None, limit: int = 50
    ) -> list[JobRecord]:
        with self._cond:
            live = [
                r.model_copy(deep=True)
                for r in self._records.values()
                if prefix is None or r.pipeline_prefix == prefix
            ]
        stored = self.history.newest_first(prefix) if prefix is not None else iter(())
        return merge_newest_first(live, stored, status=status, limit=limit)

    def cancel(self, job_id: str) -> JobRecord:
        with self._cond:
            record = self._records.get(job_id)
            if record is None:
                raise JobNotFound(job_id)
            if record.status.terminal:
                raise JobAlreadyFinished(record.model_copy(deep=True))
            if record.status is JobStatus.running:
                self._cancel_requested.add(job_id)
                return record.model_copy(deep=True)
            cancelled = terminal_copy(record, JobStatus.cancelled, error="cancelled while queued")
        # Outside the lock: the store may be slow. A worker that claims the job meanwhile sees
        # the cancelled record once it is in place and drops it (`start`).
        self.history.write(cancelled)
        with self._cond:
            if self._records[job_id].status is JobStatus.queued:
                self._records[job_id] = cancelled
                return cancelled.model_copy(deep=True)
            self._cancel_requested.add(job_id)  # it started in between: stop it at a checkpoint
            return self._records[job_id].model_copy(deep=True)

    def health(self) -> QueueHealth:
        with self._cond:
            return QueueHealth("embedded", consumers=0, depth=len(self._ready) + len(self._delayed))

    # ------------------------------------------------------------------ consumer side

    def claim(self, consumer: str, timeout_s: float) -> Claim | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                self._move_due()
                if self._ready:
                    job_id = self._ready.popleft()
                    self._attempts[job_id] += 1
                    message = self._messages[job_id]
                    return Claim(
                        message, self._attempts[job_id], delivery=job_id, consumer=consumer
                    )
                now = time.monotonic()
                if now >= deadline:
                    return None
                wake = deadline if not self._delayed else min(deadline, self._delayed[0][0])
                self._cond.wait(timeout=max(0.0, wake - now))

    def touch(self, claim: Claim) -> None:
        return None

    def start(self, claim: Claim, worker: str) -> JobStatus:
        with self._cond:
            record = self._records[claim.message.job_id]
            if record.status.terminal:
                return record.status
            before = record.status
            self._records[claim.message.job_id] = started(record, worker, claim.attempt)
            return before

    def cancel_requested(self, job_id: str) -> bool:
        with self._cond:
            return job_id in self._cancel_requested

    def progress(self, claim: Claim, progress: Progress) -> None:
        with self._cond:
            record = self._records[claim.message.job_id]
            if record.status is JobStatus.running:
                record.progress = progress.model_copy()

    def finish(self, claim: Claim, record: JobRecord) -> None:
        with self._cond:
            self._records[claim.message.job_id] = record.model_copy(deep=True)
            self._cancel_requested.discard(claim.message.job_id)
            self._cond.notify_all()

    def defer(self, claim: Claim, delay_s: float, *, count_attempt: bool) -> None:
        job_id = claim.message.job_id
        with self._cond:
            if not count_attempt:
                self._attempts[job_id] -= 1
            record = self._records[job_id]
            if not record.status.terminal:
                record.status = JobStatus.queued
                record.progress = Progress(stage=Stage.queued)
            due = time.monotonic() + delay_s
            heapq.heappush(self._delayed, (due, next(self._seq), job_id))
            self._cond.notify()

    def let_go(self, claim: Claim) -> None:
        """One process: nobody will reclaim it after a restart, so it is abandoned."""
        with self._cond:
            record = self._records[claim.message.job_id]
            if record.status.terminal:
                return
            abandoned = terminal_copy(
                record, JobStatus.abandoned, error="the worker stopped before the run ended"
            )
            self._records[claim.message.job_id] = abandoned
        self.history.write(abandoned)

    def close(self) -> None:
        return None

    def _move_due(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, job_id = heapq.heappop(self._delayed)
            self._ready.append(job_id)
