"""schemathesis against the app's own `/openapi.json` (SPEC §15): every route the document
publishes, in-process over ASGI, with generated valid and invalid requests. Zero 5xx, every
answer matches its documented status, content type and schema, invalid requests are refused;
`/jobs/run` also accepts every request its schema allows (issue 7, defect 12).

Deterministic (derandomized Hypothesis) and bounded: the recursive expression schema is cut
at two levels (`fuzz_schema.bounded`) and each route gets a fixed number of examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from karet_worker.api import create_app
from karet_worker.demo import seed_demo
from karet_worker.storage.factory import open_local_store

from .conftest import settings_for
from .fuzz_schema import bounded

# Examples per route. Generating a PipelineConfig from its schema costs ~0.2-0.4 s (on two
# busy cores); a run of the demo pipeline about as much; the other routes far less.
EXAMPLES = {"POST /config/validate": 25, "POST /config/preview": 25, "POST /jobs/run": 40}
DEFAULT_EXAMPLES = 60
# Routes whose answer to a schema-valid request may still be a verdict on its content (a
# config with dangling references is valid JSON Schema and gets a 422; a CSV sample without a
# header row gets a 400; a preview validates its config like /config/validate and names
# mappings/sources the config may not have); every other check applies to them too.
VERDICT_ROUTES = frozenset({"POST /config/validate", "POST /config/preview", "POST /sources/infer"})


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    data = tmp_path_factory.mktemp("schemathesis")
    store = open_local_store(data)
    seed_demo(store)  # `pipelines/demo/` (the schema's example prefix) is a real pipeline
    yield create_app(settings_for(Path(data)), store)


def _operations(app: FastAPI) -> list[Any]:
    document = TestClient(app).get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(bounded(document, levels=2))
    schema.app = app
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation: Any) -> None:
    """Generate requests for one operation and check every answer."""
    excluded = [positive_data_acceptance] if operation.label in VERDICT_ROUTES else []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES.get(operation.label, DEFAULT_EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(excluded_checks=excluded)

    check()


def test_every_route_answers_within_its_contract(app: FastAPI) -> None:
    operations = _operations(app)
    labels = {op.label for op in operations}
    assert {"GET /health", "POST /config/validate", "POST /jobs/run"} <= labels
    for operation in operations:
        _fuzz(operation)
