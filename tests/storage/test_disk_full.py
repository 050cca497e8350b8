"""A full disk fails the run with a clear error and leaves no temp file (SPEC §15).

The disk is made "full" for a child process with RLIMIT_FSIZE (no root, no tiny file system
needed): every write past the limit fails with EFBIG, which the worker treats like ENOSPC, at
exactly the points where a full disk would fail it (the run's work directory, the store's
temp file). SIGXFSZ is ignored in the child so the write fails instead of killing it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from tests.engine.workspace import PREFIX, Workspace, make_config

from karet_worker.demo import demo_files

LIMIT = 64 * 1024  # bytes any one file may reach


def _limited(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # stays ignored across exec
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_full_work_directory_fails_the_run_cleanly(tmp_path: Path) -> None:
    data, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    prefix = data / "pipelines" / "big"
    for relative, content in demo_files().items():
        (prefix / relative).parent.mkdir(parents=True, exist_ok=True)
        (prefix / relative).write_bytes(content)
    # One wide input whose Parquet output is far over the limit.
    config = json.loads((prefix / "pipeline.json").read_text())
    bank = next(s for s in config["source_containers"] if s["id"] == "bank")
    rows = "".join(f"2024-01-{1 + i % 28:02d},{f'payee {i} ' * 6},{i}.5\n" for i in range(20000))
    big = prefix / bank["path_prefix"] / "2024-big.csv"
    big.write_text("date,description,amount\n" + rows)
    before = _files(data)
    env = {**os.environ, "KARET_DATA_DIR": str(data), "TMPDIR": str(work)}

    ran = subprocess.run(
        [sys.executable, "-m", "karet_worker.cli.main", "run", "pipelines/big/"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited(LIMIT),
    )

    output = ran.stdout + ran.stderr
    assert ran.returncode == 3, output  # storage unavailable
    assert "full" in output and "Traceback" not in output
    assert list(work.iterdir()) == []  # no work directory left behind
    # Nothing half-written: only whole objects, and no temp file of the store.
    assert not (data / ".karet-tmp").exists() or _files(data / ".karet-tmp") == []
    for key in set(_files(data)) - set(before):
        assert key.endswith(".parquet") and "/clean/" in f"/{key}", key


def test_a_full_store_disk_is_a_clear_error_and_keeps_no_temp_file(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from karet_worker.storage.base import DiskFull
        from karet_worker.storage.factory import open_local_store
        store = open_local_store(Path({str(tmp_path)!r}))
        store.put("p/clean/t/small.parquet", b"x" * 1000)
        try:
            store.put("p/clean/t/m.parquet", b"x" * {LIMIT * 4})
        except DiskFull as exc:
            print("DiskFull:", exc)
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limited(LIMIT),
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("DiskFull: storage unavailable: local store at "), ran.stdout
    assert "is full" in ran.stdout and "p/clean/t/m.parquet" in ran.stdout
    assert _files(tmp_path) == ["p/clean/t/small.parquet"]


def test_a_full_spill_directory_fails_the_run_and_keeps_the_table(tmp_path: Path) -> None:
    """Output rows waiting for their row group are spilled to Arrow files in the run's work
    directory when the memory budget is short. A spill that cannot be written fails the run
    with the disk-full error; the earlier spills go with the work directory, and the table
    of the previous run stays as it was (a clean run prunes nothing)."""
    data, work = tmp_path / "data", tmp_path / "work"
    work.mkdir()
    ws = Workspace(data)
    schema = [("k", "int64"), ("v", "string")]
    ws.config(make_config(source_schema=schema, table_schema=schema))
    # a.csv's rows spill in one ~30 KB file, under the limit; b.csv's in one ~400 KB file.
    ws.put("raw/a.csv", "k,v\n" + "".join(f"{i},a{i}\n" for i in range(2000)))
    assert ws.run().rows_written == 2000  # the table as it was before
    table_before = {key: ws.bytes_of(key) for key in ws.objects()}
    ws.put("raw/b.csv", "k,v\n" + "".join(f"{i},{'b' * 200}{i}\n" for i in range(2000)))
    store_before = _files(data)
    script = textwrap.dedent(
        f"""
        import traceback
        from pathlib import Path
        from karet_worker.engine.limits import Limits
        from karet_worker.engine.run import Runner
        from karet_worker.storage.base import DiskFull
        from karet_worker.storage.factory import open_local_store
        # Every chunk's rows over the budget (spilled); no row group cut before the end.
        limits = Limits(memory_budget_bytes=1, row_group_rows=1_000_000)
        runner = Runner(
            open_local_store(Path({str(data)!r})), limits=limits, work_root=Path({str(work)!r})
        )
        try:
            runner.run({PREFIX!r}, clean_run=True)
        except DiskFull as exc:
            print("DiskFull:", exc)
            frames = traceback.extract_tb(exc.__cause__.__traceback__)
            print("failed in:", " ".join(frame.name for frame in frames))
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited(LIMIT),
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert len(lines) == 2, f"the run did not fail: {ran.stdout}{ran.stderr}"
    assert lines[0].startswith("DiskFull: storage unavailable: the run's work directory "), lines
    assert "is full" in lines[0] and "the run stopped" in lines[0]
    assert "spill_largest" in lines[1].split(), lines[1]  # it was the spill that failed
    assert list(work.iterdir()) == []  # the spill files went with the work directory
    assert _files(data) == store_before  # no temp file, nothing new
    assert {key: ws.bytes_of(key) for key in ws.objects()} == table_before
