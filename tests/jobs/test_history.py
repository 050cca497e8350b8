"""Job history objects are never run inputs: no source can be placed over them."""

from __future__ import annotations

import json

import pytest

from karet_worker.config.validate import validate_json

from .conftest import tiny_config


@pytest.mark.parametrize("path_prefix", ["_jobs/", "_jobs/old/"])
def test_a_source_cannot_read_the_job_history(path_prefix: str) -> None:
    config = tiny_config()
    config["source_containers"][0]["path_prefix"] = path_prefix
    report = validate_json(json.dumps(config).encode())
    assert not report.ok
    problem = next(p for p in report.problems if "_jobs/" in p.message)
    assert problem.path == "/source_containers/0/path_prefix"
