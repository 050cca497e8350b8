"""The one error envelope `{"error", "message", "details"}` every failing response uses."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

log = logging.getLogger("karet_worker.api")

# Error kinds for statuses the framework itself produces (unknown route, wrong method...).
_KIND_BY_STATUS = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


class ApiError(Exception):
    """Raised by route code to answer with the envelope and a given status."""

    def __init__(
        self,
        status_code: int,
        error: str,
        message: str,
        details: Sequence[Any] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})


def envelope(error: str, message: str, details: Sequence[Any] = ()) -> dict[str, Any]:
    return {"error": error, "message": message, "details": list(details)}


def pointer(loc: Sequence[int | str]) -> str:
    """A JSON Pointer (RFC 6901) for a Pydantic error location."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in loc]
    return "".join("/" + part for part in parts)


def request_problems(errors: Sequence[ErrorDetails] | Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors of a request body as `{kind, message, path}` problems."""
    problems = []
    for err in errors:
        loc = [part for part in err.get("loc", ()) if part != "body"]
        kind = (
            "invalid_json"
            if err.get("type") in ("json_invalid", "json_type")
            else "invalid_request"
        )
        problems.append({"kind": kind, "message": str(err.get("msg", "")), "path": pointer(loc)})
    return problems


def invalid_request(exc: ValidationError) -> ApiError:
    problems = request_problems(exc.errors())
    summary = "; ".join(
        f"{p['path']}: {p['message']}" if p["path"] else p["message"] for p in problems
    )
    return ApiError(400, "invalid_request", f"invalid request body: {summary}", problems)


async def send_envelope(
    send: Send, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> None:
    """Answer from plain ASGI code (middleware), where no Response class is at hand."""
    payload = json.dumps(body).encode()
    extra = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def install_error_handlers(app: FastAPI) -> None:
    """Make FastAPI's own errors (404, 405, request validation) use the envelope too."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(
            envelope(exc.error, exc.message, exc.details),
            status_code=exc.status_code,
            headers=exc.headers or None,
        )

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = _KIND_BY_STATUS.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else kind.replace("_", " ")
        return JSONResponse(
            envelope(kind, message), status_code=exc.status_code, headers=exc.headers
        )

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = request_problems(list(exc.errors()))
        return JSONResponse(
            envelope("invalid_request", "invalid request", problems), status_code=400
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
