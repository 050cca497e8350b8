"""`karet-worker worker` and `karet-worker jobs submit|show|list` (SPEC §12).

Where `jobs` commands go: with `--url` (or `KARET_WORKER_URL`), to that `karet-worker serve`
over HTTP; else, with `REDIS_URL` set, straight to the Redis queue (no server needed); else to
the `serve` on this machine (`http://127.0.0.1:$PORT`), because an embedded queue lives inside
the `serve` process.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Protocol

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from karet_worker.cli.common import (
    ALLOW_ERRORS_HELP,
    JSON_HELP,
    LogLevel,
    checked_prefix,
    fail,
    load_settings,
    open_existing_store,
    print_json,
)
from karet_worker.cli.exits import ExitCode, completed_run_exit
from karet_worker.jobs.errors import JobAlreadyFinished, JobNotFound, QueueUnavailable
from karet_worker.jobs.factory import open_queue
from karet_worker.jobs.model import JobRecord, JobStatus, Trigger
from karet_worker.logs import configure_logging
from karet_worker.settings import Settings
from karet_worker.storage.base import StorageUnavailable

POLL_S = 0.25  # how often `submit --wait` looks at the job
URL_HELP = (
    "A `karet-worker serve` to talk to (also KARET_WORKER_URL). Default: the Redis queue when "
    "REDIS_URL is set, else the serve on this machine (http://127.0.0.1:$PORT)."
)

jobs_app = typer.Typer(
    help="Queued jobs: submit a run, follow it, list recent ones.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class JobsApi(Protocol):
    def submit(self, prefix: str, *, clean_run: bool, trigger: Trigger) -> JobRecord: ...

    def get(self, job_id: str) -> JobRecord: ...

    def list(
        self, *, prefix: str | None = None, status: JobStatus | None = None, limit: int = 50
    ) -> list[JobRecord]: ...


class ServiceJobs:
    """The same calls over HTTP to a `karet-worker serve`."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def submit(self, prefix: str, *, clean_run: bool, trigger: Trigger) -> JobRecord:
        body = {"pipeline_prefix": prefix, "clean_run": clean_run}
        return JobRecord.model_validate(self._call("POST", "/jobs", body))

    def get(self, job_id: str) -> JobRecord:
        return JobRecord.model_validate(self._call("GET", f"/jobs/{urllib.parse.quote(job_id)}"))

    def list(
        self, *, prefix: str | None = None, status: JobStatus | None = None, limit: int = 50
    ) -> list[JobRecord]:
        query: dict[str, str] = {"limit": str(limit)}
        if prefix is not None:
            query["pipeline_prefix"] = prefix
        if status is not None:
            query["status"] = status.value
        records = self._call("GET", "/jobs?" + urllib.parse.urlencode(query))
        return [JobRecord.model_validate(r) for r in records]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        import urllib.error  # here: urllib.request and the runtime below cost `run` start-up
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            envelope = _envelope(exc.read())
            message = envelope.get("message") or f"HTTP {exc.code}"
            if envelope.get("error") == "job_not_found":
                raise JobNotFound(path.rsplit("/", 1)[-1]) from None
            if exc.code in (502, 503, 504):
                raise QueueUnavailable(message) from None
            raise fail(f"{self.base_url}{path}: {message}", ExitCode.USAGE) from None
        except (urllib.error.URLError, OSError) as exc:
            raise QueueUnavailable(
                f"cannot reach karet-worker serve at {self.base_url} ({exc}); start it, or "
                "point --url / KARET_WORKER_URL at one, or set REDIS_URL"
            ) from None


def _envelope(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _jobs_api(settings: Settings, url: str | None) -> JobsApi:
    url = url or os.environ.get("KARET_WORKER_URL") or None
    if url is None and settings.queue.redis_url is not None:
        return open_queue(settings, open_existing_store(settings, create=False))
    return ServiceJobs(url or f"http://127.0.0.1:{settings.port}", settings.token)


def _calling(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except JobNotFound as exc:
        raise fail(str(exc), ExitCode.INVALID) from None
    except JobAlreadyFinished as exc:
        raise fail(str(exc), ExitCode.INVALID) from None
    except QueueUnavailable as exc:
        raise fail(str(exc), ExitCode.STORAGE) from None
    except StorageUnavailable as exc:
        raise fail(str(exc), ExitCode.STORAGE) from None


@jobs_app.command()
def submit(
    prefix: str = typer.Argument(..., help="Pipeline prefix, e.g. pipelines/demo/"),
    clean: bool = typer.Option(False, "--clean", help="Prune stale output after writing."),
    wait: bool = typer.Option(False, "--wait", help="Follow the job with a live display."),
    allow_errors: bool = typer.Option(False, "--allow-errors", help=ALLOW_ERRORS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Queue a run. With --wait: follow it to its end; the exit code is then as for `run`."""
    settings = load_settings()
    prefix = checked_prefix(prefix)
    api = _jobs_api(settings, url)
    record: JobRecord = _calling(
        lambda: api.submit(prefix, clean_run=clean, trigger=Trigger.manual)
    )
    console = Console(soft_wrap=True, highlight=False)
    if not wait:
        if as_json:
            print_json(record.model_dump(mode="json"))
        else:
            console.print(Text(f"queued {record.job_id} ({prefix})"))
            console.print(Text(f"follow it: karet-worker jobs show {record.job_id}"))
        return
    final = _follow(api, record, console, live=not as_json)
    if as_json:
        print_json(final.model_dump(mode="json"))
    else:
        _print_record(console, final)
    raise typer.Exit(int(_exit_code(final, allow_errors=allow_errors)))


@jobs_app.command()
def show(
    job_id: str = typer.Argument(..., help="The job id `submit` printed."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """One job's record: status, attempts, progress, result or error."""
    api = _jobs_api(load_settings(), url)
    record: JobRecord = _calling(lambda: api.get(job_id))
    if as_json:
        print_json(record.model_dump(mode="json"))
        return
    _print_record(Console(soft_wrap=True, highlight=False), record)


@jobs_app.command("list")
def list_jobs(
    prefix: str | None = typer.Option(None, "--prefix", help="Only this pipeline's jobs."),
    status: JobStatus | None = typer.Option(None, "--status", help="Only jobs with this status."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Recent jobs, newest first."""
    settings = load_settings()
    if prefix is not None:
        prefix = checked_prefix(prefix)
    api = _jobs_api(settings, url)
    records: list[JobRecord] = _calling(lambda: api.list(prefix=prefix, status=status, limit=limit))
    if as_json:
        print_json([r.model_dump(mode="json") for r in records])
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("job id", "pipeline", "status", "attempts", "enqueued", "files", "error"):
        table.add_column(column)
    for r in records:
        files = f"{r.progress.files_done}/{r.progress.files_total or '?'}"
        enqueued = r.enqueued_at.isoformat(timespec="seconds")
        error = (r.error or "")[:60]
        row = (r.job_id, r.pipeline_prefix, r.status.value, str(r.attempts), enqueued, files, error)
        table.add_row(*row)
    Console(soft_wrap=True, highlight=False).print(table)


def worker(
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        min=1,
        max=64,
        help="Jobs run at once (default: KARET_WORKER_CONCURRENCY).",
    ),
    log_level: LogLevel = typer.Option(LogLevel.info, help="Level of the JSON logs on stderr."),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        min=1,
        max=65535,
        help="Also serve this process's Prometheus metrics (GET /metrics) on this port.",
    ),
    metrics_host: str = typer.Option("0.0.0.0", help="Interface of --metrics-port."),
) -> None:
    """Run queued jobs from the Redis queue (REDIS_URL), without HTTP; start as many as you
    like, on any machines. SIGTERM: stop claiming, finish the current jobs within
    KARET_SHUTDOWN_GRACE_S, else stop them at a checkpoint and hand them back to the queue."""
    settings = load_settings()
    if settings.queue.redis_url is None:
        raise fail(
            "worker needs REDIS_URL (the distributed queue); without it, `serve` runs the "
            "queued jobs itself",
            ExitCode.USAGE,
        )
    configure_logging(log_level.value)
    from prometheus_client import start_http_server

    from karet_worker.jobs.runtime import JobsRuntime

    store = open_existing_store(settings, create=True)
    runtime = JobsRuntime.open(settings, store, consume=True)
    if metrics_port is not None:
        try:
            start_http_server(metrics_port, addr=metrics_host, registry=runtime.metrics.registry)
        except OSError as exc:
            where = f"{metrics_host}:{metrics_port}"
            raise fail(
                f"cannot serve metrics on {where}: {exc.strerror}", ExitCode.INVALID
            ) from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runtime.start(concurrency)
    while not stop.wait(1.0):
        pass
    runtime.stop()


def _follow(api: JobsApi, record: JobRecord, console: Console, *, live: bool) -> JobRecord:
    """Poll the job until it is terminal, drawing its progress when `live`."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not live,
    )
    task = progress.add_task(f"{record.job_id} queued", total=None, detail="")
    delay = POLL_S
    with progress:
        while not record.status.terminal:
            time.sleep(delay)
            try:
                record = api.get(record.job_id)
                delay = POLL_S
            except QueueUnavailable:
                delay = min(5.0, delay * 2)  # the queue may be restarting: keep following
                continue
            except JobNotFound as exc:
                raise fail(str(exc), ExitCode.INVALID) from None
            p = record.progress
            progress.update(
                task,
                description=f"{record.job_id} {record.status.value} ({p.stage.value})",
                completed=p.files_done,
                total=p.files_total or None,
                detail=f"{p.rows_read:,} rows, {p.partitions_written:,} partitions",
            )
    return record


def _print_record(console: Console, record: JobRecord) -> None:
    table = Table(title=f"Job {record.job_id}", show_header=False, title_justify="left")
    table.add_column("field")
    table.add_column("value")
    p = record.progress
    rows: list[tuple[str, str]] = [
        ("pipeline", record.pipeline_prefix),
        ("status", record.status.value),
        ("trigger", record.trigger.value),
        ("clean run", str(record.clean_run).lower()),
        ("attempts", str(record.attempts)),
        ("worker", record.worker or "-"),
        ("enqueued", record.enqueued_at.isoformat(timespec="seconds")),
        ("started", record.started_at.isoformat(timespec="seconds") if record.started_at else "-"),
        (
            "finished",
            record.finished_at.isoformat(timespec="seconds") if record.finished_at else "-",
        ),
        ("stage", p.stage.value),
        ("files", f"{p.files_done}/{p.files_total if p.files_total is not None else '?'}"),
        ("rows read", f"{p.rows_read:,}"),
        ("partitions written", f"{p.partitions_written:,}"),
    ]
    if record.result is not None:
        for name in ("rows_written", "rows_deduped", "duration_ms", "wait_ms"):
            if name in record.result:
                rows.append((name.replace("_", " "), f"{record.result[name]:,}"))
    for field, value in rows:
        table.add_row(field, value)
    console.print(table)
    if record.error:
        console.print(Text(f"error: {record.error}", style="bold red"), soft_wrap=True)
    if record.result is not None:
        for heading, key, style in (
            ("Errors", "errors", "red"),
            ("Warnings", "warnings", "yellow"),
        ):
            messages = record.result.get(key) or []
            if messages:
                console.print(Text(f"{heading}:", style=f"bold {style}"))
                for message in messages:
                    console.print(Text(f"  - {message}"), soft_wrap=True)


def _exit_code(record: JobRecord, *, allow_errors: bool) -> ExitCode:
    """As for `run`: 0 / 4 for a completed run, 3 when storage or the queue was down, 1 else."""
    match record.status:
        case JobStatus.completed:
            errors = (record.result or {}).get("errors") or []
            return completed_run_exit(errors, allow_errors=allow_errors)
        case JobStatus.failed if record.error and "unavailable" in record.error:
            return ExitCode.STORAGE
        case _:
            return ExitCode.INVALID
