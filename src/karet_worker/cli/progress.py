"""A Rich progress display fed by the engine's ProgressListener callbacks."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class RichProgress:
    """Counts files read, rows read and Parquet objects written while a run goes on.

    Callbacks may come from engine worker threads; Rich's Progress is thread-safe.
    """

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<18}"),
            TextColumn("[bold]{task.completed:>10,.0f}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._files: TaskID = self._progress.add_task("files read", total=None)
        self._files_total = 0
        self._rows: TaskID = self._progress.add_task("rows read", total=None)
        self._partitions: TaskID = self._progress.add_task("partitions written", total=None)

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
        self._progress.update(self._files, total=self._files_total)

    def file_done(self, key: str, rows: int) -> None:
        self._progress.advance(self._files)
        self._progress.advance(self._rows, rows)

    def partition_written(self, key: str) -> None:
        self._progress.advance(self._partitions)
