"""KeySet (dedup and `unique`) against a plain-Python reference, including hash collisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from karet_worker.engine import keys
from karet_worker.engine.keys import KeySet, key_codes

SCHEMA = {"s": pl.String, "i": pl.Int64, "f": pl.Float64, "b": pl.Boolean, "d": pl.Date}
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "s": st.sampled_from(["", "a", "b", "a:1", "v1:a", "n", "ab"]),
    "i": st.integers(-3, 3),
    "f": st.sampled_from([0.0, -0.0, 1.5, -1.5, 1e300]),
    "b": st.booleans(),
    "d": st.dates(dt.date(1999, 12, 30), dt.date(2000, 1, 2)),
}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, list[dict[str, Any]]]]]:
    """Key columns and a sequence of steps: ("batch", rows), ("commit", []), ("rollback", [])."""
    names = draw(st.lists(st.sampled_from(list(SCHEMA)), min_size=1, max_size=3, unique=True))
    row = st.fixed_dictionaries({n: st.none() | VALUES[n] for n in names})
    step = st.one_of(
        st.tuples(st.just("batch"), st.lists(row, max_size=12)),
        st.tuples(st.sampled_from(["commit", "rollback"]), st.just([])),
    )
    return names, draw(st.lists(step, max_size=12))


def _normal(value: Any) -> Any:
    return 0.0 if isinstance(value, float) and value == 0 else value  # -0.0 == 0.0


def _run(names: list[str], steps: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Feed the steps to a KeySet and to a reference set; every batch keeps the same rows."""
    keyset = KeySet(names)
    committed: set[tuple[Any, ...]] = set()
    pending: set[tuple[Any, ...]] = set()
    for kind, rows in steps:
        if kind == "commit":
            keyset.commit()
            committed |= pending
            pending = set()
        elif kind == "rollback":
            keyset.rollback()
            pending = set()
        else:
            frame = pl.DataFrame(
                [{**r, "__index": i} for i, r in enumerate(rows)],
                schema={**{n: SCHEMA[n] for n in names}, "__index": pl.Int64},
            )
            kept = keyset.first_new(frame)["__index"].to_list()
            expected = []
            for index, r in enumerate(rows):
                key = tuple(_normal(r[n]) for n in names)
                if key not in committed and key not in pending:
                    pending.add(key)
                    expected.append(index)
            assert kept == expected


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_keyset_equals_a_reference_set(
    scenario: tuple[list[str], list[tuple[str, list[dict[str, Any]]]]],
) -> None:
    _run(*scenario)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_hash_collisions_never_drop_a_distinct_key(
    scenario: tuple[list[str], list[tuple[str, list[dict[str, Any]]]]],
) -> None:
    """With a hash that collides constantly, the exact codes still decide."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keys, "key_hash", lambda codes: (codes.str.len_bytes() % 3).cast(pl.UInt64))
        _run(*scenario)


def test_codes_keep_tuples_apart_whatever_their_text() -> None:
    frame = pl.DataFrame({"a": ["x:", "x", None, ""], "b": ["y", ":y", "n", None]})
    codes = key_codes(frame, ["a", "b"]).to_list()
    assert len(set(codes)) == 4


def test_many_batches_merge_into_few_runs() -> None:
    keyset = KeySet(["id"])
    for start in range(0, 64_000, 1_000):
        frame = pl.DataFrame({"id": range(start, start + 1_000)})
        assert keyset.first_new(frame).height == 1_000
        keyset.commit()
    assert len(keyset) == 64_000
    assert len(keyset._committed) <= 8  # a log-structured merge, not one run per batch
    again = pl.DataFrame({"id": [5, 63_999, 64_000]})
    assert keyset.first_new(again)["id"].to_list() == [64_000]
