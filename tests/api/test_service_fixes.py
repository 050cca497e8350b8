"""Small API contract fixes of issue 7: HEAD /health, one "run finished" line per job, the
job id on an unexpected 500, and a published pipeline_prefix rule that matches the real one."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from karet_worker.api import create_app
from karet_worker.engine.prefix import prefix_problems
from karet_worker.layout import PIPELINE_PREFIX_PATTERN
from karet_worker.storage.base import ObjectInfo

from .conftest import MakeClient, assert_envelope, local_store, settings_for


def test_head_health_is_200_without_a_body(client: TestClient) -> None:
    response = client.head("/health")
    assert response.status_code == 200
    assert response.content == b""


def test_run_finished_is_logged_once_per_job(
    tmp_path: Path, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    from karet_worker.demo import seed_demo

    store = local_store(tmp_path / "data")
    seed_demo(store)
    client = make_client(store=store)
    with caplog.at_level(logging.INFO, logger="karet_worker"):
        response = client.post("/jobs/run", json={"pipeline_prefix": "pipelines/demo/"})
    assert response.status_code == 200
    job_id = response.headers["X-Job-Id"]
    finished = [r for r in caplog.records if r.getMessage() == "run finished"]
    assert [getattr(r, "job_id", None) for r in finished] == [job_id]


class _BrokenStore:
    """A store with a bug: every call raises something no handler expects."""

    def __getattr__(self, name: str) -> object:
        def broken(*_: object, **__: object) -> list[ObjectInfo]:
            raise RuntimeError("a bug in the store")

        return broken


def test_an_unexpected_500_still_carries_the_job_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings_for(tmp_path / "data"), _BrokenStore())  # type: ignore[arg-type]
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="karet_worker"),
    ):
        response = client.post("/jobs/run", json={"pipeline_prefix": "pipelines/x/"})
    assert response.status_code == 500
    assert_envelope(response.json(), "internal_error")
    job_id = response.headers["X-Job-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", job_id)
    assert [getattr(r, "job_id", None) for r in caplog.records] == [job_id]


def test_openapi_publishes_the_prefix_rule(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["RunRequest"]
    prefix = schema["properties"]["pipeline_prefix"]
    assert prefix["pattern"] == PIPELINE_PREFIX_PATTERN
    assert prefix["maxLength"] == 512


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.from_regex(PIPELINE_PREFIX_PATTERN, fullmatch=True).filter(lambda p: len(p) <= 512)
)
def test_every_prefix_the_schema_allows_is_accepted(prefix: str) -> None:
    assert prefix_problems(prefix) == []


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(alphabet="ab./_-%é\x00", max_size=12))
def test_the_schema_refuses_what_the_rule_refuses(prefix: str) -> None:
    if prefix_problems(prefix):
        assert not re.fullmatch(PIPELINE_PREFIX_PATTERN, prefix) or len(prefix) > 512
