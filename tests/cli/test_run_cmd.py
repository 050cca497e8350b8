"""`karet-worker run` and `karet-worker demo` on the embedded local store."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from karet_worker.cli.main import app
from karet_worker.demo import DEMO_PREFIX, demo_files

runner = CliRunner()


def seed(data_dir: Path, prefix: str) -> None:
    for relative, data in demo_files().items():
        path = data_dir / prefix / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_demo_seeds_runs_and_prints_the_summary(data_dir: Path) -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for label in ("files processed", "rows written", "rows deduplicated", "partitions written"):
        assert label in out
    assert "2024-04-partial.csv" in out  # the skipped file is listed among the errors
    assert "receipt-scan.csv" in out
    assert "could not be read as number" in out  # the warning
    parquet = sorted((data_dir / DEMO_PREFIX / "clean" / "transactions").rglob("*.parquet"))
    assert len(parquet) == 6
    assert (data_dir / DEMO_PREFIX / "pipeline.json").is_file()


def test_demo_reseeding_removes_stray_inputs(data_dir: Path) -> None:
    stray = data_dir / DEMO_PREFIX / "raw" / "bank" / "stray.csv"
    stray.parent.mkdir(parents=True)
    stray.write_text("date,description,amount\n2024-05-01,X,1\n")
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert not stray.exists()


def test_run_prints_counts_and_accepts_a_prefix_without_slash(data_dir: Path) -> None:
    seed(data_dir, "pipelines/mine/")
    result = runner.invoke(app, ["run", "pipelines/mine"])
    assert result.exit_code == 0, result.output
    assert "Run of pipelines/mine/" in result.stdout
    assert "partitions written" in result.stdout
    assert len(list((data_dir / "pipelines/mine/clean").rglob("*.parquet"))) == 6


def test_run_clean_prunes_stale_output(data_dir: Path) -> None:
    seed(data_dir, "pipelines/mine/")
    stale = data_dir / "pipelines/mine/clean/transactions/year=1999/month=01/bank.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    assert runner.invoke(app, ["run", "pipelines/mine/"]).exit_code == 0
    assert stale.exists()
    assert runner.invoke(app, ["run", "pipelines/mine/", "--clean"]).exit_code == 0
    assert not stale.exists()


def test_run_without_a_config_exits_1_with_a_clear_message(data_dir: Path) -> None:
    result = runner.invoke(app, ["run", "pipelines/none/"])
    assert result.exit_code == 1
    assert "pipelines/none/pipeline.json" in result.stderr


def test_run_with_an_invalid_config_exits_1_and_prints_the_problems(data_dir: Path) -> None:
    config = json.loads(demo_files()["pipeline.json"])
    config["mappings"][0]["analytic_table_id"] = "nowhere"
    path = data_dir / "pipelines/bad/pipeline.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(config))
    result = runner.invoke(app, ["run", "pipelines/bad/"])
    assert result.exit_code == 1
    assert "/mappings/0/analytic_table_id" in result.stderr


def test_run_with_a_bad_prefix_exits_2(data_dir: Path) -> None:
    result = runner.invoke(app, ["run", "../etc/"])
    assert result.exit_code == 2
    assert "pipeline_prefix" in result.stderr
