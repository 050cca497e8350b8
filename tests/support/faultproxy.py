"""A TCP proxy that injects network faults between the worker and the S3 server (SPEC §15).

The test points the worker's S3 endpoint at the proxy and chooses when a fault starts: at once,
or when a request starting with given bytes goes through (`after=b"PUT "`: the first upload).
From then on the fault hits the connection that carried that request and the next
`connections` connections (every one with `connections=None`):

    with FaultProxy(upstream_port=8333) as proxy:
        proxy.set(Fault.RESET, connections=2)           # the next two connections are reset
        proxy.set(Fault.RESET, after=b"PUT ")           # every connection, from the first PUT
        proxy.set(Fault.DELAY, delay=0.05)              # each chunk waits 50 ms, both ways
        proxy.set(Fault.TRUNCATE, keep_bytes=100, after=b"GET ", connections=1)
        proxy.set(Fault.NONE)                           # a plain proxy again

The proxy reads no HTTP: `after` compares the first bytes of what the client sends in one
write, which is where an HTTP/1.1 client puts a request line.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType

CHUNK = 64 * 1024


class Fault(Enum):
    NONE = "none"
    RESET = "reset"  # TCP RST instead of data (connection reset by peer)
    DELAY = "delay"  # each forwarded chunk is held back for `delay` seconds
    TRUNCATE = "truncate"  # the server's answer is cut after `keep_bytes`, then RST


@dataclass
class _Plan:
    fault: Fault = Fault.NONE
    remaining: int | None = None  # connections still to hit once armed; None = all
    delay: float = 0.0
    keep_bytes: int = 0
    after: bytes | None = None
    armed: bool = True
    generation: int = 0


@dataclass(eq=False)
class _Connection:
    client: socket.socket
    upstream: socket.socket
    generation: int = -1  # the plan generation this connection was judged against
    hit: bool = False  # the fault applies to it
    answered: int = field(default=0)  # server bytes forwarded since it was hit


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), the way a dropped connection looks to the client.

    SHUT_RD first: it wakes a thread blocked in `recv` on this socket (sending nothing); until
    that thread lets go, Linux would keep the socket open and send no RST at all."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """Listens on a free loopback port (`endpoint`) and forwards to `upstream_port`."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._plan = _Plan()
        self._open: set[_Connection] = set()
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()
        self.faulted = 0  # connections a fault was applied to, in all

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._spawn(self._accept_loop)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def set(
        self,
        fault: Fault,
        *,
        connections: int | None = None,
        after: bytes | None = None,
        delay: float = 0.0,
        keep_bytes: int = 0,
    ) -> None:
        """Apply `fault` (see the module doc); replaces the previous one."""
        with self._lock:
            generation = self._plan.generation + 1
            self._plan = _Plan(
                fault, connections, delay, keep_bytes, after, after is None, generation
            )
            live = list(self._open)
        if fault is Fault.RESET and after is None:  # a link going down breaks what is open
            for conn in live:
                if self._judge(conn):
                    self._drop(conn)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            live = list(self._open)
        for conn in live:
            self._drop(conn)
        deadline = time.monotonic() + 5
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ decisions

    def _judge(self, conn: _Connection, request: bytes | None = None) -> bool:
        """Whether the current fault hits `conn` (decided once per plan, when it is armed)."""
        with self._lock:
            plan = self._plan
            if not plan.armed and request is not None and plan.after is not None:
                plan.armed = request.startswith(plan.after)
            if conn.generation == plan.generation or not plan.armed:
                return conn.hit and conn.generation == plan.generation
            conn.generation = plan.generation
            conn.hit = plan.fault is not Fault.NONE and plan.remaining != 0
            if conn.hit:
                self.faulted += 1
                conn.answered = 0
                if plan.remaining is not None:
                    plan.remaining -= 1
            return conn.hit

    # ------------------------------------------------------------------ forwarding

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._spawn(self._serve, client)

    def _drop(self, conn: _Connection) -> None:
        _reset(conn.client)
        _reset(conn.upstream)

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._upstream, timeout=10)
        except OSError:
            _reset(client)
            return
        conn = _Connection(client, upstream)
        with self._lock:
            self._open.add(conn)
        if self._plan.fault is Fault.RESET and self._judge(conn):
            self._drop(conn)
        else:
            sender = threading.Thread(target=self._pump, args=(conn, False), daemon=True)
            sender.start()
            self._pump(conn, True)
            sender.join(timeout=30)
        with self._lock:
            self._open.discard(conn)
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()

    def _pump(self, conn: _Connection, answers: bool) -> None:
        """Copy one direction until it closes; `answers`: server → client."""
        source, target = (conn.upstream, conn.client) if answers else (conn.client, conn.upstream)
        try:
            source.settimeout(None)
            while True:
                chunk = source.recv(CHUNK)
                if not chunk:
                    break
                hit = self._judge(conn, None if answers else chunk)
                plan = self._plan
                if hit and plan.fault is Fault.RESET:
                    self._drop(conn)
                    return
                if hit and plan.fault is Fault.DELAY:
                    time.sleep(plan.delay)
                if hit and plan.fault is Fault.TRUNCATE and answers:
                    room = plan.keep_bytes - conn.answered
                    if len(chunk) > room:
                        target.sendall(chunk[: max(room, 0)])
                        self._drop(conn)
                        return
                    conn.answered += len(chunk)
                target.sendall(chunk)
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(conn)
