"""`POST /jobs/run`: one synchronous pipeline run. It waits for the pipeline's lock and a run
slot on the event loop (holding no thread) and runs in a worker thread once admitted."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.params import Depends
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from karet_worker.api.errors import ApiError, invalid_request
from karet_worker.api.openapi import json_body
from karet_worker.api.schemas import ErrorEnvelope, RunRequest, RunResponse
from karet_worker.engine.prefix import prefix_problems
from karet_worker.engine.result import ConfigInvalid, ConfigNotFound, RunResult
from karet_worker.jobs.direct import LockLost, run_now
from karet_worker.jobs.errors import QueueUnavailable
from karet_worker.jobs.runtime import JobsRuntime
from karet_worker.storage.base import StorageUnavailable

log = logging.getLogger("karet_worker.api")


def _error_responses() -> dict[int | str, dict[str, Any]]:
    described = {
        400: "invalid_request: bad body or pipeline_prefix",
        401: "unauthorized",
        404: "config_not_found",
        413: "payload_too_large",
        422: "config_invalid (details = the validation problems)",
        503: "storage_unavailable, or queue_unavailable (Redis unreachable: no lock)",
    }
    return {code: {"model": ErrorEnvelope, "description": text} for code, text in described.items()}


def parse_run_request(raw: bytes) -> RunRequest:
    """The body as a RunRequest whose prefix obeys SPEC §7, else a 400 ApiError."""
    try:
        request = RunRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_request(exc) from None
    problems = prefix_problems(request.pipeline_prefix)
    if problems:
        details = [
            {"kind": "invalid_request", "message": p, "path": "/pipeline_prefix"} for p in problems
        ]
        raise ApiError(400, "invalid_request", "; ".join(problems), details)
    return request


def jobs_router(jobs: JobsRuntime, guard: list[Depends]) -> APIRouter:
    router = APIRouter(tags=["jobs"])

    @router.post(
        "/jobs/run",
        dependencies=guard,
        openapi_extra=json_body("RunRequest"),
        response_model=RunResponse,
        responses=_error_responses(),
    )
    async def run_job(request: Request) -> Any:
        """Run the pipeline stored at `pipeline_prefix`; answers when the run is over.

        The `X-Job-Id` header carries the job id on every answer, to find the run's log lines.
        Runs of one pipeline never overlap (a second request waits for the first, also across
        processes in distributed mode); `duration_ms` is the run, `wait_ms` the time it
        waited for the pipeline's lock and a run slot (`KARET_MAX_CONCURRENT_RUNS`).
        """
        body = parse_run_request(await request.body())
        job_id = uuid.uuid4().hex
        request.state.job_id = job_id  # so an unexpected 500 still names the job
        headers = {"X-Job-Id": job_id}
        context = {
            "job_id": job_id,
            "pipeline_prefix": body.pipeline_prefix,
            "clean_run": body.clean_run,
        }
        started = time.monotonic()
        try:
            result: RunResult = await run_now(
                jobs.queue,
                jobs.runner,
                jobs.slots,
                jobs.settings.queue.heartbeat_s,
                body.pipeline_prefix,
                clean_run=body.clean_run,
                job_id=job_id,
            )
        except ConfigNotFound as exc:
            raise _aborted(404, "config_not_found", str(exc), [], headers, context) from None
        except ConfigInvalid as exc:
            problems = exc.problems
            raise _aborted(422, "config_invalid", str(exc), problems, headers, context) from None
        except StorageUnavailable as exc:
            # The storage layer's message already says what failed and where (no secrets).
            raise _aborted(503, "storage_unavailable", str(exc), [], headers, context) from None
        except (QueueUnavailable, LockLost) as exc:
            raise _aborted(503, "queue_unavailable", str(exc), [], headers, context) from None
        payload = result.body()
        # The engine logs "run finished" with the counts; this line is the HTTP side of it.
        log.info(
            "run answered",
            extra={
                **context,
                "status": 200,
                "elapsed_ms": int((time.monotonic() - started) * 1000),
            },
        )
        return JSONResponse(RunResponse(**payload).model_dump(), headers=headers)

    return router


def _aborted(
    status: int,
    error: str,
    message: str,
    details: list[Any],
    headers: dict[str, str],
    context: dict[str, Any],
) -> ApiError:
    log.warning("run aborted", extra={**context, "status": status, "error": error})
    return ApiError(status, error, message, details, headers)
