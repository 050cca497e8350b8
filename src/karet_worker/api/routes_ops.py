"""Operations endpoints: `GET /ready` (can this process do work?) and `GET /metrics`."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import anyio
import anyio.to_thread
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from karet_worker.api.errors import envelope
from karet_worker.api.schemas import ErrorEnvelope
from karet_worker.jobs.errors import QueueUnavailable
from karet_worker.jobs.metrics import Metrics
from karet_worker.jobs.queue import JobQueue, QueueHealth
from karet_worker.storage.base import ObjectNotFound, ObjectStore, StorageUnavailable

# A readiness probe must answer before the prober gives up (Kubernetes: 1 s by default, often
# raised to a few); the store's own retries can take 10 s, so a slower answer counts as down.
PROBE_TIMEOUT_S = 4.0
PROBE_KEY = "_karet/ready-probe"  # never written: "not found" proves the store answers


class Ready(BaseModel):
    """`queue` is "embedded" without Redis; `consumers`: live consumers of the queue;
    `queue_depth`: jobs waiting to run."""

    store: Literal["ok"]
    queue: Literal["ok", "embedded"]
    consumers: int
    queue_depth: int


def _probe_store(store: ObjectStore) -> None:
    with contextlib.suppress(ObjectNotFound):
        store.get(PROBE_KEY)


async def _within_timeout(call: Any, what: str) -> str | None:
    """None when `call()` succeeded in time, else why not."""
    try:
        with anyio.fail_after(PROBE_TIMEOUT_S):
            await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
    except TimeoutError:
        return f"{what} did not answer within {PROBE_TIMEOUT_S:g} s"
    except (StorageUnavailable, QueueUnavailable) as exc:
        return str(exc)
    return None


def ops_router(store: ObjectStore, queue: JobQueue, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        "/ready",
        response_model=Ready,
        responses={503: {"model": ErrorEnvelope, "description": "a dependency is down"}},
    )
    async def ready() -> Any:
        """Readiness: the store and the queue answer. 503 names the dependency that is down
        (`error` = `storage_unavailable` or `queue_unavailable`; `details` lists each one)."""
        health: list[QueueHealth] = []

        def ask_queue() -> None:
            health.append(queue.health())

        store_down = await _within_timeout(lambda: _probe_store(store), "the object store")
        queue_down = await _within_timeout(ask_queue, "the queue")
        details = [
            {"dependency": name, "status": "down" if down else "ok", "message": down or ""}
            for name, down in (("store", store_down), ("queue", queue_down))
        ]
        if store_down or queue_down:
            kind = "storage_unavailable" if store_down else "queue_unavailable"
            message = "; ".join(d for d in (store_down, queue_down) if d)
            return JSONResponse(envelope(kind, f"not ready: {message}", details), status_code=503)
        (queue_health,) = health
        return Ready(
            store="ok",
            queue="embedded" if queue_health.backend == "embedded" else "ok",
            consumers=queue_health.consumers,
            queue_depth=queue_health.depth,
        )

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def prometheus_metrics() -> Response:
        """Prometheus text exposition: jobs by status, run durations, rows and files
        processed, queue depth and consumers, runs in flight, lock waits (this process)."""
        body = await anyio.to_thread.run_sync(metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
