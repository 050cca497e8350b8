"""Queued jobs over HTTP (SPEC §12): `POST /jobs`, `GET /jobs/{id}`, `GET /jobs`,
`POST /jobs/{id}/cancel`."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.params import Depends
from fastapi.responses import JSONResponse

from karet_worker.api.errors import ApiError
from karet_worker.api.openapi import json_body
from karet_worker.api.routes_jobs import parse_run_request
from karet_worker.api.schemas import ErrorEnvelope
from karet_worker.engine.prefix import prefix_problems
from karet_worker.jobs.errors import JobAlreadyFinished, JobNotFound, QueueUnavailable
from karet_worker.jobs.model import JobRecord, JobStatus, Trigger
from karet_worker.jobs.queue import JobQueue
from karet_worker.layout import MAX_PREFIX_BYTES, PIPELINE_PREFIX_PATTERN
from karet_worker.storage.base import StorageUnavailable

MAX_LIST = 1000


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "invalid_request: bad body, pipeline_prefix or query parameter",
        401: "unauthorized",
        404: "job_not_found",
        409: "job_finished: the job already reached a terminal status",
        413: "payload_too_large",
        503: "queue_unavailable (Redis unreachable) or storage_unavailable",
    }
    return {c: {"model": ErrorEnvelope, "description": described[c]} for c in codes}


def queue_router(queue: JobQueue, guard: list[Depends]) -> APIRouter:
    router = APIRouter(tags=["jobs"])

    @router.post(
        "/jobs",
        status_code=202,
        dependencies=guard,
        openapi_extra=json_body("RunRequest"),
        response_model=JobRecord,
        responses=_errors(400, 401, 413, 503),
    )
    async def submit_job(request: Request) -> Any:
        """Queue a run of `pipeline_prefix`; answers 202 once the job is durably queued, with
        `Location: /jobs/<job_id>` to follow it."""
        body = parse_run_request(await request.body())
        record = await _call(
            queue.submit, body.pipeline_prefix, clean_run=body.clean_run, trigger=Trigger.api
        )
        return JSONResponse(
            record.model_dump(mode="json"),
            status_code=202,
            headers={"Location": f"/jobs/{record.job_id}"},
        )

    @router.get("/jobs/{job_id}", response_model=JobRecord, responses=_errors(404, 503))
    async def get_job(job_id: str) -> Any:
        """The job's record: status, attempts, progress, and its result once it finished."""
        record: JobRecord = await _call(queue.get, job_id)
        return record.model_dump(mode="json")

    @router.get("/jobs", response_model=list[JobRecord], responses=_errors(400, 503))
    async def list_jobs(
        pipeline_prefix: str | None = Query(
            None,
            description="Only this pipeline's jobs.",
            json_schema_extra={"pattern": PIPELINE_PREFIX_PATTERN, "maxLength": MAX_PREFIX_BYTES},
        ),
        status: JobStatus | None = Query(None, description="Only jobs with this status."),
        limit: int = Query(50, ge=1, le=MAX_LIST, description="At most this many records."),
    ) -> Any:
        """Job records, newest first. With `pipeline_prefix`, jobs that finished longer ago than
        the queue remembers are read from the pipeline's history objects."""
        if pipeline_prefix is not None:
            problems = prefix_problems(pipeline_prefix)
            if problems:
                details = [
                    {"kind": "invalid_request", "message": p, "path": "/pipeline_prefix"}
                    for p in problems
                ]
                raise ApiError(400, "invalid_request", "; ".join(problems), details)
        records: list[JobRecord] = await _call(
            queue.list, prefix=pipeline_prefix, status=status, limit=limit
        )
        return [r.model_dump(mode="json") for r in records]

    @router.post(
        "/jobs/{job_id}/cancel",
        status_code=202,
        dependencies=guard,
        response_model=JobRecord,
        responses=_errors(401, 404, 409, 503),
    )
    async def cancel_job(job_id: str) -> Any:
        """Cancel: a queued job becomes `cancelled` at once; a running one stops at its next
        checkpoint and writes and prunes nothing more (follow `GET /jobs/{job_id}`)."""
        record: JobRecord = await _call(queue.cancel, job_id)
        return JSONResponse(record.model_dump(mode="json"), status_code=202)

    return router


async def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """A short queue call on a worker thread, its errors as API answers."""
    try:
        return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))
    except JobNotFound as exc:
        raise ApiError(404, "job_not_found", str(exc)) from None
    except JobAlreadyFinished as exc:
        raise ApiError(409, "job_finished", str(exc)) from None
    except QueueUnavailable as exc:
        raise ApiError(503, "queue_unavailable", str(exc)) from None
    except StorageUnavailable as exc:
        raise ApiError(503, "storage_unavailable", str(exc)) from None
