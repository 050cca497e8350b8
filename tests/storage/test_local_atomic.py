"""The local store writes atomically through `<root>/.karet-tmp/`, and scratch directories of
killed processes are swept at the next start (SPEC §15)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from karet_worker.storage.base import InvalidKey
from karet_worker.storage.factory import open_local_store
from karet_worker.storage.local_store import TEMP_DIR
from karet_worker.storage.scratch import ScratchDir, sweep_dead


def _killed_owner(base: Path, label: str) -> Path:
    """A scratch directory whose owner was killed with SIGKILL while holding it."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from karet_worker.storage.scratch import ScratchDir
        scratch = ScratchDir(Path({str(base)!r}), {label!r})
        (scratch.path / "half-written").write_bytes(b"x" * 1000)
        print(scratch.path, flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        path = Path(child.stdout.readline().strip())
        assert path.is_dir()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    return path


def test_a_killed_owners_directory_is_swept_and_live_ones_are_kept(tmp_path: Path) -> None:
    dead = _killed_owner(tmp_path, "karet-run")
    with ScratchDir(tmp_path, "karet-run") as mine:
        unrelated = tmp_path / "karet-run-not-ours"
        unrelated.mkdir()
        assert sweep_dead(tmp_path, "karet-run") == [dead]
        assert not dead.exists()
        assert mine.path.is_dir() and unrelated.is_dir()
    assert not mine.path.exists()


def test_objects_appear_whole_and_no_temp_file_is_left(tmp_path: Path) -> None:
    store = open_local_store(tmp_path)
    store.put("p/clean/t/m.parquet", b"one")
    source = tmp_path / "local.bin"
    source.write_bytes(b"two" * 1000)
    store.put_file("p/clean/t/k=1/m.parquet", source)
    assert sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
    ) == [
        "local.bin",
        "p/clean/t/k=1/m.parquet",
        "p/clean/t/m.parquet",
    ]
    assert [o.key for o in store.list("")] == [
        "local.bin",
        "p/clean/t/k=1/m.parquet",
        "p/clean/t/m.parquet",
    ]


def test_temp_files_are_never_listed_nor_writable_as_keys(tmp_path: Path) -> None:
    store = open_local_store(tmp_path)
    store.put("a.csv", b"x")
    stray = tmp_path / TEMP_DIR / "writer-1-0000abcd" / "0"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"half")
    assert [o.key for o in store.list("")] == ["a.csv"]
    assert [o.key for o in store.list(TEMP_DIR + "/")] == []
    with pytest.raises(InvalidKey):
        store.put(f"{TEMP_DIR}/x", b"x")


def test_a_writer_killed_mid_object_leaves_nothing_after_the_next_open(tmp_path: Path) -> None:
    open_local_store(tmp_path)
    dead = _killed_owner(tmp_path / TEMP_DIR, "writer")
    assert (dead / "half-written").exists()
    store = open_local_store(tmp_path)
    assert not dead.exists()
    assert store.list("") == []


def _obstore_staging_leftover(root: Path, key: str) -> Path:
    """What a process killed while obstore's local writer uploaded `key` left behind (the
    local store wrote through obstore before it got its temp directory)."""
    script = textwrap.dedent(
        f"""
        import os, time
        from pathlib import Path
        import obstore
        from obstore.store import LocalStore
        writer = obstore.open_writer(LocalStore({str(root)!r}), {key!r}, buffer_size=1024)
        writer.write(b"x" * 5000)
        writer.flush()  # uploads a part into the staging file, in the background
        staged = Path({str(root / key)!r} + "#1")
        deadline = time.monotonic() + 30
        while not (staged.exists() and staged.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.01)
        os._exit(0)  # no close: the process dies mid-object
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    (staged,) = (root / key).parent.glob(f"{Path(key).name}#*")
    return staged


def test_obstore_staging_files_left_in_table_folders_are_swept_at_open(tmp_path: Path) -> None:
    store = open_local_store(tmp_path)
    table = pl.DataFrame({"a": [1, 2]})
    store.put("p/clean/t/k=1/m.parquet", _parquet(table))
    store.put("p/raw/in.csv", b"a\n1\n")
    leftovers = [
        _obstore_staging_leftover(tmp_path, "p/clean/t/k=1/m.parquet"),
        _obstore_staging_leftover(tmp_path, "p/clean/t/k=2/n.parquet"),
    ]
    assert [p.name for p in leftovers] == ["m.parquet#1", "n.parquet#1"]
    assert all(p.stat().st_size for p in leftovers)
    # Not the worker's: a file among the inputs, whatever its name, is the user's.
    inputs_file = _obstore_staging_leftover(tmp_path, "p/raw/m.parquet")
    with pytest.raises(pl.exceptions.InvalidOperationError):  # what the leftovers broke
        pl.scan_parquet(tmp_path / "p/clean/t", hive_partitioning=True).collect()

    open_local_store(tmp_path)

    assert not any(p.exists() for p in leftovers)
    assert inputs_file.exists()
    scanned = pl.scan_parquet(tmp_path / "p/clean/t", hive_partitioning=True).collect()
    assert scanned.to_dict(as_series=False) == {"a": [1, 2], "k": [1, 1]}
    # (obstore's listing hides staging files: why nothing else ever removed them)
    assert sorted(o.key for o in store.list("p/")) == ["p/clean/t/k=1/m.parquet", "p/raw/in.csv"]


def _parquet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out)
    return out.getvalue()


def test_scratch_directories_survive_only_their_owner(tmp_path: Path) -> None:
    """Two live owners in two processes do not sweep each other."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from karet_worker.storage.scratch import sweep_dead
        print(len(sweep_dead(Path({str(tmp_path)!r}), "karet-run")))
        """
    )
    with ScratchDir(tmp_path, "karet-run") as mine:
        out = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        )
        assert out.stdout.strip() == "0"
        assert mine.path.is_dir()
