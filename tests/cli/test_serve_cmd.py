"""`karet-worker serve --demo` as a real process: the README's first command, end to end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from karet_worker.cli.main import app
from support.ports import free_ports
from support.process import log_tail, spawn, stop

from .conftest import SETTINGS_VARS

STARTUP_LIMIT_S = 60  # a guard against hanging, not a performance assertion


@dataclass
class Served:
    base: str
    log: Path
    proc: subprocess.Popen[bytes]


def command() -> list[str]:
    script = Path(sys.executable).parent / "karet-worker"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "karet_worker.cli.main"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port, unused = free_ports(2)
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    # --port wins over PORT
    env.update({"PORT": str(unused), "KARET_DATA_DIR": str(tmp_path / "data")})
    log = tmp_path / "serve.log"
    argv = [*command(), "serve", "--demo", "--port", str(port)]
    proc = spawn(argv, env=env, cwd=tmp_path, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited with {proc.returncode}:\n{log_tail(log)}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"serve did not become healthy:\n{log_tail(log)}")
            time.sleep(0.1)
        yield Served(base, log, proc)
    finally:
        stop(proc)


def json_lines(log: Path) -> list[dict[str, Any]]:
    parsed = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            parsed.append(json.loads(line))
    return parsed


def test_serve_demo_answers_a_run_of_the_demo_pipeline(served: Served) -> None:
    response = httpx.post(
        f"{served.base}/jobs/run", json={"pipeline_prefix": "pipelines/demo/"}, timeout=120
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["files_processed"] == 7  # 2 of them skipped
    assert body["files_skipped"] == 2
    assert body["partitions_written"] == 6
    assert body["rows_written"] > 0

    text = served.log.read_text()
    assert "curl -s -X POST http://localhost:" in text  # how to call it is printed
    assert '{"pipeline_prefix": "pipelines/demo/"}' in text
    records = json_lines(served.log)
    assert records, "logs are JSON lines"
    for record in records:
        assert {"ts", "level", "logger", "message"} <= set(record)
    mine = [r for r in records if r.get("job_id") == body["job_id"]]
    assert any(r["logger"] == "karet_worker.api" for r in mine), "the request is logged"
    assert any(r["logger"].startswith("karet_worker.engine") for r in mine), "so is the run"


def test_chunked_body_over_the_limit_is_413_over_a_real_socket(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(9 * 1024):
            yield b" " * 1024  # 9 MiB in total, over the 8 MiB default

    try:
        response = httpx.post(f"{served.base}/config/validate", content=chunks(), timeout=60)
    except httpx.TransportError:
        pytest.fail("the server should answer 413, not drop the connection")
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert httpx.get(f"{served.base}/health").status_code == 200


def test_a_port_in_use_is_said_in_plain_words(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert not data_dir.exists(), "nothing was created for a server that did not start"
