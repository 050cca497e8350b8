"""`karet_worker.layout`: every key stays inside its folder, whatever the ids and values (§15)."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from karet_worker.layout import (
    HIVE_NULL,
    MAX_KEY_BYTES,
    PipelineKeys,
    UnsafeKey,
    encode_value,
    id_problem,
    partition_path,
    pipeline_prefix_problems,
    source_path_problem,
)

KEYS = PipelineKeys("pipelines/shop/")
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text a hostile config may carry: separators, dots, escapes, controls, non-ASCII, surrogates.
HOSTILE = st.lists(
    st.sampled_from(["/", ".", "..", "%", "=", "\\", "\x00", "\n", " ", "é", "a", "_", "\ud800"])
    | st.characters(),
    max_size=12,
).map("".join)


def test_every_kind_of_key() -> None:
    assert KEYS.config == "pipelines/shop/pipeline.json"
    assert KEYS.inputs("raw/2024 sales/") == "pipelines/shop/raw/2024 sales/"
    assert KEYS.table("sales") == "pipelines/shop/clean/sales/"
    assert KEYS.output("sales", "", "orders") == "pipelines/shop/clean/sales/orders.parquet"
    assert (
        KEYS.output("sales", partition_path(["year", "month"], [2024, 3], [4, 2]), "orders")
        == "pipelines/shop/clean/sales/year=2024/month=03/orders.parquet"
    )
    assert KEYS.job_record("0f3a") == "pipelines/shop/_jobs/0f3a.json"


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        (None, HIVE_NULL),
        ("", ""),  # DuckDB and Polars read `k=` back as the empty string
        (HIVE_NULL, "%5F_HIVE_DEFAULT_PARTITION__"),  # the literal text is not the null marker
        ("a/../b", "a%2F..%2Fb"),
        ("..", ".."),  # `k=..` is an ordinary folder name
        ("50% off", "50%25%20off"),
        (True, "true"),
        (-3, "-3"),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.datetime(2024, 2, 29, 10, 30), "2024-02-29T10%3A30%3A00"),
    ],
)
def test_partition_values_are_encoded_apart_from_each_other(value: object, segment: str) -> None:
    assert encode_value(value) == segment


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: KEYS.table(".."), "'..'"),
        (lambda: KEYS.table("a/b"), "'/'"),
        (lambda: KEYS.output("t", "", "../m"), "'/'"),
        (lambda: KEYS.output("t", "k=a/../..", "m"), "'..'"),
        (lambda: KEYS.output("t", "k=%2f", "m"), "'k=%2f'"),  # lower-case escape: not ours
        (lambda: KEYS.output("t", "k", "m"), "'k'"),
        (lambda: KEYS.job_record("x\x00"), "'\\x00'"),
        (lambda: KEYS.inputs("../raw/"), "'..'"),
        (lambda: KEYS.inputs("_jobs/"), "_jobs/"),
        (lambda: PipelineKeys("../x/"), "'..'"),
        (lambda: PipelineKeys("p" * 256 + "/"), "255"),
        (lambda: partition_path(["a/b"], [1]), "'a/b'"),
        (lambda: partition_path(["k"], ["x" * 300]), "too long"),
        (lambda: KEYS.output("t", "/".join([f"k={'v' * 240}"] * 5), "m"), str(MAX_KEY_BYTES)),
    ],
)
def test_no_unsafe_key_is_built(build: object, fragment: str) -> None:
    with pytest.raises(UnsafeKey) as caught:
        build()  # type: ignore[operator]
    assert fragment in str(caught.value)


@FUZZ
@given(table=HOSTILE, mapping=HOSTILE)
def test_an_id_is_refused_or_stays_one_segment(table: str, mapping: str) -> None:
    """Any text either fails `id_problem` (and the builder refuses it) or is one segment."""
    if id_problem(table) is not None or id_problem(mapping) is not None:
        with pytest.raises(UnsafeKey):
            KEYS.output(table, "", mapping)
        return
    key = KEYS.output(table, "", mapping)
    assert key == f"pipelines/shop/clean/{table}/{mapping}.parquet"
    assert key.split("/")[3:] == [table, f"{mapping}.parquet"]


VALUES = st.one_of(
    st.none(),
    HOSTILE,
    st.sampled_from(["", HIVE_NULL, "..", "."]),
    st.integers(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
)


@FUZZ
@given(values=st.lists(VALUES, min_size=1, max_size=3))
def test_partition_values_give_one_decodable_segment_each(values: list[object]) -> None:
    """k=v segments: one per key, inside the table folder, decoding back to the value."""
    names = ["k1", "k2", "k3"][: len(values)]
    try:
        partition = partition_path(names, values)
    except UnsafeKey as exc:
        assert "too long" in str(exc)
        return
    key = KEYS.output("t", partition, "m")
    folder = KEYS.table("t")
    assert key.startswith(folder)
    segments = key[len(folder) :].split("/")
    assert len(segments) == len(values) + 1 and segments[-1] == "m.parquet"
    for name, value, segment in zip(names, values, segments, strict=False):
        assert segment.startswith(f"{name}=")
        text = segment.removeprefix(f"{name}=")
        if value is None:
            assert text == HIVE_NULL
            continue
        assert text != HIVE_NULL  # only null lands in the null partition
        if isinstance(value, str):
            decoded = urllib.parse.unquote(text, errors="surrogatepass")
            assert decoded == value


@FUZZ
@given(prefix=HOSTILE.map(lambda s: s + "/"))
def test_a_pipeline_prefix_is_refused_or_safe(prefix: str) -> None:
    if pipeline_prefix_problems(prefix):
        with pytest.raises(UnsafeKey):
            PipelineKeys(prefix)
        return
    assert all(s not in ("", ".", "..") for s in prefix[:-1].split("/"))
    assert PipelineKeys(prefix).table("t") == f"{prefix}clean/t/"


@FUZZ
@given(path_prefix=HOSTILE.map(lambda s: s + "/"))
def test_a_source_path_is_refused_or_stays_under_the_pipeline(path_prefix: str) -> None:
    if source_path_problem(path_prefix) is not None:
        return
    listed = KEYS.inputs(path_prefix)
    assert listed.startswith(KEYS.prefix)
    assert all(s not in ("", ".", "..") for s in listed[:-1].split("/"))
    assert not any(ord(c) < 0x20 for c in listed)
