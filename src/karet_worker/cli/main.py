"""`karet-worker`: serve the API, validate a config, run a pipeline, or try the demo.

Exit codes: see `cli/exits.py` (0 success, 1 invalid/aborted, 2 usage, 3 storage, 4 run
completed with errors).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from karet_worker.cli.authoring import infer, preview, tables
from karet_worker.cli.common import (
    ALLOW_ERRORS_HELP,
    JSON_HELP,
    LogLevel,
    checked_prefix,
    fail,
    load_settings,
    open_existing_store,
    print_json,
    stderr,
    store_location,
)
from karet_worker.cli.exits import EXIT_CODES_HELP, ExitCode, completed_run_exit
from karet_worker.cli.jobs_cmd import jobs_app, worker
from karet_worker.cli.progress import RichProgress
from karet_worker.cli.render import print_problems, print_run_result
from karet_worker.config.validate import validate_json, validation_body
from karet_worker.demo import DEMO_PREFIX, demo_config_edited, seed_demo
from karet_worker.engine.result import ConfigInvalid, ConfigNotFound, RunResult
from karet_worker.jobs.direct import LockLost, run_in_this_thread
from karet_worker.jobs.errors import QueueUnavailable
from karet_worker.logs import configure_logging
from karet_worker.settings import Settings
from karet_worker.storage.base import ObjectStore, StorageUnavailable

ENVIRONMENT_HELP = (
    "Settings come from the environment: S3_BUCKET, S3_ENDPOINT (or AWS_ENDPOINT_URL), "
    "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION select an S3 store; without them the "
    "store is the local directory KARET_DATA_DIR (default ./data of the current directory). "
    "PORT (default 8080), KARET_WORKER_TOKEN, KARET_MAX_BODY_BYTES, POLARS_MAX_THREADS. "
)

app = typer.Typer(
    name="karet-worker",
    help="Runs Karet data pipelines: CSV in an object store -> Polars -> partitioned Parquet.",
    epilog=ENVIRONMENT_HELP + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(jobs_app, name="jobs")
app.command()(worker)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version as package_version  # 5 ms `run` need not pay

        typer.echo(f"karet-worker {package_version('karet-worker')}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Runs Karet data pipelines: CSV in an object store -> Polars -> partitioned Parquet."""


def _run_with_progress(
    console: Console,
    settings: Settings,
    store: ObjectStore,
    prefix: str,
    clean: bool,
    *,
    as_json: bool,
    where: str,
) -> RunResult:
    """One run with a live display, under the pipeline's lock like every run; aborting errors
    become a message and an exit code (with `as_json`: the API's error envelope on stdout)."""
    try:
        with RichProgress(console) as progress:
            return run_in_this_thread(settings, store, prefix, clean_run=clean, progress=progress)
    except (QueueUnavailable, LockLost) as exc:
        if as_json:
            print_json({"error": "queue_unavailable", "message": str(exc), "details": []})
        raise fail(str(exc), ExitCode.STORAGE) from None
    except ConfigNotFound as exc:
        message = f"{exc} in the store at {where}"
        if as_json:
            print_json({"error": "config_not_found", "message": message, "details": []})
        raise fail(f"{message} (nothing was run)", ExitCode.INVALID) from None
    except ConfigInvalid as exc:
        if as_json:
            print_json({"error": "config_invalid", "message": str(exc), "details": exc.problems})
        err = stderr()
        err.print(Text(f"karet-worker: {exc} (nothing was run)", style="bold red"))
        print_problems(err, exc.problems, label="error")
        raise typer.Exit(ExitCode.INVALID) from None
    except StorageUnavailable as exc:
        if as_json:
            print_json({"error": "storage_unavailable", "message": str(exc), "details": []})
        raise fail(str(exc), ExitCode.STORAGE) from None


def _report_run(
    console: Console, result: RunResult, prefix: str, where: str, *, as_json: bool
) -> None:
    if as_json:
        print_json(result.body())
        return
    print_run_result(console, result, title=f"Run of {prefix}")
    if result.partitions_written:
        console.print(
            Text(f"Wrote {result.partitions_written} Parquet object(s) under {where}{prefix}clean/")
        )


@app.command()
def validate(
    file: Path = typer.Argument(..., help="The pipeline.json to check ('-' reads stdin)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check a pipeline config: prints every problem and warning with its JSON Pointer path.
    Exit 0 valid (warnings allowed), 1 invalid, 2 unreadable file."""
    console = Console(soft_wrap=True)
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}", ExitCode.USAGE) from None
    report = validate_json(raw)
    if as_json:
        print_json(validation_body(report))
        raise typer.Exit(ExitCode.OK if report.ok else ExitCode.INVALID)
    print_problems(console, [p.to_dict() for p in report.problems], label="error")
    print_problems(console, [w.to_dict() for w in report.warnings], label="warning")
    warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
    if report.ok:
        console.print(Text(f"{file}: valid{warned}", style="green"))
        return
    console.print(Text(f"{file}: {len(report.problems)} problem(s){warned}", style="bold red"))
    raise typer.Exit(ExitCode.INVALID)


@app.command()
def run(
    prefix: str = typer.Argument(..., help="Pipeline prefix in the store, e.g. pipelines/demo/"),
    clean: bool = typer.Option(False, "--clean", help="Prune stale output after writing."),
    allow_errors: bool = typer.Option(False, "--allow-errors", help=ALLOW_ERRORS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    log_level: LogLevel = typer.Option(LogLevel.error, help="Level of the JSON logs on stderr."),
) -> None:
    """Run one pipeline now, with a progress display and a summary table.

    Reads <prefix>pipeline.json and the inputs from the store the settings select (see
    --help of karet-worker), writes <prefix>clean/. Exit 4 when the run completed with errors.
    """
    settings = load_settings()
    configure_logging(log_level.value)
    prefix = checked_prefix(prefix)
    store = open_existing_store(settings, create=False)
    where = store_location(settings)
    console = Console(soft_wrap=True, stderr=as_json)
    result = _run_with_progress(
        console, settings, store, prefix, clean, as_json=as_json, where=where
    )
    _report_run(console, result, prefix, where, as_json=as_json)
    raise typer.Exit(completed_run_exit(result.errors, allow_errors=allow_errors))


@app.command()
def demo(
    reset: bool = typer.Option(
        False, "--reset", help="Overwrite an edited demo pipeline.json without asking."
    ),
    allow_errors: bool = typer.Option(False, "--allow-errors", help=ALLOW_ERRORS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    log_level: LogLevel = typer.Option(LogLevel.error, help="Level of the JSON logs on stderr."),
) -> None:
    """Seed the demo spending-tracker pipeline into the store and run it.

    The demo's inputs include two deliberately broken files, so the run reports errors and
    exits 4 unless --allow-errors. An edited demo pipeline.json is kept unless you confirm
    (or pass --reset).
    """
    settings = load_settings()
    configure_logging(log_level.value)
    store = open_existing_store(settings, create=True)
    console = Console(soft_wrap=True, stderr=as_json)
    where = store_location(settings)
    try:
        keep = demo_config_edited(store) and not (
            reset
            or (
                sys.stdin.isatty()
                and typer.confirm(
                    f"{where}{DEMO_PREFIX}pipeline.json was edited; overwrite it with the "
                    "packaged demo?",
                    default=False,
                )
            )
        )
        keys = seed_demo(store, keep_config=keep)
    except StorageUnavailable as exc:
        raise fail(str(exc), ExitCode.STORAGE) from None
    console.print(f"Seeded {len(keys)} objects under {where}{DEMO_PREFIX}")
    if keep:
        console.print(
            Text(f"Kept your edited {DEMO_PREFIX}pipeline.json (--reset restores the packaged one)")
        )
    result = _run_with_progress(
        console, settings, store, DEMO_PREFIX, True, as_json=as_json, where=where
    )
    _report_run(console, result, DEMO_PREFIX, where, as_json=as_json)
    output = f"{where}{DEMO_PREFIX}clean/transactions/"
    if settings.s3 is None and not as_json:
        console.print(
            Text(
                f'Query it:  {sys.executable} -c "import polars as pl; print(pl.read_parquet('
                f"'{output}**/*.parquet', hive_partitioning=True))\""
            )
        )
    raise typer.Exit(completed_run_exit(result.errors, allow_errors=allow_errors))


@app.command()
def serve(
    demo: bool = typer.Option(
        False, "--demo", help=f"Seed the demo pipeline at {DEMO_PREFIX} before serving."
    ),
    host: str = typer.Option("0.0.0.0", help="Interface to listen on."),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Port to listen on (default: PORT, else 8080)."
    ),
    log_level: LogLevel = typer.Option(LogLevel.info, help="Level of the JSON logs on stderr."),
    no_consume: bool = typer.Option(
        False, "--no-consume", help="Do not run queued jobs in this process (REDIS_URL mode)."
    ),
) -> None:
    """Start the HTTP service (OpenAPI docs at /docs) over the store the settings select.
    It also runs queued jobs on KARET_WORKER_CONCURRENCY threads, unless --no-consume."""
    settings = load_settings()
    if port is not None:
        settings = dataclasses.replace(settings, port=port)
    configure_logging(log_level.value)
    # Imported here: the web stack costs ~0.3 s of start-up that `run`/`validate` don't need.
    from karet_worker.cli.serving import PortUnavailable, bind, serve_app

    try:
        sock = bind(host, settings.port)
    except PortUnavailable as exc:
        raise fail(str(exc), ExitCode.INVALID) from None
    with sock:
        store = open_existing_store(settings, create=True)
        kept = False
        if demo:
            try:
                kept = demo_config_edited(store)
                seed_demo(store, keep_config=kept)
            except StorageUnavailable as exc:
                raise fail(str(exc), ExitCode.STORAGE) from None
        from karet_worker.api import create_app

        started = serve_app(
            create_app(settings, store, consume=not no_consume),
            sock,
            log_level=log_level.value,
            announce=lambda: _announce(settings, host, demo, kept),
        )
    if not started:
        raise fail(
            f"could not start serving on {host}:{settings.port} (see the log)", ExitCode.INVALID
        )


def _announce(settings: Settings, host: str, demo: bool, kept: bool) -> None:
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{settings.port}"
    auth = ' -H "Authorization: Bearer $KARET_WORKER_TOKEN"' if settings.token else ""
    console = Console(soft_wrap=True, highlight=False)
    store = store_location(settings)
    console.print(Text(f"karet-worker is serving {base} (store: {store}, docs: {base}/docs)"))
    if demo:
        if kept:
            console.print(Text(f"Kept the edited {DEMO_PREFIX}pipeline.json in the store."))
        body = f'{{"pipeline_prefix": "{DEMO_PREFIX}"}}'
        console.print(Text("Run the demo pipeline:"))
        console.print(
            Text(
                f"  curl -s -X POST {base}/jobs/run -H 'Content-Type: application/json'{auth}"
                f" -d '{body}'"
            )
        )
    console.print(Text("Validate a config:"))
    console.print(
        Text(f"  curl -s -X POST {base}/config/validate{auth} --data-binary @pipeline.json")
    )


app.command()(preview)
app.command()(infer)
app.command()(tables)


if __name__ == "__main__":
    app()
