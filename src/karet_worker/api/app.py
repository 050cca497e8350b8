"""Assembles the FastAPI app from settings and a store; all state lives in this one app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import anyio.to_thread
from fastapi import FastAPI, Response
from fastapi.params import Depends
from fastapi_offline import FastAPIOffline

from karet_worker.api.auth import bearer_guard
from karet_worker.api.errors import install_error_handlers
from karet_worker.api.middleware import BodyLimitMiddleware, InternalErrorMiddleware
from karet_worker.api.openapi import install_openapi
from karet_worker.api.routes_authoring import authoring_router
from karet_worker.api.routes_config import config_router
from karet_worker.api.routes_events import events_router
from karet_worker.api.routes_job_events import job_events_router
from karet_worker.api.routes_jobs import jobs_router
from karet_worker.api.routes_ops import ops_router
from karet_worker.api.routes_queue import queue_router
from karet_worker.api.schemas import PreviewRequest, RunRequest
from karet_worker.config.model import PipelineConfig
from karet_worker.jobs.changes import JobChanges, RedisChanges
from karet_worker.jobs.runtime import JobsRuntime
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore
from karet_worker.storage.factory import open_store
from karet_worker.triggers.events import S3EventNotification
from karet_worker.triggers.runtime import UploadRuns


def create_app(
    settings: Settings, store: ObjectStore | None = None, *, consume: bool = True
) -> FastAPI:
    """The service for `settings`; the store is opened from them unless one is given (tests).

    With `consume`, the app's lifespan runs consumer threads for queued jobs (stopped with the
    shutdown grace when the server stops); `app.state.jobs` is the JobsRuntime.
    """
    store = store if store is not None else open_store(settings)
    jobs = JobsRuntime.open(settings, store, consume=consume)
    uploads = UploadRuns.open(settings, store, jobs.queue)
    # Followers of a job wake on Redis pub/sub when other processes may run it, else in-process.
    changes: JobChanges = (
        RedisChanges(settings.queue.redis_url, settings.queue.key_prefix)
        if settings.queue.redis_url is not None
        else jobs.changes
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        jobs.start()
        uploads.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(uploads.stop)
            await changes.aclose()
            await anyio.to_thread.run_sync(jobs.stop)

    # Swagger UI and ReDoc with their scripts served by the worker (fastapi-offline ships them),
    # not from a CDN: /docs works on a machine without internet.
    app = FastAPIOffline(
        title="karet-worker",
        version=version("karet-worker"),
        description="Runs Karet data pipelines: CSV on S3 -> Polars -> partitioned Parquet.",
        lifespan=lifespan,
    )
    app.state.jobs = jobs
    app.state.uploads = uploads
    guard: list[Depends] = [Depends(bearer_guard(settings.token))] if settings.token else []

    @app.get("/health", tags=["health"], response_class=Response, responses={200: {}})
    @app.head("/health", include_in_schema=False)  # a HEAD probe gets the same 200
    async def health() -> Response:
        """Liveness: 200 with an empty body."""
        return Response(status_code=200)

    app.include_router(config_router(guard))
    app.include_router(jobs_router(jobs, guard))
    app.include_router(queue_router(jobs.queue, guard))
    app.include_router(job_events_router(jobs.queue, changes))
    app.include_router(events_router(uploads.trigger, settings.webhook.secret))
    app.include_router(ops_router(store, jobs.queue, jobs.metrics))
    app.include_router(authoring_router(store, guard))
    install_error_handlers(app)
    install_openapi(app, [PipelineConfig, RunRequest, PreviewRequest, S3EventNotification])
    # Added last = outermost: the 500 guard wraps everything, then the body limit.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(InternalErrorMiddleware)
    return app
