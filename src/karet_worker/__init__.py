"""karet-worker: declarative pipelines from raw files to Hive-partitioned Parquet."""

import os

# Arrow (the CSV reader, the Parquet writer) allocates from jemalloc, which keeps freed pages
# for reuse. pyarrow's default, mimalloc, hands them back to the kernel and faults fresh zeroed
# ones in for the next block or row group: zeroing pages was 12% of a plain-250mb run's CPU
# samples, sys time 0.85-1.58 s vs 0.31-0.57 s, peak RSS 423-430 MB vs 355-375 MB
# (bench/README.md). Read once, when Arrow first allocates, so it is set before anything
# imports pyarrow; an explicit setting of the user's wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
