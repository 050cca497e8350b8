"""Free loopback ports for servers the tests start (SeaweedFS also opens port + 10000)."""

from __future__ import annotations

import random
import socket

LOW, HIGH = 20000, 45000  # +10000 stays below 55536, clear of the ephemeral range


def port_is_free(port: int) -> bool:
    """Nothing listens on it. SO_REUSEADDR like the servers we start (Go, uvicorn), so
    connections of a stopped server lingering in TIME_WAIT do not count as "taken"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, with_offset: int | None = None) -> list[int]:
    """`count` distinct free ports; with `with_offset`, port + offset is free as well."""
    rng = random.SystemRandom()
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(10_000):
        port = rng.randrange(LOW, HIGH)
        needed = [port] if with_offset is None else [port, port + with_offset]
        if taken.intersection(needed) or not all(port_is_free(p) for p in needed):
            continue
        chosen.append(port)
        taken.update(needed)
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"could not find {count} free ports between {LOW} and {HIGH}")
