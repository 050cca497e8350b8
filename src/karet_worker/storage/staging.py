"""Upload staging files that object_store's local writer left in table directories.

Before local writes went through `<root>/.karet-tmp/` (local_store.py), obstore staged every
object as `<key>#<n>` next to its final name and renamed it when complete. A process killed
mid-write left that file in the table folder, where every directory scan of the table then
failed ("paths with different file extensions"). This process never writes such a file, and
no key the worker writes contains `#` (layout.py builds names from `[A-Za-z0-9._-]` and
percent-encodes partition values), so a `<name>.parquet#<n>` below a `clean/` folder is a
leftover of a dead writer of an older version: it is removed at start-up.

The match is narrow on purpose: inputs live in the same tree, and a user's file is never
touched (a name must be a worker-built Parquet name plus the staging suffix, below `clean/`).

    sweep_staging_files(Path("data"))
    # data/p/clean/t/m.parquet#1 -> removed; data/p/raw/m.parquet#1 -> kept (an input)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

from karet_worker.layout import CLEAN_DIR

log = logging.getLogger("karet_worker.storage")

CLEAN = CLEAN_DIR.rstrip("/")  # the folder of a pipeline's tables
# object_store's staged upload: the final name, '#', and a counter from 1.
_STAGED = re.compile(r"[A-Za-z0-9._-]+\.parquet#[0-9]+")


def sweep_staging_files(root: Path, *, skip: str) -> list[Path]:
    """Remove the staging leftovers below every `clean/` folder under `root` (not looking
    into `root/<skip>`, the store's own temp folder); returns the removed files."""
    removed: list[Path] = []
    for path in _staged_files(root, skip=skip):
        try:
            path.unlink()
        except FileNotFoundError:
            continue  # another process starting up swept it first
        removed.append(path)
    if removed:
        log.info(
            "removed upload staging files left by an interrupted writer",
            extra={"root": str(root), "count": len(removed), "first": str(removed[0])},
        )
    return removed


def _staged_files(root: Path, *, skip: str) -> Iterator[Path]:
    # A walk of the whole tree: prefixes are not known here. 20,000 files in 4,000 folders
    # take ~75 ms of CPU, once per process start.
    for folder, dirs, files in os.walk(root):  # symlinks are not followed
        here = Path(folder)
        if here == root and skip in dirs:
            dirs.remove(skip)
        if CLEAN not in here.relative_to(root).parts:
            continue
        for name in files:
            if _STAGED.fullmatch(name):
                yield here / name
