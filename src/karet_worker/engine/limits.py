"""Every tuning knob of the engine in one object, built once per process and handed to the
`Runner` (tests and benchmarks pass their own instead of patching module globals).

    >>> Limits.for_machine(cores=2).writers
    2
    >>> Limits(memory_budget_bytes=1).memory_budget_bytes  # a test forcing every spill
    1
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from karet_worker.engine.read.base import CHUNK_BYTES

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Sizes and concurrency of one process's runs; the reason for each default is measured in
    bench/README.md."""

    # Record-aligned piece of an input parsed at once: 8 MB chunks cost ~+20 MB of transient
    # memory, 32 MB ones +220 MB, for no speed.
    chunk_bytes: int = CHUNK_BYTES
    # Output rows waiting for their row group, all runs of the process together; past it the
    # largest waiting buffers are spilled to local disk.
    memory_budget_bytes: int = 96 * MIB
    # Rows per Parquet row group (each partition's rows are cut on a fixed grid of it, the
    # first group staggered per partition: `load.RowGroupGrid`; so the bytes never depend on
    # timing or memory pressure). Every open partition holds up to one row group while it
    # fills: 49 partitions x 16k rows x ~110 bytes ~ 86 MB.
    row_group_rows: int = 16 * 1024
    # Threads encoding Parquet row groups while the main thread transforms the next chunk.
    writers: int = 2
    # Row groups handed to the writers and not yet encoded; the main thread waits past it.
    # Partitions fill in step: before their grids were staggered (`load.RowGroupGrid`) one
    # chunk made all 49 of the bench cross the row-group mark at once, and with 4 slots the
    # main thread sat 1.1 s of a 2.5 s plain-250mb run waiting while the writers idled
    # between bursts. 64 hold such a burst; a queued 16k-row group is ~1-3 MB there.
    writer_queue: int = 64
    # Partition files a run keeps open for streaming; partitions beyond it wait (spilled when
    # memory is short) and are written when the mapping finishes.
    open_files: int = 512
    # Steps of the input stream (a file's start, each chunk, its end) read and parsed ahead of
    # the chunks being evaluated, across file boundaries: the bench's inputs are one to four
    # chunks each. 1 (the next chunk is parsed while this one is evaluated) was as fast as 2
    # and held 11-26 MB less at peak (`karet-worker run`, alternating, median of 3-6:
    # plain-250mb 1.79 vs 1.86 s, 358 vs 369 MB; plain-1gb 5.70 vs 5.93 s, 395 vs 421 MB;
    # lookup-heavy-1gb 10.04 vs 10.38 s, 469 vs 485 MB; bench/README.md "Round nine").
    parse_ahead: int = 1
    # Chunks whose expressions are evaluated on the pool at once, ahead of the main thread
    # (which partitions and stages the previous one): parsing, evaluating and staging overlap.
    evaluate_ahead: int = 2
    # Input objects fetched ahead of the one being read (S3: downloads overlap the work).
    read_ahead: int = 4
    # Threads for storage calls (downloads, uploads, deletes).
    io_concurrency: int = 8
    # Output files uploaded at once: each multipart upload holds up to 4 parts of 8 MB, so 8
    # at once (the I/O pool's size) held up to 256 MB, the S3 run's extra peak at 4 GB.
    uploads: int = 2

    def __post_init__(self) -> None:
        for knob in fields(self):  # every knob is a count or a size
            if getattr(self, knob.name) < 1:
                value = getattr(self, knob.name)
                raise ValueError(f"Limits.{knob.name} must be at least 1, got {value}")

    @classmethod
    def for_machine(
        cls, *, cores: int | None = None, memory_budget_mb: int | None = None
    ) -> Limits:
        """Defaults sized to the cores Polars may use (POLARS_MAX_THREADS, else the CPU count):
        one encoder thread per core, at least two so encoding overlaps the main thread."""
        if cores is None:
            threads = os.environ.get("POLARS_MAX_THREADS", "").strip()
            cores = int(threads) if threads.isdigit() and int(threads) > 0 else os.cpu_count() or 2
        budget = cls.memory_budget_bytes if memory_budget_mb is None else memory_budget_mb * MIB
        return cls(writers=max(2, cores), memory_budget_bytes=budget)
