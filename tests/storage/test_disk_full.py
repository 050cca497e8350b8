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
