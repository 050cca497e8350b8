"""Pure ASGI guards that must hold for every route: the body-size limit and the 500 envelope.

They are plain ASGI (not `BaseHTTPMiddleware`) so they see the raw byte stream, including
chunked bodies that carry no Content-Length.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from karet_worker.api.errors import envelope, send_envelope

log = logging.getLogger("karet_worker.api")


class BodyLimitMiddleware:
    """Answers 413 for bodies over `max_body_bytes`, whether declared or only counted.

    The body is buffered here (never more than the limit) and replayed to the app, so the
    route never starts on a body that later turns out to be too large.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await send_envelope(
                send, 400, envelope("invalid_request", "Content-Length is not a valid number")
            )
            return
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its whole body
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # later calls wait for the disconnect, as usual
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        message = f"request body is larger than the limit of {self.max_body_bytes} bytes"
        await send_envelope(send, 413, envelope("payload_too_large", message))


class InternalErrorMiddleware:
    """Turns any unexpected exception into a 500 envelope; the traceback goes to the log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            # A route that started a job leaves its id in the request state (`request.state`).
            state = scope.get("state")
            job_id = state.get("job_id") if isinstance(state, dict) else None
            context = {"method": scope.get("method"), "path": scope.get("path")}
            log.exception("unhandled error", extra={**context, "job_id": job_id})
            if started:
                raise  # too late for an error body; let the server drop the connection
            await send_envelope(
                send,
                500,
                envelope("internal_error", "internal error; see the service log"),
                headers={"X-Job-Id": job_id} if job_id else None,
            )


def _content_length(scope: Scope) -> int | None:
    """The declared body size; None when absent, -1 when unparseable."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None
