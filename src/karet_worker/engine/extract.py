"""Extract: list a source's input objects and bring each to a local file ahead of use.
Reading a file's rows is `engine/read/`'s job."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from karet_worker.config.model import SOURCE_SUFFIXES, SourceContainer
from karet_worker.layout import PipelineKeys
from karet_worker.storage.base import ObjectInfo, ObjectStore

_T = TypeVar("_T")
_R = TypeVar("_R")


def list_inputs(store: ObjectStore, pipeline_prefix: str, source: SourceContainer) -> list[str]:
    """Every key under the source's prefix with a suffix of its format (`.csv`, `.csv.gz` for
    csv; SPEC §13 for the others), sorted (= ingest order)."""
    objects: list[ObjectInfo] = store.list(PipelineKeys(pipeline_prefix).inputs(source.path_prefix))
    suffixes = SOURCE_SUFFIXES[source.format]
    return sorted(o.key for o in objects if o.key.lower().endswith(suffixes))


@dataclass(frozen=True)
class LocalInput:
    """An input object as a local file; `temporary` is false when it is the local store's own
    file, read in place."""

    key: str
    path: Path
    temporary: bool


class Prefetcher:
    """Brings inputs to local disk ahead of use with a bounded number of downloads in flight,
    so reading S3 overlaps with computing on the previous file."""

    def __init__(
        self,
        store: ObjectStore,
        keys: list[str],
        workdir: Path,
        pool: ThreadPoolExecutor,
        ahead: int,
    ) -> None:
        self._store = store
        self._keys = keys
        self._workdir = workdir
        self._pool = pool
        self._ahead = max(1, ahead)

    def __iter__(self) -> Iterator[tuple[str, Future[LocalInput]]]:
        pending: list[tuple[str, Future[LocalInput]]] = []
        keys = iter(enumerate(self._keys))
        for index, key in keys:
            pending.append((key, self._pool.submit(self._fetch, index, key)))
            if len(pending) >= self._ahead:
                break
        while pending:
            yield pending.pop(0)
            nxt = next(keys, None)
            if nxt is not None:
                pending.append((nxt[1], self._pool.submit(self._fetch, *nxt)))

    def _fetch(self, index: int, key: str) -> LocalInput:
        in_place = self._store.local_path(key)
        if in_place is not None:
            return LocalInput(key, in_place, temporary=False)
        path = self._workdir / f"in-{index:06d}.raw"
        self._store.get_to_file(key, path)
        return LocalInput(key, path, temporary=True)


_END = object()


def produce_ahead(items: Generator[_T, None, None], *, ahead: int) -> Generator[_T, None, None]:
    """The items of `items`, produced on a thread of their own up to `ahead` ahead of the
    caller (reading + parsing the next chunks overlaps with what the caller does with this
    one). Errors of `items` surface where the item would have been; closing this closes
    `items` once its steps in flight are over.

        list(produce_ahead((n for n in range(3)), ahead=2))   # [0, 1, 2]
    """
    # One thread runs the queued `next` calls in order: a generator is never entered twice.
    with ThreadPoolExecutor(1, thread_name_prefix="karet-read") as reader:
        pending = deque(reader.submit(next, items, _END) for _ in range(ahead))
        try:
            while True:
                item = pending.popleft().result()
                if item is _END:
                    return
                pending.append(reader.submit(next, items, _END))
                yield item  # type: ignore[misc]  # anything but _END is an item of `items`
        finally:
            for future in pending:
                future.cancel()
            with suppress(Exception):  # its error, if any, is not this caller's concern any more
                for future in pending:
                    if not future.cancelled():
                        future.result()
            items.close()


def in_order(
    items: Generator[_T, None, None],
    work: Callable[[_T], _R],
    pool: Executor,
    *,
    ahead: int,
    heavy: Callable[[_T], bool] = lambda _: True,
) -> Generator[_R, None, None]:
    """`work(item)` for each of `items`, in order, with up to `ahead` of them running on `pool`
    or done and waiting while the caller uses the previous result. Items that are not `heavy`
    (a run's file markers among its chunks) are worked on the spot and take no slot. `work`
    must be free of side effects: a caller that stops early leaves the ones in flight to finish
    unused, and closes `items`.

        list(in_order((n for n in [1, 2, 3]), lambda n: n * 10, pool, ahead=2))  # [10, 20, 30]
    """
    pending: deque[tuple[Future[_R], bool]] = deque()  # (result, takes a slot)
    slots = 0

    def oldest() -> _R:
        nonlocal slots
        future, slot = pending.popleft()
        slots -= slot
        return future.result()

    try:
        for item in items:
            if heavy(item):
                pending.append((pool.submit(work, item), True))
                slots += 1
            else:
                done: Future[_R] = Future()
                done.set_result(work(item))
                pending.append((done, False))
            while pending and (pending[0][0].done() or slots >= ahead):
                yield oldest()
        while pending:
            yield oldest()
    finally:
        futures = [future for future, _ in pending]
        for future in futures:
            future.cancel()
        wait(futures)
        items.close()


@contextmanager
def removing(path: Path, *, temporary: bool = True) -> Iterator[Path]:
    """Delete a temporary file as soon as every user is done with it (bounded disk use)."""
    try:
        yield path
    finally:
        if temporary:
            path.unlink(missing_ok=True)
