"""A running job's progress, fed by the engine's listener callbacks and pushed to the queue at
most every `PUSH_EVERY_S` (a run can finish thousands of chunks and objects a second)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from karet_worker.engine.result import RunStage
from karet_worker.jobs.errors import QueueUnavailable
from karet_worker.jobs.model import Progress, Stage
from karet_worker.jobs.queue import Claim, JobQueue

log = logging.getLogger("karet_worker.jobs")

PUSH_EVERY_S = 0.25
STAGES = {
    RunStage.reading: Stage.reading,
    RunStage.writing: Stage.writing,
    RunStage.pruning: Stage.pruning,
}


class JobProgress:
    """Implements `engine.result.ProgressListener` (+ the stage seen at each checkpoint)."""

    def __init__(self, queue: JobQueue, claim: Claim) -> None:
        self.queue = queue
        self.claim = claim
        self.progress = Progress(stage=Stage.reading, files_total=0)
        self._guard = threading.Lock()
        self._pushed_at = 0.0
        self._log_extra = {"job_id": claim.message.job_id, "fence": claim.fence}

    def files_found(self, count: int) -> None:
        with self._guard:
            self.progress.files_total = (self.progress.files_total or 0) + count
        self._push(force=True)

    def file_done(self, key: str, rows: int) -> None:
        with self._guard:
            self.progress.files_done += 1
            self.progress.rows_read += rows
        self._push()

    def partition_written(self, key: str) -> None:
        # Each object a run writes, with the fence it wrote under: the fencing tests read this.
        log.debug("object written", extra={**self._log_extra, "key": key})
        with self._guard:
            self.progress.partitions_written += 1
        self._push()

    def stage(self, stage: RunStage) -> None:
        new = STAGES[stage]
        with self._guard:
            if self.progress.stage is new:
                return
            self.progress.stage = new
        self._push(force=True)

    def snapshot(self) -> Progress:
        with self._guard:
            return self.progress.model_copy()

    def _push(self, *, force: bool = False) -> None:
        now = time.monotonic()
        with self._guard:
            if not force and now - self._pushed_at < PUSH_EVERY_S:
                return
            self._pushed_at = now
            snapshot = self.progress.model_copy()
        with contextlib.suppress(QueueUnavailable):  # best effort; the verdict is retried
            self.queue.progress(self.claim, snapshot)
