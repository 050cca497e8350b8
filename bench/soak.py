"""Soak: one `karet-worker serve` process takes 2,000 `/config/validate` calls while it runs
200 small pipelines (issue 7). Reports the service's RSS after the first 100 runs and at the
end (a leak shows as growth), and the latency of `/config/validate` while runs are going on.

A benchmark, not a test: it prints figures (bench/README.md, "Soak") and asserts nothing.

    uv run python bench/soak.py [--runs 200] [--validates 2000] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from karet_worker.demo import DEMO_PREFIX, demo_files


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    """Resident set size of `pid` now (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _start(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KARET_DATA_DIR": str(data), "PORT": str(port)}
    env.setdefault("POLARS_MAX_THREADS", "2")
    worker = Path(sys.executable).parent / "karet-worker"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(worker), "serve", "--demo", "--host", "127.0.0.1", "--log-level", "warning"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"serve did not start; see {log}")


def _client(timeout: float) -> httpx.Client:
    """One keep-alive connection per thread, as a web app or script would hold."""
    return httpx.Client(timeout=timeout)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--validates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=2, help="runs in flight at once")
    parser.add_argument(
        "--interval-ms",
        type=float,
        default=15,
        help="pause between validate calls, so they span the runs",
    )
    args = parser.parse_args()

    config = demo_files()["pipeline.json"]
    with tempfile.TemporaryDirectory(prefix="karet-soak-") as tmp:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _start(Path(tmp) / "data", port, Path(tmp) / "serve.log")
        try:
            rss_first: float | None = None
            runs_done = 0
            lock = threading.Lock()
            statuses: dict[int, int] = {}
            runs_over = threading.Event()

            def runner() -> None:
                nonlocal runs_done, rss_first
                with _client(300) as client:
                    while True:
                        with lock:
                            if runs_done + threads_busy[0] >= args.runs:
                                return
                            threads_busy[0] += 1
                        answer = client.post(
                            f"{base}/jobs/run", json={"pipeline_prefix": DEMO_PREFIX}
                        )
                        with lock:
                            threads_busy[0] -= 1
                            runs_done += 1
                            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                            if runs_done == checkpoint:
                                rss_first = _rss_mb(proc.pid)

            threads_busy = [0]
            checkpoint = min(100, args.runs // 2)  # RSS is compared from here to the end
            started = time.monotonic()
            runners = [threading.Thread(target=runner) for _ in range(args.concurrency)]
            for thread in runners:
                thread.start()

            during: list[float] = []
            after: list[float] = []
            validate_status: dict[int, int] = {}
            with _client(60) as client:
                for _ in range(args.validates):
                    t0 = time.perf_counter()
                    answer = client.post(f"{base}/config/validate", content=config)
                    elapsed = (time.perf_counter() - t0) * 1000
                    validate_status[answer.status_code] = (
                        validate_status.get(answer.status_code, 0) + 1
                    )
                    (after if runs_over.is_set() else during).append(elapsed)
                    if not any(t.is_alive() for t in runners):
                        runs_over.set()
                    time.sleep(args.interval_ms / 1000)
            for thread in runners:
                thread.join()
            wall = time.monotonic() - started
            rss_end = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    print(f"runs: {runs_done} in {wall:.1f} s, statuses {statuses}")
    print(f"validate statuses {validate_status}")
    assert rss_first is not None
    print(
        f"RSS after {checkpoint} runs: {rss_first:.0f} MB; after {runs_done}: {rss_end:.0f} MB "
        f"({(rss_end / rss_first - 1) * 100:+.1f}%)"
    )
    for label, values in (("during runs", during), ("after runs", after)):
        if values:
            print(
                f"/config/validate {label}: n={len(values)}, median "
                f"{statistics.median(values):.1f} ms, p99 {_percentile(values, 0.99):.1f} ms, "
                f"max {max(values):.1f} ms"
            )


if __name__ == "__main__":
    main()
