"""The authoring commands (SPEC §14): `tables` (and `preview`, `infer`)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from karet_worker.authoring.tables import (
    PipelineNotFound,
    TableSummary,
    summaries_body,
    table_summaries,
)
from karet_worker.cli.common import (
    JSON_HELP,
    checked_prefix,
    fail,
    load_settings,
    open_existing_store,
    print_json,
    store_location,
)
from karet_worker.cli.exits import ExitCode
from karet_worker.storage.base import StorageUnavailable


def tables(
    prefix: str = typer.Argument(..., help="Pipeline prefix in the store, e.g. pipelines/demo/"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """What a pipeline has written: per table its partitions, files, rows, bytes and last
    write, from the Parquet footers (no data is read)."""
    settings = load_settings()
    prefix = checked_prefix(prefix)
    store = open_existing_store(settings, create=False)
    try:
        found = table_summaries(store, prefix)
    except PipelineNotFound as exc:
        raise fail(f"{exc} in the store at {store_location(settings)}", ExitCode.INVALID) from None
    except StorageUnavailable as exc:
        raise fail(str(exc), ExitCode.STORAGE) from None
    if as_json:
        print_json(summaries_body(prefix, found))
        return
    print_tables(Console(soft_wrap=True), prefix, store_location(settings), found)


def print_tables(console: Console, prefix: str, where: str, found: list[TableSummary]) -> None:
    grid = Table(title=f"Tables of {where}{prefix}clean/", title_justify="left")
    for name, justify in (
        ("table", "left"),
        ("partitions", "right"),
        ("files", "right"),
        ("rows", "right"),
        ("bytes", "right"),
        ("last written (UTC)", "left"),
    ):
        grid.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in found:
        label = t.table_id if t.declared else f"{t.table_id} (not in the config)"
        written = t.last_written.strftime("%Y-%m-%d %H:%M:%S") if t.last_written else "-"
        grid.add_row(
            label,
            f"{sum(1 for p in t.partitions if p.files):,}",
            f"{t.files:,}",
            f"{t.rows:,}",
            _size(t.bytes),
            written,
        )
    console.print(grid)
    for t in found:
        for problem in t.unreadable:
            console.print(Text(f"unreadable: {problem}", style="yellow"), soft_wrap=True)


def _size(n: int) -> str:
    """`_size(1536)` -> '1.5 KiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
