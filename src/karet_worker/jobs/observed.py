"""A JobQueue that tells observers about every change it makes (metrics, live job streams).

It wraps the process's queue and behaves exactly like it; each observer hears of a change
after the inner queue made it. Observers must be quick and must not raise (they run on the
caller's thread: a consumer or a request).

    queue = ObservedQueue(open_queue(settings, store), [metrics, changes])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from karet_worker.jobs.errors import JobNotFound, QueueUnavailable
from karet_worker.jobs.locks import PipelineLocks
from karet_worker.jobs.model import JobRecord, JobStatus, Progress, Trigger
from karet_worker.jobs.queue import Claim, JobQueue, QueueHealth


class QueueObserver(Protocol):
    def submitted(self, record: JobRecord) -> None: ...

    def started(self, claim: Claim) -> None:
        """The claimed job is running in this process now."""
        ...

    def progressed(self, claim: Claim, progress: Progress) -> None: ...

    def stopped(self, claim: Claim, *, busy: bool) -> None:
        """The claim left this process without a verdict: deferred (`busy`: its pipeline was
        locked by another run) or let go."""
        ...

    def finished(self, job_id: str, record: JobRecord) -> None:
        """The job got its verdict (`record` is terminal): a run ended, or a queued job was
        cancelled."""
        ...


class ObservedQueue:
    def __init__(self, inner: JobQueue, observers: Sequence[QueueObserver]) -> None:
        self.inner = inner
        self.observers = list(observers)

    @property
    def locks(self) -> PipelineLocks:
        return self.inner.locks

    def submit(self, prefix: str, *, clean_run: bool, trigger: Trigger) -> JobRecord:
        record = self.inner.submit(prefix, clean_run=clean_run, trigger=trigger)
        for observer in self.observers:
            observer.submitted(record)
        return record

    def get(self, job_id: str) -> JobRecord:
        return self.inner.get(job_id)

    def list(
        self, *, prefix: str | None = None, status: JobStatus | None = None, limit: int = 50
    ) -> list[JobRecord]:
        return self.inner.list(prefix=prefix, status=status, limit=limit)

    def cancel(self, job_id: str) -> JobRecord:
        record = self.inner.cancel(job_id)
        if record.status.terminal:  # a queued job: cancelled here and now
            for observer in self.observers:
                observer.finished(job_id, record)
        return record

    def health(self) -> QueueHealth:
        return self.inner.health()

    def claim(self, consumer: str, timeout_s: float) -> Claim | None:
        return self.inner.claim(consumer, timeout_s)

    def touch(self, claim: Claim) -> None:
        self.inner.touch(claim)

    def start(self, claim: Claim, worker: str) -> JobStatus:
        status = self.inner.start(claim, worker)
        if not status.terminal:
            for observer in self.observers:
                observer.started(claim)
        return status

    def cancel_requested(self, job_id: str) -> bool:
        return self.inner.cancel_requested(job_id)

    def progress(self, claim: Claim, progress: Progress) -> None:
        self.inner.progress(claim, progress)
        for observer in self.observers:
            observer.progressed(claim, progress)

    def finish(self, claim: Claim, record: JobRecord) -> None:
        self.inner.finish(claim, record)
        for observer in self.observers:
            observer.finished(claim.message.job_id, record)

    def defer(self, claim: Claim, delay_s: float, *, count_attempt: bool) -> None:
        self.inner.defer(claim, delay_s, count_attempt=count_attempt)
        for observer in self.observers:
            observer.stopped(claim, busy=not count_attempt)

    def let_go(self, claim: Claim) -> None:
        self.inner.let_go(claim)
        job_id = claim.message.job_id
        try:  # the embedded queue abandons the job (no one will reclaim it); Redis requeues it
            record: JobRecord | None = self.inner.get(job_id)
        except (JobNotFound, QueueUnavailable):
            record = None
        for observer in self.observers:
            if record is not None and record.status.terminal:
                observer.finished(job_id, record)
            else:
                observer.stopped(claim, busy=False)

    def close(self) -> None:
        self.inner.close()
