"""The one interface both queue backends implement (SPEC §12): embedded (in-process) and Redis.

Producer side (the API, the CLI, the webhook): `submit`, `get`, `list`, `cancel`, `health`.
Consumer side (`jobs.worker.JobWorker` only): `claim` a job, `start` it, report `progress`,
then exactly one of `finish` (terminal), `defer` (run it later: pipeline busy, transient
failure) or `let_go` (stop without a verdict: shutdown or lost lock; another worker reclaims
it). Every method is synchronous and short (one Redis round trip or a dict lookup) except
`claim`, which waits up to `timeout_s` for work.

    queue = open_queue(settings, store)          # jobs.factory
    record = queue.submit("pipelines/demo/", clean_run=False, trigger=Trigger.api)
    queue.get(record.job_id).status              # JobStatus.queued, later running, completed...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from karet_worker.jobs.errors import JobAlreadyFinished, JobNotFound, QueueUnavailable
from karet_worker.jobs.locks import PipelineLocks
from karet_worker.jobs.model import JobMessage, JobRecord, JobStatus, Progress, Trigger


@dataclass(frozen=True)
class Claim:
    """One delivery of a job to `consumer`. `attempt` counts deliveries (claims) of the job,
    not counting deferrals for a busy pipeline; `delivery` is the backend's handle (the stream
    entry id in Redis)."""

    message: JobMessage
    attempt: int
    delivery: str
    consumer: str

    @property
    def fence(self) -> str:
        """The pipeline lock's value while this delivery runs: `<job_id>:<attempt>`."""
        return f"{self.message.job_id}:{self.attempt}"


@dataclass(frozen=True)
class QueueHealth:
    """For `GET /ready`: `backend` is "redis" or "embedded"; `consumers` counts live consumers
    (Redis: consumers of the group seen within the reclaim interval); `depth` = jobs waiting
    (not yet claimed, plus deferred ones)."""

    backend: str
    consumers: int
    depth: int


class JobQueue(Protocol):
    @property
    def locks(self) -> PipelineLocks:
        """The per-pipeline locks every run takes (queued and synchronous)."""
        ...

    # ------------------------------------------------------------------ producer side

    def submit(self, prefix: str, *, clean_run: bool, trigger: Trigger) -> JobRecord:
        """Enqueue a run; the record (status queued) once it is durably queued.
        Raises QueueUnavailable."""
        ...

    def get(self, job_id: str) -> JobRecord:
        """The job's current record. Raises JobNotFound, QueueUnavailable."""
        ...

    def list(
        self, *, prefix: str | None = None, status: JobStatus | None = None, limit: int = 50
    ) -> list[JobRecord]:
        """Records newest first (by enqueue time), filtered; with `prefix`, finished jobs no
        longer in the queue's memory are read from the store's history objects."""
        ...

    def cancel(self, job_id: str) -> JobRecord:
        """Cancel: a queued job becomes cancelled at once; a running one is asked to stop at its
        next checkpoint (its status changes when it has). Raises JobNotFound,
        JobAlreadyFinished, QueueUnavailable."""
        ...

    def health(self) -> QueueHealth:
        """Raises QueueUnavailable when the backing server does not answer."""
        ...

    # ------------------------------------------------------------------ consumer side

    def claim(self, consumer: str, timeout_s: float) -> Claim | None:
        """The next job for `consumer` (new, due after a deferral, or reclaimed from a dead
        consumer), or None after `timeout_s`. Raises QueueUnavailable."""
        ...

    def touch(self, claim: Claim) -> None:
        """Tell the queue this consumer still works on the claim (Redis: resets the entry's
        idle time so it is not reclaimed)."""
        ...

    def start(self, claim: Claim, worker: str) -> JobStatus:
        """Mark the job running under `claim.fence`, unless it was cancelled meanwhile: returns
        the status it had (queued/running: now running; cancelled: leave it alone)."""
        ...

    def cancel_requested(self, job_id: str) -> bool: ...

    def progress(self, claim: Claim, progress: Progress) -> None: ...

    def finish(self, claim: Claim, record: JobRecord) -> None:
        """Record the terminal `record` (status completed/failed/cancelled) and remove the
        delivery. The history object must already be written (`jobs.history`)."""
        ...

    def defer(self, claim: Claim, delay_s: float, *, count_attempt: bool) -> None:
        """Back to queued, delivered again after `delay_s`. `count_attempt=False` (the pipeline
        was busy) does not use up an attempt."""
        ...

    def let_go(self, claim: Claim) -> None:
        """Stop working on the claim without a verdict; it is delivered again later (Redis:
        reclaimed after KARET_RECLAIM_IDLE_S)."""
        ...

    def close(self) -> None: ...


__all__ = [
    "Claim",
    "JobAlreadyFinished",
    "JobNotFound",
    "JobQueue",
    "QueueHealth",
    "QueueUnavailable",
]
