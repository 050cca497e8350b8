"""The floor: Polars reading the CSVs and writing Parquet with no transformation at all.

Nothing that parses, transforms and partitions the same bytes can be much faster than this,
so ours/floor says how much the pipeline work itself costs. Threads: POLARS_MAX_THREADS.
Snappy, like karet-worker's output and DuckDB's default, so all three pay the same encoder.
Usage: `python bench/floor.py --out FILE.parquet FILE.csv...`
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from workload import SOURCE_COLUMNS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output Parquet file")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    schema = dict.fromkeys(SOURCE_COLUMNS, pl.String)
    pl.scan_csv(args.inputs, schema=schema).sink_parquet(args.out, compression="snappy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
