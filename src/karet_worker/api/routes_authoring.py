"""Authoring endpoints (SPEC §14): preview a config, draft a source, inspect tables."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from karet_worker.api.errors import ApiError, invalid_request
from karet_worker.api.openapi import json_body
from karet_worker.api.schemas import (
    ErrorEnvelope,
    InferResponse,
    PreviewBody,
    PreviewResponse,
    TablesResponse,
    ValidateFailed,
)
from karet_worker.authoring.infer import NoSample, Sample, infer_source
from karet_worker.authoring.preview import PreviewRequestError, preview_config
from karet_worker.authoring.tables import PipelineNotFound, summaries_body, table_summaries
from karet_worker.config.validate import validate_document, validation_body
from karet_worker.engine.prefix import prefix_problems
from karet_worker.engine.run import StoredConfig
from karet_worker.layout import MAX_SEGMENT_BYTES, SEGMENT_PATTERN
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
    async def tables(
        slug: Annotated[
            str,
            # Published so that schema-valid requests are accepted; checked below with messages.
            Path(json_schema_extra={"pattern": SEGMENT_PATTERN, "maxLength": MAX_SEGMENT_BYTES}),
        ],
    ) -> Any:
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

    @router.post(
        "/sources/infer",
        dependencies=guard,
        response_model=InferResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The sample file's bytes (its first MiB is used).",
                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
        responses={
            400: {"model": ErrorEnvelope, "description": "invalid_request: nothing to infer from"},
            401: {"model": ErrorEnvelope},
            413: {"model": ErrorEnvelope},
        },
    )
    async def infer(
        request: Request,
        source_id: str = Query(
            "source", alias="id", description="Id of the drafted source", examples=["bank"]
        ),
        filename: str = Query(
            "sample.csv",
            description="The sample's file name; a name ending in .gz is gunzipped",
            examples=["2024-01.csv.gz"],
        ),
        path_prefix: str | None = Query(
            None, description="path_prefix of the draft (default raw/<id>/)", examples=["raw/bank/"]
        ),
    ) -> Any:
        """Draft a SourceContainer from an uploaded sample CSV (send the file as the body,
        e.g. `curl --data-binary @bank.csv '.../sources/infer?id=bank'`): delimiter, quote,
        encoding, preamble lines, header names, a type per column, null markers and date
        formats, checked by reading the sample with the engine's reader."""
        sample = Sample(filename, await request.body())
        try:
            draft = await run_in_threadpool(
                infer_source, [sample], source_id=source_id, path_prefix=path_prefix
            )
        except NoSample as exc:
            raise ApiError(400, "invalid_request", str(exc)) from None
        return draft.body()

    @router.post(
        "/config/preview",
        dependencies=guard,
        openapi_extra=json_body("PreviewRequest"),
        response_model=PreviewResponse,
        responses={
            400: {"model": ErrorEnvelope, "description": "invalid_request: bad body"},
            401: {"model": ErrorEnvelope},
            413: {"model": ErrorEnvelope},
            422: {"model": ValidateFailed, "description": "The config has problems"},
            503: {"model": ErrorEnvelope, "description": "storage_unavailable"},
        },
    )
    async def preview(request: Request) -> Any:
        """The first output rows of each mapping (or of `mapping_id`), with their schema,
        partitions, counts, errors and warnings, evaluated by the run's own engine on the
        first input files under `pipeline_prefix` or on inline text (`sources`). Nothing is
        written."""
        body = parse_preview_request(await request.body())
        report = await run_in_threadpool(validate_document, body.config)
        if report.config is None:
            answer = validation_body(report, under="/config")
            return JSONResponse(answer, status_code=422)
        stored = StoredConfig(report.config, report.warnings)
        call = functools.partial(
            preview_config,
            store,
            stored,
            prefix=body.pipeline_prefix,
            inline=body.sources,
            mapping_id=body.mapping_id,
            limit=body.limit,
        )
        try:
            result = await run_in_threadpool(call)
        except PreviewRequestError as exc:
            raise ApiError(400, "invalid_request", str(exc)) from None
        except StorageUnavailable as exc:
            raise ApiError(503, "storage_unavailable", str(exc)) from None
        return JSONResponse(result.body())

    return router


def parse_preview_request(raw: bytes) -> PreviewBody:
    """The body with a valid pipeline_prefix, else a 400 ApiError."""
    try:
        request = PreviewBody.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid_request(exc) from None
    if request.pipeline_prefix is not None:
        problems = prefix_problems(request.pipeline_prefix)
        if problems:
            raise ApiError(400, "invalid_request", "; ".join(problems))
    return request
