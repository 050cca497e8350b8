"""Wake-ups for whoever follows one job live (`GET /jobs/{id}/events`).

A subscription only says "this job may have changed": the follower then reads the record from
the queue, which stays the one source of truth. A missed or extra wake-up therefore costs at
most one read, and followers also re-read after `timeout_s` without any wake-up.

- Embedded mode: `LocalChanges` observes the process's `ObservedQueue` (every change of an
  embedded job happens in this process) and wakes the followers' event loops.
- Distributed mode: `RedisChanges` listens on the pub/sub channel
  `<key_prefix>jobs:events:<pipeline>`, on which every change of a job is published with the
  job id as payload (SPEC §12), whichever process made it.

    subscription = await changes.subscribe(record)
    try:
        await subscription.wait(15.0)   # returns early when the job may have changed
    finally:
        await subscription.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import TYPE_CHECKING, Protocol

from karet_worker.jobs.model import JobRecord, Progress, pipeline_name
from karet_worker.jobs.queue import Claim

if TYPE_CHECKING:  # imported where used: see RedisChanges
    import redis.asyncio


class Subscription(Protocol):
    async def wait(self, timeout_s: float) -> None:
        """Return when the job may have changed, at the latest after `timeout_s`."""
        ...

    async def close(self) -> None: ...


class JobChanges(Protocol):
    async def subscribe(self, record: JobRecord) -> Subscription: ...

    async def aclose(self) -> None: ...


class _LocalSubscription:
    def __init__(self, owner: LocalChanges, job_id: str) -> None:
        self._owner = owner
        self.job_id = job_id
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    async def wait(self, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout_s)
        self.event.clear()

    async def close(self) -> None:
        self._owner._remove(self)


class LocalChanges:
    """A QueueObserver that wakes the subscriptions of the job that changed (embedded mode)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._followers: dict[str, set[_LocalSubscription]] = {}

    async def subscribe(self, record: JobRecord) -> Subscription:
        subscription = _LocalSubscription(self, record.job_id)
        with self._guard:
            self._followers.setdefault(record.job_id, set()).add(subscription)
        return subscription

    async def aclose(self) -> None:
        pass

    def _remove(self, subscription: _LocalSubscription) -> None:
        with self._guard:
            followers = self._followers.get(subscription.job_id, set())
            followers.discard(subscription)
            if not followers:
                self._followers.pop(subscription.job_id, None)

    def _wake(self, job_id: str) -> None:
        """Called on the thread that changed the job (a consumer, a request)."""
        with self._guard:
            followers = list(self._followers.get(job_id, ()))
        for follower in followers:
            follower.loop.call_soon_threadsafe(follower.event.set)

    # ------------------------------------------------------------------ QueueObserver

    def submitted(self, record: JobRecord) -> None:
        self._wake(record.job_id)

    def started(self, claim: Claim) -> None:
        self._wake(claim.message.job_id)

    def progressed(self, claim: Claim, progress: Progress) -> None:
        self._wake(claim.message.job_id)

    def stopped(self, claim: Claim, *, busy: bool) -> None:
        self._wake(claim.message.job_id)

    def finished(self, job_id: str, record: JobRecord) -> None:
        self._wake(job_id)


class _RedisSubscription:
    def __init__(self, pubsub: redis.asyncio.client.PubSub, job_id: str) -> None:
        self._pubsub = pubsub
        self._job_id = job_id

    async def wait(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is None:
                continue  # get_message also returns None for messages it handled itself
            data = message.get("data")
            if (data.decode() if isinstance(data, bytes) else data) == self._job_id:
                return

    async def close(self) -> None:
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py lacks the hint


class RedisChanges:
    """Subscriptions on `<key_prefix>jobs:events:<pipeline>` through one async client."""

    def __init__(self, url: str, key_prefix: str) -> None:
        # imported here: redis-py costs 0.22 s of start-up that processes without Redis skip
        import redis.asyncio

        # Fail fast rather than hang a follower on a dead server; wake-ups are only hints.
        self._client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=3)
        self._key_prefix = key_prefix

    def channel(self, record: JobRecord) -> str:
        return f"{self._key_prefix}jobs:events:{pipeline_name(record.pipeline_prefix)}"

    async def subscribe(self, record: JobRecord) -> Subscription:
        """Raises redis.RedisError when Redis is unreachable."""
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(self.channel(record))
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        return _RedisSubscription(pubsub, record.job_id)

    async def aclose(self) -> None:
        await self._client.aclose()
