"""A clean environment for CLI tests: no S3/token settings leak in from the outside."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

SETTINGS_VARS = (
    "S3_BUCKET",
    "S3_ENDPOINT",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "KARET_DATA_DIR",
    "PORT",
    "POLARS_MAX_THREADS",
    "KARET_WORKER_TOKEN",
    "KARET_MAX_BODY_BYTES",
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The embedded store lives here for the test."""
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "data"
    monkeypatch.setenv("KARET_DATA_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Commands configure the root logger for the process; undo it for the next tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
