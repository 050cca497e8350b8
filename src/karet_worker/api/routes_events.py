"""`POST /events/s3`: S3 upload notifications start (debounced) runs of the pipelines they feed."""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
import redis
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError

from karet_worker.api.auth import webhook_guard
from karet_worker.api.errors import ApiError, invalid_request
from karet_worker.api.openapi import json_body
from karet_worker.api.schemas import ErrorEnvelope
from karet_worker.storage.base import StorageUnavailable
from karet_worker.triggers.events import S3EventNotification
from karet_worker.triggers.uploads import UploadTrigger

log = logging.getLogger("karet_worker.api")


class EventsAccepted(BaseModel):
    """`received`: records in the notification; `scheduled`: pipelines that will run."""

    received: int
    scheduled: list[str]


def _error_responses() -> dict[int | str, dict[str, Any]]:
    described = {
        400: "invalid_request: the body is not an S3 event notification",
        401: "unauthorized: missing or wrong webhook secret, or none configured",
        413: "payload_too_large",
        503: "storage_unavailable (pipeline configs unreadable) or queue_unavailable",
    }
    return {code: {"model": ErrorEnvelope, "description": text} for code, text in described.items()}


def events_router(trigger: UploadTrigger, webhook_secret: str | None) -> APIRouter:
    router = APIRouter(tags=["events"])

    @router.post(
        "/events/s3",
        dependencies=[Depends(webhook_guard(webhook_secret))],
        openapi_extra=json_body("S3EventNotification"),
        response_model=EventsAccepted,
        responses=_error_responses(),
    )
    async def s3_events(request: Request) -> EventsAccepted:
        """Accept an S3 event notification (AWS, MinIO, SeaweedFS shape).

        Each object-created key is routed to every pipeline with a source containing it; each
        such pipeline gets one run per burst of uploads, submitted with trigger `webhook`
        `quiet` seconds after the burst's last event and at most `max wait` seconds after its
        first (KARET_WEBHOOK_QUIET_S, KARET_WEBHOOK_MAX_WAIT_S; 5 and 30 by default). Keys
        outside every source, and the worker's own outputs (`clean/`, `_jobs/`), start nothing.
        """
        try:
            notification = S3EventNotification.model_validate_json(await request.body())
        except ValidationError as exc:
            raise invalid_request(exc) from None
        try:
            scheduled = await anyio.to_thread.run_sync(trigger.handle, notification)
        except StorageUnavailable as exc:
            raise ApiError(503, "storage_unavailable", str(exc)) from None
        except redis.RedisError as exc:
            log.warning("upload events not recorded: Redis unreachable", extra={"error": str(exc)})
            raise ApiError(
                503, "queue_unavailable", "the queue (Redis) is unreachable; send the events again"
            ) from None
        log.info(
            "upload events",
            extra={"received": len(notification.Records), "scheduled": scheduled},
        )
        return EventsAccepted(received=len(notification.Records), scheduled=scheduled)

    return router
