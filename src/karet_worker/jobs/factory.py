"""Picks the queue backend from the settings: Redis when `REDIS_URL` is set, else embedded."""

from __future__ import annotations

from karet_worker.jobs.embedded import EmbeddedQueue
from karet_worker.jobs.history import JobHistory
from karet_worker.jobs.queue import JobQueue
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore


def open_queue(settings: Settings, store: ObjectStore) -> JobQueue:
    """The queue for `settings`; opening never contacts Redis (the first call does), so a
    process starts while Redis is down and reconnects when it is back."""
    history = JobHistory(store)
    if settings.queue.redis_url is not None:
        # imported here: redis-py costs 0.22 s of start-up, which `karet-worker run` on the
        # embedded queue (a 1-2 s job at 250 MB) should not pay
        from karet_worker.jobs.redis_queue import RedisQueue

        return RedisQueue(settings.queue, history)
    return EmbeddedQueue(history)
