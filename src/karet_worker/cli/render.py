"""How the CLI prints validation problems and run results (plain text, never Rich markup
inside messages, so brackets in user data print as they are)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from karet_worker.engine.result import RunResult

_COUNTS = (
    ("files processed", "files_processed"),
    ("files skipped", "files_skipped"),
    ("rows read", "rows_read"),
    ("rows filtered", "rows_filtered"),  # by record_filter or where
    ("rows written", "rows_written"),
    ("rows deduplicated", "rows_deduped"),
    ("partitions written", "partitions_written"),
    ("duration (ms)", "duration_ms"),
)


def print_problems(console: Console, problems: Sequence[Mapping[str, Any]], *, label: str) -> None:
    """One line per problem: its JSON Pointer path, its kind and its message."""
    style = "red" if label == "error" else "yellow"
    for problem in problems:
        line = Text()
        line.append(f"{label} ", style=f"bold {style}")
        line.append(str(problem.get("path") or "/"), style="cyan")
        line.append(f"  [{problem.get('kind', '?')}] ", style=style)
        line.append(str(problem.get("message", "")))
        console.print(line, soft_wrap=True)


def print_run_result(console: Console, result: RunResult, *, title: str) -> None:
    """The summary table of counts, then every error and warning of the run."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("count")
    table.add_column("value", justify="right")
    table.add_row("job id", result.job_id)
    for label, attr in _COUNTS:
        table.add_row(label, f"{getattr(result, attr):,}")
    table.add_row("errors", str(len(result.errors)))
    table.add_row("warnings", str(len(result.warnings)))
    console.print(table)
    for heading, messages, style in (
        ("Errors", result.error_texts(), "red"),
        ("Warnings", result.warning_texts(), "yellow"),
    ):
        if messages:
            console.print(Text(f"{heading}:", style=f"bold {style}"))
            for message in messages:
                console.print(Text(f"  - {message}"), soft_wrap=True)
