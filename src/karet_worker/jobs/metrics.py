"""Prometheus metrics of one process (`GET /metrics`), in a registry of its own.

Everything about queued jobs is observed at the queue interface: `Metrics` is an observer of
the process's `ObservedQueue` (submits, starts, verdicts, deferrals for a busy pipeline), so
neither the consumer nor the API carries metrics code. Queue depth and live consumers are asked
from the queue when scraped, so they are the cluster's figures.

    metrics = Metrics()
    queue = ObservedQueue(open_queue(settings, store), [metrics])  # give this one to everybody
    metrics.watch_queue(queue)
    metrics.exposition()   # b'# HELP karet_jobs_total ...'

Counters are per process (a `worker` process counts the runs it executed); labels never carry
anything but fixed enum values, so no secret or user string can reach the exposition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from karet_worker.jobs.errors import QueueUnavailable
from karet_worker.jobs.model import JobRecord, JobStatus, Progress, Trigger
from karet_worker.jobs.queue import Claim, JobQueue, QueueHealth

# Runs last from well under a second (tiny pipelines) to an hour (GBs of CSV).
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    """The metrics one process exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs = Counter(
            "karet_jobs",
            "Jobs by the status they reached in this process (queued: submitted here)",
            ["status"],
            registry=self.registry,
        )
        self.submitted_by = Counter(
            "karet_jobs_submitted",
            "Jobs submitted by this process",
            ["trigger"],
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "karet_run_duration_seconds",
            "Wall time of the runs this process finished, from start to verdict",
            ["status"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.rows_read = Counter(
            "karet_rows_read", "Input rows read by finished runs", registry=self.registry
        )
        self.rows_written = Counter(
            "karet_rows_written", "Output rows written by finished runs", registry=self.registry
        )
        self.files_processed = Counter(
            "karet_files_processed",
            "Input files read by finished runs (skipped ones included)",
            registry=self.registry,
        )
        self.partitions_written = Counter(
            "karet_partitions_written",
            "Parquet objects written by finished runs",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "karet_runs_in_flight",
            "Runs (queued and synchronous) holding a run slot of this process now",
            registry=self.registry,
        )
        self.lock_waits = Counter(
            "karet_lock_waits",
            "Times a queued job found its pipeline locked by another run and was deferred",
            registry=self.registry,
        )
        for status in JobStatus:
            self.jobs.labels(status.value)
            self.run_duration.labels(status.value)
        for trigger in Trigger:
            self.submitted_by.labels(trigger.value)

    def watch_queue(self, queue: JobQueue) -> None:
        """Report the queue's depth and consumers (asked at every scrape)."""
        self.registry.register(_QueueCollector(queue))

    def watch_runs(self, in_use: Callable[[], int]) -> None:
        """Report `in_use()` (the process's run slots taken) as the runs in flight."""
        self.in_flight.set_function(in_use)

    def exposition(self) -> bytes:
        """The text exposition format (what Prometheus scrapes)."""
        return generate_latest(self.registry)

    # ------------------------------------------------------------------ QueueObserver

    def submitted(self, record: JobRecord) -> None:
        self.jobs.labels(JobStatus.queued.value).inc()
        self.submitted_by.labels(record.trigger.value).inc()

    def started(self, claim: Claim) -> None:
        self.jobs.labels(JobStatus.running.value).inc()

    def progressed(self, claim: Claim, progress: Progress) -> None:
        pass

    def stopped(self, claim: Claim, *, busy: bool) -> None:
        if busy:
            self.lock_waits.inc()

    def finished(self, job_id: str, record: JobRecord) -> None:
        """Count a job's verdict; runs that started also give their duration and counts."""
        self.jobs.labels(record.status.value).inc()
        if record.started_at is not None and record.finished_at is not None:
            seconds = (record.finished_at - record.started_at).total_seconds()
            self.run_duration.labels(record.status.value).observe(max(seconds, 0.0))
        result = record.result or {}
        self.rows_read.inc(_count(result, "rows_read"))
        self.rows_written.inc(_count(result, "rows_written"))
        self.files_processed.inc(_count(result, "files_processed"))
        self.partitions_written.inc(_count(result, "partitions_written"))


def _count(result: dict[str, Any], name: str) -> int:
    value = result.get(name)
    return value if isinstance(value, int) and value >= 0 else 0


class _QueueCollector(Collector):
    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue

    def collect(self) -> Iterator[Metric]:
        try:
            health: QueueHealth | None = self._queue.health()
        except QueueUnavailable:
            health = None
        yield GaugeMetricFamily(
            "karet_queue_up", "1 when the queue answered this scrape", value=health is not None
        )
        if health is not None:
            yield GaugeMetricFamily(
                "karet_queue_depth", "Jobs waiting to run (incl. deferred)", value=health.depth
            )
            yield GaugeMetricFamily(
                "karet_queue_consumers", "Live consumers of the queue", value=health.consumers
            )

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected on demand: never call the queue at registration
