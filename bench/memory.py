"""Where karet-worker's memory goes: one run on the benchmark's store, RSS sampled by phase.

The run has two phases: *read* (extract + transform, rows streamed into row groups or waiting
for theirs) and *load* (the last row group of every partition, upload). This prints the peak
and median RSS of each, the peak of the waiting rows the memory budget counts and of Arrow's
allocator (row groups being encoded), for the engine's limits or the ones given, so a change
to the budget, the row-group size or the number of writers can be judged on time and memory.
Usage (after `bench/run.py` has laid out the store):

    uv run python bench/memory.py --pipeline plain-4gb [--budget-mb 96] [--row-group 16384]
        [--writers 2] [--chunk-mb 8] [--writer-queue 64] [--evaluate-ahead 2] [--parse-ahead 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import threading
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "2")  # before Polars is imported, like the bench

# first: the package sets the allocators' environment, which pyarrow reads when it loads
import karet_worker  # noqa: F401

# isort: split
import pyarrow as pa

from karet_worker.engine import run
from karet_worker.engine.limits import MIB, Limits
from karet_worker.storage.factory import open_local_store

BENCH_DIR = Path(__file__).resolve().parent
SAMPLE_S = 0.1


class PhaseSampler:
    """Samples RSS, the budget's waiting bytes and Arrow's allocation every SAMPLE_S seconds,
    tagged with the current phase."""

    def __init__(self, runner: run.Runner) -> None:
        self.runner = runner
        self.phase = "read"
        self.samples: dict[str, list[tuple[int, int, int]]] = {"read": [], "load": []}
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
            self.sample()

    def sample(self) -> None:
        sample = (_rss_mb(), self.runner.budget.used // MIB, pa.total_allocated_bytes() // MIB)
        self.samples[self.phase].append(sample)


def _rss_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024


def measure(store: Path, pipeline: str, limits: Limits) -> tuple[float, PhaseSampler, int]:
    """Run `pipelines/<pipeline>/` once; returns wall seconds, the samples, rows written."""
    shutil.rmtree(store / "pipelines" / pipeline / "clean", ignore_errors=True)
    runner = run.Runner(open_local_store(store), limits=limits)
    original = run._Run._load

    with PhaseSampler(runner) as sampler:

        def tagged(self: run._Run, states: list[run._MappingState]) -> tuple[set[str], set[str]]:
            sampler.sample()  # the read phase may be shorter than a tick
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
    defaults = Limits.for_machine()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", required=True, help="e.g. plain-4gb, lookup-heavy-250mb")
    parser.add_argument("--store", type=Path, default=BENCH_DIR / "out" / "store")
    parser.add_argument("--budget-mb", type=int, default=defaults.memory_budget_bytes // MIB)
    parser.add_argument("--row-group", type=int, default=defaults.row_group_rows)
    parser.add_argument("--writers", type=int, default=defaults.writers)
    parser.add_argument("--chunk-mb", type=int, default=defaults.chunk_bytes // MIB)
    parser.add_argument("--writer-queue", type=int, default=defaults.writer_queue)
    parser.add_argument("--evaluate-ahead", type=int, default=defaults.evaluate_ahead)
    parser.add_argument("--parse-ahead", type=int, default=defaults.parse_ahead)
    args = parser.parse_args(argv)
    limits = dataclasses.replace(
        defaults,
        memory_budget_bytes=args.budget_mb * MIB,
        row_group_rows=args.row_group,
        writers=args.writers,
        chunk_bytes=args.chunk_mb * MIB,
        writer_queue=args.writer_queue,
        evaluate_ahead=args.evaluate_ahead,
        parse_ahead=args.parse_ahead,
    )
    seconds, sampler, rows = measure(args.store.resolve(), args.pipeline, limits)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"{args.pipeline}: budget {args.budget_mb} MB, row group {args.row_group:,}, "
        f"{args.writers} writer(s), chunks {args.chunk_mb} MB, queue {args.writer_queue}, "
        f"evaluate ahead {args.evaluate_ahead}, parse ahead {args.parse_ahead}: {seconds:.1f} s, "
        f"cpu {usage.ru_utime + usage.ru_stime:.1f} s, "
        f"{rows:,} rows, peak RSS {usage.ru_maxrss // 1024} MB"
    )
    for phase, values in sampler.samples.items():
        if values:
            rss = sorted(v[0] for v in values)
            print(
                f"  {phase}: RSS peak {rss[-1]} MB, median {rss[len(rss) // 2]} MB; waiting rows "
                f"peak {max(v[1] for v in values)} MB; Arrow allocated peak "
                f"{max(v[2] for v in values)} MB ({len(values)} samples)"
            )


if __name__ == "__main__":
    main()
