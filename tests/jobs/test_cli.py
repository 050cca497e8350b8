"""`karet-worker jobs submit|show|list` straight on the Redis queue, with consumers of this
process running the jobs; exit codes as for `run`."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from karet_worker.cli.main import app
from karet_worker.jobs.runtime import JobsRuntime
from karet_worker.settings import Settings
from karet_worker.storage.factory import open_local_store

from .cluster import clean_env, karet_worker
from .conftest import FAST, PREFIX, seed

cli = CliRunner()


@pytest.fixture
def env(tmp_path: Path, redis_target: object) -> Iterator[dict[str, str]]:
    """Settings for the CLI and a consuming runtime on the same queue and local store."""
    values = {"KARET_DATA_DIR": str(tmp_path / "data"), **FAST, **redis_target.env()}  # type: ignore[attr-defined]
    store = open_local_store(tmp_path / "data")
    seed(store)
    runtime = JobsRuntime.open(Settings.from_env(values), store, consume=True)
    runtime.start()
    try:
        yield values
    finally:
        runtime.stop()


def test_submit_wait_show_and_list(env: dict[str, str]) -> None:
    submitted = cli.invoke(app, ["jobs", "submit", PREFIX, "--wait", "--json"], env=env)
    assert submitted.exit_code == 0, submitted.output
    record = json.loads(submitted.stdout)
    assert record["status"] == "completed"
    assert record["trigger"] == "manual"
    assert record["result"]["rows_read"] == 15

    shown = cli.invoke(app, ["jobs", "show", record["job_id"], "--json"], env=env)
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["result"] == record["result"]

    listed = cli.invoke(app, ["jobs", "list", "--prefix", PREFIX, "--json"], env=env)
    assert [r["job_id"] for r in json.loads(listed.stdout)] == [record["job_id"]]

    human = cli.invoke(app, ["jobs", "show", record["job_id"]], env=env)
    assert "completed" in human.stdout and PREFIX in human.stdout


def test_submit_wait_exit_codes(env: dict[str, str]) -> None:
    missing = cli.invoke(app, ["jobs", "submit", "pipelines/none/", "--wait", "--json"], env=env)
    assert missing.exit_code == 1
    assert json.loads(missing.stdout)["status"] == "failed"
    unknown = cli.invoke(app, ["jobs", "show", "job-0-nothing"], env=env)
    assert unknown.exit_code == 1
    assert "no job with id 'job-0-nothing'" in unknown.stderr
    bad = cli.invoke(app, ["jobs", "submit", "../x/"], env=env)
    assert bad.exit_code == 2


def test_worker_needs_redis(tmp_path: Path) -> None:
    result = cli.invoke(app, ["worker"], env={"KARET_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "REDIS_URL" in result.stderr


def test_run_waits_for_the_distributed_lock(env: dict[str, str], tmp_path: Path) -> None:
    """`karet-worker run` takes the pipeline's lock like queued and HTTP runs."""
    client = redis.Redis.from_url(env["REDIS_URL"])
    lock = f"{env['KARET_QUEUE_PREFIX']}lock:pipeline:jobs"
    client.set(lock, "someone-else:1")
    out = tmp_path / "run.json"
    with out.open("wb") as stdout:
        proc = subprocess.Popen(
            [*karet_worker(), "run", PREFIX, "--json"],
            env=clean_env(env),
            stdout=stdout,
            stderr=subprocess.DEVNULL,
        )
    try:
        time.sleep(3)  # time to start and find the lock taken (a free lock: done by now)
        assert proc.poll() is None, "the run did not wait for the lock"
        client.delete(lock)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    body = json.loads(out.read_text())
    assert body["rows_read"] == 15
    assert body["wait_ms"] > 0
