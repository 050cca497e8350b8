"""The README, followed like a newcomer would (docs that drift from the code mislead): its
config example validates, and the blocks marked `<!-- readme-test: run -->` run, as written,
in bash in an empty directory with the config example saved as `pipeline.json` and a
`karet-worker serve --demo` of that directory answering the curl lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from karet_worker.cli.main import app
from karet_worker.config.validate import validate_json
from support.ports import free_ports
from support.process import log_tail, spawn, stop

README = Path(__file__).parents[1] / "README.md"
MARK = "<!-- readme-test: run -->"
BIN = Path(sys.executable).parent  # the environment's karet-worker script lives beside python
STARTUP_LIMIT_S = 60  # a guard against hanging, not a performance assertion
SETTINGS_VARS = ("S3_BUCKET", "S3_ENDPOINT", "AWS_ENDPOINT_URL", "KARET_DATA_DIR", "PORT",
                 "KARET_WORKER_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")  # fmt: skip


def config_example() -> str:
    section = README.read_text().split("## The config in brief", 1)[1]
    example = re.search(r"```json\n(.*?)```", section, re.S)
    assert example is not None
    return example.group(1)


def runnable_blocks() -> list[str]:
    return re.findall(re.escape(MARK) + r"\n```sh\n(.*?)```", README.read_text(), re.S)


def test_readme_config_example_validates_clean() -> None:
    report = validate_json(config_example())
    assert report.ok, [p.to_dict() for p in report.problems]
    assert report.warnings == []


def test_readme_first_command_serves_the_demo_with_the_locked_environment() -> None:
    first = next(line for line in README.read_text().splitlines() if "karet-worker serve" in line)
    assert "uv run --locked" in first
    assert "serve --demo" in first
    assert "pip install" in first  # uv is installed when missing


def test_every_command_the_readme_lists_exists() -> None:
    section = README.read_text().split("## Command line", 1)[1]
    commands = set(re.findall(r"^karet-worker ([a-z]+)", section, re.M))
    assert {"serve", "run", "validate", "demo", "preview", "infer", "tables"} <= commands
    for command in commands:
        assert CliRunner().invoke(app, [command, "--help"]).exit_code == 0, command


@pytest.fixture
def newcomer(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], int]]:
    """An empty directory holding the saved config, the environment of a shell there, and the
    port of a `karet-worker serve --demo` started in it."""
    (tmp_path / "pipeline.json").write_text(config_example())
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    (port,) = free_ports(1)
    log = tmp_path / "serve.log"
    proc = spawn(["karet-worker", "serve", "--demo", "--port", str(port)], env=env,
                 cwd=tmp_path, log=log)  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"serve exited with {proc.returncode}:\n{log_tail(log)}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail(f"serve did not become healthy:\n{log_tail(log)}")
        yield tmp_path, env, port
    finally:
        stop(proc)


def test_the_readme_blocks_run_as_written(newcomer: tuple[Path, dict[str, str], int]) -> None:
    directory, env, port = newcomer
    blocks = runnable_blocks()
    assert len(blocks) >= 4, "the walkthrough, its API twin, the demo run and the API examples"
    outputs: list[str] = []
    for block in blocks:
        script = block.replace("localhost:8080", f"localhost:{port}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (
            f"{block}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        outputs.append(done.stdout)
    walkthrough = next(o for o in outputs if "Run of pipelines/spend/" in o)
    assert '"delimiter": ","' in walkthrough  # infer
    assert "pipeline.json: valid" in walkthrough  # validate
    assert "mapping 'bank' -> table 'spend'" in walkthrough  # preview
    assert "Tables of " in walkthrough and "spend" in walkthrough  # tables
    # the counts the walkthrough's comment states: 6 read, 1 filtered, 1 deduplicated, 4 written
    for label, value in (("rows read", 6), ("rows filtered", 1),
                         ("rows deduplicated", 1), ("rows written", 4)):  # fmt: skip
        assert re.search(rf"{re.escape(label)}\s*│\s*{value}\s", walkthrough), label
    written = sorted((directory / "data/pipelines/spend/clean/spend").rglob("*.parquet"))
    assert [p.parent.name for p in written] == ["month=01", "month=02"]
