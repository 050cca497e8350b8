"""Running the ASGI app under uvicorn, announcing how to call it once it listens."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI


class _AnnouncingServer(uvicorn.Server):
    """Prints how to call the service once the socket is actually listening."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._announce()


def serve_app(
    application: FastAPI, *, host: str, port: int, log_level: str, announce: Callable[[], None]
) -> bool:
    """Serve until stopped; False when the server could not start (e.g. the port is taken)."""
    config = uvicorn.Config(application, host=host, port=port, log_config=None, log_level=log_level)
    server = _AnnouncingServer(config, announce)
    with contextlib.suppress(SystemExit):  # uvicorn's way to fail a bind; the log says why
        server.run()
    return bool(server.started)
