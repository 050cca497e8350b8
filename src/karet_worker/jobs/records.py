"""Record transitions shared by both queues, so a status change is written the same way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from karet_worker.jobs.model import JobRecord, JobStatus, Progress, Stage


def utcnow() -> datetime:
    return datetime.now(tz=UTC)


def started(record: JobRecord, worker: str, attempt: int) -> JobRecord:
    """`record` as running under `worker`, attempt `attempt`, from now."""
    return record.model_copy(
        update={
            "status": JobStatus.running,
            "worker": worker,
            "attempts": attempt,
            "started_at": utcnow(),
            "progress": Progress(stage=Stage.waiting),
        }
    )


def terminal_copy(
    record: JobRecord,
    status: JobStatus,
    *,
    error: str | None = None,
    result: dict[str, Any] | None = None,
) -> JobRecord:
    """`record` ended with `status` now."""
    assert status.terminal, status
    progress = record.progress.model_copy(update={"stage": Stage.done})
    return record.model_copy(
        update={
            "status": status,
            "finished_at": utcnow(),
            "error": error,
            "result": result,
            "progress": progress,
        }
    )


def merge_newest_first(
    live: Iterable[JobRecord],
    stored: Iterator[JobRecord],
    *,
    status: JobStatus | None,
    limit: int,
) -> list[JobRecord]:
    """Live records, then stored ones the live set does not know, newest first, filtered.

    `stored` is read lazily and only as far as needed: it is already newest first."""
    by_id = {r.job_id: r for r in live}
    wanted = [r for r in by_id.values() if status is None or r.status is status]
    wanted.sort(key=lambda r: (r.enqueued_at, r.job_id), reverse=True)
    oldest_kept = wanted[limit - 1].enqueued_at if len(wanted) >= limit else None
    taken = 0
    for record in stored:
        if oldest_kept is not None and record.enqueued_at < oldest_kept:
            break  # this and every further one is older than all we keep
        if record.job_id in by_id or (status is not None and record.status is not status):
            continue
        wanted.append(record)
        taken += 1
        if taken == limit:
            break  # `limit` newer stored records already beat the rest
    wanted.sort(key=lambda r: (r.enqueued_at, r.job_id), reverse=True)
    return wanted[:limit]
