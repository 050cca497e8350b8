"""Shared fixtures: the SeaweedFS S3 server and the Redis server the suite starts for itself
(SPEC §11)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from support.redis import RedisServer, external_redis_url
from support.seaweed import SeaweedServer

_bucket_numbers = itertools.count()
_queue_numbers = itertools.count()


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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """The suite's own `redis-server` (tests that stop or restart Redis need this one)."""
    server = RedisServer(root=tmp_path_factory.mktemp("redis"))
    try:
        server.start()
        yield server
    finally:
        server.stop(save=False)


@dataclass(frozen=True)
class RedisTarget:
    """Where a test's queue lives: a Redis URL and a key prefix no other test uses."""

    url: str
    queue_prefix: str

    def env(self) -> dict[str, str]:
        """The SPEC §8 variables selecting this queue."""
        return {"REDIS_URL": self.url, "KARET_QUEUE_PREFIX": self.queue_prefix}


@pytest.fixture
def redis_target(request: pytest.FixtureRequest) -> RedisTarget:
    """`REDIS_URL` from the environment when set, else the suite's own server; with a fresh
    key prefix per test so tests never see each other's streams, locks or jobs."""
    url = external_redis_url() or request.getfixturevalue("redis_server").url
    return RedisTarget(url, f"karet-test-{os.getpid()}-{next(_queue_numbers)}:")
