"""Routing an uploaded key to the pipelines whose sources contain it, on a real local store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.pipelines import copy_pipeline, mapping, pipeline, source, table

from karet_worker.storage.factory import open_local_store
from karet_worker.storage.obstore_store import ObstoreStore
from karet_worker.triggers.events import S3EventNotification, created_keys
from karet_worker.triggers.routing import PipelineIndex, candidate_prefixes

COLUMNS = [("id", "string")]


def two_source_config() -> dict[str, Any]:
    return pipeline(
        sources=[source("tx", "raw/tx/", COLUMNS), source("acc", "in/accounts/", COLUMNS)],
        tables=[table("out", COLUMNS)],
        mappings=[
            mapping("m1", "tx", "out", {"id": {"kind": "col", "name": "id"}}),
            mapping("m2", "acc", "out", {"id": {"kind": "col", "name": "id"}}),
        ],
    )


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> ObstoreStore:
    store = open_local_store(tmp_path)
    store.put("pipelines/shop/pipeline.json", json.dumps(two_source_config()).encode())
    store.put("pipelines/crm/pipeline.json", json.dumps(copy_pipeline(COLUMNS)).encode())
    # A pipeline nested inside another's folder: its prefix is a longer candidate of the key.
    store.put("pipelines/shop/raw/pipeline.json", json.dumps(copy_pipeline(COLUMNS)).encode())
    return store


def test_keys_go_to_the_pipelines_whose_sources_contain_them(store: ObstoreStore) -> None:
    index = PipelineIndex(store)
    # pipelines/shop/raw/ is a candidate too, but its source is pipelines/shop/raw/raw/.
    assert index.pipelines_for("pipelines/shop/raw/tx/2024/01.csv") == ["pipelines/shop/"]
    assert index.pipelines_for("pipelines/shop/in/accounts/a.csv") == ["pipelines/shop/"]
    assert index.pipelines_for("pipelines/shop/raw/raw/x.csv") == ["pipelines/shop/raw/"]
    assert index.pipelines_for("pipelines/crm/raw/x.csv.gz") == ["pipelines/crm/"]


def test_keys_outside_every_source_are_ignored(store: ObstoreStore) -> None:
    index = PipelineIndex(store)
    for key in [
        "pipelines/shop/raw/other/x.csv",  # beside the source folders
        "pipelines/shop/notes.txt",
        "pipelines/nobody/raw/x.csv",  # no pipeline there
        "elsewhere/raw/x.csv",
        "pipelines/shop/raw/tx",  # the folder name itself, not inside it
        "x.csv",
    ]:
        assert index.pipelines_for(key) == [], key


def test_the_workers_own_outputs_never_route(store: ObstoreStore) -> None:
    # Even a (badly placed) source under clean/ must not make a run trigger itself.
    sneaky = pipeline(
        sources=[source("s", "clean/", COLUMNS)],
        tables=[table("out", COLUMNS)],
        mappings=[mapping("m", "s", "out", {"id": {"kind": "col", "name": "id"}})],
    )
    store.put("pipelines/loop/pipeline.json", json.dumps(sneaky).encode())
    index = PipelineIndex(store)
    assert index.pipelines_for("pipelines/loop/clean/out/m.parquet") == []
    assert index.pipelines_for("pipelines/crm/_jobs/job-1.json") == []
    assert index.pipelines_for("pipelines/crm/pipeline.json") == []


def test_invalid_and_missing_configs_route_nothing(store: ObstoreStore) -> None:
    store.put("pipelines/broken/pipeline.json", b'{"version": 2}')
    index = PipelineIndex(store)
    assert index.pipelines_for("pipelines/broken/raw/x.csv") == []


def test_configs_are_cached_for_the_ttl(store: ObstoreStore) -> None:
    clock = Clock()
    index = PipelineIndex(store, ttl_s=10.0, clock=clock)
    assert index.pipelines_for("pipelines/new/raw/x.csv") == []
    store.put("pipelines/new/pipeline.json", json.dumps(copy_pipeline(COLUMNS)).encode())
    clock.now = 9.9
    assert index.pipelines_for("pipelines/new/raw/x.csv") == []  # still the cached "none"
    clock.now = 10.0
    assert index.pipelines_for("pipelines/new/raw/x.csv") == ["pipelines/new/"]


def test_the_cache_is_bounded(store: ObstoreStore) -> None:
    index = PipelineIndex(store, max_entries=3)
    for n in range(10):
        index.pipelines_for(f"p{n}/q/x.csv")
    assert len(index._cache) == 3


def test_candidate_prefixes_stop_at_an_invalid_segment() -> None:
    assert candidate_prefixes("a/b c/d/x.csv") == ["a/"]
    assert candidate_prefixes("/a/x.csv") == []
    assert candidate_prefixes("a//x.csv") == ["a/"]
    assert candidate_prefixes("x.csv") == []


def event(key: str, name: str = "s3:ObjectCreated:Put", bucket: str = "lake") -> dict[str, Any]:
    return {"eventName": name, "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}


def test_created_keys_are_decoded_and_filtered() -> None:
    body = {
        "Records": [
            event("pipelines/a/raw/Q1+2024%2Fb%C3%A9.csv"),
            event("pipelines/a/raw/x.csv", name="ObjectCreated:CompleteMultipartUpload"),  # AWS
            event("pipelines/a/raw/gone.csv", name="s3:ObjectRemoved:Delete"),
            event("pipelines/a/raw/other.csv", bucket="someone-else"),
            event("pipelines/a/raw/x.csv"),  # repeated
            {"eventName": "s3:ObjectCreated:Put"},  # no s3 part
            {"eventName": "s3:ObjectCreated:Put", "s3": {"object": {}}},
        ],
        "EventName": "s3:ObjectCreated:Put",  # MinIO's extra top-level fields are accepted
    }
    notification = S3EventNotification.model_validate(body)
    assert created_keys(notification, bucket="lake") == [
        "pipelines/a/raw/Q1 2024/bé.csv",
        "pipelines/a/raw/x.csv",
    ]
    # The local store has no bucket name: every bucket counts.
    assert "pipelines/a/raw/other.csv" in created_keys(notification, bucket=None)
