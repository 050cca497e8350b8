"""Optional bearer-token check for the POST endpoints (KARET_WORKER_TOKEN)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
