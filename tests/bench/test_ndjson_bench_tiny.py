"""The NDJSON benchmark at a few MB, end to end, as a user runs it (keeps it from rotting; no
timing assertions): the NDJSON twin holds the CSV's rows, and both contenders agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[2]


def test_tiny_ndjson_bench_runs_and_checks_the_same_rows(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    args = ["--size", "tiny", "--repeat", "1", "--idle-wait", "0"]
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "ndjson_bench.py"), *args,
         "--data-dir", str(data), "--out-dir", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "same rows checked (30,000)" in proc.stdout
    assert "ours / duckdb (median wall):" in proc.stdout
    csv = pl.read_csv(data / "tiny" / "transactions" / "part-000.csv", infer_schema=False)
    ndjson = pl.read_ndjson(data / "tiny" / "ndjson" / "part-000.ndjson")
    assert ndjson.select(csv.columns).equals(csv)
