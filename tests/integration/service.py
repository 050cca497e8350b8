"""The real service as a subprocess (`karet-worker serve`), configured only through SPEC §8
environment variables, talked to over HTTP like any client would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from support.ports import free_ports
from support.process import log_tail, spawn, stop

START_TIMEOUT = 60.0  # a guard against a hang, not a performance assertion
RUN_TIMEOUT = 300.0
# Settings the service reads; never inherited from the developer's shell.
SETTINGS_PREFIXES = ("AWS_", "S3_", "KARET_")
SETTINGS_NAMES = ("PORT", "POLARS_MAX_THREADS")


def worker_command() -> list[str]:
    """`karet-worker` from the venv this test runs in."""
    script = Path(sys.executable).parent / "karet-worker"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "karet_worker.cli.main"]


@dataclass
class Service:
    """One `karet-worker serve` process on a free loopback port."""

    workdir: Path
    settings: Mapping[str, str]
    token: str | None = None
    port: int = 0
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "service.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            (self.port,) = free_ports(1)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(SETTINGS_PREFIXES) and k not in SETTINGS_NAMES
        }
        env.update(self.settings)
        env["PORT"] = str(self.port)
        env.setdefault("POLARS_MAX_THREADS", "2")
        if self.token:
            env["KARET_WORKER_TOKEN"] = self.token
        argv = [*worker_command(), "serve", "--host", "127.0.0.1"]
        self._proc = spawn(argv, env=env, cwd=self.workdir, log=self.log)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"karet-worker serve exited with {self._proc.returncode}:\n{log_tail(self.log)}"
                )
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"karet-worker did not become healthy:\n{log_tail(self.log)}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

    def kill(self) -> None:
        """SIGKILL the service (a crash: no clean-up code runs), then reap it."""
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=30)
            self.stop()

    # ------------------------------------------------------------------ HTTP

    def headers(self, token: str | None = None) -> dict[str, str]:
        chosen = token if token is not None else self.token
        return {"Authorization": f"Bearer {chosen}"} if chosen else {}

    def post(
        self, path: str, *, token: str | None = None, timeout: float = RUN_TIMEOUT, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.headers(token), **kwargs.pop("headers", {})}
        return httpx.post(f"{self.base_url}{path}", headers=headers, timeout=timeout, **kwargs)

    def get(self, path: str, *, timeout: float = 30.0) -> httpx.Response:
        return httpx.get(f"{self.base_url}{path}", timeout=timeout)

    def run(self, prefix: str, *, clean_run: bool = False) -> httpx.Response:
        """POST /jobs/run and return the raw response (status checked by the test)."""
        return self.post("/jobs/run", json={"pipeline_prefix": prefix, "clean_run": clean_run})

    def run_ok(self, prefix: str, *, clean_run: bool = False) -> dict[str, Any]:
        """POST /jobs/run that must answer 200; the body."""
        response = self.run(prefix, clean_run=clean_run)
        assert response.status_code == 200, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    def log_records(self) -> list[dict[str, Any]]:
        """The service's JSON log lines, in the order they were written."""
        records = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records
