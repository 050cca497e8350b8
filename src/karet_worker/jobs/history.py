"""Job history in the store (SPEC §12): every finished job's record as
`<prefix>_jobs/<job_id>.json`, so history outlives Redis and process restarts.

These objects are never read as run inputs: no source's path_prefix may lie under `_jobs/`
(`layout.source_path_problem`), and the key is built by `layout`, like every other key.

    >>> history_key("pipelines/demo/", "job-1-abc")
    'pipelines/demo/_jobs/job-1-abc.json'
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from pydantic import ValidationError

from karet_worker.jobs.model import JobRecord
from karet_worker.layout import PipelineKeys
from karet_worker.storage.base import ObjectNotFound, ObjectStore

log = logging.getLogger("karet_worker.jobs")


def history_key(prefix: str, job_id: str) -> str:
    return PipelineKeys(prefix).job_record(job_id)


class JobHistory:
    """Reads and writes history objects; StorageUnavailable propagates."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def write(self, record: JobRecord) -> None:
        key = history_key(record.pipeline_prefix, record.job_id)
        self.store.put(key, record.model_dump_json(indent=2).encode())

    def read(self, prefix: str, job_id: str) -> JobRecord | None:
        try:
            raw = self.store.get(history_key(prefix, job_id))
        except ObjectNotFound:
            return None
        return _parse(raw, prefix, job_id)

    def newest_first(self, prefix: str) -> Iterator[JobRecord]:
        """The prefix's records, newest first (job ids start with their creation time)."""
        folder = PipelineKeys(prefix).jobs
        objects = self.store.list(folder)
        keys = sorted((o.key for o in objects if o.key.endswith(".json")), reverse=True)
        for key in keys:
            job_id = key[len(folder) : -len(".json")]
            try:
                raw = self.store.get(key)
            except ObjectNotFound:
                continue
            record = _parse(raw, prefix, job_id)
            if record is not None:
                yield record


def _parse(raw: bytes, prefix: str, job_id: str) -> JobRecord | None:
    try:
        return JobRecord.model_validate_json(raw)
    except ValidationError:
        log.warning("unreadable job history object", extra={"key": history_key(prefix, job_id)})
        return None
