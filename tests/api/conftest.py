"""An app per test over a local store in tmp_path, and a helper to build variants of it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from karet_worker.api import create_app
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore

DEMO_CONFIG = (
    Path(__file__).parents[2] / "src" / "karet_worker" / "demo" / "files" / "pipeline.json"
)

MakeClient = Callable[..., TestClient]


def settings_for(data_dir: Path, **env: str) -> Settings:
    return Settings.from_env({"KARET_DATA_DIR": str(data_dir), **env})


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    """`make_client(token=..., max_body_bytes=..., store=...)` -> a TestClient on a fresh app."""
    clients: list[TestClient] = []

    def make(
        *, token: str | None = None, max_body_bytes: int | None = None, store: Any = None
    ) -> TestClient:
        env: dict[str, str] = {}
        if token is not None:
            env["KARET_WORKER_TOKEN"] = token
        if max_body_bytes is not None:
            env["KARET_MAX_BODY_BYTES"] = str(max_body_bytes)
        app = create_app(settings_for(tmp_path / "data", **env), store)
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


@pytest.fixture
def demo_config() -> dict[str, Any]:
    """A realistic multi-source config (the packaged demo pipeline)."""
    loaded: dict[str, Any] = json.loads(DEMO_CONFIG.read_text())
    return loaded


def assert_envelope(body: Any, error: str) -> None:
    """Every error response has exactly the envelope keys, and never a traceback."""
    assert set(body) == {"error", "message", "details"}, body
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    assert "Traceback" not in json.dumps(body)


def local_store(path: Path) -> ObjectStore:
    from karet_worker.storage.factory import open_store

    return open_store(settings_for(path))
