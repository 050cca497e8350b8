"""Checks that two Hive-partitioned Parquet outputs hold the same multiset of rows.

DuckDB reads both (`hive_partitioning=true`, so the partition keys come back from the paths)
and compares row counts plus an order-independent fingerprint (sum of row hashes). Only on a
mismatch does it run the costlier `EXCEPT ALL` both ways, to show example rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

# How each column is normalised before hashing, so both sides hash identical types.
COLUMN_TYPES = {
    "date": "DATE",
    "description": "VARCHAR",
    "category": "VARCHAR",
    "merchant": "VARCHAR",
    "amount": "DOUBLE",
    "account": "VARCHAR",
    "year": "BIGINT",
    "month": "BIGINT",
}


@dataclass(frozen=True)
class Comparison:
    same: bool
    rows_left: int
    rows_right: int
    detail: str  # empty when same; otherwise counts and example rows of the difference


def _relation(path: Path, columns: list[str]) -> str:
    select = ", ".join(f"CAST({c} AS {COLUMN_TYPES[c]}) AS {c}" for c in columns)
    glob = str(path / "**" / "*.parquet").replace("'", "''")
    return f"(SELECT {select} FROM read_parquet('{glob}', hive_partitioning = true))"


def parquet_rows(path: Path) -> int:
    """Rows in every Parquet file under `path` (any layout)."""
    glob = str(path / "**" / "*.parquet").replace("'", "''") if path.is_dir() else str(path)
    with duckdb.connect() as con:
        row = con.execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()
    return int(row[0]) if row else 0


def compare_outputs(
    left: Path, right: Path, columns: list[str], *, examples: int = 5
) -> Comparison:
    """Compare the rows under `left` and `right` on `columns` (as multisets)."""
    cols = ", ".join(columns)
    with duckdb.connect() as con:

        def fingerprint(path: Path) -> tuple[int, int]:
            row = con.execute(
                f"SELECT count(*), coalesce(sum(hash({cols})::HUGEINT), 0) "
                f"FROM {_relation(path, columns)}"
            ).fetchone()
            assert row is not None
            return int(row[0]), int(row[1])

        (n_left, h_left), (n_right, h_right) = fingerprint(left), fingerprint(right)
        if (n_left, h_left) == (n_right, h_right):
            return Comparison(True, n_left, n_right, "")
        lines = [f"rows: {n_left} vs {n_right}; fingerprints differ"]
        for name, a, b in (("only in first", left, right), ("only in second", right, left)):
            diff = f"{_relation(a, columns)} EXCEPT ALL {_relation(b, columns)}"
            count = con.execute(f"SELECT count(*) FROM ({diff})").fetchone()
            sample = con.execute(f"SELECT * FROM ({diff}) LIMIT {int(examples)}").fetchall()
            lines.append(f"{name}: {count[0] if count else '?'} rows, e.g.")
            lines += [f"  {row}" for row in sample]
        return Comparison(False, n_left, n_right, "\n".join(lines))
