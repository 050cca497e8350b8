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

import contextlib
import threading
import time
from typing import Protocol

import redis

from karet_worker.jobs.errors import QueueUnavailable

RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


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


class RedisLocks:
    """`<key_prefix>lock:pipeline:<pipeline>` locks with a TTL of `3 * heartbeat_s`."""

    def __init__(self, client: redis.Redis, key_prefix: str, heartbeat_s: float) -> None:
        self._client = client
        self._prefix = key_prefix
        self.heartbeat_s = heartbeat_s
        self._renew = client.register_script(RENEW_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    @property
    def ttl_ms(self) -> int:
        return int(3 * self.heartbeat_s * 1000)

    def key(self, pipeline: str) -> str:
        return f"{self._prefix}lock:pipeline:{pipeline}"

    def try_acquire(self, pipeline: str, fence: str) -> Lease | None:
        sent = time.monotonic()
        try:
            won = self._client.set(self.key(pipeline), fence, nx=True, px=self.ttl_ms)
        except redis.RedisError as exc:
            raise QueueUnavailable(f"Redis: cannot take the pipeline lock: {exc}") from exc
        if not won:
            return None
        return _RedisLease(self, pipeline, fence, sent)

    def holder(self, pipeline: str) -> str | None:
        """The fence currently holding the lock (for tests and diagnostics)."""
        value = self._client.get(self.key(pipeline))
        return value.decode() if isinstance(value, bytes) else value


class _RedisLease:
    def __init__(self, locks: RedisLocks, pipeline: str, fence: str, sent: float) -> None:
        self._locks = locks
        self._key = locks.key(pipeline)
        self.fence = fence
        self._lost = False
        self._guard = threading.Lock()
        self._deadline = self._deadline_from(sent)

    def _deadline_from(self, sent: float) -> float:
        # Redis counts the TTL from when it got the command, which is after `sent`; we stop
        # trusting the lock one heartbeat before the TTL runs out from `sent`.
        return sent + 2 * self._locks.heartbeat_s

    def renew(self) -> bool:
        if self._lost:
            return False
        sent = time.monotonic()
        try:
            extended = self._locks._renew(keys=[self._key], args=[self.fence, self._locks.ttl_ms])
        except redis.RedisError:
            return self.held()  # Redis unreachable: ours until the local deadline passes
        with self._guard:
            if extended:
                self._deadline = max(self._deadline, self._deadline_from(sent))
            else:
                self._lost = True
        return bool(extended)

    def held(self) -> bool:
        with self._guard:
            if self._lost or time.monotonic() >= self._deadline:
                self._lost = True
                return False
            return True

    def release(self) -> None:
        with contextlib.suppress(redis.RedisError):  # else it expires within the TTL anyway
            self._locks._release(keys=[self._key], args=[self.fence])
        with self._guard:
            self._lost = True
