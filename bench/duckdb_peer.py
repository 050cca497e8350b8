"""The DuckDB peer: the benchmark's job hand-written in DuckDB SQL, limited to 2 threads.

Run as its own process so its wall time and peak RSS are measured like karet-worker's.
Usage: `python bench/duckdb_peer.py --workload lookup-heavy --out DIR FILE.csv...`
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import duckdb

from workload import WORKLOADS, duckdb_copy_sql


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=WORKLOADS, required=True)
    parser.add_argument("--out", type=Path, required=True, help="output directory (replaced)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(args.threads)}")
    con.execute(duckdb_copy_sql(args.workload, args.inputs, str(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
