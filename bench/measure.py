"""Runs one contender as a child process and measures wall time, CPU time and peak RSS.

Peak RSS comes from `/usr/bin/time -v` when it exists, else from `os.wait4`, which reports the
same kernel figure (ru_maxrss) for exactly that child.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    returncode: int
    output_tail: str  # last lines of stdout+stderr, for failure reports
    others_cpu_percent: float = 0.0  # CPU used by *other* processes meanwhile (100 = one core)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def cpu_percent(self) -> float:
        return 100.0 * (self.user_s + self.sys_s) / self.wall_s if self.wall_s else 0.0


def busy_cpu_seconds() -> float:
    """Machine-wide busy CPU time so far (all cores), from /proc/stat; 0 where unavailable."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wait_for_idle(threshold_cores: float, timeout_s: float) -> float:
    """Block until the machine's busy CPU over 1 s is below `threshold_cores` (other helpers'
    work would skew the figures), or until `timeout_s`. Returns the last busy figure."""
    deadline = time.monotonic() + timeout_s
    while True:
        before = busy_cpu_seconds()
        time.sleep(1.0)
        busy = busy_cpu_seconds() - before
        if busy < threshold_cores or time.monotonic() >= deadline:
            return busy


def _gnu_time_available() -> bool:
    return os.access(GNU_TIME, os.X_OK)


def _parse_gnu_time(text: str) -> tuple[float, float, float]:
    """(user s, sys s, max RSS MB) from `time -v` output."""

    def field(label: str) -> float:
        match = re.search(rf"{re.escape(label)}:\s*([0-9.]+)", text)
        if match is None:
            raise ValueError(f"/usr/bin/time -v output lacks {label!r}:\n{text}")
        return float(match.group(1))

    return (
        field("User time (seconds)"),
        field("System time (seconds)"),
        field("Maximum resident set size (kbytes)") / 1024.0,
    )


def _tail(raw: bytes, lines: int = 25) -> str:
    return "\n".join(raw.decode("utf-8", "replace").splitlines()[-lines:])


def run_measured(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    use_gnu_time: bool | None = None,
) -> Measurement:
    """Run `cmd` to completion; output is captured (kept only as a tail for diagnostics).
    `env` is the child's whole environment (default: this process's), so a variable a caller
    left out stays out (`run.py` leaves the S3 ones out of ours' local runs)."""
    full_env = dict(os.environ if env is None else env)
    # A deployed service runs from cached bytecode. With PYTHONDONTWRITEBYTECODE (set in some
    # sandboxes) every run of ours compiled its modules anew: 0.27 s more import time.
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    if use_gnu_time is None:
        use_gnu_time = _gnu_time_available()
    with tempfile.TemporaryDirectory(prefix="karet-bench-") as tmp:
        log_path = Path(tmp) / "output.log"
        time_path = Path(tmp) / "time.txt"
        argv = list(cmd)
        if use_gnu_time:
            argv = [GNU_TIME, "-v", "-o", str(time_path), *argv]
        with log_path.open("wb") as log:
            busy_before = busy_cpu_seconds()
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=full_env, cwd=cwd, stdout=log, stderr=log)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            busy = busy_cpu_seconds() - busy_before
            proc.returncode = os.waitstatus_to_exitcode(status)
        output = _tail(log_path.read_bytes())
        if use_gnu_time:
            user, system, rss = _parse_gnu_time(time_path.read_text())
        else:
            user, system, rss = usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024.0
    others = max(0.0, busy - user - system) / wall * 100.0 if wall else 0.0
    return Measurement(wall, user, system, rss, proc.returncode, output, others)


def which_in_venv(name: str) -> str | None:
    """An executable next to the running interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)
