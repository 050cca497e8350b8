"""Dedup key-set cost as the number of distinct keys grows (bench/README.md, "Dedup").

Feeds KeySet batches of 80k random-order string keys (about one 8 MB chunk each), committing
every 20 batches like one input file, and prints the time per size. Linear-ish growth means a
batch's check does not scan every key seen so far.

    uv run python bench/dedup_bench.py --rows 1000000 --rows 4000000 --rows 16000000
"""

from __future__ import annotations

import time

import polars as pl
import typer

from karet_worker.engine.keys import KeySet

BATCH = 80_000
BATCHES_PER_FILE = 20


def _batches(rows: int) -> list[pl.DataFrame]:
    """Pseudo-random ids like `tx-0123456789` (a few repeat: hashes collide modulo 1e10)."""
    return [
        pl.select(
            (pl.lit("tx-") + (pl.int_range(start, min(start + BATCH, rows)).hash() % 10**10)
             .cast(pl.String).str.zfill(10)).alias("id")
        )
        for start in range(0, rows, BATCH)
    ]  # fmt: skip


def measure(rows: int) -> tuple[float, int]:
    batches = _batches(rows)
    keyset = KeySet(["id"])
    kept = 0
    started = time.perf_counter()
    for number, batch in enumerate(batches, 1):
        kept += keyset.first_new(batch).height
        if number % BATCHES_PER_FILE == 0:
            keyset.commit()
    keyset.commit()
    return time.perf_counter() - started, kept


def main(rows: list[int] = typer.Option([1_000_000, 4_000_000], "--rows")) -> None:
    print("| rows | distinct kept | seconds | µs per row |")
    print("|---:|---:|---:|---:|")
    for count in rows:
        seconds, kept = measure(count)
        print(f"| {count:,} | {kept:,} | {seconds:.2f} | {seconds / count * 1e6:.2f} |")


if __name__ == "__main__":
    typer.run(main)
