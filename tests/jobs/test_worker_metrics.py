"""`karet-worker worker --metrics-port`: a consumer without HTTP still exposes its metrics,
so the runs it executes are visible to Prometheus (a real worker process on a real Redis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from karet_worker.jobs.factory import open_queue
from karet_worker.jobs.model import Trigger
from karet_worker.settings import Settings
from karet_worker.storage.factory import open_local_store
from support.ports import free_ports

from .cluster import Proc, ended, karet_worker, wait_until
from .conftest import FAST, PREFIX, seed


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    except httpx.TransportError:
        return None  # not listening yet
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_worker_serves_the_metrics_of_the_runs_it_executes(
    tmp_path: Path, redis_target: Any
) -> None:
    settings = {"KARET_DATA_DIR": str(tmp_path / "data"), **FAST, **redis_target.env()}
    store = open_local_store(tmp_path / "data")
    seed(store, files=3)
    (port,) = free_ports(1)
    argv = [*karet_worker(), "worker", "--metrics-port", str(port), "--metrics-host", "127.0.0.1"]
    worker = Proc("worker", argv, settings, tmp_path)
    queue = open_queue(Settings.from_env(settings), store)
    worker.start()
    try:
        before = wait_until("the metrics endpoint", lambda: scrape(port), timeout=60)
        completed = ("karet_jobs_total", (("status", "completed"),))
        assert before[completed] == 0
        job = queue.submit(PREFIX, clean_run=False, trigger=Trigger.api)
        record = wait_until("the job", lambda: ended(queue, job.job_id))
        assert record.status.value == "completed", (record, worker.tail())
        after = scrape(port)
        assert after is not None
        assert after[completed] == 1
        assert after[("karet_rows_read_total", ())] == record.result["rows_read"] == 15
        assert after[("karet_run_duration_seconds_count", (("status", "completed"),))] == 1
    finally:
        worker.stop()
        queue.close()
