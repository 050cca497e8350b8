"""NDJSON workload: the plain workload's rows as NDJSON, karet-worker vs DuckDB's `read_json`.

    uv run python bench/ndjson_bench.py --size 250mb [--repeat 3]

The CSV of `bench/gen.py` is converted once to NDJSON (`bench/data/<size>/ndjson/`, one
`{"date": ..., "description": ..., "amount": ..., "account": ...}` object per line, empty CSV
fields as JSON null). Ours runs the plain workload's pipeline.json with `format: ndjson` on
the local store; DuckDB runs the plain workload's SQL with `read_json(format =
'newline_delimited', columns = {...VARCHAR})` in place of `read_csv(all_varchar)`. Both run as
their own processes with 2 threads, alternating (the order rotates every round), and their
outputs are checked to hold the same rows. Prints one Markdown table and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import polars as pl

import compare
import gen
import workload as wl
from measure import Measurement, run_measured, wait_for_idle, which_in_venv

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT_DIR = BENCH_DIR / "out" / "ndjson"
THREADS = 2
WORKLOAD: wl.Workload = "plain"
SLUG = "plain-ndjson"


def ensure_ndjson(manifest: gen.Manifest, data_dir: Path) -> list[Path]:
    """The NDJSON twin of every CSV of the size (written once; all columns as JSON strings)."""
    target = gen.dataset_dir(data_dir, manifest.size) / "ndjson"
    done = target / "done.json"
    paths = [target / (Path(name).stem + ".ndjson") for name in manifest.files]
    if done.exists() and json.loads(done.read_text()) == {"gen_version": manifest.gen_version}:
        return paths
    target.mkdir(parents=True, exist_ok=True)
    for csv_path, path in zip(manifest.paths(data_dir), paths, strict=True):
        pl.read_csv(csv_path, infer_schema=False).write_ndjson(path)
    done.write_text(json.dumps({"gen_version": manifest.gen_version}))
    return paths


def duckdb_sql(inputs: list[Path], out_dir: Path) -> str:
    """The plain workload's SQL with DuckDB's NDJSON reader in place of its CSV reader."""
    csv_sql = wl.duckdb_copy_sql(WORKLOAD, [str(p) for p in inputs], str(out_dir))
    start = csv_sql.index("read_csv(")
    end = csv_sql.index(")", csv_sql.index("escape", start)) + 1
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in inputs) + "]"
    columns = ", ".join(f"{c}: 'VARCHAR'" for c in wl.SOURCE_COLUMNS)
    reader = f"read_json({files}, format = 'newline_delimited', columns = {{{columns}}})"
    return csv_sql[:start] + reader + csv_sql[end:]


def store_pipeline(store: Path, inputs: list[Path]) -> str:
    """`<store>/pipelines/plain-ndjson/{pipeline.json, raw/transactions/*.ndjson}`."""
    root = store / "pipelines" / SLUG
    raw = root / wl.SOURCE_PREFIX
    if raw.exists():
        shutil.rmtree(raw)
    raw.mkdir(parents=True)
    for path in inputs:
        (raw / path.name).hardlink_to(path)
    config = wl.pipeline_config(WORKLOAD)
    config["source_containers"][0]["format"] = "ndjson"
    (root / "pipeline.json").write_text(json.dumps(config, indent=2))
    return f"pipelines/{SLUG}/"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(gen.SIZES), default="250mb")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=gen.DEFAULT_DATA_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--idle-wait", type=float, default=60.0)
    args = parser.parse_args(argv)

    manifest = gen.ensure_data(args.size, args.data_dir)
    inputs = ensure_ndjson(manifest, args.data_dir)
    megabytes = sum(p.stat().st_size for p in inputs) / 1e6
    store = args.out_dir / "store"
    prefix = store_pipeline(store, inputs)
    ours_out = store / "pipelines" / SLUG / "clean" / wl.TABLE_ID
    duck_out = args.out_dir / "duckdb"
    sql_path = args.out_dir / "duckdb.sql"
    sql_path.write_text(
        f"SET threads = {THREADS};\n" + duckdb_sql(inputs, duck_out).strip() + ";\n"
    )
    karet = which_in_venv("karet-worker")
    duck_runner = [
        sys.executable, "-c",
        "import sys, duckdb; duckdb.connect().execute(open(sys.argv[1]).read())",
        str(sql_path),
    ]  # fmt: skip
    contenders = {
        "ours": ([str(karet), "run", prefix], {"KARET_DATA_DIR": str(store)}, ours_out),
        "duckdb": (duck_runner, {}, duck_out),
    }
    runs: dict[str, list[Measurement]] = {name: [] for name in contenders}
    for round_number in range(args.repeat):
        order = list(contenders)[round_number % 2 :] + list(contenders)[: round_number % 2]
        for name in order:
            cmd, env, out = contenders[name]
            shutil.rmtree(out, ignore_errors=True)
            wait_for_idle(0.3, args.idle_wait)
            measured = run_measured(
                cmd, env={**os.environ, "POLARS_MAX_THREADS": str(THREADS), **env}
            )
            if not measured.ok:
                print(f"{name} failed:\n{measured.output_tail}", file=sys.stderr)
                return 1
            runs[name].append(measured)
            print(f"round {round_number + 1} {name}: {measured.wall_s:.2f} s", file=sys.stderr)
    same = compare.compare_outputs(ours_out, duck_out, wl.output_columns(WORKLOAD))
    if not same.same:
        print(f"outputs differ:\n{same.detail}", file=sys.stderr)
        return 1

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Measured {stamp}; {manifest.rows:,} rows, {megabytes:,.0f} MB of NDJSON in "
          f"{len(inputs)} files; {THREADS} threads each; "
          f"same rows checked ({same.rows_left:,}).")  # fmt: skip
    print("\n| contender | wall s (median) | MB/s | peak RSS MB | CPU % | others' CPU % (max) | "
          "runs: wall s |\n|---|---:|---:|---:|---:|---:|---|")  # fmt: skip
    medians = {}
    for name, measured in runs.items():
        wall = statistics.median(m.wall_s for m in measured)
        medians[name] = wall
        print(
            f"| {name} | {wall:.2f} | {megabytes / wall:.1f} | "
            f"{max(m.peak_rss_mb for m in measured):.0f} | "
            f"{statistics.median(m.cpu_percent for m in measured):.0f} | "
            f"{max(m.others_cpu_percent for m in measured):.0f} | "
            f"{', '.join(f'{m.wall_s:.2f}' for m in measured)} |"
        )
    print(f"\nours / duckdb (median wall): {medians['ours'] / medians['duckdb']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
