"""Fixtures of the integration tests: SeaweedFS + the real service process + a pipeline prefix."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest

from support.seaweed import SeaweedServer

from .service import Service
from .workspace import Workspace

BUCKET = "karet-it"
TOKEN = "integration-secret-token"
MAX_BODY_BYTES = 1024 * 1024  # small, so the 413 test need not send 8 MiB

_numbers = itertools.count()


@pytest.fixture(scope="session")
def service(seaweed: SeaweedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`karet-worker serve` against SeaweedFS, with a token and a 1 MiB body limit."""
    seaweed.create_bucket(BUCKET)
    settings = {**seaweed.env_for(BUCKET), "KARET_MAX_BODY_BYTES": str(MAX_BODY_BYTES)}
    server = Service(tmp_path_factory.mktemp("service"), settings, token=TOKEN)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def workspace(
    request: pytest.FixtureRequest, seaweed: SeaweedServer, service: Service
) -> Workspace:
    """A fresh pipeline prefix (named after the test) in the bucket the service uses."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-")[:60]
    return Workspace(seaweed.client(), BUCKET, f"pipelines/{slug}-{next(_numbers)}/")
