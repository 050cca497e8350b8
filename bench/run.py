"""The benchmark: karet-worker vs DuckDB vs a Polars script vs the Polars floor, alternating,
in one command.

    uv run python bench/run.py --size 250mb [--size 1gb ...] [--repeat N] [--s3]

Each contender runs as its own process under `/usr/bin/time -v` (2 threads: POLARS_MAX_THREADS=2,
DuckDB `SET threads=2`); rounds rotate the order so no contender always runs first. After the
rounds, ours and the Polars script's outputs are checked to hold DuckDB's rows. Prints a
Markdown table for bench/README.md and writes the raw figures as JSON under bench/out/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import compare
import engine_source
import gen
import seaweed
import workload as wl
from engine_source import EngineSource
from measure import Measurement, run_measured, wait_for_idle, which_in_venv
from seaweed import S3Server

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_OUT_DIR = BENCH_DIR / "out"
THREADS = 2
CONTENDERS = ("ours", "duckdb", "polars", "floor", "ours-s3")
# Variables that would point karet-worker at S3; removed for the local-store runs.
_S3_VARS = (
    "S3_BUCKET", "S3_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_PROFILE",
)  # fmt: skip


@dataclass
class Job:
    """One timed contender on one (size, workload); `prepare` clears its output (untimed)."""

    size: str
    workload: str  # "-" for the floor, which does no pipeline work
    contender: str
    cmd: list[str]
    env: dict[str, str]
    prepare: Callable[[], None]
    runs: list[Measurement] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.size, self.workload, self.contender)


@dataclass
class Summary:
    size: str
    workload: str
    contender: str
    runs: int
    failed: int
    wall_s: float | None  # median of successful runs
    peak_rss_mb: float | None  # max over successful runs
    cpu_percent: float | None
    rows_per_s: float | None
    mb_per_s: float | None
    walls: list[float]
    others_cpu_percent: list[float]  # other processes' CPU during each run (100 = one core)
    cpu_s: float | None = None  # median user + sys seconds (absent in results saved before)


# ---------------------------------------------------------------- setup


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _S3_VARS}
    env["POLARS_MAX_THREADS"] = str(THREADS)
    return env


def _slug(workload: str, size: str) -> str:
    return f"{workload}-{size}"


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard link (no extra disk, same bytes), or copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _local_store_pipeline(
    store: Path, workload: str, manifest: gen.Manifest, data_dir: Path
) -> str:
    """Lay out `<store>/pipelines/<slug>/{pipeline.json, raw/transactions/*.csv}`."""
    slug = _slug(workload, manifest.size)
    root = store / "pipelines" / slug
    raw = root / wl.SOURCE_PREFIX
    if raw.exists():
        shutil.rmtree(raw)
    raw.mkdir(parents=True)
    for path in manifest.paths(data_dir):
        _link_or_copy(path, raw / path.name)
    (root / "pipeline.json").write_text(json.dumps(wl.pipeline_config(workload), indent=2))  # type: ignore[arg-type]
    return f"pipelines/{slug}/"


def _remove(path: Path) -> Callable[[], None]:
    def prepare() -> None:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()

    return prepare


def _remove_s3(server: S3Server, prefix: str) -> Callable[[], None]:
    def prepare() -> None:
        seaweed.delete_prefix(server, prefix)

    return prepare


@contextlib.contextmanager
def _seaweedfs(out_dir: Path) -> Iterator[S3Server]:
    """A fresh SeaweedFS whose data dir is removed afterwards (it holds a copy of the inputs)."""
    data = out_dir / "seaweedfs"
    shutil.rmtree(data, ignore_errors=True)
    try:
        with seaweed.seaweedfs(data) as server:
            yield server
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _warm_page_cache(paths: list[Path]) -> None:
    """Read every input once so the first timed contender does not pay for cold disk."""
    for path in paths:
        with path.open("rb") as f:
            while f.read(1 << 24):
                pass


def _check_disk(out_dir: Path, data_dir: Path, sizes: list[str], s3_copies: int) -> None:
    """Refuse to start when generation + outputs (+ S3 copies) could fill the disk."""
    need = 0
    for size in sizes:
        data = gen.SIZES[size] * 100
        if not (gen.dataset_dir(data_dir, size) / gen.MANIFEST).exists():
            need += data
        need += data  # Parquet outputs of all contenders together stay below the input size
        need += data * s3_copies
    probe = out_dir if out_dir.exists() else out_dir.parent
    free = shutil.disk_usage(probe).free
    if need + 2 * 10**9 > free:
        raise SystemExit(
            f"not enough disk: about {need / 1e9:.1f} GB needed (+2 GB margin), "
            f"{free / 1e9:.1f} GB free under {probe}"
        )


# ---------------------------------------------------------------- report


def _summaries(jobs: list[Job], manifests: dict[str, gen.Manifest]) -> list[Summary]:
    result = []
    for job in jobs:
        ok = [m for m in job.runs if m.ok]
        manifest = manifests[job.size]
        wall = statistics.median(m.wall_s for m in ok) if ok else None
        result.append(
            Summary(
                size=job.size,
                workload=job.workload,
                contender=job.contender,
                runs=len(job.runs),
                failed=len(job.runs) - len(ok),
                wall_s=wall,
                peak_rss_mb=max(m.peak_rss_mb for m in ok) if ok else None,
                cpu_percent=statistics.median(m.cpu_percent for m in ok) if ok else None,
                rows_per_s=manifest.rows / wall if wall else None,
                mb_per_s=manifest.bytes / 1e6 / wall if wall else None,
                walls=[round(m.wall_s, 3) for m in job.runs],
                others_cpu_percent=[round(m.others_cpu_percent) for m in job.runs],
                cpu_s=statistics.median(m.user_s + m.sys_s for m in ok) if ok else None,
            )
        )
    return result


def _fmt(value: float | None, spec: str, missing: str = "not measured") -> str:
    return missing if value is None else format(value, spec)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, {system}"


def _versions(engine: EngineSource) -> str:
    import duckdb
    import polars

    return (
        f"{engine.describe()}, Python {platform.python_version()}, "
        f"Polars {polars.__version__}, DuckDB {duckdb.__version__}"
    )


def _cpu_s(summary: Summary | None) -> float | None:
    """Median CPU seconds (user + sys): on a machine shared with other work, the figure that
    other processes' load distorts least."""
    return None if summary is None else summary.cpu_s


def render_markdown(payload: dict[str, Any]) -> str:
    """The two tables for bench/README.md, from a results payload (also a saved JSON)."""
    summaries = [Summary(**s) for s in payload["summaries"]]
    manifests = {k: gen.Manifest(**v) for k, v in payload["manifests"].items()}
    checks: dict[str, str] = payload["checks"]
    lines = [
        f"Measured {payload['measured_at']} on {payload['machine']}; {payload['versions']}; "
        f"{THREADS} threads each.",
        f"Command: `{payload['command']}`",
        "",
        "| size | rows | workload | contender | wall s (median) | rows/s | MB/s | peak RSS MB "
        "| CPU % | others' CPU % (max) | runs: wall s |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in summaries:
        manifest = manifests[s.size]
        runs = ", ".join(f"{w:.2f}" for w in s.walls) + (
            f" ({s.failed} failed)" if s.failed else ""
        )
        lines.append(
            f"| {s.size} ({manifest.bytes / 1e6:,.0f} MB) | {manifest.rows:,} | {s.workload} "
            f"| {s.contender} | {_fmt(s.wall_s, '.2f')} | {_fmt(s.rows_per_s, ',.0f', '-')} "
            f"| {_fmt(s.mb_per_s, '.1f', '-')} | {_fmt(s.peak_rss_mb, '.0f', '-')} "
            f"| {_fmt(s.cpu_percent, '.0f', '-')} | {max(s.others_cpu_percent, default=0)} "
            f"| {runs or '-'} |"
        )
    by_key = {(s.size, s.workload, s.contender): s for s in summaries}
    sizes = sorted(dict.fromkeys(s.size for s in summaries), key=list(gen.SIZES).index)
    lines += [
        "",
        "| size | workload | ours/DuckDB (target) | ours/DuckDB CPU s | ours/Polars script "
        "| Polars script/DuckDB | ours/floor (target) | S3/local (≤ 1.3) | S3/local CPU s "
        "| S3 extra RSS MB (≤ 100) "
        f"| ours peak RSS MB (÷ {sizes[0] if sizes else '-'}; ≤ 1.25) | same rows as DuckDB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size in sizes:
        for workload in dict.fromkeys(s.workload for s in summaries if s.size == size):
            if workload == "-":
                continue
            ours = by_key.get((size, workload, "ours"))
            duck = by_key.get((size, workload, "duckdb"))
            floor = by_key.get((size, "-", "floor"))
            script = by_key.get((size, workload, "polars"))
            script_wall = script.wall_s if script else None
            s3 = by_key.get((size, workload, "ours-s3"))
            base = by_key.get((sizes[0], workload, "ours"))
            wall = ours.wall_s if ours else None
            rss = ours.peak_rss_mb if ours else None
            growth = _ratio(rss, base.peak_rss_mb if base else None)
            rss_text = _fmt(rss, ".0f") + (
                f" (x{growth:.2f})" if growth is not None and size != sizes[0] else ""
            )
            # SPEC §10 targets per workload: (ours/DuckDB, ours/floor)
            duck_target, floor_target = (
                ("≤ 0.25", "≤ 3.5")
                if workload == "lookup-heavy"
                else (
                    "≤ 0.8",
                    "≤ 2",
                )
            )
            s3_extra = (
                s3.peak_rss_mb - rss
                if s3 is not None and s3.peak_rss_mb is not None and rss is not None
                else None
            )
            lines.append(
                f"| {size} | {workload} "
                f"| {_fmt(_ratio(wall, duck.wall_s if duck else None), '.2f')} ({duck_target}) "
                f"| {_fmt(_ratio(_cpu_s(ours), _cpu_s(duck)), '.2f', '-')} "
                f"| {_fmt(_ratio(wall, script_wall), '.2f', '-')} "
                f"| {_fmt(_ratio(script_wall, duck.wall_s if duck else None), '.2f', '-')} "
                f"| {_fmt(_ratio(wall, floor.wall_s if floor else None), '.2f')} ({floor_target}) "
                f"| {_fmt(_ratio(s3.wall_s if s3 else None, wall), '.2f', '-')} "
                f"| {_fmt(_ratio(_cpu_s(s3), _cpu_s(ours)), '.2f', '-')} "
                f"| {_fmt(s3_extra, '+.0f', '-')} "
                f"| {rss_text} "
                f"| {checks.get(f'{size}/{workload}', 'not checked')} |"
            )
    if payload.get("engine_changed_during_run"):
        lines += [
            "",
            "**Warning: src/ changed while this ran, so ours' figures mix engine versions; "
            "rerun, or use `--snapshot` to measure the committed engine.**",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", action="append", choices=list(gen.SIZES), help="repeatable")
    parser.add_argument("--workload", action="append", choices=wl.WORKLOADS, help="repeatable")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (default 3)")
    parser.add_argument("--s3", action="store_true", help="also run ours against SeaweedFS")
    parser.add_argument(
        "--contender",
        action="append",
        choices=[c for c in CONTENDERS if c != "ours-s3"],
        help="run only these (repeatable; default all)",
    )
    parser.add_argument("--data-dir", type=Path, default=gen.DEFAULT_DATA_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--json", type=Path, help="also write the results JSON here")
    parser.add_argument(
        "--snapshot",
        action="store_true",
        help="run ours from a copy of the committed src/ (git HEAD), immune to edits meanwhile",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=120.0,
        help="before each run, wait up to this many seconds for the machine to be idle (0: off)",
    )
    parser.add_argument(
        "--idle-threshold",
        type=float,
        default=0.3,
        help="'idle' means other processes use fewer than this many cores (default 0.3)",
    )
    parser.add_argument(
        "--from-json", type=Path, help="only re-print the tables of a saved results JSON"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        print(render_markdown(json.loads(args.from_json.read_text())))
        return 0
    sizes: list[str] = args.size or ["250mb"]
    workloads: list[str] = args.workload or list(wl.WORKLOADS)
    contenders: list[str] = args.contender or ["ours", "duckdb", "polars", "floor"]
    if args.s3:
        contenders.append("ours-s3")
    out_dir: Path = args.out_dir.resolve()
    data_dir: Path = args.data_dir.resolve()
    command = "uv run python bench/run.py " + shlex.join(argv if argv is not None else sys.argv[1:])

    out_dir.mkdir(parents=True, exist_ok=True)
    _check_disk(out_dir, data_dir, sizes, len(workloads) if args.s3 else 0)
    python = sys.executable
    worker = which_in_venv("karet-worker") or "karet-worker"
    base_env = _base_env()
    engine = engine_source.snapshot(out_dir) if args.snapshot else engine_source.working_tree()
    ours_env = dict(base_env)
    if engine.pythonpath is not None:
        ours_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(engine.pythonpath), base_env.get("PYTHONPATH")) if p
        )
    src_before = engine_source.fingerprint()
    store = out_dir / "store"

    manifests: dict[str, gen.Manifest] = {}
    jobs_by_size: dict[str, list[Job]] = {}
    s3_prefixes: dict[tuple[str, str], str] = {}
    for size in sizes:
        started = time.perf_counter()
        manifest = gen.ensure_data(size, data_dir)
        manifests[size] = manifest
        inputs = [str(p) for p in manifest.paths(data_dir)]
        print(
            f"[{size}] data: {manifest.rows:,} rows, {manifest.bytes / 1e6:,.1f} MB "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        jobs: list[Job] = []
        for workload in workloads:
            prefix = _local_store_pipeline(store, workload, manifest, data_dir)
            s3_prefixes[(size, workload)] = prefix
            if "ours" in contenders:
                clean = store / prefix / "clean"
                jobs.append(
                    Job(size, workload, "ours", [worker, "run", prefix],
                        {**ours_env, "KARET_DATA_DIR": str(store)}, _remove(clean))
                )  # fmt: skip
            if "duckdb" in contenders:
                target = out_dir / "duckdb" / _slug(workload, size)
                cmd = [python, str(BENCH_DIR / "duckdb_peer.py"), "--workload", workload,
                       "--threads", str(THREADS), "--out", str(target), *inputs]  # fmt: skip
                jobs.append(Job(size, workload, "duckdb", cmd, base_env, _remove(target)))
            if "polars" in contenders:
                target = out_dir / "polars" / _slug(workload, size)
                cmd = [python, str(BENCH_DIR / "polars_peer.py"), "--workload", workload,
                       "--out", str(target), *inputs]  # fmt: skip
                jobs.append(Job(size, workload, "polars", cmd, base_env, _remove(target)))
        if "floor" in contenders:
            target = out_dir / "floor" / size / "floor.parquet"
            cmd = [python, str(BENCH_DIR / "floor.py"), "--out", str(target), *inputs]
            jobs.append(Job(size, "-", "floor", cmd, base_env, _remove(target)))
        jobs_by_size[size] = jobs

    failures: list[str] = []
    checks: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(_seaweedfs(out_dir)) if args.s3 else None
        if server is not None:
            for (size, workload), prefix in s3_prefixes.items():
                started = time.perf_counter()
                local = store / prefix
                files = {f"{prefix}pipeline.json": local / "pipeline.json"}
                for path in manifests[size].paths(data_dir):
                    files[f"{prefix}{wl.SOURCE_PREFIX}{path.name}"] = path
                seaweed.upload_files(server, files)
                print(f"[{size}] uploaded {prefix} to S3 ({time.perf_counter() - started:.1f} s)")
                env = {**ours_env, **server.env()}
                clear = _remove_s3(server, f"{prefix}clean/")
                jobs_by_size[size].append(
                    Job(size, workload, "ours-s3", [worker, "run", prefix], env, clear)
                )

        for size in sizes:
            jobs = jobs_by_size[size]
            _warm_page_cache(manifests[size].paths(data_dir))
            for round_no in range(args.repeat):
                shift = round_no % len(jobs) if jobs else 0
                for job in jobs[shift:] + jobs[:shift]:
                    job.prepare()
                    if args.idle_wait > 0:
                        wait_for_idle(args.idle_threshold, args.idle_wait)
                    m = run_measured(job.cmd, env=job.env, cwd=REPO_DIR)
                    job.runs.append(m)
                    status = "ok" if m.ok else f"FAILED (exit {m.returncode})"
                    print(
                        f"[{size}] round {round_no + 1}/{args.repeat} {job.workload:>12} "
                        f"{job.contender:<8} {m.wall_s:7.2f} s  {m.peak_rss_mb:7.0f} MB RSS  "
                        f"{m.cpu_percent:4.0f}% CPU  others {m.others_cpu_percent:3.0f}%  {status}",
                        flush=True,
                    )
                    if not m.ok:
                        failures.append(
                            f"{size} {job.workload} {job.contender}: exit {m.returncode}"
                        )
                        if len(job.runs) == 1 or all(not r.ok for r in job.runs[:-1]):
                            print("    " + m.output_tail.replace("\n", "\n    "), flush=True)
            checks.update(_check_rows(size, jobs, manifests[size], out_dir, store, server))

    summaries = _summaries([j for s in sizes for j in jobs_by_size[s]], manifests)
    engine_changed = engine.pythonpath is None and engine_source.fingerprint() != src_before
    now = datetime.now(UTC)
    payload = {
        "measured_at": now.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "machine": _machine(),
        "versions": _versions(engine),
        "engine_changed_during_run": engine_changed,
        "manifests": {k: asdict(v) for k, v in manifests.items()},
        "summaries": [asdict(s) for s in summaries],
        "checks": checks,
        "failures": failures,
    }
    markdown = render_markdown(payload)
    print()
    print(markdown)
    results_dir = out_dir / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for path in [results_dir / f"{stamp}.json", *([args.json] if args.json else [])]:
        path.write_text(json.dumps(payload, indent=2) + "\n")
    (results_dir / f"{stamp}.md").write_text(markdown)
    bad_checks = [k for k, v in checks.items() if not v.startswith("yes")]
    if failures or bad_checks:
        print(f"FAILED: {len(failures)} failed runs, row checks not passed: {bad_checks}")
        return 1
    return 0


def _check_rows(
    size: str,
    jobs: list[Job],
    manifest: gen.Manifest,
    out_dir: Path,
    store: Path,
    server: S3Server | None,
) -> dict[str, str]:
    """Compare the last outputs of ours (local and S3) and of the Polars script with DuckDB's;
    check the floor's count."""
    done = {job.key for job in jobs if job.runs and job.runs[-1].ok}
    checks: dict[str, str] = {}
    for workload in dict.fromkeys(job.workload for job in jobs if job.workload != "-"):
        duck_dir = out_dir / "duckdb" / _slug(workload, size)
        if (size, workload, "duckdb") not in done:
            continue
        prefix = f"pipelines/{_slug(workload, size)}/"
        columns = wl.output_columns(workload)  # type: ignore[arg-type]
        candidates: list[tuple[str, Path]] = []
        if (size, workload, "ours") in done:
            candidates.append(("local", store / prefix / "clean" / wl.TABLE_ID))
        if (size, workload, "ours-s3") in done and server is not None:
            local_copy = out_dir / "s3-download" / _slug(workload, size)
            if local_copy.exists():
                shutil.rmtree(local_copy)
            seaweed.download_prefix(server, f"{prefix}clean/{wl.TABLE_ID}/", local_copy)
            candidates.append(("S3", local_copy))
        if (size, workload, "polars") in done:
            candidates.append(("Polars script", out_dir / "polars" / _slug(workload, size)))
        if not candidates:
            continue
        verdicts = []
        for name, path in candidates:
            result = compare.compare_outputs(path, duck_dir, columns)
            if result.same and result.rows_left == manifest.rows:
                verdicts.append(f"yes ({name}: {result.rows_left:,} rows)")
            else:
                verdicts.append(
                    f"NO ({name}: {result.rows_left:,} vs DuckDB {result.rows_right:,})"
                )
                print(f"[{size}] {workload} {name} output differs from DuckDB's:\n{result.detail}")
        text = "; ".join(verdicts)
        checks[f"{size}/{workload}"] = (
            text if all(v.startswith("yes") for v in verdicts) else "NO: " + text
        )
    if (size, "-", "floor") in done:
        rows = compare.parquet_rows(out_dir / "floor" / size / "floor.parquet")
        ok = rows == manifest.rows
        checks[f"{size}/floor"] = f"yes ({rows:,} rows)" if ok else f"NO ({rows:,} rows)"
    return checks


if __name__ == "__main__":
    sys.exit(main())
