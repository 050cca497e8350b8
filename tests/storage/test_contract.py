"""The ObjectStore contract, run against both backends: the local directory and real S3."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from karet_worker.settings import Settings
from karet_worker.storage import InvalidKey, ObjectInfo, ObjectNotFound, ObjectStore
from karet_worker.storage.factory import open_store
from support.seaweed import SeaweedServer


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield open_store(Settings.from_env({"KARET_DATA_DIR": str(tmp_path / "data")}))
        return
    seaweed: SeaweedServer = request.getfixturevalue("seaweed")
    bucket: str = request.getfixturevalue("s3_bucket")
    yield open_store(Settings.from_env(seaweed.env_for(bucket)))


def keys(infos: list[ObjectInfo]) -> list[str]:
    return [info.key for info in infos]


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def test_list_is_recursive_sorted_and_scoped_to_the_prefix(store: ObjectStore) -> None:
    written = ["p/raw/b.csv", "p/raw/a.csv", "p/raw/2024/01/z.csv", "p/raw/2023/x.csv.gz"]
    for key in [*written, "p/rawish/c.csv", "q/raw/d.csv", "p/other.csv"]:
        store.put(key, key.encode())

    assert keys(store.list("p/raw/")) == sorted(written)
    assert keys(store.list("p/raw/2024/")) == ["p/raw/2024/01/z.csv"]


def test_list_reports_sizes(store: ObjectStore) -> None:
    store.put("s/one", b"1")
    store.put("s/three", b"333")
    assert store.list("s/") == [ObjectInfo("s/one", 1), ObjectInfo("s/three", 3)]


def test_list_reports_when_each_object_was_written(store: ObjectStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)  # clock skew between us and the server
    store.put("m/one", b"1")
    (info,) = store.list("m/")
    assert info.last_modified is not None
    assert before <= info.last_modified <= datetime.now(UTC) + timedelta(minutes=5)


def test_get_range_reads_only_the_asked_bytes(store: ObjectStore) -> None:
    payload = random_bytes(100_000, seed=3)
    store.put("r/obj.bin", payload)
    assert store.get_range("r/obj.bin", 99_990, 100_000) == payload[-10:]
    assert store.get_range("r/obj.bin", 0, 4) == payload[:4]
    with pytest.raises(ObjectNotFound):
        store.get_range("r/missing.bin", 0, 4)


def test_list_prefix_is_a_plain_string_prefix_like_s3(store: ObjectStore) -> None:
    for key in ["d/ab.csv", "d/abc/x.csv", "d/b.csv"]:
        store.put(key, b"x")
    assert keys(store.list("d/ab")) == ["d/ab.csv", "d/abc/x.csv"]
    assert keys(store.list("d/abc")) == ["d/abc/x.csv"]


def test_list_of_an_empty_prefix_is_empty(store: ObjectStore) -> None:
    assert store.list("nothing/here/") == []


def test_list_with_empty_prefix_lists_everything(store: ObjectStore) -> None:
    store.put("z.csv", b"1")
    store.put("a/b.csv", b"2")
    assert keys(store.list("")) == ["a/b.csv", "z.csv"]


def test_put_get_round_trip_and_overwrite(store: ObjectStore) -> None:
    store.put("k/obj.bin", b"first")
    assert store.get("k/obj.bin") == b"first"
    store.put("k/obj.bin", b"")
    assert store.get("k/obj.bin") == b""
    payload = random_bytes(100_000, seed=1)
    store.put("k/obj.bin", payload)
    assert store.get("k/obj.bin") == payload


def test_keys_with_spaces_percent_and_unicode(store: ObjectStore) -> None:
    key = "p/clean/t/merchant=Caf%C3%A9 & co/ü m.parquet"
    store.put(key, b"data")
    assert keys(store.list("p/clean/")) == [key]
    assert store.get(key) == b"data"


def test_put_file_and_get_to_file_round_trip_a_large_file(
    store: ObjectStore, tmp_path: Path
) -> None:
    size = 12 * 1024 * 1024 + 12345  # over 10 MB: several multipart parts / download chunks
    source = tmp_path / "big.bin"
    source.write_bytes(random_bytes(size, seed=2))
    store.put_file("big/file.bin", source)

    assert store.list("big/") == [ObjectInfo("big/file.bin", size)]
    target = tmp_path / "back.bin"
    store.get_to_file("big/file.bin", target)
    assert (
        hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    )


def test_put_file_of_a_small_file(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "small.csv"
    source.write_bytes(b"a,b\n1,2\n")
    store.put_file("small/x.csv", source)
    assert store.get("small/x.csv") == b"a,b\n1,2\n"


def test_put_file_of_a_missing_local_file_is_the_callers_error(
    store: ObjectStore, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        store.put_file("x/y.csv", tmp_path / "does-not-exist.csv")
    assert store.list("x/") == []


def test_get_of_a_missing_key_raises_object_not_found(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        store.get("missing/pipeline.json")
    assert caught.value.key == "missing/pipeline.json"


def test_get_to_file_of_a_missing_key_leaves_no_file(store: ObjectStore, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(ObjectNotFound):
        store.get_to_file("missing/data.csv", target)
    assert not target.exists()


def test_delete_many_ignores_missing_keys(store: ObjectStore) -> None:
    for key in ["del/a", "del/b", "del/sub/c", "keep/d"]:
        store.put(key, b"x")
    store.delete_many(["del/a", "del/never-existed", "del/sub/c", "other/missing"])
    assert keys(store.list("")) == ["del/b", "keep/d"]


def test_delete_many_of_many_keys_and_of_none(store: ObjectStore) -> None:
    written = [f"many/{i:03d}.parquet" for i in range(40)]
    for key in written:
        store.put(key, b"x")
    store.delete_many([])
    assert len(store.list("many/")) == 40
    store.delete_many(written[:35])
    assert keys(store.list("many/")) == written[35:]


def test_concurrent_puts_and_gets_from_many_threads(store: ObjectStore) -> None:
    payloads = {f"conc/{i:02d}.bin": random_bytes(50_000 + i, seed=i) for i in range(24)}

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: store.put(*item), payloads.items()))
        got = dict(zip(payloads, pool.map(store.get, payloads), strict=True))

    assert got == payloads
    assert keys(store.list("conc/")) == sorted(payloads)


@pytest.mark.parametrize("bad_key", ["a//b.csv", "a/./b.csv", "a/../b.csv"])
def test_keys_with_empty_or_dot_segments_are_rejected(store: ObjectStore, bad_key: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        store.put(bad_key, b"x")
    assert bad_key in str(caught.value)
