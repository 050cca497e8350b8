"""Storage failures surface as StorageUnavailable with a short message naming operation and key."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from karet_worker.settings import Settings
from karet_worker.storage import ObjectNotFound, ObjectStore, StorageUnavailable
from karet_worker.storage.factory import open_store
from support.ports import free_ports
from support.seaweed import SeaweedServer

Operation = Callable[[ObjectStore, Path], object]

OPERATIONS: dict[str, tuple[Operation, str, str]] = {
    # name: (call, operation word in the message, key in the message)
    "list": (lambda s, _: s.list("pipelines/p/raw/"), "list", "pipelines/p/raw/"),
    "get": (lambda s, _: s.get("pipelines/p/pipeline.json"), "get", "pipelines/p/pipeline.json"),
    "get_to_file": (
        lambda s, tmp: s.get_to_file("pipelines/p/raw/a.csv", tmp / "a.csv"),
        "get",
        "pipelines/p/raw/a.csv",
    ),
    "put": (lambda s, _: s.put("pipelines/p/clean/t/m.parquet", b"x"), "put", "m.parquet"),
    "delete_many": (
        lambda s, _: s.delete_many(["pipelines/p/clean/t/a.parquet", "b"]),
        "delete",
        "pipelines/p/clean/t/a.parquet",
    ),
}


def assert_clean_unavailable(exc: StorageUnavailable, op: str, key: str, cause: str) -> None:
    message = str(exc)
    assert op in message
    assert key in message
    assert cause in message
    assert "\n" not in message
    assert "Debug source" not in message
    assert "Traceback" not in message
    assert len(message) < 400


@pytest.mark.parametrize("name", OPERATIONS)
def test_endpoint_where_nothing_listens(name: str, tmp_path: Path) -> None:
    (port,) = free_ports(1)
    env = {
        "S3_BUCKET": "bucket",
        "S3_ENDPOINT": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    store = open_store(Settings.from_env(env))
    call, op, key = OPERATIONS[name]
    with pytest.raises(StorageUnavailable) as caught:
        call(store, tmp_path)
    assert_clean_unavailable(caught.value, op, key, "connection refused")
    assert f"127.0.0.1:{port}" in str(caught.value)


@pytest.mark.parametrize("name", OPERATIONS)
def test_wrong_credentials(
    name: str, seaweed: SeaweedServer, s3_bucket: str, tmp_path: Path
) -> None:
    env = {**seaweed.env_for(s3_bucket), "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    store = open_store(Settings.from_env(env))
    call, op, key = OPERATIONS[name]
    with pytest.raises(StorageUnavailable) as caught:
        call(store, tmp_path)
    assert_clean_unavailable(caught.value, op, key, "access denied")


def test_unknown_access_key(seaweed: SeaweedServer, s3_bucket: str) -> None:
    env = {**seaweed.env_for(s3_bucket), "AWS_ACCESS_KEY_ID": "nobody"}
    store = open_store(Settings.from_env(env))
    with pytest.raises(StorageUnavailable, match="access denied"):
        store.list("")


def test_missing_bucket_is_unavailable_not_object_not_found(seaweed: SeaweedServer) -> None:
    store = open_store(Settings.from_env(seaweed.env_for("no-such-bucket")))
    with pytest.raises(StorageUnavailable, match="bucket does not exist"):
        store.get("pipelines/p/pipeline.json")
    with pytest.raises(StorageUnavailable):
        store.list("pipelines/p/")


def test_unresolvable_host(tmp_path: Path) -> None:
    env = {
        "S3_BUCKET": "b",
        "S3_ENDPOINT": "http://no-such-host.invalid:9000",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    store = open_store(Settings.from_env(env))
    with pytest.raises(StorageUnavailable, match="host name could not be resolved"):
        store.get("x")


def test_s3_stopped_then_back(tmp_path: Path) -> None:
    """A server that goes away fails operations (no hang); the same store works once it is back."""
    server = SeaweedServer(root=tmp_path / "weed")
    try:
        server.start()
        server.create_bucket("stop-test")
        store = open_store(Settings.from_env(server.env_for("stop-test")))
        store.put("k/a.csv", b"a")

        server.stop()
        with pytest.raises(StorageUnavailable, match="connection refused"):
            store.get("k/a.csv")
        with pytest.raises(StorageUnavailable):
            store.list("k/")

        server.start()
        assert store.get("k/a.csv") == b"a"
        with pytest.raises(ObjectNotFound):
            store.get("k/missing.csv")
    finally:
        server.stop()


def test_local_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageUnavailable, match="data directory"):
        open_store(Settings.from_env({"KARET_DATA_DIR": str(blocker / "data")}))


def test_server_that_accepts_but_never_answers_times_out() -> None:
    """A hung (not dead) server must not hang the run: the read timeout turns it into a 503."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes handshakes; nobody ever reads or answers
        env = {
            "S3_BUCKET": "bucket",
            "S3_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
        }
        store = open_store(Settings.from_env(env))
        with pytest.raises(StorageUnavailable, match="timed out"):
            store.list("pipelines/p/raw/")
