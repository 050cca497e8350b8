"""The life of one server process the suite starts itself (Redis, SeaweedFS): free loopback
ports, a log file in its directory, readiness, restart on the same ports and data.

A subclass says how to start its server and when it is ready; this class owns the rest:

    class EchoServer(ServerProcess):
        NAME, LOG_NAME, PORTS = "echo", "echo.log", 1
        def _argv(self) -> list[str]: return ["echo-server", "--port", str(self.ports[0])]
        def _ready(self) -> bool: return self._poll(lambda: ping(self.ports[0]))

    server = EchoServer(root=tmp_path / "echo")
    server.start()     # free port(s), spawned, waited for; up to 3 tries on fresh ports
    server.restart()   # stopped, then started again on the same port(s) and directory
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from support.ports import free_ports, port_is_free
from support.process import log_tail, spawn, stop

# A fresh start picks free ports, but another process may take one between the check and the
# server's bind: a start that fails is retried on new ports this many times in all. A restart
# keeps its ports (clients and the data refer to them) and is not retried elsewhere.
FRESH_START_ATTEMPTS = 3
PORTS_FREED_TIMEOUT = 15.0  # after a stop, until the next start may bind the same ports


@dataclass
class ServerProcess:
    """One server process in `root` (its working directory, data and log); `ports` are chosen
    at the first start and kept by restarts."""

    NAME: ClassVar[str]  # for messages: "redis-server", "SeaweedFS"
    LOG_NAME: ClassVar[str]  # the log file in `root`
    PORTS: ClassVar[int] = 1  # how many ports the server listens on
    PORT_OFFSET: ClassVar[int | None] = None  # when port + offset is opened too (weed's gRPC)
    START_TIMEOUT: ClassVar[float] = 30.0  # per readiness step; a guard against a hang

    root: Path
    ports: list[int] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.root / self.LOG_NAME

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start (or restart on the same ports and directory) and wait until it is ready."""
        if self.running:
            return
        self._prepare()
        attempts = 1 if self.ports else FRESH_START_ATTEMPTS
        for attempt in range(attempts):
            if not self.ports or attempt > 0:
                self.ports = free_ports(self.PORTS, with_offset=self.PORT_OFFSET)
            self._proc = spawn(self._argv(), env=self._env(), cwd=self.root, log=self.log)
            if self._ready():
                return
            stop(self._proc)
            self._proc = None
        raise RuntimeError(f"{self.NAME} did not start; log tail:\n{log_tail(self.log)}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL if it hangs) and wait until its ports are free."""
        self._halt()

    def restart(self) -> None:
        self.stop()
        self.start()

    # ------------------------------------------------------------------ for subclasses

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        """Whether the started process became ready; False when it died or timed out."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Before each start: the directories the server needs."""
        self.root.mkdir(parents=True, exist_ok=True)

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def _poll(self, probe: Callable[[], bool], *, interval: float = 0.05) -> bool:
        """Call `probe` until it answers True (ready) or the process dies / START_TIMEOUT
        passes (False). An exception from `probe` counts as "not yet"."""
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                return False
            try:
                if probe():
                    return True
            except Exception:  # any client or transport error means "not ready yet"
                pass
            time.sleep(interval)
        return False

    def _halt(self) -> None:
        """Stop the process if there is one, then wait for its ports to be free again."""
        if self._proc is not None:
            stop(self._proc)
            self._proc = None
        deadline = time.monotonic() + PORTS_FREED_TIMEOUT
        while not all(port_is_free(p) for p in self.ports) and time.monotonic() < deadline:
            time.sleep(0.05)
