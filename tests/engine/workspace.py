"""A local-directory store seeded with a pipeline, for engine tests (SPEC §2 layout)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from karet_worker.engine.limits import Limits
from karet_worker.engine.result import IssueKind, RunIssue, RunResult
from karet_worker.engine.run import Runner
from karet_worker.storage.factory import open_local_store

PREFIX = "pipelines/t/"


class Workspace:
    def __init__(self, root: Path, *, limits: Limits | None = None) -> None:
        self.root = root
        self.store = open_local_store(root)
        self.runner = Runner(self.store, limits=limits)

    def put(self, key: str, data: bytes | str) -> None:
        self.store.put(PREFIX + key, data.encode() if isinstance(data, str) else data)

    def config(self, config: dict[str, Any]) -> None:
        self.put("pipeline.json", json.dumps(config))

    def run(self, clean: bool = False) -> RunResult:
        return self.runner.run(PREFIX, clean_run=clean)

    def with_chunk_bytes(self, chunk_bytes: int) -> Workspace:
        """The same store read in chunks of `chunk_bytes` input bytes."""
        return self.with_limits(Limits(chunk_bytes=chunk_bytes))

    def with_limits(self, limits: Limits) -> Workspace:
        """The same store run with these knobs (a fresh runner: its own memory budget)."""
        return Workspace(self.root, limits=limits)

    def objects(self, under: str = "clean/") -> list[str]:
        return [o.key.removeprefix(PREFIX) for o in self.store.list(PREFIX + under)]

    def read(self, table: str) -> pl.DataFrame:
        path = self.root / PREFIX / "clean" / table
        return pl.read_parquet(path / "**" / "*.parquet", hive_partitioning=True)

    def bytes_of(self, key: str) -> bytes:
        return self.store.get(PREFIX + key)


def col(name: str) -> dict[str, Any]:
    return {"kind": "col", "name": name}


def copy_mapping(mapping_id: str, source_id: str, table_id: str, column: str) -> dict[str, Any]:
    """A mapping that copies one column as is: the filler of multi-mapping tests."""
    return {
        "id": mapping_id,
        "source_container_id": source_id,
        "analytic_table_id": table_id,
        "columns": [{"name": column, "expr": col(column)}],
    }


def make_config(
    *,
    source_schema: list[tuple[str, str]],
    table_schema: list[tuple[str, str]],
    columns: dict[str, dict[str, Any]] | None = None,
    table_extra: dict[str, Any] | None = None,
    mapping_extra: dict[str, Any] | None = None,
    csv: dict[str, Any] | None = None,
    lookups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A one-source, one-mapping, one-table config; columns default to identity."""
    columns = columns or {name: col(name) for name, _ in table_schema}
    source: dict[str, Any] = {
        "id": "src",
        "name": "Source",
        "path_prefix": "raw/",
        "schema": [{"name": n, "type": t} for n, t in source_schema],
    }
    if csv:
        source["csv"] = csv
    return {
        "version": 1,
        "source_containers": [source],
        "lookup_mappings": lookups or [],
        "mappings": [
            {
                "id": "m1",
                "source_container_id": "src",
                "analytic_table_id": "t",
                "columns": [{"name": n, "expr": e} for n, e in columns.items()],
                **(mapping_extra or {}),
            }
        ],
        "analytic_tables": [
            {
                "id": "t",
                "name": "T",
                "schema": [{"name": n, "type": t} for n, t in table_schema],
                **(table_extra or {}),
            }
        ],
    }


def kinds(issues: list[RunIssue]) -> list[IssueKind]:
    return [issue.kind for issue in issues]


def skipped(result: RunResult) -> dict[str, str]:
    """File name under raw/ → why it was skipped."""
    return {
        (issue.file or "").removeprefix(PREFIX + "raw/"): issue.detail
        for issue in result.errors
        if issue.kind is IssueKind.FILE_SKIPPED
    }
