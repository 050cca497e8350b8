"""The set of key tuples a mapping has seen, for dedup and `unique` assertions.

Checking a batch against every key seen so far must not cost time proportional to all of them
(an anti-join per batch made a run quadratic in its row count). Keys are kept as runs sorted by
a 64-bit hash of their exact code, merged like a log-structured merge tree: a batch costs
O(batch · log n) binary searches on integers, each key is re-sorted O(log n) times over a run,
and a hash match is confirmed on the exact code, so a collision never drops a row.
"""

from __future__ import annotations

import polars as pl

MERGE_FACTOR = 2  # a run is merged into the one before it once it is at least 1/2 its size


class KeySet:
    """The distinct key tuples seen so far (memory grows with distinct keys, not with rows).

    Keys of one input file stay pending until `commit`, so a file that turns out to be unusable
    half-way (`rollback`) leaves no trace."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self._committed: list[pl.DataFrame] = []  # {h, code} sorted by h, decreasing in size
        self._pending: list[pl.DataFrame] = []

    def first_new(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Rows whose key was not seen before (the first of their key within `frame`);
        their keys become pending."""
        if frame.is_empty():
            return frame
        codes = key_codes(frame, self.keys)
        # Probes sorted by hash make the binary searches walk memory in order (2-6x faster).
        batch = (
            pl.DataFrame({"h": key_hash(codes), "code": codes, "first": codes.is_first_distinct()})
            .with_row_index("row")
            .sort("h")
        )
        keep = batch["first"]
        for run in (*self._committed, *self._pending):
            keep &= ~_contains(run, batch)
        fresh = batch.filter(keep)
        self._pending = _push(self._pending, fresh.select("h", "code"))
        mask = pl.zeros(frame.height, pl.Boolean, eager=True).scatter(fresh["row"], True)
        return frame.filter(mask)

    def commit(self) -> None:
        for run in self._pending:
            self._committed = _push(self._committed, run)
        self._pending = []

    def rollback(self) -> None:
        self._pending = []

    def __len__(self) -> int:
        return sum(run.height for run in (*self._committed, *self._pending))


def key_codes(frame: pl.DataFrame, keys: list[str]) -> pl.Series:
    """One String per row that is equal for two rows exactly when their key tuples are.

    Each key is `n` (null) or `v<byte length>:<text>`; the length prefix keeps tuples apart
    whatever their text contains. Float -0.0 is folded into 0.0 (they compare equal)."""
    parts: list[pl.Expr] = []
    for name in keys:
        value = pl.col(name)
        if frame.schema[name].is_float():
            value = pl.when(value == 0).then(pl.lit(0.0)).otherwise(value)
        text = value.cast(pl.String)
        encoded = pl.lit("v") + text.str.len_bytes().cast(pl.String) + pl.lit(":") + text
        parts.append(pl.when(value.is_null()).then(pl.lit("n")).otherwise(encoded))
    return frame.select(pl.concat_str(parts).alias("key")).to_series()


def key_hash(codes: pl.Series) -> pl.Series:
    """The 64-bit hash the runs are sorted by; only a shortcut, equality is on the codes."""
    return codes.hash()


def _contains(run: pl.DataFrame, batch: pl.DataFrame) -> pl.Series:
    """Which rows of `batch` have their code in `run`: binary search on the hash, then the
    exact code decides (another code with the same hash is looked up among all its equals)."""
    hashes = run["h"]
    positions = hashes.search_sorted(batch["h"], side="left")
    at = positions.clip(upper_bound=run.height - 1)
    found = (positions < run.height) & (hashes.gather(at) == batch["h"])
    rows = found.arg_true()  # usually few: only these need their codes compared
    if rows.is_empty():
        return found
    codes = batch["code"].gather(rows)
    differ = rows.filter(run["code"].gather(at.gather(rows)) != codes)
    if not differ.is_empty():  # rare: the first code with this hash is another one
        found.scatter(differ, False)
        equals = run.filter(pl.col("h").is_in(batch["h"].gather(differ).implode()))["code"]
        found.scatter(differ.filter(batch["code"].gather(differ).is_in(equals.implode())), True)
    return found


def _push(runs: list[pl.DataFrame], run: pl.DataFrame) -> list[pl.DataFrame]:
    """Append a sorted run, merging while the last run is not much smaller than the one before;
    runs stay few (about log n) and decreasing in size."""
    if run.is_empty():
        return runs
    runs = [*runs, run]
    while len(runs) > 1 and runs[-1].height * MERGE_FACTOR >= runs[-2].height:
        merged = pl.concat([runs[-2], runs[-1]]).sort("h")
        runs = [*runs[:-2], merged]
    return runs
