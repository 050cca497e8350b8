"""One run per burst of uploads: the debounce of upload-triggered runs (SPEC §12).

A burst's run fires `quiet_ms` after its last event, and at most `max_wait_ms` after its first
(a steady trickle of uploads must not postpone the run forever). The state is shared by every
`serve` process when Redis is used, so a burst spread over several processes still gives one
run; embedded mode keeps it in memory.

    clock at 0 s:   event  -> fires at 5 s
    clock at 3 s:   event  -> fires at 8 s (quiet period restarts)
    ...events every 3 s...
    clock at 27 s:  event  -> fires at 30 s (capped: 30 s after the first event)

Firing takes a *lease* on the entry instead of deleting it: the entry stays, due again
`lease_ms` later, until the job is submitted and the lease is released. A process that dies
between taking and submitting therefore delays the run, never loses it. An event arriving
after the take starts a new burst (its uploads may have come after the run listed the files),
which replaces the lease and fires a run of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

import redis

log = logging.getLogger("karet_worker.triggers")

TAKE_LIMIT = 100  # entries taken per tick; more simply wait for the next tick


def wall_clock_ms() -> int:
    """Unix time in ms: comparable across the processes (and machines) sharing Redis."""
    return time.time_ns() // 1_000_000


class Taken(NamedTuple):
    """Pipelines whose burst is due, leased until `lease` (a unix ms)."""

    prefixes: list[str]
    lease: int


class DebounceState(Protocol):
    """Where bursts are tracked. Every method is atomic with respect to all processes."""

    def touch(self, prefix: str, now_ms: int, quiet_ms: int, max_wait_ms: int) -> int:
        """Record an event for `prefix`; returns when its run fires (unix ms)."""
        ...

    def take_due(self, now_ms: int, lease_ms: int) -> Taken:
        """Lease every entry due at `now_ms` and end its burst."""
        ...

    def release(self, prefix: str, lease: int) -> None:
        """Drop the entry of `prefix` if it still carries `lease` (no newer burst)."""
        ...

    def pending(self) -> int:
        """Pipelines with a burst waiting to fire (or leased, being submitted)."""
        ...


class MemoryDebounceState:
    """In-process state for embedded mode (one process, so a lock is all it needs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fire_at: dict[str, int] = {}
        self._first: dict[str, int] = {}

    def touch(self, prefix: str, now_ms: int, quiet_ms: int, max_wait_ms: int) -> int:
        with self._lock:
            first = self._first.setdefault(prefix, now_ms)
            fire = min(now_ms + quiet_ms, first + max_wait_ms)
            self._fire_at[prefix] = fire
            return fire

    def take_due(self, now_ms: int, lease_ms: int) -> Taken:
        with self._lock:
            due = sorted(p for p, at in self._fire_at.items() if at <= now_ms)[:TAKE_LIMIT]
            lease = now_ms + lease_ms
            for prefix in due:
                self._fire_at[prefix] = lease
                self._first.pop(prefix, None)
            return Taken(due, lease)

    def release(self, prefix: str, lease: int) -> None:
        with self._lock:
            if self._fire_at.get(prefix) == lease:
                del self._fire_at[prefix]

    def pending(self) -> int:
        with self._lock:
            return len(self._fire_at)


# KEYS[1] = ZSET prefix -> fire-at ms, KEYS[2] = HASH prefix -> first event ms of the burst.
_TOUCH = """
local now = tonumber(ARGV[2])
local first = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if not first then
  first = now
  redis.call('HSET', KEYS[2], ARGV[1], now)
end
local fire = math.min(now + tonumber(ARGV[3]), first + tonumber(ARGV[4]))
redis.call('ZADD', KEYS[1], fire, ARGV[1])
return fire
"""
_TAKE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local lease = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, prefix in ipairs(due) do
  redis.call('ZADD', KEYS[1], lease, prefix)
  redis.call('HDEL', KEYS[2], prefix)
end
return due
"""
_RELEASE = """
if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1])) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


class RedisDebounceState:
    """State shared through Redis: `<key_prefix>debounce` (ZSET of due times) and
    `<key_prefix>debounce:first` (HASH of burst starts); each operation is one Lua script."""

    def __init__(self, client: redis.Redis, key_prefix: str = "karet:") -> None:
        self._client = client
        self._keys = [f"{key_prefix}debounce", f"{key_prefix}debounce:first"]
        self._touch = client.register_script(_TOUCH)
        self._take = client.register_script(_TAKE_DUE)
        self._release = client.register_script(_RELEASE)

    def touch(self, prefix: str, now_ms: int, quiet_ms: int, max_wait_ms: int) -> int:
        return int(self._touch(keys=self._keys, args=[prefix, now_ms, quiet_ms, max_wait_ms]))

    def take_due(self, now_ms: int, lease_ms: int) -> Taken:
        due = self._take(keys=self._keys, args=[now_ms, lease_ms, TAKE_LIMIT])
        return Taken([_text(p) for p in due], now_ms + lease_ms)

    def release(self, prefix: str, lease: int) -> None:
        self._release(keys=self._keys[:1], args=[prefix, lease])

    def pending(self) -> int:
        return int(self._client.zcard(self._keys[0]))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Debouncer:
    """Records upload events and submits one run per burst through `submit(prefix)`.

    `fire_due()` is what a background loop calls every tick (`DebounceLoop`); tests call it
    directly with an injected `clock`.
    """

    def __init__(
        self,
        state: DebounceState,
        submit: Callable[[str], object],
        *,
        quiet_ms: int = 5_000,
        max_wait_ms: int = 30_000,
        lease_ms: int = 30_000,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.state = state
        self._submit = submit
        self.quiet_ms = quiet_ms
        self.max_wait_ms = max_wait_ms
        self.lease_ms = lease_ms
        self._clock = clock

    def record(self, prefix: str) -> int:
        """Note an upload for the pipeline at `prefix`; returns when its run fires (unix ms)."""
        return self.state.touch(prefix, self._clock(), self.quiet_ms, self.max_wait_ms)

    def fire_due(self) -> list[str]:
        """Submit a run for every burst that is due; the prefixes submitted.

        A failed submit (queue down) is logged and left leased: it is retried after the lease.
        """
        taken = self.state.take_due(self._clock(), self.lease_ms)
        fired = []
        for prefix in taken.prefixes:
            try:
                self._submit(prefix)
            except Exception:
                log.exception(
                    "upload-triggered run could not be submitted; retried later",
                    extra={"pipeline_prefix": prefix, "retry_in_ms": self.lease_ms},
                )
                continue
            self.state.release(prefix, taken.lease)
            fired.append(prefix)
        return fired


class DebounceLoop:
    """A daemon thread calling `debouncer.fire_due()` every `interval_s` until `stop()`."""

    def __init__(self, debouncer: Debouncer, *, interval_s: float = 0.5) -> None:
        self._debouncer = debouncer
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="karet-debounce", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self._debouncer.fire_due()
            except Exception:
                # Redis down or similar: the state is untouched, the next tick tries again.
                log.warning("debounce tick failed; retrying", exc_info=True)
