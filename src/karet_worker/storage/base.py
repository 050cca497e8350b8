"""The one storage interface the engine talks to, whatever backs it (S3 or a local directory)."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol


class StorageUnavailable(Exception):
    """The object store could not be reached or refused us, after retries (API: 503)."""


class DiskFull(StorageUnavailable):
    """A local disk (the embedded store, or a run's work directory) is full: a server-side
    fault (503), retried later like an outage."""


# errno values meaning "the disk or the quota is full", not "this input is bad".
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_disk_full(exc: BaseException) -> bool:
    """True for an OSError of a full disk or quota, and for a Polars error wrapping one
    (Polars reports I/O errors as text: "... No space left on device (os error 28)")."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    text = str(exc)
    return any(f"(os error {number})" in text for number in _DISK_FULL_ERRNOS)


class ObjectNotFound(Exception):
    """A key that was asked for does not exist."""

    def __init__(self, key: str) -> None:
        super().__init__(f"object not found: {key}")
        self.key = key


class InvalidKey(ValueError):
    """A key the store cannot represent (empty, `.`/`..` segments, `//`): a caller bug."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"invalid object key {key!r}: {reason}")
        self.key = key


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    # When the object was last written (UTC), as the store reports it; not part of equality.
    last_modified: datetime | None = field(default=None, compare=False)


class ObjectStore(Protocol):
    """Keys are '/'-separated and relative to the bucket (or data directory) root."""

    def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object under `prefix` at any depth, sorted by key (plain string-prefix match,
        as in S3: `a/b` also matches `a/bc.csv`)."""
        ...

    def get(self, key: str) -> bytes:
        """The whole object; raises ObjectNotFound."""
        ...

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes `[start, end)` of an object (one ranged request; raises ObjectNotFound)."""
        ...

    def get_to_file(self, key: str, path: Path) -> None:
        """Stream an object into a local file without holding it in memory."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The object's own file when the store is a local directory, so readers can use it
        in place instead of copying it; None for remote stores."""
        ...

    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None:
        """Upload a local file (multipart when large). The object may share the file's storage
        (a local store hard-links it): replace or delete `path` afterwards, never rewrite it in
        place."""
        ...

    def delete_many(self, keys: Sequence[str]) -> None:
        """Delete keys concurrently; missing keys are not an error."""
        ...
