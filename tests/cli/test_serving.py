"""The listen socket that `karet-worker serve` hands to uvicorn."""

from __future__ import annotations

import asyncio
import socket

from karet_worker.cli.serving import bind


def test_connections_accepted_on_the_bound_socket_have_nagle_disabled() -> None:
    """uvicorn writes a response's head and body separately. With Nagle's algorithm on, the
    body waits for the ACK of the head, which the client delays by ~40 ms: every request on a
    kept-alive connection took ~48 ms instead of ~2 ms. uvicorn serves the socket through
    `loop.create_server(sock=...)`, as here, so the accepted connection must come out of it
    with TCP_NODELAY set."""

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        listener = bind("127.0.0.1", 0)
        port = listener.getsockname()[1]
        server = await asyncio.start_server(handle, sock=listener)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                return await asyncio.wait_for(seen, timeout=30)
            finally:
                writer.close()
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(accepted_nodelay()) != 0
