"""Authentication: the optional bearer token of the POST endpoints (KARET_WORKER_TOKEN) and
the webhook secret of `POST /events/s3` (KARET_WEBHOOK_SECRET)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from karet_worker.api.errors import ApiError


def bearer_guard(token: str) -> Callable[..., Awaitable[None]]:
    """A dependency that accepts only `Authorization: Bearer <token>` (constant-time compare)."""
    expected = token.encode()
    scheme = HTTPBearer(auto_error=False, description="The KARET_WORKER_TOKEN value")

    async def check(credentials: HTTPAuthorizationCredentials | None = Depends(scheme)) -> None:
        # Starlette decodes headers as latin-1; re-encoding recovers the bytes that were sent.
        given = credentials.credentials.encode("latin-1") if credentials else b""
        if credentials is None or not hmac.compare_digest(given, expected):
            raise ApiError(
                401,
                "unauthorized",
                "missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


def webhook_guard(secret: str | None) -> Callable[..., Awaitable[None]]:
    """A dependency for `POST /events/s3`: the KARET_WEBHOOK_SECRET, sent as
    `X-Karet-Webhook-Secret: <secret>` or `Authorization: Bearer <secret>` (S3 servers can only
    send fixed headers). With no secret configured nothing is accepted (fail closed)."""
    expected = secret.encode() if secret else None
    header = APIKeyHeader(
        name="X-Karet-Webhook-Secret", auto_error=False, description="KARET_WEBHOOK_SECRET"
    )
    bearer = HTTPBearer(auto_error=False, description="KARET_WEBHOOK_SECRET")

    async def check(
        given_header: str | None = Depends(header),
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        if expected is None:
            raise ApiError(
                401,
                "unauthorized",
                "upload events are refused: KARET_WEBHOOK_SECRET is not configured",
            )
        given = (
            given_header
            if given_header is not None
            else (credentials.credentials if credentials else None)
        )
        # Starlette decodes headers as latin-1; re-encoding recovers the bytes that were sent.
        if given is None or not hmac.compare_digest(given.encode("latin-1"), expected):
            raise ApiError(401, "unauthorized", "missing or wrong webhook secret")

    return check
