"""The rules a `pipeline_prefix` must obey (SPEC §7) before it is used as a storage key."""

from __future__ import annotations

import re

_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
MAX_PREFIX_BYTES = 512


def prefix_problems(prefix: str) -> list[str]:
    """Every reason `prefix` is unusable, empty when it is fine."""
    problems: list[str] = []
    if len(prefix.encode()) > MAX_PREFIX_BYTES:
        problems.append(f"pipeline_prefix is longer than {MAX_PREFIX_BYTES} bytes")
    if not prefix.endswith("/"):
        problems.append("pipeline_prefix must end with '/'")
    if prefix.startswith("/"):
        problems.append("pipeline_prefix must be relative (no leading '/')")
    for segment in prefix.strip("/").split("/"):
        if segment in ("", ".", ".."):
            problems.append(f"pipeline_prefix has an empty, '.' or '..' segment: {prefix!r}")
            break
        if not _SEGMENT.match(segment):
            problems.append(
                f"pipeline_prefix segment {segment!r} may only contain letters, digits "
                "and '.', '_', '-'"
            )
            break
    return problems
