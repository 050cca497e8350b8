"""`POST /config/validate`: check a candidate pipeline.json without running anything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends
from fastapi.responses import JSONResponse

from karet_worker.api.openapi import json_body
from karet_worker.api.schemas import ErrorEnvelope, ValidateFailed, ValidateOk
from karet_worker.config.validate import validate_json, validation_body


def config_router(guard: list[Depends]) -> APIRouter:
    router = APIRouter(tags=["config"])

    @router.post(
        "/config/validate",
        dependencies=guard,
        openapi_extra=json_body("PipelineConfig"),
        response_model=ValidateOk,
        responses={
            401: {"model": ErrorEnvelope},
            413: {"model": ErrorEnvelope},
            422: {"model": ValidateFailed, "description": "The config has problems"},
        },
    )
    async def validate_config(request: Request) -> Any:
        """Validate a PipelineConfig: every problem, each with a JSON Pointer path."""
        raw = await request.body()
        report = await run_in_threadpool(validate_json, raw)
        return JSONResponse(validation_body(report), status_code=200 if report.ok else 422)

    return router
