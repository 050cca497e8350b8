#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs uv and the locked dependencies, then runs
# ruff, mypy (strict) and pytest. pytest starts the SeaweedFS S3 server it needs by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet "uv==0.13.9"
uv sync --locked --python "$(command -v python3.11 || command -v python3)"
uv run --no-sync ruff check src tests bench
uv run --no-sync ruff format --check src tests bench
uv run --no-sync mypy
# pytest exit code 5 (no tests collected) is a failure here, like every non-zero code.
uv run --no-sync pytest "$@"
