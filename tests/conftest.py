"""Shared fixtures: the SeaweedFS S3 server the suite starts for itself (SPEC §11)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from support.seaweed import SeaweedServer

_bucket_numbers = itertools.count()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One `weed mini` for the whole session, always stopped at the end (even on failure)."""
    server = SeaweedServer(root=tmp_path_factory.mktemp("seaweed"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(seaweed: SeaweedServer) -> str:
    """A fresh, empty bucket on the shared server, so tests cannot see each other's objects."""
    name = f"test-{next(_bucket_numbers)}"
    seaweed.create_bucket(name)
    return name
