"""The upload-trigger machinery of one `serve` process, built from the settings.

    uploads = UploadRuns.open(settings, store, queue)
    uploads.start()                      # the loop that fires due bursts
    uploads.trigger.handle(notification) # what POST /events/s3 calls
    uploads.stop()

With `REDIS_URL` the bursts live in Redis, shared by every `serve` process (each one fires
whatever is due, each burst once); without it they live in this process's memory.
"""

from __future__ import annotations

import redis

from karet_worker.jobs.model import Trigger
from karet_worker.jobs.queue import JobQueue
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore
from karet_worker.triggers.debounce import (
    DebounceLoop,
    Debouncer,
    DebounceState,
    MemoryDebounceState,
    RedisDebounceState,
)
from karet_worker.triggers.routing import PipelineIndex
from karet_worker.triggers.uploads import UploadTrigger

# Same bounds as the queue's own client: a dead Redis must fail a webhook call in seconds.
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0


class UploadRuns:
    def __init__(
        self, trigger: UploadTrigger, loop: DebounceLoop, client: redis.Redis | None
    ) -> None:
        self.trigger = trigger
        self._loop = loop
        self._client = client

    @classmethod
    def open(cls, settings: Settings, store: ObjectStore, queue: JobQueue) -> UploadRuns:
        """Nothing is contacted here: Redis and the store are first used by a request/tick."""
        client: redis.Redis | None = None
        state: DebounceState
        if settings.queue.redis_url is not None:
            client = redis.Redis.from_url(
                settings.queue.redis_url,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
            )
            state = RedisDebounceState(client, settings.queue.key_prefix)
        else:
            state = MemoryDebounceState()

        def submit(prefix: str) -> None:
            queue.submit(prefix, clean_run=False, trigger=Trigger.webhook)

        debouncer = Debouncer(
            state,
            submit,
            quiet_ms=settings.webhook.quiet_s * 1000,
            max_wait_ms=settings.webhook.max_wait_s * 1000,
        )
        bucket = settings.s3.bucket if settings.s3 is not None else None
        trigger = UploadTrigger(PipelineIndex(store), debouncer, bucket=bucket)
        return cls(trigger, DebounceLoop(debouncer), client)

    def start(self) -> None:
        self._loop.start()

    def pending(self) -> int:
        """Pipelines whose burst has not been submitted yet."""
        return self.trigger.debouncer.state.pending()

    def stop(self) -> None:
        self._loop.stop()
        if self._client is not None:
            self._client.close()
