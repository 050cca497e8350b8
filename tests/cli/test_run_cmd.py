"""`karet-worker run` and `karet-worker demo` on the embedded local store."""

from __future__ import annotations

import json
import re
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
    assert result.exit_code == 4, result.output  # the demo's two broken files are errors
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
    result = runner.invoke(app, ["demo", "--allow-errors"])
    assert result.exit_code == 0, result.output
    assert not stray.exists()


def test_run_prints_counts_and_where_it_wrote(data_dir: Path) -> None:
    seed(data_dir, "pipelines/mine/")
    result = runner.invoke(app, ["run", "pipelines/mine/", "--allow-errors"])
    assert result.exit_code == 0, result.output
    assert "Run of pipelines/mine/" in result.stdout
    assert "partitions written" in result.stdout
    assert f"under {data_dir.resolve()}/pipelines/mine/clean/" in result.stdout
    assert len(list((data_dir / "pipelines/mine/clean").rglob("*.parquet"))) == 6


def test_a_prefix_without_trailing_slash_is_rejected_like_the_api_does(data_dir: Path) -> None:
    seed(data_dir, "pipelines/mine/")
    result = runner.invoke(app, ["run", "pipelines/mine"])
    assert result.exit_code == 2
    assert "must end with '/'" in result.stderr
    assert "did you mean 'pipelines/mine/'" in result.stderr
    assert not (data_dir / "pipelines/mine/clean").exists()


def test_run_with_errors_exits_4_unless_allowed(data_dir: Path) -> None:
    seed(data_dir, "pipelines/mine/")  # two of the demo's inputs are broken: errors
    assert runner.invoke(app, ["run", "pipelines/mine/"]).exit_code == 4
    assert runner.invoke(app, ["run", "pipelines/mine/", "--allow-errors"]).exit_code == 0
    for broken in ("bank/2024-04-partial.csv", "card/receipt-scan.csv"):
        (data_dir / "pipelines/mine/raw" / broken).unlink()
    assert runner.invoke(app, ["run", "pipelines/mine/"]).exit_code == 0


def test_run_json_prints_the_api_body_and_nothing_else_on_stdout(data_dir: Path) -> None:
    seed(data_dir, "pipelines/mine/")
    result = runner.invoke(app, ["run", "pipelines/mine/", "--json"])
    assert result.exit_code == 4
    body = json.loads(result.stdout)
    assert set(body) >= {"job_id", "partitions_written", "files_processed", "rows_read"}
    assert body["partitions_written"] == 6
    assert any("receipt-scan.csv" in e for e in body["errors"])


def test_run_json_aborted_prints_the_error_envelope(data_dir: Path) -> None:
    data_dir.mkdir()
    result = runner.invoke(app, ["run", "pipelines/none/", "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["error"] == "config_not_found"
    assert str(data_dir.resolve()) in body["message"]


def test_run_in_a_directory_without_a_store_names_it_and_creates_nothing(
    data_dir: Path,
) -> None:
    result = runner.invoke(app, ["run", "pipelines/mine/"])
    assert result.exit_code == 1
    assert f"no local store at {data_dir.resolve()}" in result.stderr
    assert "KARET_DATA_DIR" in result.stderr
    assert not data_dir.exists()


def test_demo_keeps_an_edited_config_unless_reset(data_dir: Path) -> None:
    assert runner.invoke(app, ["demo", "--allow-errors"]).exit_code == 0
    config = data_dir / DEMO_PREFIX / "pipeline.json"
    edited = json.loads(config.read_text())
    edited["mappings"][0]["name"] = "my edit"
    config.write_text(json.dumps(edited))
    result = runner.invoke(app, ["demo", "--allow-errors"])  # not a terminal: nobody to ask
    assert result.exit_code == 0, result.output
    assert "Kept your edited" in result.stdout
    assert json.loads(config.read_text())["mappings"][0]["name"] == "my edit"
    assert runner.invoke(app, ["demo", "--allow-errors", "--reset"]).exit_code == 0
    assert config.read_bytes() == demo_files()["pipeline.json"]


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("karet-worker ")
    assert result.stdout.split()[1][0].isdigit()


def test_help_names_the_environment_the_store_and_the_exit_codes() -> None:
    text = runner.invoke(app, ["--help"]).stdout
    for needle in ("KARET_DATA_DIR", "S3_BUCKET", "./data", "Exit codes", "4 run completed"):
        assert needle in text, needle


def test_run_clean_prunes_stale_output(data_dir: Path) -> None:
    seed(data_dir, "pipelines/mine/")
    stale = data_dir / "pipelines/mine/clean/transactions/year=1999/month=01/bank.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    assert runner.invoke(app, ["run", "pipelines/mine/", "--allow-errors"]).exit_code == 0
    assert stale.exists()
    assert runner.invoke(app, ["run", "pipelines/mine/", "--clean"]).exit_code == 4
    assert not stale.exists()


def test_run_without_a_config_exits_1_naming_the_key_and_the_store(data_dir: Path) -> None:
    data_dir.mkdir()
    result = runner.invoke(app, ["run", "pipelines/none/"])
    assert result.exit_code == 1
    assert "pipelines/none/pipeline.json" in result.stderr
    assert str(data_dir.resolve()) in result.stderr


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


def test_rows_dropped_by_a_record_filter_are_counted_as_filtered(data_dir: Path) -> None:
    """SPEC §6: rows_read = rows_filtered + rows_deduped + rows_written (one mapping), also
    when the source's record_filter drops records before the mapping's `where` does."""
    column = {"kind": "col", "name": "agent"}
    config = {
        "version": 1,
        "source_containers": [
            {
                "id": "log",
                "name": "Access log",
                "path_prefix": "raw/",
                "format": "ndjson",
                "schema": [
                    {"name": "status", "type": "int64"},
                    {"name": "agent", "type": "string", "path": "request.agent"},
                ],
                "record_filter": {
                    "kind": "not",
                    "input": {
                        "kind": "contains",
                        "input": column,
                        "pattern": {"kind": "str", "value": "bot"},
                    },
                },
            }
        ],
        "mappings": [
            {
                "id": "hits",
                "source_container_id": "log",
                "analytic_table_id": "hits",
                "columns": [
                    {"name": "status", "expr": {"kind": "col", "name": "status"}},
                    {"name": "agent", "expr": column},
                ],
                "where": {
                    "kind": "lt",
                    "left": {"kind": "col", "name": "status"},
                    "right": {"kind": "num", "value": 500},
                },
            }
        ],
        "analytic_tables": [
            {
                "id": "hits",
                "name": "Hits",
                "schema": [
                    {"name": "status", "type": "int64"},
                    {"name": "agent", "type": "string"},
                ],
            }
        ],
    }
    records = [(200, "curl"), (200, "Googlebot"), (503, "curl"), (301, "bingbot"), (404, "ff")]
    root = data_dir / "pipelines/logs"
    (root / "raw").mkdir(parents=True)
    (root / "pipeline.json").write_text(json.dumps(config))
    (root / "raw/a.ndjson").write_text(
        "".join(json.dumps({"status": s, "request": {"agent": a}}) + "\n" for s, a in records)
    )
    result = runner.invoke(app, ["run", "pipelines/logs/", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    # 2 bots dropped by the record_filter, the 503 by `where`
    assert (body["rows_read"], body["rows_filtered"], body["rows_written"]) == (5, 3, 2)
    shown = runner.invoke(app, ["run", "pipelines/logs/"]).stdout
    assert re.search(r"rows filtered\s*│\s*3\s", shown), shown
