"""`GET /jobs/{job_id}/events`: follow one job live as Server-Sent Events.

    event: progress
    data: {"job_id": "job-1-abc", "status": "running", "progress": {"files_done": 3, ...}, ...}

    event: done
    data: {"job_id": "job-1-abc", "status": "completed", "result": {...}, ...}

A `progress` event carries the whole record each time it changed (status, attempts or
progress), the first one at once; the stream ends after the one `done` event, sent when the
job reaches a terminal status. Comment lines (`: keep-alive`) every `KEEPALIVE_S` keep proxies
from closing a quiet stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.to_thread
import redis
from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from karet_worker.api.errors import ApiError, envelope
from karet_worker.api.schemas import ErrorEnvelope
from karet_worker.jobs.changes import JobChanges
from karet_worker.jobs.errors import JobNotFound, QueueUnavailable
from karet_worker.jobs.model import JobRecord
from karet_worker.jobs.queue import JobQueue

log = logging.getLogger("karet_worker.api")

KEEPALIVE_S = 15.0  # below the 30-60 s idle timeouts of common proxies and load balancers


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One Server-Sent Event; the JSON has no newline, so one `data:` line holds it."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _state(record: JobRecord) -> tuple[Any, ...]:
    return (record.status, record.attempts, record.progress)


def job_events_router(queue: JobQueue, changes: JobChanges) -> APIRouter:
    router = APIRouter(tags=["jobs"])

    def read(job_id: str) -> Callable[[], JobRecord]:
        return lambda: queue.get(job_id)

    @router.get(
        "/jobs/{job_id}/events",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "`progress` events while the job runs, then one `done` event",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            404: {"model": ErrorEnvelope, "description": "job_not_found"},
            503: {"model": ErrorEnvelope, "description": "queue_unavailable"},
        },
    )
    async def job_events(job_id: str) -> StreamingResponse:
        """Follow a job: Server-Sent Events until it reaches a terminal status."""
        try:
            record = await anyio.to_thread.run_sync(read(job_id))
            subscription = await changes.subscribe(record)
        except JobNotFound as exc:
            raise ApiError(404, "job_not_found", str(exc)) from None
        except (QueueUnavailable, redis.RedisError) as exc:
            raise ApiError(503, "queue_unavailable", f"the queue is unreachable: {exc}") from None

        async def stream() -> AsyncIterator[bytes]:
            nonlocal record
            sent: tuple[Any, ...] | None = None
            try:
                # Read again now that the subscription is on: no change can fall in between.
                record = await anyio.to_thread.run_sync(read(job_id))
                while True:
                    if record.status.terminal:
                        yield sse("done", record.model_dump(mode="json"))
                        return
                    if _state(record) != sent:
                        yield sse("progress", record.model_dump(mode="json"))
                        sent = _state(record)
                    else:
                        yield b": keep-alive\n\n"
                    await subscription.wait(KEEPALIVE_S)
                    record = await anyio.to_thread.run_sync(read(job_id))
            except (QueueUnavailable, JobNotFound, redis.RedisError) as exc:
                # Headers are sent: say why the stream ends; the client may reconnect.
                log.warning("job event stream ended early", extra={"job_id": job_id})
                yield sse("error", envelope("queue_unavailable", str(exc)))
            finally:
                await subscription.close()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
