"""`POST /config/validate`: check a candidate pipeline.json without running anything."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends
from fastapi.responses import JSONResponse

from karet_worker.api.openapi import json_body
from karet_worker.api.schemas import ErrorEnvelope, ValidateFailed, ValidateOk
from karet_worker.config.problems import Problem
from karet_worker.config.validate import validate_json


def summary(problems: Sequence[Problem]) -> str:
    """One line for humans: the first problem, and how many more there are."""
    first = problems[0]
    where = f" (at {first.path})" if first.path and first.path not in first.message else ""
    more = len(problems) - 1
    tail = f"; and {more} more problem{'s' if more > 1 else ''}" if more else ""
    return f"{first.message}{where}{tail}"


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
        warnings = [w.to_dict() for w in report.warnings]
        if report.ok:
            return JSONResponse({"ok": True, "warnings": warnings})
        body = {
            "ok": False,
            "error": report.problems[0].kind,
            "message": summary(report.problems),
            "details": [p.to_dict() for p in report.problems],
            "warnings": warnings,
        }
        return JSONResponse(body, status_code=422)

    return router
