#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs uv and the locked dependencies, then runs
# ruff, mypy (strict) and pytest. pytest starts the SeaweedFS S3 server it needs by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv==0.13.9"
# No --python here: naming an interpreter makes uv replace a .venv that `uv run` created
# (same Python, other path), deleting the environment under a running `karet-worker serve`.
uv sync --locked
uv run --no-sync ruff check src tests bench
uv run --no-sync ruff format --check src tests bench
uv run --no-sync mypy
# pytest exit code 5 (no tests collected) is a failure here, like every non-zero code.
uv run --no-sync pytest "$@"
