"""The webhook's work: created keys -> the pipelines they feed -> one debounced run each.

>>> trigger.handle(notification)  # 50 uploads into the sources of 3 pipelines
['pipelines/a/', 'pipelines/b/', 'pipelines/c/']
"""

from __future__ import annotations

from karet_worker.triggers.debounce import Debouncer
from karet_worker.triggers.events import S3EventNotification, created_keys
from karet_worker.triggers.routing import PipelineIndex


class UploadTrigger:
    """Routes the created keys of a notification and records one event per pipeline.

    `bucket` is the bucket the worker reads (S3 mode): records of other buckets are ignored.
    It is None for the embedded local store, which has no bucket name to compare with.
    """

    def __init__(self, index: PipelineIndex, debouncer: Debouncer, *, bucket: str | None) -> None:
        self.index = index
        self.debouncer = debouncer
        self.bucket = bucket

    def handle(self, notification: S3EventNotification) -> list[str]:
        """The prefixes of the pipelines that got a (debounced) run, sorted.

        Raises StorageUnavailable (configs unreadable) or a Redis error (state unreachable).
        """
        prefixes: set[str] = set()
        for key in created_keys(notification, bucket=self.bucket):
            prefixes.update(self.index.pipelines_for(key))
        for prefix in sorted(prefixes):
            self.debouncer.record(prefix)
        return sorted(prefixes)
