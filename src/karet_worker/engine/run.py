"""Drives one pipeline run through the stages. (Interface stub: the implementation is in progress.)"""

from __future__ import annotations

from karet_worker.engine.result import ProgressListener, RunResult
from karet_worker.storage.base import ObjectStore


class Runner:
    """Runs pipelines against one store; runs of the same prefix never overlap."""

    def __init__(self, store: ObjectStore, *, io_concurrency: int = 8) -> None:
        self.store = store
        self.io_concurrency = io_concurrency

    def run(
        self,
        prefix: str,
        *,
        clean_run: bool = False,
        job_id: str | None = None,
        progress: ProgressListener | None = None,
    ) -> RunResult:
        """Run the pipeline at `prefix`. Raises ConfigNotFound, ConfigInvalid,
        StorageUnavailable; every other problem is reported in the result."""
        raise NotImplementedError("engine in progress")
