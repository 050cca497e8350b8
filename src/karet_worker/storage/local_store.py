"""The embedded store (SPEC §2): a local directory laid out like the bucket.

Reads and listings go through obstore like S3's. Writes are made here, because obstore's local
writer stages an object as `<key>#<n>` next to its final name: a `kill -9` left that file in
the table folder, where every directory scan of the table then failed. Here an object's bytes
go to a temp file under `<root>/.karet-tmp/` (outside every key a pipeline uses, and never
listed) and are renamed onto the key once complete, so a reader sees the old object or the new
one, never part of one (SPEC §15). Temp directories of dead processes, and the staging files
obstore's writer left in table folders before, are swept at start-up (storage/staging.py).

    store = open_local_store(Path("data"))   # sweeps data/.karet-tmp/ of dead writers
    store.put("p/clean/t/m.parquet", data)   # data/.karet-tmp/writer-<pid>-<r>/<n> -> rename
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from obstore.store import LocalStore

from karet_worker.storage.base import (
    DiskFull,
    InvalidKey,
    ObjectInfo,
    StorageUnavailable,
    is_disk_full,
)
from karet_worker.storage.obstore_store import ObstoreStore
from karet_worker.storage.scratch import ScratchDir, sweep_dead
from karet_worker.storage.staging import sweep_staging_files

TEMP_DIR = ".karet-tmp"
_WRITER = "writer"


class LocalObjectStore(ObstoreStore):
    """A directory as the object store; writes are atomic renames from `<root>/.karet-tmp/`."""

    def __init__(self, root: Path) -> None:
        super().__init__(
            LocalStore(root), where=f"local store at {root}", bulk_delete=False, local_root=root
        )
        self.root = root
        self._temp_base = root / TEMP_DIR
        sweep_dead(self._temp_base, _WRITER)
        sweep_staging_files(root, skip=TEMP_DIR)  # obstore's, from before the temp directory
        self._scratch: ScratchDir | None = None
        self._guard = threading.Lock()
        self._numbers = itertools.count()

    def list(self, prefix: str) -> list[ObjectInfo]:
        return [o for o in super().list(prefix) if not o.key.startswith(TEMP_DIR + "/")]

    def put(self, key: str, data: bytes) -> None:
        self._write(key, lambda temp: temp.write_bytes(data))

    def put_file(self, key: str, path: Path) -> None:
        path.stat()  # a missing local file is the caller's error, not "object not found"
        self._write(key, lambda temp: _link_or_copy(path, temp))

    def _write(self, key: str, fill: Callable[[Path], object]) -> None:
        target = self._path(key)
        temp = self._temp_dir() / str(next(self._numbers))
        try:
            fill(temp)
            target.parent.mkdir(parents=True, exist_ok=True)
            # No fsync: this guards against the process dying (kill -9, OOM), whose writes the
            # page cache keeps; surviving power loss would cost two fsyncs per object.
            os.replace(temp, target)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise self._failure(exc, key) from exc

    def _path(self, key: str) -> Path:
        """The file of `key`; keys that would not name a file inside the root are refused."""
        segments = key.split("/")
        if any(segment in ("", ".", "..") for segment in segments):
            raise InvalidKey(key, "empty, '.' or '..' path segment")
        if segments[0] == TEMP_DIR:
            raise InvalidKey(key, f"{TEMP_DIR}/ holds the store's temp files")
        return self.root / key

    def _temp_dir(self) -> Path:
        """This process's temp directory, made at the first write (read-only users make none)."""
        with self._guard:
            if self._scratch is None:
                self._scratch = ScratchDir(self._temp_base, _WRITER)
            return self._scratch.path

    def _failure(self, exc: OSError, key: str) -> StorageUnavailable:
        reason = exc.strerror or str(exc)
        if is_disk_full(exc):
            return DiskFull(
                f"storage unavailable: {self.where} is full ({reason}) while writing {key}"
            )
        return StorageUnavailable(
            f"storage unavailable: {self.where} could not write {key} ({reason})"
        )

    def delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            try:
                self._path(key).unlink(missing_ok=True)
            except OSError as exc:
                raise StorageUnavailable(
                    f"storage unavailable: {self.where} could not delete {key} "
                    f"({exc.strerror or exc})"
                ) from exc


def _link_or_copy(source: Path, target: Path) -> None:
    """`target` with the bytes of `source`: a hard link when both are on one file system (a
    run's output files are finished in its work directory; copying them cost 4-5% of a plain
    run's CPU, bench/README.md), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
