"""The HTTP service (SPEC §7): `create_app` builds one FastAPI app per settings + store."""

from karet_worker.api.app import create_app

__all__ = ["create_app"]
