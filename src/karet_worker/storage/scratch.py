"""Local scratch directories owned by a live process, and the sweeping of dead owners' ones.

A run's spill/work files and the local store's half-written objects live in such directories.
`kill -9` leaves them behind; the next process to start sweeps them. A directory is dead when
no process holds the `flock` on it: the kernel drops that lock when its owner exits, however it
exits, so there is no pid to recycle and no clock to trust.

    with ScratchDir(Path("/tmp"), "karet-run") as scratch:   # /tmp/karet-run-4242-9f3a1c2e/
        ...                                                  # removed on exit
    sweep_dead(Path("/tmp"), "karet-run")                    # -> the dirs of dead runs, removed
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
import weakref
from pathlib import Path
from types import TracebackType

log = logging.getLogger("karet_worker.storage")


def _name_pattern(label: str) -> re.Pattern[str]:
    return re.compile(re.escape(label) + r"-\d+-[0-9a-f]{8}")


def _try_lock(directory: Path) -> int | None:
    """An fd of `directory` holding its exclusive flock, or None when someone else holds it."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class ScratchDir:
    """`<base>/<label>-<pid>-<random>/`, locked by this process until `close` (or until the
    object is garbage-collected, or the process dies), then removed."""

    def __init__(self, base: Path, label: str) -> None:
        base.mkdir(parents=True, exist_ok=True)
        while True:
            path = base / f"{label}-{os.getpid()}-{secrets.token_hex(4)}"
            path.mkdir()
            fd = _try_lock(path)
            # A sweeper may take a fresh directory's lock before we do and remove it: retry.
            if fd is not None and _same_directory(fd, path):
                break
            if fd is not None:
                os.close(fd)
        self.path = path
        self._finalizer = weakref.finalize(self, _remove, path, fd)

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> ScratchDir:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _same_directory(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except OSError:
        return False


def _remove(path: Path, fd: int) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.close(fd)


def sweep_dead(base: Path, label: str) -> list[Path]:
    """Remove every `<label>-*` directory under `base` whose owner is gone; returns them."""
    pattern = _name_pattern(label)
    try:
        entries = list(base.iterdir())
    except OSError:
        return []
    removed: list[Path] = []
    for entry in entries:
        if not pattern.fullmatch(entry.name) or not entry.is_dir():
            continue
        fd = _try_lock(entry)
        if fd is None:
            continue  # a live owner (or gone already)
        _remove(entry, fd)
        removed.append(entry)
    if removed:
        log.info(
            "removed scratch directories of dead processes",
            extra={"base": str(base), "count": len(removed)},
        )
    return removed
