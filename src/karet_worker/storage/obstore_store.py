"""`ObjectStore` over an obstore store: one code path for S3 and for a local directory.

obstore's synchronous calls release the GIL and its stores are safe to share between threads,
so the engine's thread pool can keep many requests in flight through one instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import obstore
from obstore.store import LocalStore, S3Store

from karet_worker.storage.base import ObjectInfo, ObjectNotFound
from karet_worker.storage.errors import STORE_FAILURES, translate

T = TypeVar("T")

PART_BYTES = 8 * 1024 * 1024  # multipart part size
# A download is written to its file as each piece of this size arrives. obstore gathers a
# piece before handing it over, so every download in flight held its size two or three times:
# 8 MiB pieces put the S3 run of plain-1gb 124 MB above the local one, 1 MiB ones 19 MB, in
# the same time (4 downloads ahead; alternating, median of 3; bench/README.md "Round eight").
DOWNLOAD_PIECE_BYTES = 1024 * 1024
PART_CONCURRENCY = 4  # parts in flight per upload: bounds memory to ~32 MiB per put
LIST_PAGE = 1000
# A read whose request failed before any answer came ("error sending request": the connection
# was reset) is sent again, after 0.1, 0.2, 0.4 s. The S3 client (object_store in obstore
# 0.12.1) gives up on such a reset without a retry (apache/arrow-rs-object-store#368, fixed
# upstream after it): a reset on the first request of a run failed the run with 503 in
# tests/integration/test_faults.py. Only requests that change nothing are sent again.
RESEND_DELAYS_S = (0.1, 0.2, 0.4)
_NOT_SENT = "error sending request"


class ObstoreStore:
    """The storage interface the engine uses, backed by obstore."""

    def __init__(
        self,
        store: S3Store | LocalStore,
        *,
        where: str,
        bulk_delete: bool,
        delete_concurrency: int = 8,
        local_root: Path | None = None,
    ) -> None:
        """`where` names the store in error messages; `bulk_delete` says whether deleting a
        missing key is harmless in one batched call (S3) or must go key by key (local);
        `local_root` is the directory of a local store, whose files can be read in place."""
        self._store = store
        self.where = where
        self._bulk_delete = bulk_delete
        self._delete_concurrency = max(1, delete_concurrency)
        self._local_root = local_root

    def __repr__(self) -> str:
        return f"ObstoreStore({self.where})"

    def _call(self, op: str, key: str, fn: Callable[[], T], *, resend: bool = False) -> T:
        """`fn()`, its failure translated; `resend`: a request that changes nothing, sent
        again when it failed before any answer came (`RESEND_DELAYS_S`)."""
        delays = iter(RESEND_DELAYS_S if resend else ())
        while True:
            try:
                return fn()
            except STORE_FAILURES as exc:
                delay = next(delays, None) if _NOT_SENT in str(exc) else None
                if delay is None:
                    raise translate(exc, op=op, key=key, where=self.where) from exc
            time.sleep(delay)

    def list(self, prefix: str) -> list[ObjectInfo]:
        # obstore matches prefixes by whole path segment; S3 semantics are plain string
        # prefixes, so list the enclosing "directory" and filter when prefix ends mid-segment.
        directory = prefix if prefix.endswith("/") or not prefix else prefix.rpartition("/")[0]

        def collect() -> list[ObjectInfo]:
            found: list[ObjectInfo] = []
            stream = obstore.list(self._store, directory or None, chunk_size=LIST_PAGE)
            for page in stream:
                found.extend(
                    ObjectInfo(
                        key=meta["path"], size=meta["size"], last_modified=meta["last_modified"]
                    )
                    for meta in page
                    if meta["path"].startswith(prefix)
                )
            return found

        found = self._call("list", prefix, collect, resend=True)
        found.sort(key=lambda info: info.key)
        return found

    def get(self, key: str) -> bytes:
        return self._call(
            "get", key, lambda: bytes(obstore.get(self._store, key).bytes()), resend=True
        )

    def get_range(self, key: str, start: int, end: int) -> bytes:
        return self._call(
            "get",
            key,
            lambda: bytes(obstore.get_range(self._store, key, start=start, end=end)),
            resend=True,
        )

    def local_path(self, key: str) -> Path | None:
        if self._local_root is None:
            return None
        path = self._local_root / key
        if not path.is_file():
            raise ObjectNotFound(key)
        return path

    def get_to_file(self, key: str, path: Path) -> None:
        chunks = self._call(
            "get",
            key,
            lambda: iter(obstore.get(self._store, key).stream(DOWNLOAD_PIECE_BYTES)),
            resend=True,
        )
        try:
            with path.open("wb") as out:
                for chunk in self._guarded_chunks(key, chunks):
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def _guarded_chunks(self, key: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Yield the chunks, translating errors raised while the body is still arriving."""
        while True:
            chunk = self._call("get", key, lambda: next(chunks, None))
            if chunk is None:
                return
            yield chunk

    def put(self, key: str, data: bytes) -> None:
        self._call("put", key, lambda: self._put(key, data))

    def put_file(self, key: str, path: Path) -> None:
        path.stat()  # a missing local file is the caller's error, not "object not found"
        self._call("put", key, lambda: self._put(key, path))

    def _put(self, key: str, payload: bytes | Path) -> None:
        obstore.put(
            self._store,
            key,
            payload,
            chunk_size=PART_BYTES,
            max_concurrency=PART_CONCURRENCY,
        )

    def delete_many(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        label = keys[0] if len(keys) == 1 else f"{keys[0]} (and {len(keys) - 1} more)"
        if self._bulk_delete:
            delete = partial(obstore.delete, self._store, list(keys))
            self._call("delete", label, delete, resend=True)
            return
        workers = min(self._delete_concurrency, len(keys))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="delete") as pool:
            for future in [pool.submit(self._delete_one, key) for key in keys]:
                future.result()

    def _delete_one(self, key: str) -> None:
        try:
            obstore.delete(self._store, key)
        except FileNotFoundError:
            return
        except STORE_FAILURES as exc:
            raise translate(exc, op="delete", key=key, where=self.where) from exc
