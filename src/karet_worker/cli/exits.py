"""The exit codes of every `karet-worker` command, and the one rule for a run that completed.

Scripts and schedulers read these, so each has one meaning across commands:

    0  success
    1  invalid config, aborted run, or a server that could not start
    2  bad usage, bad settings or an unreadable file
    3  object store unavailable
    4  the run completed but reported errors (a mapping failed an assertion, a file was
       skipped, a source had no inputs); `--allow-errors` turns this into 0
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INVALID = 1
    USAGE = 2
    STORAGE = 3
    RUN_ERRORS = 4


EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 invalid config, aborted run or server not started; "
    "2 bad usage, settings or unreadable file; 3 object store unavailable; "
    "4 run completed with errors (unless --allow-errors)."
)


def completed_run_exit(errors: Sequence[object], *, allow_errors: bool) -> ExitCode:
    """The exit code of a run that completed (`run`, `demo`, `jobs submit --wait`):
    `completed_run_exit(["x.csv: skipped: ..."], allow_errors=False)` -> RUN_ERRORS."""
    return ExitCode.RUN_ERRORS if errors and not allow_errors else ExitCode.OK
