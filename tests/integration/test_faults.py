"""Network faults between the worker and SeaweedFS (SPEC §15), injected by a TCP proxy at chosen
moments: a fault the store client's retries outlast leaves exactly the reference output; one
that outlasts them fails the run with 503 — and a failed `clean_run` prunes nothing."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from karet_worker.engine.run import Runner
from karet_worker.storage.factory import open_local_store
from support.faultproxy import Fault, FaultProxy
from support.seaweed import SeaweedServer

from .pipelines import col, mapping, pipeline, source, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

CONFIG = pipeline(
    sources=[source("ev", "raw/", [("id", "int64"), ("shop", "string"), ("amount", "number")])],
    tables=[
        table(
            "by_shop",
            [("id", "int64"), ("shop", "string"), ("amount", "number")],
            partition_keys=["shop"],
        )
    ],
    mappings=[mapping("m", "ev", "by_shop", {c: col(c) for c in ("id", "shop", "amount")})],
)
ROWS = 2 * 6000
STALE = "clean/by_shop/shop=gone/m.parquet"


def _inputs() -> dict[str, bytes]:
    rng = random.Random(11)
    files = {}
    for number in range(2):
        lines = ["id,shop,amount"] + [
            f"{number * 6000 + i},shop {rng.randint(1, 12)},{rng.randint(0, 9999) / 100}"
            for i in range(6000)
        ]
        files[f"raw/part-{number}.csv"] = ("\n".join(lines) + "\n").encode()
    return files


INPUTS = _inputs()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("fault-reference")
    store = open_local_store(root)
    store.put("p/pipeline.json", json.dumps(CONFIG).encode())
    for key, data in INPUTS.items():
        store.put("p/" + key, data)
    assert Runner(store).run("p/").errors == []
    return {o.key.removeprefix("p/"): store.get(o.key) for o in store.list("p/clean/")}


@pytest.fixture(scope="module")
def proxied(
    seaweed: SeaweedServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FaultProxy, Service, str]]:
    """A proxy in front of SeaweedFS and a service that reaches S3 only through it."""
    bucket = "faults"
    seaweed.create_bucket(bucket)
    with FaultProxy(seaweed.s3_port) as proxy:
        settings = {**seaweed.env_for(bucket), "S3_ENDPOINT": proxy.endpoint}
        service = Service(tmp_path_factory.mktemp("fault-service"), settings)
        try:
            service.start()
            yield proxy, service, bucket
        finally:
            service.stop()


@pytest.fixture
def case(
    proxied: tuple[FaultProxy, Service, str], seaweed: SeaweedServer, request: pytest.FixtureRequest
) -> Iterator[tuple[FaultProxy, Service, Workspace]]:
    proxy, service, bucket = proxied
    workspace = Workspace(seaweed.client(), bucket, f"pipelines/{request.node.name[:40]}/")
    workspace.put_config(CONFIG)
    for key, data in INPUTS.items():
        workspace.put(key, data)
    proxy.set(Fault.NONE)
    yield proxy, service, workspace
    proxy.set(Fault.NONE)


def _outcome(service: Service, workspace: Workspace, *, clean_run: bool = False) -> Any:
    return service.run(workspace.prefix, clean_run=clean_run)


@pytest.mark.parametrize(
    ("fault", "options"),
    [
        (Fault.RESET, {"connections": 2}),  # the first two connections of the run
        (Fault.RESET, {"after": b"PUT ", "connections": 2}),  # two during the uploads
        (Fault.TRUNCATE, {"after": b"GET ", "keep_bytes": 300, "connections": 2}),  # cut reads
        (Fault.DELAY, {"delay": 0.02}),  # every chunk of every connection
    ],
    ids=["reset-early", "reset-uploads", "truncate-reads", "delay"],
)
def test_passing_faults_are_retried_and_the_output_is_exact(
    case: tuple[FaultProxy, Service, Workspace],
    reference: dict[str, bytes],
    fault: Fault,
    options: dict[str, Any],
) -> None:
    proxy, service, workspace = case
    faulted_before = proxy.faulted
    proxy.set(fault, **options)
    answer = _outcome(service, workspace)
    # Two faulted connections are fewer than the client's three retries: the run must succeed.
    assert answer.status_code == 200, answer.text
    assert proxy.faulted > faulted_before, "the fault never happened"
    body = answer.json()
    assert body["errors"] == [] and body["rows_read"] == ROWS, body
    assert workspace.snapshot() == reference


def test_an_outage_during_the_uploads_fails_the_run_and_prunes_nothing(
    case: tuple[FaultProxy, Service, Workspace], reference: dict[str, bytes]
) -> None:
    proxy, service, workspace = case
    workspace.put(STALE, b"an object the clean run would prune")
    proxy.set(Fault.RESET, after=b"PUT ")  # from the first upload on, S3 is unreachable

    answer = _outcome(service, workspace, clean_run=True)

    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "storage_unavailable"
    assert STALE in workspace.keys("clean/"), "a failed clean_run pruned"
    proxy.set(Fault.NONE)
    repaired = _outcome(service, workspace, clean_run=True)
    assert repaired.status_code == 200, repaired.text
    assert workspace.snapshot() == reference


def test_an_outage_while_pruning_keeps_every_written_object(
    case: tuple[FaultProxy, Service, Workspace], reference: dict[str, bytes]
) -> None:
    """S3 bulk delete is `POST /<bucket>?delete`: the outage starts with the prune."""
    proxy, service, workspace = case
    workspace.put(STALE, b"stale")
    proxy.set(Fault.RESET, after=b"POST ")

    answer = _outcome(service, workspace, clean_run=True)

    assert answer.status_code == 503, answer.text
    snapshot = workspace.snapshot()
    assert {k: v for k, v in snapshot.items() if k != STALE} == reference
    proxy.set(Fault.NONE)
    assert _outcome(service, workspace, clean_run=True).status_code == 200
    assert workspace.snapshot() == reference


def test_the_proxy_itself_passes_traffic_untouched(
    case: tuple[FaultProxy, Service, Workspace], reference: dict[str, bytes]
) -> None:
    _, service, workspace = case
    assert _outcome(service, workspace).status_code == 200
    assert workspace.snapshot() == reference
