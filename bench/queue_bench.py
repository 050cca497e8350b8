"""Queue benchmark (issue 8): N jobs of a tiny pipeline over 1, 2 and 3 `karet-worker worker`
processes on a real Redis, and the overhead of a queued run against a direct `karet-worker run`.

    uv run python bench/queue_bench.py --jobs 500 --workers 1 2 3

Per worker count: jobs/s (from the first enqueue to the last verdict), p50/p95 of
enqueue -> start, and Redis commands executed per job (INFO commandstats delta over the whole
round, the workers' idle polling included; commands run inside Lua scripts count too). Round
trips are counted in a separate pass under MONITOR (it slows Redis, so not during the timed
rounds): every command a client sent, a MULTI...EXEC block counted once, commands executed by
scripts left out. Each job runs its own copy of the pipeline (`pipelines/q<n>/`), so no job
waits for another's lock: this measures the queue, not lock contention. The store is a local
directory shared by all processes (no S3 latency in the figures). Markdown on stdout, raw JSON in
bench/out/queue/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from karet_worker.jobs.factory import open_queue
from karet_worker.jobs.model import JobRecord, Trigger
from karet_worker.settings import Settings
from karet_worker.storage.factory import open_local_store
from support.process import log_tail, spawn, stop  # the tests' process helpers
from support.redis import RedisServer  # the tests' redis-server launcher

OUT = Path(__file__).resolve().parent / "out" / "queue"
TIMEOUT_S = 900.0  # a guard against a hang
CONFIG = {
    "version": 1,
    "source_containers": [
        {
            "id": "src",
            "name": "src",
            "path_prefix": "raw/",
            "schema": [{"name": "id", "type": "string"}, {"name": "amount", "type": "int64"}],
        }
    ],
    "lookup_mappings": [],
    "mappings": [
        {
            "id": "m",
            "name": "m",
            "source_container_id": "src",
            "analytic_table_id": "out",
            "columns": [
                {"name": "id", "expr": {"kind": "col", "name": "id"}},
                {"name": "amount", "expr": {"kind": "col", "name": "amount"}},
            ],
        }
    ],
    "analytic_tables": [
        {
            "id": "out",
            "name": "out",
            "schema": [{"name": "id", "type": "string"}, {"name": "amount", "type": "int64"}],
        }
    ],
}
CSV = "id,amount\n" + "".join(f"r{n},{n}\n" for n in range(20))


def karet_worker() -> str:
    return str(Path(sys.executable).parent / "karet-worker")


def seed(data_dir: Path, count: int) -> list[str]:
    """`count` copies of the tiny pipeline (config + one 20-row CSV)."""
    store = open_local_store(data_dir)
    prefixes = [f"pipelines/q{n:04d}/" for n in range(count)]
    for prefix in prefixes:
        store.put(prefix + "pipeline.json", json.dumps(CONFIG).encode())
        store.put(prefix + "raw/data.csv", CSV.encode())
    return prefixes


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def blocked_readers(client: redis.Redis) -> int:
    """Consumers waiting for work (Redis 6.2 lists a consumer in XINFO only once it got an
    entry, so a fresh worker shows up here first)."""
    return sum(1 for c in client.client_list() if c.get("cmd") == "xreadgroup")


def round_trips(jobs: int, data_dir: Path, server: RedisServer, work: Path) -> dict[str, float]:
    """Client round trips per job (submit included) with one worker, counted under MONITOR."""
    env = environment(dict(os.environ), data_dir, server.url, f"bench-rtt-{time.time()}:")
    queue = open_queue(Settings.from_env(env), open_local_store(data_dir))
    client = redis.Redis.from_url(server.url)
    counts: dict[str, int] = {}
    in_multi: set[str] = set()
    watching = threading.Event()

    def watch() -> None:
        with client.monitor() as monitor:
            watching.set()
            for command in monitor.listen():
                if command["client_type"] == "lua":
                    continue
                name = command["command"].split(" ", 1)[0].lower()
                peer = f"{command['client_address']}:{command['client_port']}"
                if name == "multi":
                    in_multi.add(peer)
                elif name == "exec":
                    in_multi.discard(peer)
                    counts["multi/exec"] = counts.get("multi/exec", 0) + 1
                elif peer not in in_multi and name not in ("client", "info"):
                    counts[name] = counts.get(name, 0) + 1
                if name == "quit" or (name == "set" and "bench-rtt-stop" in command["command"]):
                    return

    proc = spawn([karet_worker(), "worker"], env=env, cwd=work, log=work / "worker-rtt.log")
    thread = threading.Thread(target=watch, daemon=True)
    try:
        wait_for(lambda: blocked_readers(client) >= 1, "the consumer", 120)
        thread.start()
        watching.wait(10)
        prefixes = [f"pipelines/q{n:04d}/" for n in range(jobs)]
        ids = [queue.submit(p, clean_run=False, trigger=Trigger.api).job_id for p in prefixes]
        pairs = zip(prefixes, ids, strict=True)
        histories = [data_dir / prefix / "_jobs" / f"{i}.json" for prefix, i in pairs]
        wait_for(lambda: all(h.exists() for h in histories), "every job's history object")
        redis.Redis.from_url(server.url).set("bench-rtt-stop", 1)
        thread.join(30)
    finally:
        stop(proc)
        queue.close()
        client.close()
    per_job = {k: round(v / jobs, 2) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}
    per_job["total"] = round(sum(counts.values()) / jobs, 1)
    return per_job


def command_calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


@dataclass
class Round:
    workers: int
    jobs: int
    wall_s: float
    jobs_per_s: float
    start_latency_p50_ms: float
    start_latency_p95_ms: float
    redis_commands_per_job: float
    top_commands_per_job: dict[str, float]
    statuses: dict[str, int]


def environment(base: dict[str, str], data_dir: Path, url: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(("KARET_", "S3_", "AWS_"))}
    env.update(
        {
            "KARET_DATA_DIR": str(data_dir),
            "REDIS_URL": url,
            "KARET_QUEUE_PREFIX": prefix,
            "POLARS_MAX_THREADS": "1",
        }
    )
    return env


def wait_for(condition: Any, what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def one_round(
    workers: int, jobs: int, data_dir: Path, server: RedisServer, work: Path
) -> tuple[Round, list[JobRecord]]:
    key_prefix = f"bench-{workers}w-{int(time.time())}:"
    env = environment(dict(os.environ), data_dir, server.url, key_prefix)
    settings = Settings.from_env(env)
    store = open_local_store(data_dir)
    queue = open_queue(settings, store)
    client = redis.Redis.from_url(server.url)
    procs = []
    try:
        for n in range(workers):
            argv = [karet_worker(), "worker", "--concurrency", "1"]
            procs.append(spawn(argv, env=env, cwd=work, log=work / f"worker-{workers}-{n}.log"))
        wait_for(lambda: blocked_readers(client) >= workers, f"{workers} consumers", 120)
        prefixes = [f"pipelines/q{n:04d}/" for n in range(jobs)]
        before = command_calls(client)
        started = time.monotonic()
        ids = [queue.submit(p, clean_run=False, trigger=Trigger.api).job_id for p in prefixes]
        pairs = zip(prefixes, ids, strict=True)
        histories = [data_dir / prefix / "_jobs" / f"{i}.json" for prefix, i in pairs]
        wait_for(lambda: all(h.exists() for h in histories), "every job's history object")
        wall = time.monotonic() - started
        after = command_calls(client)
    finally:
        for proc in procs:
            stop(proc)
    for n, proc in enumerate(procs):
        if proc.returncode not in (0, -15):
            print(log_tail(work / f"worker-{workers}-{n}.log"), file=sys.stderr)
    records = [queue.get(i) for i in ids]
    queue.close()
    client.close()
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    delta.pop("info", None)  # our own two INFO calls
    total = sum(delta.values())
    latencies = [
        (r.started_at - r.enqueued_at).total_seconds() * 1000 for r in records if r.started_at
    ]
    finished = [r.finished_at for r in records if r.finished_at]
    span = (max(finished) - min(r.enqueued_at for r in records)).total_seconds()
    statuses: dict[str, int] = {}
    for record in records:
        statuses[record.status.value] = statuses.get(record.status.value, 0) + 1
    top = sorted(delta.items(), key=lambda kv: -kv[1])[:8]
    return (
        Round(
            workers=workers,
            jobs=jobs,
            wall_s=round(wall, 2),
            jobs_per_s=round(jobs / span, 1),
            start_latency_p50_ms=round(percentile(latencies, 0.5), 1),
            start_latency_p95_ms=round(percentile(latencies, 0.95), 1),
            redis_commands_per_job=round(total / jobs, 1),
            top_commands_per_job={k: round(v / jobs, 2) for k, v in top},
            statuses=statuses,
        ),
        records,
    )


@dataclass
class Overhead:
    direct_cli_wall_ms: float  # `karet-worker run` as a process, interpreter start included
    direct_engine_ms: float  # the run's own duration_ms inside that process
    queued_end_to_end_ms: float  # enqueue -> verdict recorded, one idle warm worker
    queued_engine_ms: float  # the queued run's own duration_ms
    samples: int


def overhead(data_dir: Path, server: RedisServer, work: Path, samples: int) -> Overhead:
    """Median over `samples` single jobs, each alone on an idle worker, vs the CLI."""
    env = environment(dict(os.environ), data_dir, server.url, f"bench-overhead-{time.time()}:")
    direct_wall, direct_engine = [], []
    for n in range(samples):
        began = time.monotonic()
        out = subprocess.run(
            [karet_worker(), "run", f"pipelines/q{n:04d}/", "--json"],
            env={k: v for k, v in env.items() if k != "REDIS_URL"},
            capture_output=True,
            check=True,
            cwd=work,
        )
        direct_wall.append((time.monotonic() - began) * 1000)
        direct_engine.append(float(json.loads(out.stdout)["duration_ms"]))
    settings = Settings.from_env(env)
    queue = open_queue(settings, open_local_store(data_dir))
    client = redis.Redis.from_url(server.url)
    proc = spawn([karet_worker(), "worker"], env=env, cwd=work, log=work / "worker-overhead.log")
    queued, queued_engine = [], []
    try:
        wait_for(lambda: blocked_readers(client) >= 1, "the consumer", 120)
        for n in range(samples):
            record = queue.submit(f"pipelines/q{n:04d}/", clean_run=False, trigger=Trigger.api)
            wait_for(lambda r=record: queue.get(r.job_id).status.terminal, "the job")  # type: ignore[misc]
            done = queue.get(record.job_id)
            assert done.finished_at is not None and done.result is not None, done
            queued.append((done.finished_at - done.enqueued_at).total_seconds() * 1000)
            queued_engine.append(float(done.result["duration_ms"]))
    finally:
        stop(proc)
        queue.close()
        client.close()
    return Overhead(
        direct_cli_wall_ms=round(statistics.median(direct_wall), 1),
        direct_engine_ms=round(statistics.median(direct_engine), 1),
        queued_end_to_end_ms=round(statistics.median(queued), 1),
        queued_engine_ms=round(statistics.median(queued_engine), 1),
        samples=samples,
    )


def markdown(rounds: list[Round], over: Overhead, trips: dict[str, float]) -> str:
    lines = [
        "| workers | jobs | jobs/s | enqueue→start p50 | p95 | Redis commands/job | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(r.statuses.items()))
        lines.append(
            f"| {r.workers} | {r.jobs} | {r.jobs_per_s} | {r.start_latency_p50_ms:.0f} ms "
            f"| {r.start_latency_p95_ms:.0f} ms | {r.redis_commands_per_job} | {statuses} |"
        )
    lines += [
        "",
        f"Overhead (median of {over.samples}, one job at a time): direct `karet-worker run` "
        f"{over.direct_cli_wall_ms:.0f} ms as a process ({over.direct_engine_ms:.0f} ms in the "
        f"engine); queued on an idle worker {over.queued_end_to_end_ms:.0f} ms enqueue→verdict "
        f"({over.queued_engine_ms:.0f} ms in the engine).",
        "",
        f"Round trips per job (MONITOR pass, 1 worker): {trips['total']} — "
        + ", ".join(f"{k} {v}" for k, v in trips.items() if k != "total"),
        "",
        "Commands executed per job, most frequent first: "
        + "; ".join(
            f"{r.workers}w: " + ", ".join(f"{k} {v}" for k, v in r.top_commands_per_job.items())
            for r in rounds
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--overhead-samples", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="karet-queue-bench-"))
    server = RedisServer(root=work / "redis")
    try:
        data_dir = work / "data"
        seed(data_dir, args.jobs)
        server.start()
        rounds = []
        for workers in args.workers:
            result, _ = one_round(workers, args.jobs, data_dir, server, work)
            rounds.append(result)
            print(json.dumps(asdict(result)), file=sys.stderr)
            # A fresh copy of the inputs' history for the next round: drop _jobs/ objects.
            for history in data_dir.glob("pipelines/*/_jobs"):
                shutil.rmtree(history)
        over = overhead(data_dir, server, work, args.overhead_samples)
        for history in data_dir.glob("pipelines/*/_jobs"):
            shutil.rmtree(history)
        trips = round_trips(min(args.jobs, 100), data_dir, server, work)
    finally:
        server.stop(save=False)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = {
        "rounds": [asdict(r) for r in rounds],
        "overhead": asdict(over),
        "round_trips_per_job": trips,
        "jobs": args.jobs,
        "cpus": os.cpu_count(),
        "load_avg_at_end": os.getloadavg(),
    }
    (OUT / f"{stamp}.json").write_text(json.dumps(raw, indent=2))
    print(markdown(rounds, over, trips))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
