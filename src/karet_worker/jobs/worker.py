"""Consumers: threads that claim queued jobs and run them (SPEC §12).

One claimed job goes: too many attempts? -> failed. Wait for a run slot (process-wide
admission) -> take the pipeline's lock, or defer the job when another run holds it -> mark it
running -> run the engine with a checkpoint that stops it on cancel, on losing the lock, or when
the shutdown grace is over -> verdict:

| outcome | job |
|---|---|
| run finished (maybe with per-file errors) | completed, `result` = the `/jobs/run` body |
| config missing or invalid (permanent) | failed at once |
| storage or Redis unavailable (transient) | queued again after a backoff; failed at last |
| cancelled | cancelled |
| lost the lock | nothing more written or reported: the new holder owns the job |
| shutdown grace over | stopped at a checkpoint, handed back to the queue |

The history object is written before the queue is told, so a crash in between re-runs the job
rather than losing its history.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from karet_worker.engine.result import (
    ConfigInvalid,
    ConfigNotFound,
    RunStage,
    RunStopped,
)
from karet_worker.engine.run import Runner
from karet_worker.jobs.admission import RunSlots
from karet_worker.jobs.errors import QueueUnavailable
from karet_worker.jobs.history import JobHistory
from karet_worker.jobs.keeper import Keeper
from karet_worker.jobs.locks import Lease
from karet_worker.jobs.model import JobRecord, JobStatus
from karet_worker.jobs.queue import Claim, JobQueue
from karet_worker.jobs.records import terminal_copy
from karet_worker.jobs.reporting import JobProgress
from karet_worker.settings import QueueSettings
from karet_worker.storage.base import StorageUnavailable

log = logging.getLogger("karet_worker.jobs")

RECONNECT_MAX_S = 10.0  # consumers retry a dead Redis at 0.5, 1, 2 ... up to 10 s apart


def worker_name() -> str:
    """This process in the consumer group and in job records: `<host>:<pid>`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def retry_delay_s(settings: QueueSettings, attempt: int) -> float:
    """Backoff before retrying a transient failure: 30 s, 60 s, 120 s ... capped at 10 min.

    >>> retry_delay_s(QueueSettings(), 1), retry_delay_s(QueueSettings(), 9)
    (30.0, 600.0)
    """
    return float(min(settings.retry_cap_s, settings.retry_base_s * 2 ** (attempt - 1)))


class JobWorker:
    """`concurrency` consumer threads of one process."""

    def __init__(
        self,
        queue: JobQueue,
        runner: Runner,
        history: JobHistory,
        slots: RunSlots,
        settings: QueueSettings,
        name: str | None = None,
    ) -> None:
        self.queue = queue
        self.runner = runner
        self.history = history
        self.slots = slots
        self.settings = settings
        self.name = name or worker_name()
        self._stop_claiming = threading.Event()
        self._stop_runs = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, concurrency: int) -> None:
        for number in range(concurrency):
            consumer = f"{self.name}:{number}"
            thread = threading.Thread(
                target=self._consume, args=(consumer,), name=f"karet-consumer-{number}"
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, grace_s: float) -> None:
        """Stop claiming; let running jobs finish within `grace_s`, then stop them at their next
        checkpoint and hand them back to the queue."""
        self._stop_claiming.set()
        deadline = time.monotonic() + grace_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._stop_runs.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    @property
    def stopping(self) -> bool:
        return self._stop_claiming.is_set()

    # ------------------------------------------------------------------ the loop

    def _consume(self, consumer: str) -> None:
        delay = 0.5
        while not self._stop_claiming.is_set():
            try:
                claim = self.queue.claim(consumer, timeout_s=1.0)
            except QueueUnavailable as exc:
                log.warning("queue unavailable; retrying", extra={"error": str(exc)})
                self._stop_claiming.wait(delay)
                delay = min(RECONNECT_MAX_S, delay * 2)
                continue
            delay = 0.5
            if claim is None:
                continue
            try:
                self.process(claim)
            except QueueUnavailable as exc:
                # Redis went away mid-way: the delivery stays pending and is reclaimed.
                log.warning(
                    "queue unavailable while handling a job; it will be delivered again",
                    extra={"job_id": claim.message.job_id, "error": str(exc)},
                )
            except Exception:
                # Never lose the consumer thread; the delivery is reclaimed later.
                log.exception("job handling failed", extra={"job_id": claim.message.job_id})

    def process(self, claim: Claim) -> None:
        message = claim.message
        context = {"job_id": message.job_id, "fence": claim.fence, "worker": self.name}
        if claim.attempt > self.settings.max_attempts:
            self._give_up(claim)
            return
        queued_for_ms = 0
        with Keeper(self.queue, claim, self.settings.heartbeat_s) as keeper:
            waiting = time.monotonic()
            while not self.slots.take(timeout_s=0.5):
                if self._stop_runs.is_set():
                    self.queue.let_go(claim)
                    return
            try:
                lease = self.queue.locks.try_acquire(message.pipeline, claim.fence)
                if lease is None:
                    log.info("pipeline busy; job deferred", extra=context)
                    self.queue.defer(claim, self.settings.heartbeat_s, count_attempt=False)
                    return
                queued_for_ms = int((time.monotonic() - waiting) * 1000)
                keeper.lease = lease
                try:
                    self._run(claim, lease, keeper, queued_for_ms, context)
                finally:
                    # Logged before the release: once released, another worker may start the
                    # pipeline at once, and its "run started" could precede our "run ended"
                    # (the logged runs of one pipeline must never overlap: tests/jobs/test_chaos).
                    log.info("run ended", extra=context)
                    lease.release()
            finally:
                self.slots.give_back()

    def _give_up(self, claim: Claim) -> None:
        if self.queue.start(claim, self.name).terminal:
            return  # finished or cancelled meanwhile: start() dropped the delivery
        tries = claim.attempt - 1
        self._finish(claim, JobStatus.failed, error=f"gave up after {tries} attempts", result=None)

    def _run(
        self,
        claim: Claim,
        lease: Lease,
        keeper: Keeper,
        wait_ms: int,
        context: dict[str, Any],
    ) -> None:
        message = claim.message
        if self.queue.start(claim, self.name).terminal:
            return  # cancelled while it waited
        log.info("run started", extra={**context, "pipeline_prefix": message.prefix})
        progress = JobProgress(self.queue, claim)
        stop_reason: list[str] = []
        checkpoint = _checkpoint(progress, keeper, lease, self._stop_runs, stop_reason)
        try:
            result = self.runner.run(
                message.prefix,
                clean_run=message.clean_run,
                job_id=message.job_id,
                progress=progress,
                checkpoint=checkpoint,
            )
        except (ConfigNotFound, ConfigInvalid) as exc:
            self._verdict(claim, lease, progress, JobStatus.failed, str(exc), None)
            return
        except (StorageUnavailable, QueueUnavailable) as exc:
            self._transient(claim, lease, progress, str(exc))
            return
        except RunStopped:
            self._stopped(claim, lease, progress, stop_reason[0] if stop_reason else "")
            return
        result.wait_ms = wait_ms
        self._verdict(claim, lease, progress, JobStatus.completed, None, result.body())

    def _transient(self, claim: Claim, lease: Lease, progress: JobProgress, error: str) -> None:
        if claim.attempt >= self.settings.max_attempts:
            message = f"{error} (gave up after {claim.attempt} attempts)"
            self._verdict(claim, lease, progress, JobStatus.failed, message, None)
            return
        if not lease.held():
            return
        delay = retry_delay_s(self.settings, claim.attempt)
        log.warning(
            "transient failure; job retried later",
            extra={"job_id": claim.message.job_id, "error": error, "retry_in_s": delay},
        )
        self.queue.defer(claim, delay, count_attempt=True)

    def _stopped(self, claim: Claim, lease: Lease, progress: JobProgress, reason: str) -> None:
        extra = {"job_id": claim.message.job_id, "fence": claim.fence, "reason": reason}
        log.warning("run stopped", extra=extra)
        match reason:
            case "cancelled":
                self._verdict(claim, lease, progress, JobStatus.cancelled, "cancelled", None)
            case "shutdown":
                self.queue.let_go(claim)
            case _:  # lost the lock: the job is someone else's now; report nothing
                return

    def _verdict(
        self,
        claim: Claim,
        lease: Lease,
        progress: JobProgress,
        status: JobStatus,
        error: str | None,
        result: dict[str, Any] | None,
    ) -> None:
        if not lease.held():
            log.warning(
                "lock lost before the verdict; not reported", extra={"job_id": claim.message.job_id}
            )
            return
        self._finish(claim, status, error=error, result=result, progress=progress)

    def _finish(
        self,
        claim: Claim,
        status: JobStatus,
        *,
        error: str | None,
        result: dict[str, Any] | None,
        progress: JobProgress | None = None,
    ) -> None:
        base = self._current(claim)
        if progress is not None:
            base.progress = progress.snapshot()
        record = terminal_copy(base, status, error=error, result=result)
        record.attempts = claim.attempt
        record.worker = self.name
        try:
            self.history.write(record)
        except StorageUnavailable as exc:
            record.error = (record.error + "; " if record.error else "") + (
                f"its history object could not be written: {exc}"
            )
            log.error("job history not written", extra={"job_id": record.job_id, "error": str(exc)})
        self._retry(lambda: self.queue.finish(claim, record))
        log.info(
            "job finished",
            extra={"job_id": record.job_id, "status": record.status.value, "error": record.error},
        )

    def _current(self, claim: Claim) -> JobRecord:
        try:
            return self.queue.get(claim.message.job_id)
        except Exception:  # any trouble: rebuild it from the message
            record = claim.message.queued_record()
            record.status = JobStatus.running
            return record

    def _retry(self, call: Callable[[], None]) -> None:
        """Redis may be restarting: keep trying (the result is in hand) until it answers or the
        process stops; after that the delivery is reclaimed and run again (at least once)."""
        delay = 0.25
        while True:
            try:
                call()
                return
            except QueueUnavailable as exc:
                if self._stop_runs.is_set():
                    log.error("queue unavailable; verdict not recorded", extra={"error": str(exc)})
                    return
                time.sleep(delay)
                delay = min(RECONNECT_MAX_S, delay * 2)


def _checkpoint(
    progress: JobProgress,
    keeper: Keeper,
    lease: Lease,
    stop_runs: threading.Event,
    reason: list[str],
) -> Callable[[RunStage], None]:
    def check(stage: RunStage) -> None:
        progress.stage(stage)
        # Between chunks the keeper's last answer will do; before writing, ask now.
        cancelled = keeper.cancelled.is_set() if stage is RunStage.reading else keeper.poll_cancel()
        if cancelled:
            reason.append("cancelled")
        elif not lease.held():
            reason.append("lost_lock")
        elif stop_runs.is_set():
            reason.append("shutdown")
        else:
            return
        raise RunStopped(reason[-1])

    return check
