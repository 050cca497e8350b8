"""Per-pipeline locks (SPEC §12): at most one run of a pipeline at a time, anywhere.

A lock's value is the holder's fence `<job_id>:<attempt>`. In Redis it is `SET NX PX` with a
TTL of three heartbeats, renewed every heartbeat by a script that extends it only while its
value is still our fence, and released by compare-and-delete, so a holder that stalled past the
TTL can neither extend nor delete its successor's lock. The holder also keeps a local deadline:
it treats the lock as lost once two heartbeats passed without a successful renewal (one TTL
minus one heartbeat of margin), before Redis can hand it to anyone else.

    lease = locks.try_acquire("demo", "job-1-abc:1")   # None: busy
    lease.renew(); lease.held(); lease.release()
"""

from __future__ import annotations

import threading
from typing import Protocol


class Lease(Protocol):
    """A held pipeline lock."""

    fence: str

    def renew(self) -> bool:
        """Extend the lock; False once it is no longer ours (expired and maybe taken)."""
        ...

    def held(self) -> bool:
        """Whether the lock is still ours as far as this process can tell, without a round
        trip: False after a failed renewal or once the local deadline passed."""
        ...

    def release(self) -> None:
        """Give the lock up if it is still ours (never deletes another holder's lock)."""
        ...


class PipelineLocks(Protocol):
    def try_acquire(self, pipeline: str, fence: str) -> Lease | None:
        """The lock for `pipeline` under `fence`, or None when another run holds it.
        Raises QueueUnavailable (Redis) when the lock cannot be asked for."""
        ...


class LocalLocks:
    """Locks of one process (the embedded mode): they cannot expire, the holder is alive."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._holders: dict[str, str] = {}

    def try_acquire(self, pipeline: str, fence: str) -> Lease | None:
        with self._guard:
            if pipeline in self._holders:
                return None
            self._holders[pipeline] = fence
        return _LocalLease(self, pipeline, fence)

    def _holds(self, pipeline: str, fence: str) -> bool:
        with self._guard:
            return self._holders.get(pipeline) == fence

    def _release(self, pipeline: str, fence: str) -> None:
        with self._guard:
            if self._holders.get(pipeline) == fence:
                del self._holders[pipeline]


class _LocalLease:
    def __init__(self, locks: LocalLocks, pipeline: str, fence: str) -> None:
        self._locks = locks
        self._pipeline = pipeline
        self.fence = fence

    def renew(self) -> bool:
        return self._locks._holds(self._pipeline, self.fence)

    def held(self) -> bool:
        return self._locks._holds(self._pipeline, self.fence)

    def release(self) -> None:
        self._locks._release(self._pipeline, self.fence)
