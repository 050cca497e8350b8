"""Object storage: one interface (`base.ObjectStore`), S3 and local-directory backends."""

from karet_worker.storage.base import ObjectInfo, ObjectNotFound, ObjectStore, StorageUnavailable

__all__ = ["ObjectInfo", "ObjectNotFound", "ObjectStore", "StorageUnavailable"]
