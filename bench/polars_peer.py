"""The Polars peer: the benchmark's job as the Polars script a data engineer would write
(`scan_csv` -> the workload's expressions -> `sink_parquet` partitioned by year and month),
on Polars' streaming engine with POLARS_MAX_THREADS threads.

Run as its own process so its wall time and peak RSS are measured like karet-worker's. It
keeps none of karet-worker's guarantees (per-file isolation, counted failures, bounded
memory); it shows what the engine underneath can do on the same machine.
Usage: `python bench/polars_peer.py --workload plain --out DIR FILE.csv...`
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import polars as pl

from workload import WORKLOADS, polars_query


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=WORKLOADS, required=True)
    parser.add_argument("--out", type=Path, required=True, help="output directory (replaced)")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    target = pl.PartitionBy(args.out, key=["year", "month"], include_key=False)
    polars_query(args.workload, args.inputs).sink_parquet(target, compression="snappy", mkdir=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
