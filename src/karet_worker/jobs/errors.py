"""Errors of the job queue, each with the API answer it becomes."""

from __future__ import annotations

from karet_worker.jobs.model import JobRecord


class QueueUnavailable(Exception):
    """The queue's backing server (Redis) cannot be reached (API: 503 queue_unavailable)."""


class JobNotFound(Exception):
    """No job with this id (API: 404 job_not_found)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r}")
        self.job_id = job_id


class JobAlreadyFinished(Exception):
    """The job cannot be cancelled: it already reached a terminal status (API: 409)."""

    def __init__(self, record: JobRecord) -> None:
        super().__init__(f"job {record.job_id} is already {record.status.value}")
        self.record = record
