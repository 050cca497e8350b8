"""Per-pipeline locks in Redis (SPEC §12), the `PipelineLocks` of the Redis queue: see
`jobs/locks.py` for the protocol. Kept apart from it so that a process without Redis (every
`karet-worker run` on the embedded queue) never imports redis-py (0.22 s of start-up).
"""

from __future__ import annotations

import contextlib
import threading
import time

import redis

from karet_worker.jobs.errors import QueueUnavailable
from karet_worker.jobs.locks import Lease

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
