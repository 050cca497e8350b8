"""karet-worker: declarative pipelines from raw files to Hive-partitioned Parquet."""

import os

# Allocators, read once when each library loads, so set before anything imports Polars or
# pyarrow (the `karet-worker` command imports this package first); a user's own setting wins.
#
# Arrow (the CSV reader, the Parquet writer) allocates from jemalloc, which keeps freed pages
# for reuse. pyarrow's default, mimalloc, hands them back to the kernel and faults fresh zeroed
# ones in for the next block or row group: zeroing pages was 12% of a plain-250mb run's CPU
# samples, sys time 0.85-1.58 s vs 0.31-0.57 s, peak RSS 423-430 MB vs 355-375 MB.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
# Arrow's jemalloc purges freed pages after 1 s, but lazily (MADV_FREE: "muzzy" pages, still
# counted in RSS until the kernel is short of memory, for another 1 s by default); purging them
# at once (MADV_DONTNEED) lowered peak RSS by 13 MB at plain-1gb and 22 MB at lookup-heavy-1gb,
# same time (bench/memory.py, alternating, median of 4; bench/README.md "Round eight").
os.environ.setdefault("JE_ARROW_MALLOC_CONF", "muzzy_decay_ms:0")
# Polars' jemalloc keeps freed pages for 10 s by default; a run frees and reallocates its
# chunks every few milliseconds, so that was memory held for nothing: lookup-heavy-1gb peak
# RSS 514-533 MB -> 479 MB with a 0.5 s decay, same CPU (bench/README.md).
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:500,muzzy_decay_ms:0")
