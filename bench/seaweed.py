"""A throwaway SeaweedFS S3 server on loopback for the S3 leg of the benchmark (SPEC §11).

Starting, health-checking and stopping `weed mini` is the test suite's launcher
(`tests/support/seaweed.py`); this module adds what the benchmark does with the server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.seaweed import SeaweedServer  # the tests' launcher, see the docstring


@dataclass(frozen=True)
class S3Server:
    server: SeaweedServer
    bucket: str

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    def env(self) -> dict[str, str]:
        """Environment selecting this server for karet-worker (SPEC §8)."""
        return self.server.env_for(self.bucket)

    def client(self) -> Any:  # boto3 ships no type stubs
        return self.server.client()


@contextmanager
def seaweedfs(data_dir: Path, bucket: str = "karet-bench") -> Iterator[S3Server]:
    """Start `weed mini` on free loopback ports with a fresh data dir; stop it on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = SeaweedServer(root=data_dir)
    try:
        server.start()
        server.create_bucket(bucket)
        yield S3Server(server, bucket)
    finally:
        server.stop()


# SeaweedFS gzips an object that looks like text when it stores it, and gunzips it on every
# GET, on the same two cores as the run: serving 516 MB of the bench's CSV took it 3.2-3.4
# CPU-s, against 0.5 for the same bytes stored as they are (bench/README.md "Round nine").
# Measured: multipart uploads of the CSV files were gzipped whatever their Content-Type,
# single PUTs typed binary/octet-stream were stored as sent. S3 stores bytes as they are
# sent, so the inputs go up that way: the S3 leg measures the worker's transfers, not the
# test server's gunzip.
STORED_AS_IS = "binary/octet-stream"


def upload_files(server: S3Server, files: dict[str, Path], concurrency: int = 8) -> None:
    """Upload {key: local path} concurrently, each stored as it is (setup, not timed)."""
    from concurrent.futures import ThreadPoolExecutor

    from boto3.s3.transfer import TransferConfig

    client = server.client()
    whole = TransferConfig(multipart_threshold=5 * 1024**3)  # one PUT, up to S3's 5 GiB limit
    extra = {"ContentType": STORED_AS_IS}

    def upload(key: str, path: Path) -> None:
        client.upload_file(str(path), server.bucket, key, ExtraArgs=extra, Config=whole)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda kv: upload(*kv), files.items()))


def delete_prefix(server: S3Server, prefix: str) -> int:
    """Delete every object under `prefix`; returns how many were deleted."""
    client = server.client()
    deleted = 0
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=server.bucket, Prefix=prefix
    ):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=server.bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def download_prefix(server: S3Server, prefix: str, dest: Path) -> int:
    """Copy every object under `prefix` to `dest`, keeping the key layout below the prefix."""
    client = server.client()
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=server.bucket, Prefix=prefix
    ):
        for obj in page.get("Contents", []):
            target = dest / obj["Key"][len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(server.bucket, obj["Key"], str(target))
            count += 1
    return count
