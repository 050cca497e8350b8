"""Lookup micro-benchmark: one keyword lookup (2,000 rows x 2 patterns) over 1M strings,
compiled to Polars vs a plain per-row Python matcher with the same semantics.

The Python matcher is timed on a sample and extrapolated linearly (its cost per row does not
depend on the row count); both are checked to agree on that sample.

    .venv/bin/python bench/lookup_bench.py            # the figures in bench/README.md
    .venv/bin/python bench/lookup_bench.py --rows 20000 --sample 2000   # quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import string
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from karet_worker.config.model import LookupMapping, LookupRefExpr
from karet_worker.expressions import compile_expr

NOISE_WORDS = [
    "POS", "PURCHASE", "CARD", "DEBIT", "REF", "ONLINE", "PAYMENT", "TRANSFER", "SEPA",
    "DIRECT", "AUTH", "TXN", "STORE", "MARKET", "SERVICE", "VISA", "FEE", "BILL",
]  # fmt: skip


EngineName = Literal["in-memory", "streaming"]


@dataclass(frozen=True)
class Workload:
    lookup: LookupMapping
    descriptions: list[str]


def _token(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_uppercase, k=rng.randint(5, 10)))


def make_workload(rows: int, lookup_rows: int, seed: int) -> Workload:
    """Deterministic lookup (distinct patterns, random priorities) and bank-like descriptions;
    about 60% of descriptions contain one or two patterns somewhere among noise words."""
    rng = random.Random(seed)
    patterns: list[str] = []
    seen: set[str] = set()
    while len(patterns) < 2 * lookup_rows:
        token = _token(rng)
        if token not in seen:
            seen.add(token)
            patterns.append(token)
    lookup_row_list = [
        {
            "input_patterns": patterns[2 * i : 2 * i + 2],
            "output": f"CATEGORY_{i:04d}",
            "priority": rng.choice([-1, 0, 0, 0, 1, 5]),
        }
        for i in range(lookup_rows)
    ]
    lookup = LookupMapping.model_validate(
        {"id": "category", "rows": lookup_row_list, "catch_all": {"output": "OTHER"}}
    )
    descriptions: list[str] = []
    for _ in range(rows):
        words = rng.choices(NOISE_WORDS, k=rng.randint(3, 6))
        words.append(str(rng.randint(1000, 999999)))
        for _ in range(rng.choices((0, 1, 2), weights=(40, 50, 10))[0]):
            words.insert(rng.randrange(len(words) + 1), rng.choice(patterns))
        descriptions.append(" ".join(words))
    return Workload(lookup, descriptions)


def python_matcher(lookup: LookupMapping, descriptions: Sequence[str]) -> list[str | None]:
    """The plain per-row reference: rows by priority (desc) then order, first match wins."""
    ranked = sorted(enumerate(lookup.rows), key=lambda item: (-item[1].priority, item[0]))
    ordered = [(row.input_patterns, row.output) for _, row in ranked]
    catch_all = lookup.catch_all.output if lookup.catch_all else None
    out: list[str | None] = []
    for text in descriptions:
        result = catch_all
        for patterns, output in ordered:
            if any(p and p in text for p in patterns):
                result = output
                break
        out.append(result)
    return out


def time_polars(workload: Workload, repeat: int, engine: EngineName) -> tuple[float, pl.Series]:
    """Best-of-`repeat` wall time of the compiled lookup over the whole column."""
    frame = pl.DataFrame({"description": workload.descriptions}, schema={"description": pl.String})
    expr = LookupRefExpr.model_validate(
        {
            "kind": "lookup_ref",
            "lookup_id": "category",
            "input": {"kind": "col", "name": "description"},
        }
    )
    compiled = compile_expr(expr, {"description": pl.String}, [workload.lookup])
    query = frame.lazy().select(compiled.expr.alias("category"))
    times: list[float] = []
    result = pl.Series("category", [], dtype=pl.String)
    for _ in range(repeat):
        start = time.perf_counter()
        result = query.collect(engine=engine).get_column("category")
        times.append(time.perf_counter() - start)
    return min(times), result


def run(rows: int, lookup_rows: int, sample: int, seed: int, repeat: int) -> dict[str, Any]:
    workload = make_workload(rows, lookup_rows, seed)
    in_memory_s, in_memory_out = time_polars(workload, repeat, "in-memory")
    polars_s, polars_out = time_polars(workload, repeat, "streaming")
    assert in_memory_out.equals(polars_out), "the two Polars engines disagree"
    sample_n = min(sample, rows)
    start = time.perf_counter()
    reference = python_matcher(workload.lookup, workload.descriptions[:sample_n])
    python_sample_s = time.perf_counter() - start
    mismatches = sum(
        a != b for a, b in zip(reference, polars_out.head(sample_n).to_list(), strict=True)
    )
    python_s = python_sample_s * rows / sample_n
    hits = polars_out.ne("OTHER").sum()
    return {
        "rows": rows,
        "lookup_rows": lookup_rows,
        "patterns": 2 * lookup_rows,
        "matched_share": hits / rows,
        "polars_s": polars_s,
        "polars_in_memory_s": in_memory_s,
        "polars_rows_per_s": rows / polars_s,
        "python_sample_rows": sample_n,
        "python_sample_s": python_sample_s,
        "python_extrapolated_s": python_s,
        "ratio_polars_over_python": polars_s / python_s,
        "speedup": python_s / polars_s,
        "sample_mismatches": mismatches,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookup-rows", type=int, default=2_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    res = run(args.rows, args.lookup_rows, args.sample, args.seed, args.repeat)
    threads = os.environ.get("POLARS_MAX_THREADS", str(pl.thread_pool_size()))
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Polars {pl.__version__} "
        f"with {threads} threads, Python {platform.python_version()}",
        f"lookup: {res['lookup_rows']} rows x 2 patterns, keyword_substring with catch_all; "
        f"inputs: {res['rows']:,} strings, {res['matched_share']:.0%} matched",
        f"polars (compiled lookup, best of {args.repeat}): streaming engine "
        f"{res['polars_s']:.3f} s ({res['polars_rows_per_s'] / 1e6:.2f} M rows/s), "
        f"in-memory engine {res['polars_in_memory_s']:.3f} s",
        f"python per-row matcher: {res['python_sample_s']:.2f} s on "
        f"{res['python_sample_rows']:,} rows -> {res['python_extrapolated_s']:.1f} s "
        f"extrapolated linearly to {res['rows']:,}",
        f"ratio polars (streaming)/python: {res['ratio_polars_over_python']:.5f} "
        f"({res['speedup']:.0f}x faster)",
        f"agreement on the sample: {res['sample_mismatches']} mismatches",
    ]
    print("\n".join(lines))
    return 0 if res["sample_mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
