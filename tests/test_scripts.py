"""scripts/test.sh must not replace the environment that `uv run ... karet-worker serve` (the
README's first command) is running from: uv replaces a .venv when `uv sync` names another
interpreter path than the one that created it, even for the same Python."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_test_script_syncs_into_the_existing_environment() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text().splitlines()
    (sync,) = [line for line in script if line.startswith("uv sync")]
    uv = shutil.which("uv")
    assert uv is not None, "uv is on PATH wherever scripts/test.sh runs"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    argv = [uv, *sync.split()[1:], "--dry-run"]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Would use project environment" in done.stderr, done.stderr
    assert "Would replace" not in done.stderr
