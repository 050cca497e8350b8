"""Keeps a running job's claims alive from a side thread: renews the pipeline lock every
heartbeat, tells the queue the delivery is still being worked on, and notices cancellation
requests (polled every second at most, so a cancel takes effect within about a second)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from karet_worker.jobs.errors import QueueUnavailable
from karet_worker.jobs.locks import Lease
from karet_worker.jobs.queue import Claim, JobQueue

log = logging.getLogger("karet_worker.jobs")

CANCEL_POLL_S = 1.0


class Keeper:
    def __init__(self, queue: JobQueue, claim: Claim | None, heartbeat_s: float) -> None:
        self.queue = queue
        self.claim = claim
        self.heartbeat_s = heartbeat_s
        self.lease: Lease | None = None
        self.cancelled = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="karet-keeper", daemon=True)

    def __enter__(self) -> Keeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        tick = min(self.heartbeat_s, CANCEL_POLL_S)
        next_beat = time.monotonic() + self.heartbeat_s
        while not self._stop.wait(tick):
            if time.monotonic() >= next_beat:
                next_beat += self.heartbeat_s
                self._beat()
            if self.lease is not None:
                self.poll_cancel()

    def poll_cancel(self) -> bool:
        """Ask the queue whether the job was cancelled (also called by the run itself before
        it writes or prunes, so a cancel seen by then never lets it write)."""
        if self.claim is not None and not self.cancelled.is_set():
            with contextlib.suppress(QueueUnavailable):  # asked again next tick
                if self.queue.cancel_requested(self.claim.message.job_id):
                    self.cancelled.set()
        return self.cancelled.is_set()

    def _beat(self) -> None:
        lease = self.lease
        if lease is not None and not lease.renew():
            log.warning("lost the pipeline lock", extra={"fence": lease.fence})
            return  # the run stops at its next checkpoint; stop claiming the delivery too
        if self.claim is not None:
            self.queue.touch(self.claim)
