"""Translate obstore/OS failures into the storage layer's own exceptions.

obstore's messages embed request dumps, XML bodies and Rust debug trees; API clients and logs
need one short line naming the operation, the key and the cause instead.
"""

from __future__ import annotations

import re

from obstore.exceptions import BaseError as ObstoreError

from karet_worker.storage.base import InvalidKey, ObjectNotFound, StorageUnavailable

_S3_CODE = re.compile(r"<Code>([^<]+)</Code>")
_STATUS = re.compile(r"status code: (\d{3})")
_XML = re.compile(r"<\?xml.*", re.DOTALL)
_MAX_REASON = 200
# Without keys, the S3 client asks the cloud instance metadata service for credentials; off a
# cloud VM that answers 403 or nothing, which is not the S3 server refusing anything.
_METADATA_SERVICE = "169.254.169.254"


def short_reason(text: str) -> str:
    """One human-readable line for an obstore/OS error message."""
    lowered = text.lower()
    code_match = _S3_CODE.search(text)
    code = code_match.group(1) if code_match else None
    status_match = _STATUS.search(text)
    status = status_match.group(1) if status_match else None
    if _METADATA_SERVICE in text:
        return (
            "no S3 credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set and the "
            f"cloud instance metadata service ({_METADATA_SERVICE}) gave none; the S3 server "
            "itself was not contacted"
        )
    if "connection refused" in lowered or "connectionrefused" in lowered:
        return "connection refused (is the S3 server running?)"
    if "dns error" in lowered or "failed to lookup address" in lowered:
        return "the endpoint host name could not be resolved"
    if status in ("401", "403") or code in ("SignatureDoesNotMatch", "InvalidAccessKeyId"):
        detail = f"HTTP {status}" + (f" {code}" if code else "") if status else code
        return f"access denied ({detail}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
    if code == "NoSuchBucket":
        return "the bucket does not exist"
    if status in ("429", "503") or code in ("SlowDown", "Throttling", "RequestLimitExceeded"):
        return f"throttled by the server (HTTP {status or '?'}), still failing after retries"
    if "timed out" in lowered or "timedout" in lowered or "deadline" in lowered:
        return "the request timed out after retries"
    if "permission denied" in lowered:
        return "permission denied on the local data directory"
    if "no space left" in lowered:
        return "no space left on device"
    first = _XML.sub("", text.split("\n\nDebug source:", 1)[0]).strip()
    first = " ".join(first.split())
    if status and code:
        first = f"HTTP {status} {code}: {first}"
    return first if len(first) <= _MAX_REASON else first[: _MAX_REASON - 3] + "..."


# What the wrappers catch: obstore's own errors, OS errors (local store, not-found), bad paths.
STORE_FAILURES: tuple[type[Exception], ...] = (ObstoreError, OSError, ValueError)


def translate(exc: Exception, *, op: str, key: str, where: str) -> Exception:
    """The storage-layer exception to raise (`from exc`) for one of STORE_FAILURES."""
    text = str(exc)
    head = text.split("\n\nDebug source:", 1)[0]
    if isinstance(exc, FileNotFoundError):
        # S3 answers 404 both for a missing key and for a missing bucket; only one is "not found".
        if "NoSuchBucket" not in text:
            return ObjectNotFound(key)
    elif isinstance(exc, ValueError) or "InvalidPath" in text:
        return InvalidKey(key, " ".join(head.split()))
    return StorageUnavailable(
        f"storage unavailable: {op} {key!r} on {where} failed: {short_reason(text)}"
    )
