"""Build the configured object store: S3 when an endpoint/bucket is set, else a local directory."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from obstore.store import S3Store

from karet_worker.settings import S3Settings, Settings
from karet_worker.storage.base import ObjectStore, StorageUnavailable
from karet_worker.storage.local_store import LocalObjectStore
from karet_worker.storage.obstore_store import ObstoreStore

# Transient failures are retried a few times, but a dead endpoint must surface as a 503 within
# seconds, not after obstore's default 3 minutes.
RETRY_TIMEOUT = timedelta(seconds=10)
MAX_RETRIES = 3
CONNECT_TIMEOUT = "3s"
READ_TIMEOUT = "10s"  # a stalled (hung, not dead) server: no byte for this long is a failure
REQUEST_TIMEOUT = "30m"  # whole request incl. body; large objects stream for a while


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings select (SPEC §2: embedded local directory unless S3 is set)."""
    if settings.s3 is not None:
        return open_s3_store(settings.s3)
    return open_local_store(settings.data_dir)


def open_s3_store(s3: S3Settings) -> ObstoreStore:
    """An S3 (or S3-compatible) bucket, path-style, plain http allowed for http endpoints."""
    config: dict[str, str | bool] = {
        "region": s3.region,
        "virtual_hosted_style_request": False,
    }
    if s3.endpoint:
        config["endpoint"] = s3.endpoint.rstrip("/")
    if s3.access_key_id and s3.secret_access_key:
        config["access_key_id"] = s3.access_key_id
        config["secret_access_key"] = s3.secret_access_key
    allow_http = bool(s3.endpoint and s3.endpoint.startswith("http://"))
    store = S3Store(
        s3.bucket,
        config=config,  # type: ignore[arg-type]  # S3Config is a TypedDict of these keys
        client_options={
            "allow_http": allow_http,
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "timeout": REQUEST_TIMEOUT,
        },
        retry_config={
            "max_retries": MAX_RETRIES,
            "retry_timeout": RETRY_TIMEOUT,
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=2),
                "base": 2,
            },
        },
    )
    where = f"S3 bucket {s3.bucket!r}" + (f" at {s3.endpoint}" if s3.endpoint else "")
    return ObstoreStore(store, where=where, bulk_delete=True)


def open_local_store(root: Path) -> LocalObjectStore:
    """A local directory laid out like the bucket (created if missing); sweeps the temp files
    that writers killed mid-write left behind."""
    root = root.expanduser().resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageUnavailable(
            f"storage unavailable: cannot create the local data directory {root}: {exc.strerror}"
        ) from exc
    return LocalObjectStore(root)
