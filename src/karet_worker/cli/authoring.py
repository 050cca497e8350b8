"""The authoring commands (SPEC §14): `preview`, `infer` and `tables`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from karet_worker.authoring.infer import SAMPLE_BYTES, NoSample, Sample, infer_source, store_samples
from karet_worker.authoring.preview import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Preview,
    PreviewRequestError,
    preview_config,
)
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
    stderr,
    store_location,
)
from karet_worker.cli.exits import ExitCode
from karet_worker.cli.render import print_problems
from karet_worker.config.validate import validate_json
from karet_worker.engine.prefix import prefix_problems
from karet_worker.engine.result import ConfigInvalid, ConfigNotFound
from karet_worker.engine.run import StoredConfig, load_config
from karet_worker.logs import configure_logging
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


def infer(
    inputs: list[str] = typer.Argument(
        ...,
        help="Sample CSV files (local paths), or one folder prefix in the store ending in '/' "
        "(e.g. pipelines/demo/raw/bank/: its first files are sampled).",
    ),
    source_id: str | None = typer.Option(
        None, "--id", help="Id of the drafted source (default: from the folder or file name)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the draft with per-column details and notes as JSON."
    ),
) -> None:
    """Draft a source (SourceContainer JSON, ready to paste) from sample CSV files: header
    names, delimiter, quote, encoding, preamble, a type per column, null markers, date formats.
    Notes for a person go to stderr."""
    files = [Path(i) for i in inputs if Path(i).is_file()]
    try:
        if len(files) == len(inputs):
            samples = [Sample(str(f), _head(f)) for f in files]
            default_id, path_prefix = _stem(files[0].name), None
        elif len(inputs) == 1 and inputs[0].endswith("/"):
            prefix = inputs[0]
            settings = load_settings()
            store = open_existing_store(settings, create=False)
            samples = store_samples(store, prefix)
            if not samples:
                raise fail(
                    f"no CSV files under {prefix} in the store at {store_location(settings)}",
                    ExitCode.USAGE,
                )
            default_id = prefix.rstrip("/").rpartition("/")[2]
            path_prefix = _relative_to_pipeline(prefix)
        else:
            missing = [i for i in inputs if not Path(i).is_file()]
            raise fail(
                f"not a file: {', '.join(missing)} (give sample files, or one store prefix "
                "ending in '/')",
                ExitCode.USAGE,
            )
        draft = infer_source(samples, source_id=source_id or default_id, path_prefix=path_prefix)
    except NoSample as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    except StorageUnavailable as exc:
        raise fail(str(exc), ExitCode.STORAGE) from None
    if as_json:
        print_json(draft.body())
        return
    print_json(draft.source)
    err = stderr()
    for note in draft.notes:
        err.print(Text(f"note: {note}", style="yellow"), soft_wrap=True)


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(SAMPLE_BYTES)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}", ExitCode.USAGE) from None


def _stem(name: str) -> str:
    """`_stem("bank-2024.csv.gz")` -> "bank-2024"."""
    for suffix in (".gz", ".csv", ".tsv", ".txt"):
        name = name.removesuffix(suffix)
    return name


def _relative_to_pipeline(prefix: str) -> str | None:
    """`pipelines/demo/raw/bank/` -> `raw/bank/` (the source's path_prefix); None otherwise."""
    parts = prefix.split("/")
    if len(parts) > 3 and parts[0] == "pipelines":
        return "/".join(parts[2:])
    return None


def preview(
    target: str = typer.Argument(
        ...,
        help="A pipeline prefix in the store (pipelines/demo/), or a pipeline.json file.",
    ),
    mapping: str | None = typer.Option(None, "--mapping", help="Only this mapping's rows."),
    limit: int = typer.Option(
        DEFAULT_LIMIT, "--limit", min=1, max=MAX_LIMIT, help="Output rows per mapping."
    ),
    inline: list[str] = typer.Option(
        [],
        "--source",
        help="SOURCE_ID=FILE: read this sample file for that source instead of its folder "
        "(repeatable).",
    ),
    prefix: str | None = typer.Option(
        None,
        "--prefix",
        help="With a pipeline.json file: read the other sources' inputs from this pipeline "
        "prefix in the store (default: the prefix the file sits under in the local store).",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """The first output rows of each mapping as a run would write them, with schema,
    partitions, counts, errors and warnings. Evaluated by the run's own engine on the first
    input files (or --source samples); nothing is written."""
    settings = load_settings()
    configure_logging("error")  # skipped files are listed with the rows, not logged
    samples = dict(_inline_sample(item) for item in inline)
    if target.endswith(".json") and Path(target).is_file():
        file = Path(target)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise fail(f"cannot read {file}: {exc.strerror or exc}", ExitCode.USAGE) from None
        report = validate_json(raw)
        if report.config is None:
            err = stderr()
            print_problems(err, [p.to_dict() for p in report.problems], label="error")
            raise fail(f"{file}: {len(report.problems)} problem(s)", ExitCode.INVALID)
        stored = StoredConfig(report.config, report.warnings)
        prefix = checked_prefix(prefix) if prefix else _prefix_of(file, settings.data_dir)
        store = open_existing_store(settings, create=False) if prefix else None
    else:
        prefix = checked_prefix(target)
        store = open_existing_store(settings, create=False)
        try:
            stored = load_config(store, prefix)
        except ConfigNotFound as exc:
            raise fail(
                f"{exc} in the store at {store_location(settings)}", ExitCode.INVALID
            ) from None
        except ConfigInvalid as exc:
            print_problems(stderr(), exc.problems, label="error")
            raise fail(str(exc), ExitCode.INVALID) from None
    try:
        result = preview_config(
            store, stored, prefix=prefix, inline=samples, mapping_id=mapping, limit=limit
        )
    except PreviewRequestError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    except StorageUnavailable as exc:
        raise fail(str(exc), ExitCode.STORAGE) from None
    if as_json:
        print_json(result.body())
        return
    print_preview(Console(soft_wrap=True), result)


def _inline_sample(item: str) -> tuple[str, bytes]:
    source_id, sep, name = item.partition("=")
    if not sep or not source_id or not name:
        raise fail(f"--source {item!r}: expected SOURCE_ID=FILE", ExitCode.USAGE)
    try:
        return source_id, Path(name).read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {name}: {exc.strerror or exc}", ExitCode.USAGE) from None


def _prefix_of(file: Path, data_dir: Path) -> str | None:
    """`<data dir>/pipelines/demo/pipeline.json` -> "pipelines/demo/"; None elsewhere."""
    try:
        relative = file.resolve().parent.relative_to(data_dir.expanduser().resolve())
    except ValueError:
        return None
    prefix = f"{relative.as_posix()}/"
    return None if prefix == "./" or prefix_problems(prefix) else prefix


def print_preview(console: Console, result: Preview) -> None:
    for message in result.errors:
        console.print(Text(f"error: {message}", style="red"), soft_wrap=True)
    for message in result.warnings:
        console.print(Text(f"warning: {message}", style="yellow"), soft_wrap=True)
    for m in result.mappings:
        grid = Table(
            title=f"mapping '{m.mapping_id}' -> table '{m.table_id}'", title_justify="left"
        )
        for column in m.schema:
            grid.add_column(f"{column['name']}\n{column['type']}")
        for row in m.rows:
            grid.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(grid)
        counts = (
            f"{len(m.rows)} row(s) shown; rows read {m.rows_read:,}, filtered "
            f"{m.rows_filtered:,}, deduplicated {m.rows_deduped:,}"
        )
        console.print(Text(counts))
        if m.partitions:
            console.print(Text(f"partitions: {', '.join(m.partitions)}"), soft_wrap=True)
        for label, messages, style in (
            ("error", m.errors, "red"),
            ("warning", m.warnings, "yellow"),
        ):
            for message in messages:
                console.print(Text(f"{label}: {message}", style=style), soft_wrap=True)
        console.print()
