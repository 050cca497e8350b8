"""What every `karet-worker` command shares: settings, the store, messages, JSON output."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from karet_worker.cli.exits import ExitCode
from karet_worker.engine.prefix import prefix_problems
from karet_worker.settings import Settings, SettingsError
from karet_worker.storage.base import ObjectStore, StorageUnavailable
from karet_worker.storage.factory import open_store


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str, code: ExitCode) -> typer.Exit:
    """Print `karet-worker: <message>` on stderr; raise the returned Exit."""
    stderr().print(Text(f"karet-worker: {message}", style="bold red"))
    return typer.Exit(int(code))


def load_settings() -> Settings:
    """Settings from the environment; every bad variable is named before exiting with 2."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        err = stderr()
        err.print(Text("karet-worker: invalid settings:", style="bold red"))
        for problem in exc.problems:
            err.print(Text(f"  - {problem}"))
        raise typer.Exit(ExitCode.USAGE) from None


def store_location(settings: Settings) -> str:
    """Where the store is, for messages: `s3://bucket/` or the local directory's absolute path."""
    if settings.s3 is not None:
        return f"s3://{settings.s3.bucket}/"
    return f"{settings.data_dir.expanduser().resolve()}/"


def open_existing_store(settings: Settings, *, create: bool) -> ObjectStore:
    """The configured store. Commands that only read (`run`, `preview`, `tables`) pass
    `create=False`: a local store directory that does not exist is then an error naming it,
    instead of an empty `./data` appearing wherever the command happened to be started."""
    if settings.s3 is None and not create:
        root = settings.data_dir.expanduser().resolve()
        if not root.is_dir():
            raise fail(
                f"no local store at {root} (KARET_DATA_DIR, default ./data of the current "
                "directory): start from the directory `serve` runs in, set KARET_DATA_DIR, "
                "or create one with `karet-worker demo`",
                ExitCode.INVALID,
            )
    try:
        return open_store(settings)
    except StorageUnavailable as exc:
        raise fail(str(exc), ExitCode.STORAGE) from None


def checked_prefix(prefix: str) -> str:
    """The pipeline prefix if it obeys the API's rules (SPEC §7), else exit 2. A missing
    trailing `/` is rejected like the API does (with the fix named), not silently added."""
    problems = prefix_problems(prefix)
    if problems:
        hint = ""
        if not prefix.endswith("/") and not prefix_problems(prefix + "/"):
            hint = f" (did you mean '{prefix}/'?)"
        raise fail("; ".join(problems) + hint, ExitCode.USAGE)
    return prefix


def print_json(data: Any) -> None:
    """The machine-readable result on stdout (`--json`): the same bodies the API answers."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


JSON_HELP = "Print the result as JSON on stdout (the same body the HTTP API answers)."
ALLOW_ERRORS_HELP = "Exit 0 even when the run completed with errors (default: exit 4)."
