"""What a run reports back (SPEC §7), and the errors that abort a run before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class ConfigNotFound(Exception):
    """`<prefix>pipeline.json` does not exist (API: 404 config_not_found)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no pipeline config at {key}")
        self.key = key


class ConfigInvalid(Exception):
    """The stored config failed validation (API: 422 config_invalid, details = problems)."""

    def __init__(self, message: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass
class RunResult:
    job_id: str
    partitions_written: int = 0
    files_processed: int = 0
    rows_read: int = 0
    rows_written: int = 0
    rows_deduped: int = 0
    duration_ms: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ProgressListener(Protocol):
    """Receives progress while a run goes on (the CLI draws it; the API ignores it)."""

    def file_done(self, key: str, rows: int) -> None: ...

    def partition_written(self, key: str) -> None: ...
