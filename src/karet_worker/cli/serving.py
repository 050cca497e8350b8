"""Running the ASGI app under uvicorn, announcing how to call it once it listens."""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI


class PortUnavailable(Exception):
    """The listen socket could not be bound; the message says why in plain words."""


class _AnnouncingServer(uvicorn.Server):
    """Prints how to call the service once the socket is actually listening."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._announce()


def bind(host: str, port: int) -> socket.socket:
    """A bound listen socket, or PortUnavailable. Bound here rather than by uvicorn, whose bind
    failure is a JSON log line followed by a bare exit: a person needs the cause on screen.

    `bind("127.0.0.1", 8080)` with 8080 taken -> PortUnavailable("port 8080 on 127.0.0.1 is
    already in use ...")."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # The protocol must be named: asyncio disables Nagle's algorithm (TCP_NODELAY) only on
    # accepted sockets whose `proto` is IPPROTO_TCP, and an accepted socket inherits `proto`
    # from this one. With the default 0, uvicorn's separate writes of response head and body
    # met the client's delayed ACK: every request on a kept-alive connection took ~48 ms
    # instead of ~2 ms (bench/README.md, "Soak").
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortUnavailable(
                f"port {port} on {host} is already in use (another karet-worker serve?); "
                "stop it or choose another port with --port or PORT"
            ) from None
        if exc.errno == errno.EACCES:
            raise PortUnavailable(
                f"not allowed to listen on port {port} ({host}): ports below 1024 need "
                "privileges; choose another with --port or PORT"
            ) from None
        raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve_app(
    application: FastAPI,
    sock: socket.socket,
    *,
    log_level: str,
    announce: Callable[[], None],
) -> bool:
    """Serve on the bound socket until stopped; False when the server could not start."""
    config = uvicorn.Config(application, log_config=None, log_level=log_level)
    server = _AnnouncingServer(config, announce)
    with contextlib.suppress(SystemExit):  # uvicorn's way to fail at startup; the log says why
        server.run(sockets=[sock])
    return bool(server.started)
