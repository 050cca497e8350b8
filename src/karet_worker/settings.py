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
class QueueSettings:
    """The job queue's knobs (SPEC §12). `redis_url` None = the embedded in-process queue.

    The lock of a running pipeline lives `3 * heartbeat_s` and is renewed every `heartbeat_s`;
    a job whose pipeline is busy is looked at again after `heartbeat_s`. Transient failures are
    retried after `retry_base_s * 2**(attempt-1)`, at most `retry_cap_s`.
    """

    redis_url: str | None = None
    key_prefix: str = "karet:"
    concurrency: int = 1
    max_attempts: int = 3
    reclaim_idle_s: float = 60.0
    shutdown_grace_s: float = 30.0
    heartbeat_s: float = 10.0
    retry_base_s: float = 30.0
    retry_cap_s: float = 600.0

    @property
    def lock_ttl_s(self) -> float:
        return 3 * self.heartbeat_s


@dataclass(frozen=True)
class WebhookSettings:
    """Upload-triggered runs (`POST /events/s3`, SPEC §12): `secret` None refuses every event;
    a burst's run fires `quiet_s` after its last event, at most `max_wait_s` after its first."""

    secret: str | None = None
    quiet_s: int = 5
    max_wait_s: int = 30


@dataclass(frozen=True)
class Settings:
    s3: S3Settings | None  # None: the embedded local store under data_dir
    data_dir: Path
    port: int
    token: str | None
    max_body_bytes: int
    queue: QueueSettings = QueueSettings()
    max_concurrent_runs: int = 2  # runs at once in this process, synchronous and queued (§15)
    webhook: WebhookSettings = WebhookSettings()

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

        def seconds(name: str, default: float, low: float, high: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not a number of seconds")
                return default
            if not low <= value <= high:
                problems.append(f"{name}={value:g} must be between {low:g} and {high:g}")
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
        webhook = WebhookSettings(
            secret=env.get("KARET_WEBHOOK_SECRET") or None,
            quiet_s=integer("KARET_WEBHOOK_QUIET_S", 5, 0, 3600),
            max_wait_s=integer("KARET_WEBHOOK_MAX_WAIT_S", 30, 0, 86400),
        )
        if webhook.max_wait_s < webhook.quiet_s:
            problems.append(
                f"KARET_WEBHOOK_MAX_WAIT_S={webhook.max_wait_s} must be at least "
                f"KARET_WEBHOOK_QUIET_S={webhook.quiet_s}"
            )
        queue = QueueSettings(
            redis_url=env.get("REDIS_URL", "").strip() or None,
            key_prefix=env.get("KARET_QUEUE_PREFIX", "").strip() or "karet:",
            concurrency=integer("KARET_WORKER_CONCURRENCY", 1, 1, 64),
            max_attempts=integer("KARET_MAX_ATTEMPTS", 3, 1, 100),
            reclaim_idle_s=seconds("KARET_RECLAIM_IDLE_S", 60.0, 0.1, 86400.0),
            shutdown_grace_s=seconds("KARET_SHUTDOWN_GRACE_S", 30.0, 0.0, 86400.0),
            heartbeat_s=seconds("KARET_LOCK_HEARTBEAT_S", 10.0, 0.05, 3600.0),
            retry_base_s=seconds("KARET_RETRY_BASE_S", 30.0, 0.0, 86400.0),
            retry_cap_s=seconds("KARET_RETRY_CAP_S", 600.0, 0.0, 86400.0),
        )
        if queue.redis_url and not queue.redis_url.startswith(("redis://", "rediss://", "unix://")):
            problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
        if queue.reclaim_idle_s <= queue.lock_ttl_s:
            # A live worker refreshes its claim every heartbeat; reclaiming sooner than the lock
            # can expire would hand a running job to a second worker only to see it deferred.
            problems.append(
                f"KARET_RECLAIM_IDLE_S={queue.reclaim_idle_s:g} must be longer than the lock "
                f"TTL (3 x KARET_LOCK_HEARTBEAT_S = {queue.lock_ttl_s:g} s)"
            )
        max_runs = integer("KARET_MAX_CONCURRENT_RUNS", 2, 1, 256)
        if problems:
            raise SettingsError(problems)
        return cls(
            s3=s3,
            data_dir=data_dir,
            port=port,
            token=token,
            max_body_bytes=max_body,
            queue=queue,
            max_concurrent_runs=max_runs,
            webhook=webhook,
        )
