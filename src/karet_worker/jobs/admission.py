"""Process-wide admission of runs (SPEC §15): at most `KARET_MAX_CONCURRENT_RUNS` runs at once
in one process, synchronous (`POST /jobs/run`) and queued alike; the rest wait their turn.

Worker threads wait with `take()`; request handlers wait with `await take_async()`, which
parks a future on the event loop instead of holding a thread (issue 7, defect 8: forty waiting
`/jobs/run` calls used to occupy the whole thread pool and starve `/config/validate`).

    slots = RunSlots(2)
    if slots.take(timeout_s=1.0):
        try: ...
        finally: slots.give_back()
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque


class RunSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = limit
        self._cond = threading.Condition()
        self._async_waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def in_use(self) -> int:
        with self._cond:
            return self.limit - self._free

    def try_take(self) -> bool:
        with self._cond:
            return self._take_locked()

    def take(self, timeout_s: float | None = None) -> bool:
        """Wait for a slot in this thread; False if none came within `timeout_s`."""
        with self._cond:
            return self._cond.wait_for(self._take_locked, timeout=timeout_s)

    async def take_async(self) -> None:
        """Wait for a slot on the event loop (no thread is held while waiting)."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._take_locked():
                    return
                waiter: asyncio.Future[None] = loop.create_future()
                self._async_waiters.append((loop, waiter))
            try:
                await waiter
            finally:
                with self._cond:
                    if (loop, waiter) in self._async_waiters:
                        self._async_waiters.remove((loop, waiter))

    def give_back(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify()
            # Wake every parked coroutine: each retries, one wins (a waiting thread may, too).
            waiters = list(self._async_waiters)
            self._async_waiters.clear()
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(_wake, waiter)

    def _take_locked(self) -> bool:
        if self._free > 0:
            self._free -= 1
            return True
        return False


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
