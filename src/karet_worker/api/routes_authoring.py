"""Authoring endpoints (SPEC §14): inspect the tables a pipeline wrote."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends

from karet_worker.api.errors import ApiError
from karet_worker.api.schemas import ErrorEnvelope, TablesResponse
from karet_worker.authoring.tables import PipelineNotFound, summaries_body, table_summaries
from karet_worker.engine.prefix import prefix_problems
from karet_worker.storage.base import ObjectStore, StorageUnavailable


def authoring_router(store: ObjectStore, guard: list[Depends]) -> APIRouter:
    router = APIRouter(tags=["authoring"])

    @router.get(
        "/pipelines/{slug}/tables",
        response_model=TablesResponse,
        responses={
            400: {"model": ErrorEnvelope, "description": "invalid_request: bad slug"},
            404: {"model": ErrorEnvelope, "description": "pipeline_not_found"},
            503: {"model": ErrorEnvelope, "description": "storage_unavailable"},
        },
    )
    async def tables(slug: str) -> Any:
        """Per table of `pipelines/<slug>/`: partitions, files, rows, bytes and when it was
        last written, from the Parquet footers (no data is read)."""
        prefix = f"pipelines/{slug}/"
        problems = prefix_problems(prefix)
        if problems or "/" in slug:
            raise ApiError(400, "invalid_request", f"invalid pipeline slug {slug!r}")
        try:
            found = await run_in_threadpool(table_summaries, store, prefix)
        except PipelineNotFound as exc:
            raise ApiError(404, "pipeline_not_found", str(exc)) from None
        except StorageUnavailable as exc:
            raise ApiError(503, "storage_unavailable", str(exc)) from None
        return summaries_body(prefix, found)

    return router
