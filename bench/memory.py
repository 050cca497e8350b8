"""Where karet-worker's memory goes: one run on the benchmark's store, RSS sampled by phase.

The run has two phases: *read* (extract + transform + spill, file by file) and *load* (one
Parquet file per partition from the spilled parts). This prints the peak and median RSS of
each, for the engine's settings or for the ones given, so a change to the spill budget, the
row group size or the number of writers can be judged on both time and memory. Usage (after
`bench/run.py` has laid out the store):

    uv run python bench/memory.py --pipeline plain-4gb [--budget-mb 96] [--row-group 131072]
        [--writers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import threading
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "2")  # before Polars is imported, like the bench

from karet_worker.engine import load, run
from karet_worker.storage.factory import open_local_store

BENCH_DIR = Path(__file__).resolve().parent
SAMPLE_S = 0.2


class PhaseSampler:
    """Samples this process's RSS every SAMPLE_S seconds, tagged with the current phase."""

    def __init__(self) -> None:
        self.phase = "read"
        self.samples: dict[str, list[int]] = {"read": [], "load": []}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> PhaseSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.samples[self.phase].append(_rss_mb())


def _rss_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


def measure(store: Path, pipeline: str) -> tuple[float, PhaseSampler, int]:
    """Run `pipelines/<pipeline>/` once; returns wall seconds, the samples, rows written."""
    shutil.rmtree(store / "pipelines" / pipeline / "clean", ignore_errors=True)
    runner = run.Runner(open_local_store(store))
    original = run._Run._load

    with PhaseSampler() as sampler:

        def tagged(self: run._Run, states: list[run._MappingState]) -> tuple[set[str], set[str]]:
            sampler.phase = "load"
            return original(self, states)

        run._Run._load = tagged  # type: ignore[method-assign]
        try:
            started = time.perf_counter()
            result = runner.run(f"pipelines/{pipeline}/")
            seconds = time.perf_counter() - started
        finally:
            run._Run._load = original  # type: ignore[method-assign]
    return seconds, sampler, result.rows_written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", required=True, help="e.g. plain-4gb, lookup-heavy-250mb")
    parser.add_argument("--store", type=Path, default=BENCH_DIR / "out" / "store")
    parser.add_argument("--budget-mb", type=int, default=load.MEMORY_BUDGET >> 20)
    parser.add_argument("--row-group", type=int, default=load.ROW_GROUP_SIZE)
    parser.add_argument("--writers", type=int, default=run.WRITERS)
    args = parser.parse_args(argv)
    load.MEMORY_BUDGET = args.budget_mb << 20
    load.ROW_GROUP_SIZE = args.row_group
    run.WRITERS = args.writers

    seconds, sampler, rows = measure(args.store.resolve(), args.pipeline)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"{args.pipeline}: budget {args.budget_mb} MB, row group {args.row_group:,}, "
        f"{args.writers} writer(s): {seconds:.1f} s, {rows:,} rows, peak RSS {peak} MB"
    )
    for phase, values in sampler.samples.items():
        if values:
            median = sorted(values)[len(values) // 2]
            print(f"  {phase}: peak {max(values)} MB, median {median} MB ({len(values)} samples)")


if __name__ == "__main__":
    main()
