"""Startup fails fast and names every bad setting at once (SPEC §8), with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from karet_worker.cli.main import app

runner = CliRunner()

BAD = {
    "PORT": "eighty",
    "KARET_MAX_BODY_BYTES": "0",
    "POLARS_MAX_THREADS": "-1",
    "S3_ENDPOINT": "ftp://example",
    "AWS_ACCESS_KEY_ID": "only-the-key",
}


@pytest.mark.parametrize(
    "command", [["serve"], ["serve", "--demo"], ["run", "pipelines/x/"], ["demo"]]
)
def test_every_bad_setting_is_named_and_nothing_starts(data_dir: Path, command: list[str]) -> None:
    result = runner.invoke(app, command, env=BAD)
    assert result.exit_code == 2, result.output
    err = result.stderr
    for name in ("PORT", "KARET_MAX_BODY_BYTES", "POLARS_MAX_THREADS", "S3_ENDPOINT", "S3_BUCKET"):
        assert name in err, f"{name} not named in: {err}"
    assert "AWS_SECRET_ACCESS_KEY" in err
    assert not data_dir.exists(), "nothing was seeded or created"
