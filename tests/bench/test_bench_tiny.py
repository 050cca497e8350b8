"""The benchmark at a few MB, end to end: keeps bench/ from rotting. No timing assertions.

Runs `bench/run.py` as a user would (its own processes for karet-worker, DuckDB, the Polars
script and the floor),
then checks the outputs independently of the harness's own verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
TINY_ROWS = 30_000
WORKLOADS = ("lookup-heavy", "plain")
# One round, no waiting for an idle machine: the suite checks behaviour, never timings.
TINY_BENCH = [str(BENCH / "run.py"), "--size", "tiny", "--repeat", "1", "--idle-wait", "0"]


@dataclass(frozen=True)
class TinyRun:
    data_dir: Path
    out_dir: Path
    results: dict[str, Any]


def _run(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    root = tmp_path_factory.mktemp("bench")
    data, out, results = root / "data", root / "out", root / "results.json"
    _run([*TINY_BENCH, "--data-dir", str(data), "--out-dir", str(out), "--json", str(results)])
    return TinyRun(data, out, json.loads(results.read_text()))


def _hive(path: Path) -> str:
    return f"read_parquet('{path}/**/*.parquet', hive_partitioning = true)"


def _columns(workload: str) -> str:
    cols = ["date", "description", "amount", "account", "year", "month"]
    if workload == "lookup-heavy":
        cols += ["category", "merchant"]
    return ", ".join(cols)


def test_every_contender_ran(tiny: TinyRun) -> None:
    ran = {(s["workload"], s["contender"]): s for s in tiny.results["summaries"]}
    expected = {(w, c) for w in WORKLOADS for c in ("ours", "duckdb", "polars")} | {("-", "floor")}
    assert set(ran) == expected
    for summary in ran.values():
        assert summary["failed"] == 0 and summary["runs"] == 1, summary
        assert summary["peak_rss_mb"] > 0
    assert tiny.results["failures"] == []


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("peer", ["ours", "polars"])
def test_ours_and_the_polars_script_produce_duckdbs_rows(
    tiny: TinyRun, workload: str, peer: str
) -> None:
    if peer == "ours":
        out = tiny.out_dir / "store" / "pipelines" / f"{workload}-tiny" / "clean" / "transactions"
    else:
        out = tiny.out_dir / "polars" / f"{workload}-tiny"
    duck = tiny.out_dir / "duckdb" / f"{workload}-tiny"
    cols = _columns(workload)
    with duckdb.connect() as con:
        for a, b in ((out, duck), (duck, out)):
            diff = con.execute(
                f"SELECT {cols} FROM {_hive(a)} EXCEPT ALL SELECT {cols} FROM {_hive(b)} LIMIT 5"
            ).fetchall()
            assert diff == [], f"rows only in {a}: {diff}"
        counts = con.execute(f"SELECT count(*) FROM {_hive(out)}").fetchone()
    assert counts == (TINY_ROWS,)
    check = tiny.results["checks"][f"tiny/{workload}"]
    assert check.startswith("yes") and "Polars script: 30,000 rows" in check


def test_lookups_match_a_realistic_fraction(tiny: TinyRun) -> None:
    """Guards the generator: the keyword lookups must hit most rows but not all of them."""
    ours = tiny.out_dir / "store" / "pipelines" / "lookup-heavy-tiny" / "clean" / "transactions"
    with duckdb.connect() as con:
        row = con.execute(
            f"SELECT avg((category <> 'UNCATEGORIZED')::INT), avg((merchant LIKE '% Ltd')::INT),"
            f" count(*) FILTER (year IS NULL) FROM {_hive(ours)}"
        ).fetchone()
    assert row is not None
    categorised, merchants, null_years = row
    assert 0.6 < categorised < 0.8
    assert 0.4 < merchants < 0.6
    assert 0 < null_years < TINY_ROWS * 0.01  # a few bad dates land in the null partition


def test_floor_wrote_every_row(tiny: TinyRun) -> None:
    floor = tiny.out_dir / "floor" / "tiny" / "floor.parquet"
    with duckdb.connect() as con:
        assert con.execute(f"SELECT count(*) FROM read_parquet('{floor}')").fetchone() == (
            TINY_ROWS,
        )


def test_generator_is_deterministic(tiny: TinyRun, tmp_path: Path) -> None:
    _run([str(BENCH / "gen.py"), "--size", "tiny", "--data-dir", str(tmp_path)])
    first = sorted((tiny.data_dir / "tiny" / "transactions").glob("*.csv"))
    second = sorted((tmp_path / "tiny" / "transactions").glob("*.csv"))
    assert len(first) == 32
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


@pytest.mark.integration
def test_s3_run_matches_duckdb(tiny: TinyRun, tmp_path: Path) -> None:
    """The S3 leg: inputs uploaded to SeaweedFS, ours reads and writes there, output checked."""
    results, out = tmp_path / "results.json", tmp_path / "out"
    only = ["--workload", "lookup-heavy", "--contender", "duckdb", "--s3"]
    _run([*TINY_BENCH, *only, "--data-dir", str(tiny.data_dir), "--out-dir", str(out),
          "--json", str(results)])  # fmt: skip
    payload = json.loads(results.read_text())
    ran = {s["contender"]: s for s in payload["summaries"]}
    assert set(ran) == {"duckdb", "ours-s3"}
    assert all(s["failed"] == 0 for s in ran.values())
    assert payload["checks"]["tiny/lookup-heavy"] == "yes (S3: 30,000 rows)"
    downloaded = out / "s3-download" / "lookup-heavy-tiny"
    cols = _columns("lookup-heavy")
    duck = out / "duckdb" / "lookup-heavy-tiny"
    with duckdb.connect() as con:
        diff = con.execute(
            f"SELECT {cols} FROM {_hive(downloaded)} EXCEPT ALL SELECT {cols} FROM {_hive(duck)}"
        ).fetchall()
    assert diff == []


def test_dedup_bench_runs_and_keeps_every_distinct_key() -> None:
    rows = 200_000
    output = _run([str(BENCH / "dedup_bench.py"), "--rows", str(rows)]).stdout
    [line] = [line for line in output.splitlines() if line.startswith(f"| {rows:,} |")]
    kept = int(line.split("|")[2].replace(",", ""))
    ids = pl.select(pl.int_range(0, rows).hash() % 10**10).to_series()
    assert kept == ids.n_unique()


def test_memory_probe_runs_on_the_bench_store(tiny: TinyRun) -> None:
    store = tiny.out_dir / "store"
    output = _run([str(BENCH / "memory.py"), "--pipeline", "plain-tiny", "--store", str(store)])
    lines = output.stdout.splitlines()
    assert f"{TINY_ROWS:,} rows" in lines[0], output.stdout
    assert any(line.strip().startswith("read: RSS peak") for line in lines[1:]), output.stdout
