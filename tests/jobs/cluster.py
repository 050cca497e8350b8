"""Real `karet-worker` processes for the multi-process queue tests: workers and a serve, all
configured only through SPEC §8 variables, and their JSON logs read back as run intervals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from karet_worker.engine.run import Runner
from karet_worker.storage.base import ObjectStore
from karet_worker.storage.factory import open_local_store
from support.ports import free_ports
from support.process import log_tail, spawn, stop

from .conftest import tiny_config

START_TIMEOUT = 60.0  # guards against hangs, not performance assertions
WAIT_S = 240.0
SETTINGS_PREFIXES = ("AWS_", "S3_", "KARET_", "REDIS_")


def karet_worker() -> list[str]:
    script = Path(sys.executable).parent / "karet-worker"
    return [str(script)] if script.exists() else [sys.executable, "-m", "karet_worker.cli.main"]


def clean_env(settings: Mapping[str, str]) -> dict[str, str]:
    """This environment without any developer settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    env.pop("PORT", None)
    env["POLARS_MAX_THREADS"] = "1"
    env.update(settings)
    return env


@dataclass
class Proc:
    """One `karet-worker` process; its log is JSON lines (plus whatever else it printed)."""

    name: str
    argv: list[str]
    settings: Mapping[str, str]
    workdir: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = spawn(self.argv, env=clean_env(self.settings), cwd=self.workdir, log=self.log)

    def signal(self, signum: signal.Signals) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signum)

    def stop(self) -> None:
        if self.proc is not None:
            with_cont = self.proc.poll() is None
            if with_cont:  # a stopped process must be woken to see SIGTERM
                os.kill(self.proc.pid, signal.SIGCONT)
            stop(self.proc, grace=20.0)

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entry["_process"] = self.name
                out.append(entry)
        return out

    def tail(self) -> str:
        return log_tail(self.log)


def worker_proc(name: str, settings: Mapping[str, str], workdir: Path) -> Proc:
    argv = [*karet_worker(), "worker", "--concurrency", "1", "--log-level", "debug"]
    return Proc(name, argv, settings, workdir)


@dataclass
class Serve:
    proc: Proc
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc.start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.proc.proc is not None
            if self.proc.proc.poll() is not None:
                raise RuntimeError(f"serve exited:\n{self.proc.tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start:\n{self.proc.tail()}")
            time.sleep(0.1)

    def submit(self, prefix: str, *, clean_run: bool = False) -> httpx.Response:
        body = {"pipeline_prefix": prefix, "clean_run": clean_run}
        return httpx.post(f"{self.url}/jobs", json=body, timeout=30)

    def job(self, job_id: str) -> dict[str, Any]:
        record: dict[str, Any] = httpx.get(f"{self.url}/jobs/{job_id}", timeout=30).json()
        return record

    def jobs(self, **params: Any) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = httpx.get(
            f"{self.url}/jobs", params=params, timeout=30
        ).json()
        return records


def serve_proc(settings: Mapping[str, str], workdir: Path) -> Serve:
    (port,) = free_ports(1)
    argv = [*karet_worker(), "serve", "--host", "127.0.0.1", "--log-level", "debug"]
    return Serve(Proc("serve", argv, {**settings, "PORT": str(port)}, workdir), port)


@dataclass(frozen=True)
class RunSpan:
    """One run of a pipeline as its process logged it: from taking the lock to letting go
    (or, for a killed process, to its last log line about the run)."""

    fence: str
    prefix: str
    process: str
    start: datetime
    end: datetime
    writes: tuple[datetime, ...]


def run_spans(procs: list[Proc]) -> list[RunSpan]:
    """Every run in the processes' logs, by fence."""
    spans = []
    for proc in procs:
        lines = [e for e in proc.lines() if e.get("logger") == "karet_worker.jobs"]
        starts = {e["fence"]: e for e in lines if e.get("message") == "run started"}
        for fence, started in starts.items():
            mine = [e for e in lines if e.get("fence") == fence]
            ended = [e for e in mine if e.get("message") == "run ended"]
            last = ended[-1] if ended else mine[-1]
            writes = tuple(_ts(e) for e in mine if e.get("message") == "object written")
            spans.append(
                RunSpan(
                    fence,
                    started["pipeline_prefix"],
                    proc.name,
                    _ts(started),
                    _ts(last),
                    writes,
                )
            )
    return spans


def overlapping(spans: list[RunSpan]) -> list[tuple[RunSpan, RunSpan]]:
    """Pairs of runs of one pipeline whose intervals intersect."""
    found = []
    by_prefix: dict[str, list[RunSpan]] = {}
    for span in spans:
        by_prefix.setdefault(span.prefix, []).append(span)
    for runs in by_prefix.values():
        runs.sort(key=lambda s: s.start)
        latest: RunSpan | None = None  # the run seen so far that ends last
        for run in runs:
            if latest is not None and run.start < latest.end:
                found.append((latest, run))
            if latest is None or run.end > latest.end:
                latest = run
    return found


def _ts(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["ts"])


def pipeline_files(number: int, count: int) -> dict[str, bytes]:
    """Config and inputs of pipeline `number`: `count` CSVs of 40 rows each."""
    files = {"pipeline.json": json.dumps(tiny_config()).encode()}
    for n in range(count):
        rows = "".join(f"d{(number + n + r) % 4},{number * 1000 + n * 40 + r}\n" for r in range(40))
        files[f"raw/{n:04d}.csv"] = ("day,amount\n" + rows).encode()
    return files


def reference(root: Path, prefix: str, files: dict[str, bytes]) -> dict[str, bytes]:
    """The tables of one single-process run on a local store: key -> bytes."""
    store: ObjectStore = open_local_store(root)
    for name, data in files.items():
        store.put(prefix + name, data)
    Runner(store).run(prefix, clean_run=True)
    return {o.key: store.get(o.key) for o in store.list(prefix + "clean/")}


def wait_until(what: str, check: Any, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def upload(s3: Any, bucket: str, inputs: dict[str, dict[str, bytes]]) -> None:
    """Put every pipeline's files (prefix -> name -> bytes) into the bucket, 8 at a time."""
    items = [(prefix + name, data) for prefix, f in inputs.items() for name, data in f.items()]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), items))


def ended(queue: Any, job_id: str) -> Any:
    """The job's record once it reached a terminal status, else None (for `wait_until`)."""
    record = queue.get(job_id)
    return record if record.status.terminal else None
