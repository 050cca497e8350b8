"""Object storage: one interface (`base.ObjectStore`), S3 and local-directory backends."""

from karet_worker.storage.base import (
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageUnavailable,
)

__all__ = ["InvalidKey", "ObjectInfo", "ObjectNotFound", "ObjectStore", "StorageUnavailable"]
