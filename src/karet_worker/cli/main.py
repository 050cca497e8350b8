"""`karet-worker`: serve the API, validate a config, run a pipeline, or try the demo.

Exit codes: 0 success; 1 invalid config, aborted run or a server that could not start;
2 bad usage, settings or unreadable file; 3 object store unavailable.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from karet_worker.cli.progress import RichProgress
from karet_worker.cli.render import print_problems, print_run_result
from karet_worker.config.validate import validate_json
from karet_worker.demo import DEMO_PREFIX, seed_demo
from karet_worker.engine.prefix import prefix_problems
from karet_worker.engine.result import ConfigInvalid, ConfigNotFound, RunResult
from karet_worker.engine.run import Runner
from karet_worker.logs import configure_logging
from karet_worker.settings import Settings, SettingsError
from karet_worker.storage.base import ObjectStore, StorageUnavailable
from karet_worker.storage.factory import open_store

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_STORAGE = 3


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


app = typer.Typer(
    name="karet-worker",
    help="Runs Karet data pipelines: CSV in an object store -> Polars -> partitioned Parquet.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int) -> typer.Exit:
    _stderr().print(Text(f"karet-worker: {message}", style="bold red"))
    return typer.Exit(code)


def _load_settings() -> Settings:
    """Settings from the environment; every bad variable is named before exiting with 2."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        err = _stderr()
        err.print(Text("karet-worker: invalid settings:", style="bold red"))
        for problem in exc.problems:
            err.print(Text(f"  - {problem}"))
        raise typer.Exit(EXIT_USAGE) from None


def _open_store(settings: Settings) -> ObjectStore:
    try:
        return open_store(settings)
    except StorageUnavailable as exc:
        raise _fail(str(exc), EXIT_STORAGE) from None


def _store_location(settings: Settings) -> str:
    if settings.s3 is not None:
        return f"s3://{settings.s3.bucket}/"
    return f"{settings.data_dir.expanduser().resolve()}/"


def _run_with_progress(console: Console, store: ObjectStore, prefix: str, clean: bool) -> RunResult:
    """One run with a live display; aborting errors become a message and an exit code."""
    try:
        with RichProgress(console) as progress:
            return Runner(store).run(prefix, clean_run=clean, progress=progress)
    except ConfigNotFound as exc:
        raise _fail(f"{exc} (nothing was run)", EXIT_INVALID) from None
    except ConfigInvalid as exc:
        err = _stderr()
        err.print(Text(f"karet-worker: {exc} (nothing was run)", style="bold red"))
        print_problems(err, exc.problems, label="error")
        raise typer.Exit(EXIT_INVALID) from None
    except StorageUnavailable as exc:
        raise _fail(str(exc), EXIT_STORAGE) from None


@app.command()
def validate(
    file: Path = typer.Argument(..., help="The pipeline.json to check ('-' reads stdin)."),
) -> None:
    """Check a pipeline config: prints every problem and warning with its JSON Pointer path."""
    console = Console(soft_wrap=True)
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror or exc}", EXIT_USAGE) from None
    report = validate_json(raw)
    print_problems(console, [p.to_dict() for p in report.problems], label="error")
    print_problems(console, [w.to_dict() for w in report.warnings], label="warning")
    warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
    if report.ok:
        console.print(Text(f"{file}: valid{warned}", style="green"))
        return
    console.print(Text(f"{file}: {len(report.problems)} problem(s){warned}", style="bold red"))
    raise typer.Exit(EXIT_INVALID)


@app.command()
def run(
    prefix: str = typer.Argument(..., help="Pipeline prefix, e.g. pipelines/demo/"),
    clean: bool = typer.Option(False, "--clean", help="Prune stale output after writing."),
    log_level: LogLevel = typer.Option(LogLevel.error, help="Level of the JSON logs on stderr."),
) -> None:
    """Run one pipeline now, with a progress display and a summary table."""
    settings = _load_settings()
    configure_logging(log_level.value)
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    problems = prefix_problems(prefix)
    if problems:
        raise _fail("; ".join(problems), EXIT_USAGE)
    console = Console(soft_wrap=True)
    result = _run_with_progress(console, _open_store(settings), prefix, clean)
    print_run_result(console, result, title=f"Run of {prefix}")


@app.command()
def demo(
    log_level: LogLevel = typer.Option(LogLevel.error, help="Level of the JSON logs on stderr."),
) -> None:
    """Seed the demo spending-tracker pipeline into the store and run it."""
    settings = _load_settings()
    configure_logging(log_level.value)
    store = _open_store(settings)
    console = Console(soft_wrap=True)
    try:
        keys = seed_demo(store)
    except StorageUnavailable as exc:
        raise _fail(str(exc), EXIT_STORAGE) from None
    where = _store_location(settings)
    console.print(f"Seeded {len(keys)} objects under {where}{DEMO_PREFIX}")
    result = _run_with_progress(console, store, DEMO_PREFIX, clean=True)
    print_run_result(console, result, title=f"Run of {DEMO_PREFIX}")
    output = f"{where}{DEMO_PREFIX}clean/transactions/"
    console.print(Text(f"\nOutput (Hive-partitioned Parquet): {output}"))
    if settings.s3 is None:
        console.print(
            Text(
                f'Query it:  {sys.executable} -c "import polars as pl; print(pl.read_parquet('
                f"'{output}**/*.parquet', hive_partitioning=True))\""
            )
        )


@app.command()
def serve(
    demo: bool = typer.Option(
        False, "--demo", help=f"Seed the demo pipeline at {DEMO_PREFIX} before serving."
    ),
    host: str = typer.Option("0.0.0.0", help="Interface to listen on."),
    log_level: LogLevel = typer.Option(LogLevel.info, help="Level of the JSON logs on stderr."),
) -> None:
    """Start the HTTP service on PORT (default 8080)."""
    settings = _load_settings()
    configure_logging(log_level.value)
    store = _open_store(settings)
    if demo:
        try:
            seed_demo(store)
        except StorageUnavailable as exc:
            raise _fail(str(exc), EXIT_STORAGE) from None
    # Imported here: the web stack costs ~0.3 s of start-up that `run`/`validate` don't need.
    from karet_worker.api import create_app
    from karet_worker.cli.serving import serve_app

    started = serve_app(
        create_app(settings, store),
        host=host,
        port=settings.port,
        log_level=log_level.value,
        announce=lambda: _announce(settings, host, demo),
    )
    if not started:
        raise _fail(
            f"could not start serving on {host}:{settings.port} (see the log)", EXIT_INVALID
        )


def _announce(settings: Settings, host: str, demo: bool) -> None:
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{settings.port}"
    auth = ' -H "Authorization: Bearer $KARET_WORKER_TOKEN"' if settings.token else ""
    console = Console(soft_wrap=True, highlight=False)
    store = _store_location(settings)
    console.print(Text(f"karet-worker is serving {base} (store: {store}, docs: {base}/docs)"))
    if demo:
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


if __name__ == "__main__":
    app()
