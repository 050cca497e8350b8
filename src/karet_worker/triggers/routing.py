"""Which pipelines an uploaded object feeds (SPEC §12, upload-triggered runs).

A pipeline at prefix `P` takes key `K` when one of its sources has `P + path_prefix` as a
prefix of `K`. `P` ends in '/', so `P` is one of the '/'-ending prefixes of `K`: looking only
those up (a few config reads, cached) is exact and never lists the bucket, whose listing grows
with every raw file ever uploaded.

    >>> index = PipelineIndex(store)  # store holds pipelines/shop/pipeline.json, source raw/tx/
    >>> index.pipelines_for("pipelines/shop/raw/tx/2024-01.csv")
    ['pipelines/shop/']
    >>> index.pipelines_for("pipelines/shop/clean/sales/m1.parquet")  # our own output
    []
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from karet_worker.engine.result import ConfigInvalid, ConfigNotFound
from karet_worker.engine.run import load_config
from karet_worker.layout import (
    CLEAN_DIR,
    CONFIG_NAME,
    JOBS_DIR,
    PipelineKeys,
    pipeline_prefix_problems,
)
from karet_worker.storage.base import ObjectStore

log = logging.getLogger("karet_worker.triggers")

# What the worker itself writes under a pipeline prefix: a write there must never start a run
# (a run writing clean/ would otherwise trigger itself forever).
OWN_OUTPUTS = (CLEAN_DIR, JOBS_DIR, CONFIG_NAME)


class _Entry(NamedTuple):
    expires: float
    source_prefixes: tuple[str, ...]  # full keys `P + path_prefix`; empty: no usable config


class PipelineIndex:
    """Finds the pipelines whose sources contain a key; configs are cached for `ttl_s`.

    The cache also remembers where there is no (valid) config, so a burst of uploads into one
    folder costs one read per folder level, not one per upload. An edited or new pipeline is
    picked up after at most `ttl_s` seconds. At most `max_entries` prefixes are remembered
    (least recently used go first).
    """

    def __init__(
        self,
        store: ObjectStore,
        *,
        ttl_s: float = 10.0,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._cache: OrderedDict[str, _Entry] = OrderedDict()

    def pipelines_for(self, key: str) -> list[str]:
        """The pipeline prefixes (shortest first) with a source containing `key`.

        Raises StorageUnavailable when a config cannot be read.
        """
        found = []
        for prefix in candidate_prefixes(key):
            if key[len(prefix) :].startswith(OWN_OUTPUTS):
                continue
            if any(key.startswith(source) for source in self._sources(prefix)):
                found.append(prefix)
        return found

    def _sources(self, prefix: str) -> tuple[str, ...]:
        now = self._clock()
        entry = self._cache.get(prefix)
        if entry is not None and entry.expires > now:
            self._cache.move_to_end(prefix)
            return entry.source_prefixes
        sources = self._read_sources(prefix)
        self._cache[prefix] = _Entry(now + self._ttl_s, sources)
        self._cache.move_to_end(prefix)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
        return sources

    def _read_sources(self, prefix: str) -> tuple[str, ...]:
        try:
            config = load_config(self._store, prefix).config
        except ConfigNotFound:
            return ()
        except ConfigInvalid as exc:
            # A run would fail on it too; say so once per cache period rather than per upload.
            log.warning(
                "upload event: pipeline config is invalid, its sources are unknown",
                extra={"pipeline_prefix": prefix, "error": str(exc)},
            )
            return ()
        keys = PipelineKeys(prefix)
        return tuple(keys.inputs(source.path_prefix) for source in config.source_containers)


def candidate_prefixes(key: str) -> list[str]:
    """Every '/'-ending prefix of `key` that is a valid pipeline prefix, shortest first.

    >>> candidate_prefixes("pipelines/shop/raw/a.csv")
    ['pipelines/', 'pipelines/shop/', 'pipelines/shop/raw/']
    """
    found = []
    segments = key.split("/")[:-1]  # the last part is the object's own name
    for depth in range(1, len(segments) + 1):
        prefix = "/".join(segments[:depth]) + "/"
        if pipeline_prefix_problems(prefix):
            break  # the bad segment (or length) stays in every longer prefix
        found.append(prefix)
    return found
