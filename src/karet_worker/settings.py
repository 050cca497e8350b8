"""Process settings from the environment (SPEC §8), checked all at once at startup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingsError(Exception):
    """One or more settings are missing or invalid; the message names every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint: str | None
    access_key_id: str | None
    secret_access_key: str | None
    region: str


@dataclass(frozen=True)
class Settings:
    s3: S3Settings | None  # None: the embedded local store under data_dir
    data_dir: Path
    port: int
    token: str | None
    max_body_bytes: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every variable, collect every problem, raise one SettingsError naming them."""
        env = os.environ if env is None else env
        problems: list[str] = []

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not an integer")
                return default
            if not low <= value <= high:
                problems.append(f"{name}={value} must be between {low} and {high}")
            return value

        port = integer("PORT", 8080, 1, 65535)
        max_body = integer("KARET_MAX_BODY_BYTES", 8 * 1024 * 1024, 1, 2**40)
        threads = env.get("POLARS_MAX_THREADS", "").strip()
        if threads and (not threads.isdigit() or int(threads) < 1):
            problems.append(f"POLARS_MAX_THREADS={threads!r} must be a positive integer")

        endpoint = (env.get("S3_ENDPOINT") or env.get("AWS_ENDPOINT_URL") or "").strip() or None
        bucket = env.get("S3_BUCKET", "").strip()
        s3: S3Settings | None = None
        if endpoint or bucket:
            if not bucket:
                problems.append("S3_BUCKET is required when an S3 endpoint is configured")
            if endpoint and not endpoint.startswith(("http://", "https://")):
                problems.append(f"S3_ENDPOINT={endpoint!r} must start with http:// or https://")
            key = env.get("AWS_ACCESS_KEY_ID") or None
            secret = env.get("AWS_SECRET_ACCESS_KEY") or None
            if bool(key) != bool(secret):
                problems.append("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
            s3 = S3Settings(
                bucket=bucket,
                endpoint=endpoint,
                access_key_id=key,
                secret_access_key=secret,
                region=env.get("AWS_REGION", "").strip() or "us-east-1",
            )
        token = env.get("KARET_WORKER_TOKEN") or None
        data_dir = Path(env.get("KARET_DATA_DIR", "").strip() or "./data")
        if problems:
            raise SettingsError(problems)
        return cls(s3=s3, data_dir=data_dir, port=port, token=token, max_body_bytes=max_body)
