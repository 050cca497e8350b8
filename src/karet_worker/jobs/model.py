"""What a job is (SPEC §12): its status, trigger, progress and record, and the queue payload.

`JobRecord` is what `GET /jobs/{id}` answers and what is written to `<prefix>_jobs/<id>.json`
when the job ends; `JobMessage` is the JSON in the stream's `payload` field, shared with the
Karet platform:

    >>> JobMessage.new("pipelines/demo/", clean_run=False, trigger=Trigger.api).pipeline
    'demo'
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobStatus(StrEnum):
    """queued: waiting to be claimed (also while deferred or backing off); running: a worker
    holds the pipeline's lock and runs it; completed: the run finished (its `result.errors` may
    list skipped files); failed: it aborted (config missing/invalid, storage down for good, gave
    up after too many attempts) — `error` says why; cancelled: stopped on request, before or
    during the run; abandoned: a running job whose worker stopped it without finishing (lost its
    lock, shut down) and that was not taken up again (the embedded queue after a restart)."""

    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    abandoned = "abandoned"

    @property
    def terminal(self) -> bool:
        return self not in (JobStatus.queued, JobStatus.running)


class Trigger(StrEnum):
    """Who asked for the run: a person (CLI/web app), an API client, or an upload event."""

    manual = "manual"
    api = "api"
    webhook = "webhook"


class Stage(StrEnum):
    """Where a job is: waiting for its pipeline's lock or a run slot, reading + transforming the
    inputs, writing Parquet, pruning stale output, or done."""

    queued = "queued"
    waiting = "waiting"
    reading = "reading"
    writing = "writing"
    pruning = "pruning"
    done = "done"


class Progress(BaseModel):
    """How far a job got; updated while it runs."""

    stage: Stage = Stage.queued
    files_done: int = 0
    files_total: int | None = None
    rows_read: int = 0
    partitions_written: int = 0


class JobRecord(BaseModel):
    """One job as the API shows it and as its history object stores it."""

    model_config = ConfigDict(use_enum_values=False)

    job_id: str
    pipeline_prefix: str
    clean_run: bool
    trigger: Trigger
    status: JobStatus
    attempts: int = 0
    worker: str | None = None
    enqueued_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress = Field(default_factory=Progress)
    result: dict[str, Any] | None = Field(
        default=None, description="The `POST /jobs/run` body of the run, once it finished."
    )
    error: str | None = None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def new_job_id() -> str:
    """`job-<unix ms>-<6 hex>`, the shape the Karet web app mints: sortable by creation."""
    return f"job-{now_ms()}-{secrets.token_hex(3)}"


def pipeline_name(prefix: str) -> str:
    """The pipeline's name in Redis keys: the slug for the platform's `pipelines/<slug>/`
    layout (as its web app names them), else the whole prefix without its final `/`.

    >>> pipeline_name("pipelines/demo/"), pipeline_name("team/a/pipe/")
    ('demo', 'team/a/pipe')
    """
    parts = prefix.rstrip("/").split("/")
    if len(parts) == 2 and parts[0] == "pipelines":
        return parts[1]
    return prefix.rstrip("/")


class JobMessage(BaseModel):
    """The stream entry's `payload` (and the delayed set's member): what to run."""

    job_id: str
    pipeline: str
    prefix: str
    clean_run: bool = False
    trigger: Trigger
    enqueued_at: int  # unix ms

    @classmethod
    def new(cls, prefix: str, *, clean_run: bool, trigger: Trigger) -> JobMessage:
        return cls(
            job_id=new_job_id(),
            pipeline=pipeline_name(prefix),
            prefix=prefix,
            clean_run=clean_run,
            trigger=trigger,
            enqueued_at=now_ms(),
        )

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":"))

    def queued_record(self) -> JobRecord:
        return JobRecord(
            job_id=self.job_id,
            pipeline_prefix=self.prefix,
            clean_run=self.clean_run,
            trigger=self.trigger,
            status=JobStatus.queued,
            enqueued_at=from_ms(self.enqueued_at),
        )
