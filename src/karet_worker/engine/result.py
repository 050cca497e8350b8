"""What a run reports back (SPEC §7), and the errors that abort a run before anything is written.

A run's errors and warnings are typed `RunIssue`s; `describe` turns one into the sentence the
API and the CLI show (the only place run outcomes become text)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol, assert_never

from karet_worker.layout import HIVE_NULL

# Longest message a run reports (and logs): a reason may quote input (a header, a value), and
# an 8 MiB header once made an 11.6 MB error message. 1,000 characters keep every real message.
MAX_MESSAGE_CHARS = 1000


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


class IssueKind(StrEnum):
    """What went wrong (errors) or deserves attention (warnings) in a run."""

    NO_INPUT_FILES = "no_input_files"  # error: a source has no input file (source, detail)
    FILE_SKIPPED = "file_skipped"  # error: an input was not used (file, detail = why)
    ASSERTION_FAILED = "assertion_failed"  # error: mapping not written (mapping, detail)
    DIMENSION_FAILED = "dimension_failed"  # error: reference rows unusable (detail names it)
    MAPPING_NOT_RUN = "mapping_not_run"  # error: mapping could not be planned (mapping, detail)
    UNSAFE_OUTPUT_KEY = "unsafe_output_key"  # error: mapping not written (mapping, detail)
    UNPARSED_VALUES = "unparsed_values"  # warning: source values → null (file, column, count)
    RECORDS_SKIPPED = "records_skipped"  # warning: lines not read (file, count, detail = 1st)
    CAST_FAILED = "cast_failed"  # warning: output values → null (mapping, column, count)
    NULL_PARTITION = "null_partition"  # warning: rows under HIVE_NULL (mapping, count)
    TABLE_UNFED = "table_unfed"  # warning: no mapping writes to a table (table)
    TABLE_NOT_PRUNED = "table_not_pruned"  # warning: clean_run kept a table (table, detail)
    CONFIG_WARNING = "config_warning"  # warning: validation warned, e.g. unknown field (detail)


@dataclass(frozen=True)
class RunIssue:
    """One error or warning of a run: its kind, what it is about, and the user's words for
    what the kind alone does not say (`detail`).

        RunIssue(IssueKind.UNPARSED_VALUES, file="p/raw/a.csv", column="amount", count=1,
                 expected="number")
        → "p/raw/a.csv: column 'amount': 1 value(s) could not be read as number and became null"
    """

    kind: IssueKind
    file: str | None = None
    source: str | None = None
    mapping: str | None = None
    table: str | None = None
    column: str | None = None
    count: int | None = None
    expected: str | None = None  # the declared type a value failed to become
    detail: str = ""


def describe(issue: RunIssue) -> str:
    """The issue as one sentence for people, at most MAX_MESSAGE_CHARS long."""
    i = issue
    match i.kind:
        case IssueKind.NO_INPUT_FILES:
            text = f"source '{i.source}': no input files {i.detail}"
        case IssueKind.FILE_SKIPPED:
            text = f"{i.file}: skipped: {i.detail}"
        case IssueKind.ASSERTION_FAILED:
            text = (
                f"mapping '{i.mapping}' failed an assertion: {i.detail}; "
                "nothing written for this mapping"
            )
        case IssueKind.UNSAFE_OUTPUT_KEY:
            text = f"mapping '{i.mapping}': {i.detail}; nothing written for this mapping"
        case IssueKind.DIMENSION_FAILED:
            text = i.detail
        case IssueKind.MAPPING_NOT_RUN:
            text = f"mapping '{i.mapping}' was not run: {i.detail}; nothing written for it"
        case IssueKind.UNPARSED_VALUES:
            text = (
                f"{i.file}: column '{i.column}': {i.count} value(s) could not be read as "
                f"{i.expected} and became null"
            )
        case IssueKind.RECORDS_SKIPPED:
            text = (
                f"{i.file}: {i.count} line(s) are not JSON objects and were skipped "
                f"(first: {i.detail})"
            )
        case IssueKind.CAST_FAILED:
            text = (
                f"mapping '{i.mapping}': column '{i.column}': {i.count} value(s) could not be "
                f"converted to {i.expected} and became null"
            )
        case IssueKind.NULL_PARTITION:
            text = (
                f"mapping '{i.mapping}': {i.count} row(s) have a null partition value and were "
                f"written under {HIVE_NULL}"
            )
        case IssueKind.TABLE_UNFED:
            text = f"table '{i.table}' is skipped: no mapping writes to it"
        case IssueKind.TABLE_NOT_PRUNED:
            text = f"clean_run: table '{i.table}' was not pruned because {i.detail}"
        case IssueKind.CONFIG_WARNING:
            text = f"config: {i.detail}"
        case _:
            assert_never(i.kind)
    return capped(text)


def capped(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` cut to `limit` characters (for any limit above 30), saying how much was cut:
    capped("x" * 5000, 40) → "xxxxxxxxxxxxxxx… (4,985 more characters)" (40 characters)."""
    if len(text) <= limit:
        return text
    longest_suffix = len(f"… ({len(text):,} more characters)")
    keep = max(0, limit - longest_suffix)
    return text[:keep] + f"… ({len(text) - keep:,} more characters)"


_ISSUES = ("errors", "warnings")


@dataclass
class RunResult:
    job_id: str
    partitions_written: int = 0
    files_processed: int = 0  # every input read, also those then skipped (as the seed counts)
    files_skipped: int = 0  # of those, how many were skipped with an error
    rows_read: int = 0
    rows_filtered: int = 0  # by record_filter or `where`, summed over the mappings written
    rows_written: int = 0
    rows_deduped: int = 0
    duration_ms: int = 0  # the run itself, from reading the config to the last write
    wait_ms: int = 0  # before that, waiting for the pipeline's lock and a run slot (callers set it)
    errors: list[RunIssue] = field(default_factory=list)
    warnings: list[RunIssue] = field(default_factory=list)

    def error_texts(self) -> list[str]:
        return [describe(issue) for issue in self.errors]

    def warning_texts(self) -> list[str]:
        return [describe(issue) for issue in self.warnings]

    def body(self) -> dict[str, Any]:
        """The `/jobs/run` answer (SPEC §7): the counts, errors and warnings as sentences.
        `run --json` and job records carry the same body."""
        return {
            **{f.name: getattr(self, f.name) for f in fields(self) if f.name not in _ISSUES},
            "errors": self.error_texts(),
            "warnings": self.warning_texts(),
        }


class ProgressListener(Protocol):
    """Receives progress while a run goes on (the CLI draws it; queued jobs report it)."""

    def files_found(self, count: int) -> None:
        """A source's inputs were listed: `count` more files to read."""
        ...

    def file_done(self, key: str, rows: int) -> None: ...

    def partition_written(self, key: str) -> None: ...


class RunStage(StrEnum):
    """What a run is about to do when it calls its checkpoint."""

    reading = "reading"  # the next input file or chunk
    writing = "writing"  # the load phase / the next Parquet object
    pruning = "pruning"  # deleting stale output (clean_run)


class RunStopped(Exception):
    """Raised by a run's checkpoint: stop now (cancelled, lost the pipeline's lock, shutting
    down). The run writes and prunes nothing more; objects it wrote stay (a re-run overwrites
    them with the same bytes)."""


# Called by the run between chunks and files, before the load phase, before every object it
# uploads and before pruning; raises RunStopped to stop the run there.
Checkpoint = Callable[[RunStage], None]
