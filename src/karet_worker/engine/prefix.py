"""The rules a `pipeline_prefix` must obey (SPEC §7); they live with the other key rules in
`karet_worker.layout`, this name is kept for the callers that check a request's prefix."""

from __future__ import annotations

from karet_worker.layout import MAX_PREFIX_BYTES
from karet_worker.layout import pipeline_prefix_problems as prefix_problems

__all__ = ["MAX_PREFIX_BYTES", "prefix_problems"]
