"""A Rich progress display fed by the engine's ProgressListener callbacks."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class RichProgress:
    """Files read out of those listed (`11/20`), rows read and Parquet objects written.

    Callbacks may come from engine worker threads; Rich's Progress is thread-safe.
    """

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<18}"),
            TextColumn("[bold]{task.fields[shown]:>13}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._files: TaskID = self._progress.add_task("files read", total=0, shown="0/0")
        self._rows: TaskID = self._progress.add_task("rows read", total=None, shown="0")
        self._partitions: TaskID = self._progress.add_task(
            "partitions written", total=None, shown="0"
        )
        self._files_done = 0
        self._files_total = 0
        self._rows_read = 0
        self._written = 0
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def files_found(self, count: int) -> None:
        self._files_total += count
        self._show_files()

    def file_done(self, key: str, rows: int) -> None:
        self._files_done += 1
        self._rows_read += rows
        self._show_files()
        self._progress.update(self._rows, advance=rows, shown=f"{self._rows_read:,}")

    def partition_written(self, key: str) -> None:
        with self._lock:  # uploads finish on several threads
            self._written += 1
            shown = f"{self._written:,}"
        self._progress.update(self._partitions, advance=1, shown=shown)

    def _show_files(self) -> None:
        shown = f"{self._files_done:,}/{self._files_total:,}"
        self._progress.update(
            self._files, completed=self._files_done, total=self._files_total, shown=shown
        )
