"""Where karet-worker's time goes: one run under cProfile, summarised by stage.

The engine's heavy lifting happens in Polars (Rust), but it is driven from one thread, so the
cumulative wall time of each engine function is what that stage costs. The run is the engine
called in-process (`Runner.run` on the bench's local store, start-up not included):
`karet-worker run` drives it from a worker thread of its event loop, which cProfile on the
command would not see (it showed only the main thread waiting in `epoll`). Usage:

    uv run python bench/profile_ours.py --size 250mb --workload lookup-heavy [--top 25]
"""

from __future__ import annotations

import argparse
import pstats
import subprocess
import sys
from pathlib import Path

import engine_source
import gen
import run as bench_run
import workload as wl

# Polars calls worth seeing by name: they are where the engine hands work to Rust.
_POLARS_CALLS = (
    "collect",
    "__next__",  # collect_batches
    "sink_parquet",
    "sink_ipc",
    "write_parquet",
    "write_ipc",
    "partition_by",
    "scan_csv",
    "read_csv",
)


# argv: store directory, pipeline prefix, .prof file to write
_PROFILED_RUN = """
import cProfile, sys
from pathlib import Path
from karet_worker.engine.run import Runner
from karet_worker.storage.factory import open_local_store
runner = Runner(open_local_store(Path(sys.argv[1])))
profiler = cProfile.Profile()
result = profiler.runcall(runner.run, sys.argv[2])
profiler.dump_stats(sys.argv[3])
sys.exit(1 if result.errors else 0)
"""


def profile(size: str, workload: str, data_dir: Path, out_dir: Path, use_snapshot: bool) -> Path:
    """Run ours once under cProfile on the benchmark's store; returns the .prof file."""
    manifest = gen.ensure_data(size, data_dir)
    store = out_dir / "store"
    prefix = bench_run._local_store_pipeline(store, workload, manifest, data_dir)
    bench_run._remove(store / prefix / "clean")()
    prof = out_dir / "profiles" / f"{workload}-{size}.prof"
    prof.parent.mkdir(parents=True, exist_ok=True)
    env = bench_run._base_env()
    if use_snapshot:
        env["PYTHONPATH"] = str(engine_source.snapshot(out_dir).pythonpath)
    cmd = [sys.executable, "-c", _PROFILED_RUN, str(store), prefix, str(prof)]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return prof


def summarise(prof: Path, top: int) -> str:
    stats = pstats.Stats(str(prof))
    raw = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (cc, nc, tt, ct, callers)}
    total = max(ct for (_cc, _nc, _tt, ct, _callers) in raw.values())
    rows: list[tuple[float, int, str]] = []
    for (filename, line, name), (_cc, ncalls, _tt, cumtime, _callers) in raw.items():
        if "karet_worker" in filename:
            short = filename.split("src/", 1)[-1]
            rows.append((cumtime, ncalls, f"{short}:{line} {name}"))
        elif "polars" in filename and name in _POLARS_CALLS:
            short = "polars/" + filename.split("polars/", 1)[-1]
            rows.append((cumtime, ncalls, f"{short}:{line} {name}"))
        elif filename == "~" and ("PyLazyFrame" in name or "builtins.next" in name):
            rows.append((cumtime, ncalls, name))
    rows.sort(reverse=True)
    lines = [
        f"total {total:.2f} s (wall, main thread)",
        "",
        "| cumulative s | share | calls | function |",
        "|---:|---:|---:|---|",
    ]
    lines += [f"| {ct:.2f} | {ct / total:.0%} | {nc} | `{name}` |" for ct, nc, name in rows[:top]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(gen.SIZES), default="250mb")
    parser.add_argument("--workload", choices=wl.WORKLOADS, default="lookup-heavy")
    parser.add_argument("--data-dir", type=Path, default=gen.DEFAULT_DATA_DIR)
    parser.add_argument("--out-dir", type=Path, default=bench_run.DEFAULT_OUT_DIR)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--snapshot", action="store_true", help="profile the committed src/")
    args = parser.parse_args(argv)
    prof = profile(
        args.size, args.workload, args.data_dir.resolve(), args.out_dir.resolve(), args.snapshot
    )
    print(f"profile: {prof}  (open with `python -m pstats {prof}`)")
    print(summarise(prof, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
