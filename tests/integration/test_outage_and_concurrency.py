"""S3 going away while the service runs (503, service stays up) and concurrent runs of one
prefix (they serialize) — SPEC §6 step 5, §7."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from support.seaweed import SeaweedServer

from .pipelines import copy_pipeline, csv_text
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

COLUMNS = [("id", "int64"), ("name", "string"), ("amount", "number")]
CONFIG = copy_pipeline(COLUMNS)


@pytest.fixture
def private_stack(tmp_path: Path) -> Iterator[tuple[SeaweedServer, Service]]:
    """A SeaweedFS and a service of this test's own, so stopping S3 disturbs no other test."""
    seaweed = SeaweedServer(root=tmp_path / "weed")
    service = Service(tmp_path / "service", {})
    try:
        seaweed.start()
        seaweed.create_bucket("outage")
        service.settings = seaweed.env_for("outage")
        service.start()
        yield seaweed, service
    finally:
        service.stop()
        seaweed.stop()


def test_s3_stopped_mid_service_gives_503_and_the_service_stays_healthy(
    private_stack: tuple[SeaweedServer, Service],
) -> None:
    seaweed, service = private_stack
    workspace = Workspace(seaweed.client(), "outage", "pipelines/outage/")
    workspace.put_config(CONFIG)
    workspace.put_csv("raw/a.csv", csv_text(["id", "name", "amount"], [[1, "a", "1.5"]]))
    assert service.run_ok(workspace.prefix)["rows_written"] == 1

    seaweed.stop()
    for _ in range(2):
        response = service.run(workspace.prefix)
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["error"] == "storage_unavailable"
        assert body["message"] and "Traceback" not in response.text
        assert "Debug source" not in body["message"]
        assert service.get("/health").status_code == 200
    validate = service.post("/config/validate", json=CONFIG, timeout=30)
    assert validate.status_code == 200, validate.text
    assert service.running

    seaweed.start()  # same ports, same data
    again = service.run_ok(workspace.prefix)
    assert again["rows_written"] == 1
    assert workspace.read_table("out") == [{"id": 1, "name": "a", "amount": 1.5}]


def test_output_bytes_do_not_depend_on_the_process(
    private_stack: tuple[SeaweedServer, Service],
) -> None:
    """Byte-identical re-runs across a service restart (no per-process hash seeds or clocks
    leaking into the Parquet bytes or the partition layout)."""
    seaweed, service = private_stack
    workspace = Workspace(seaweed.client(), "outage", "pipelines/restart/")
    workspace.put_config(copy_pipeline(COLUMNS, partition_keys=["name"]))
    rows = [[i, f"name-{i % 7}", f"{i}.5"] for i in range(2000)]
    workspace.put_csv("raw/a.csv", csv_text(["id", "name", "amount"], rows[:1000]))
    workspace.put_csv("raw/b.csv", csv_text(["id", "name", "amount"], rows[1000:]))
    service.run_ok(workspace.prefix)
    before = workspace.snapshot()

    service.stop()
    service.start()
    service.run_ok(workspace.prefix, clean_run=True)

    assert len(before) == 7
    assert workspace.snapshot() == before


def test_two_concurrent_runs_of_one_prefix_serialize(
    service: Service, workspace: Workspace
) -> None:
    """Every log line of a run carries its job id; the lines of the two runs (but for each
    run's final summary, written after it released the prefix) must not interleave."""
    workspace.put_config(CONFIG)
    header = ["id", "name", "amount"]
    # A skipped file first and last in key order, so each run logs at its start and its end.
    workspace.put_csv("raw/000_bad.csv", "nothing,useful\n1,2\n")
    for i in range(12):
        rows = [[i * 10_000 + j, f"n{j}", f"{j}.5"] for j in range(10_000)]
        workspace.put_csv(f"raw/{i:03d}.csv", csv_text(header, rows))
    workspace.put_csv("raw/999_bad.csv", "other,columns\n1,2\n")

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(service.run, workspace.prefix, clean_run=True) for _ in range(2)]
        responses = [f.result() for f in futures]

    bodies: list[dict[str, Any]] = []
    for response in responses:
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    first, second = bodies
    assert first["job_id"] != second["job_id"]
    for body in bodies:
        assert body["rows_written"] == 120_000
        assert len(body["errors"]) == 2

    job_ids = {first["job_id"], second["job_id"]}
    lines = [
        r
        for r in service.log_records()
        if r.get("job_id") in job_ids and str(r.get("logger", "")).startswith("karet_worker.engine")
    ]
    spans: dict[str, tuple[int, int]] = {}
    for job in job_ids:
        positions = [i for i, r in enumerate(lines) if r["job_id"] == job][:-1]
        assert len(positions) >= 3, [r for r in lines if r["job_id"] == job]
        spans[job] = (positions[0], positions[-1])
    (_, earlier_end), (later_start, _) = sorted(spans.values())
    assert earlier_end < later_start, [(r["job_id"][:8], r["message"]) for r in lines]
    with workspace.duck("out") as con:
        assert con.sql("SELECT count(*), count(DISTINCT id) FROM t").fetchall() == [
            (120_000, 120_000)
        ]
