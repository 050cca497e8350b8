"""Everything a process needs to take part in jobs, built once from the settings: the store's
runner, the queue, the process-wide run slots and (when this process consumes) the consumer
threads. `serve` keeps one on `app.state.jobs`; `karet-worker worker` runs one without HTTP.

    runtime = JobsRuntime.open(settings, store, consume=True)
    runtime.start()      # consumer threads claim and run queued jobs
    ...
    runtime.stop()       # SIGTERM: stop claiming, finish within KARET_SHUTDOWN_GRACE_S
"""

from __future__ import annotations

from dataclasses import dataclass

from karet_worker.engine.run import Runner
from karet_worker.jobs.admission import RunSlots
from karet_worker.jobs.changes import LocalChanges
from karet_worker.jobs.factory import open_queue
from karet_worker.jobs.history import JobHistory
from karet_worker.jobs.metrics import Metrics
from karet_worker.jobs.observed import ObservedQueue
from karet_worker.jobs.queue import JobQueue
from karet_worker.jobs.worker import JobWorker
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore


@dataclass
class JobsRuntime:
    settings: Settings
    runner: Runner
    queue: JobQueue
    history: JobHistory
    slots: RunSlots
    worker: JobWorker | None  # None: this process does not consume (`serve --no-consume`)
    metrics: Metrics  # what this process counts, fed by `queue`
    changes: LocalChanges  # wakes the followers of a job this process changed

    @classmethod
    def open(cls, settings: Settings, store: ObjectStore, *, consume: bool) -> JobsRuntime:
        runner = Runner(store)
        metrics, changes = Metrics(), LocalChanges()
        # Everyone (consumers, API, webhook) uses the observed queue, so the metrics and the
        # live job streams see every change this process makes.
        queue = ObservedQueue(open_queue(settings, store), [metrics, changes])
        history = JobHistory(store)
        slots = RunSlots(settings.max_concurrent_runs)
        metrics.watch_queue(queue)
        metrics.watch_runs(lambda: slots.in_use)
        worker = JobWorker(queue, runner, history, slots, settings.queue) if consume else None
        return cls(settings, runner, queue, history, slots, worker, metrics, changes)

    def start(self, concurrency: int | None = None) -> None:
        if self.worker is not None:
            self.worker.start(concurrency or self.settings.queue.concurrency)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(self.settings.queue.shutdown_grace_s)
        self.queue.close()
