"""One pipeline prefix in the test bucket: seed config and CSVs with boto3, read outputs back.

Outputs are read with DuckDB, the reference reader (SPEC §11). DuckDB 2.0.1 cannot load its
httpfs extension offline (it is downloaded on first use), so the objects under
`clean/<table>/` are downloaded with boto3, keeping their keys as paths, and DuckDB reads that
directory with `read_parquet(..., hive_partitioning=true)` — same files, same Hive layout.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

Row = dict[str, Any]


@dataclass
class Workspace:
    client: Any  # boto3 S3 client
    bucket: str
    prefix: str  # "pipelines/<slug>/"

    # ------------------------------------------------------------------ seeding

    def put(self, rel_key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + rel_key, Body=data)

    def put_config(self, config: dict[str, Any]) -> None:
        self.put("pipeline.json", json.dumps(config, indent=2).encode())

    def put_csv(self, rel_key: str, text: str, *, encoding: str = "utf-8") -> None:
        data = text.encode(encoding)
        self.put(rel_key, gzip.compress(data, mtime=0) if rel_key.endswith(".gz") else data)

    def delete(self, rel_key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + rel_key)

    # ------------------------------------------------------------------ inspecting

    def keys(self, under: str = "") -> list[str]:
        """Keys (relative to the pipeline prefix) under `under`, sorted."""
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + under):
            found.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        return sorted(found)

    def get(self, rel_key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + rel_key)[
            "Body"
        ].read()
        return body

    def snapshot(self, under: str = "clean/") -> dict[str, bytes]:
        """Every object under `under` with its bytes."""
        return {key: self.get(key) for key in self.keys(under)}

    def download(self, under: str, target: Path) -> list[Path]:
        paths = []
        for key in self.keys(under):
            path = target / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.get(key))
            paths.append(path)
        return paths

    # ------------------------------------------------------------------ DuckDB

    @contextmanager
    def duck(self, table: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection with view `t` = `table` read with hive_partitioning=true."""
        with tempfile.TemporaryDirectory(prefix="karet-it-read-") as tmp:
            root = Path(tmp)
            if not self.download(f"clean/{table}/", root):
                raise AssertionError(f"table {table!r} has no objects under clean/{table}/")
            glob = sql_string((root / "clean" / table).as_posix() + "/**/*.parquet")
            with duckdb.connect() as con:
                con.execute(
                    f"CREATE VIEW t AS SELECT * FROM read_parquet({glob}, hive_partitioning = true)"
                )
                yield con

    def read_table(self, table: str) -> list[Row]:
        """All rows of `table` as dicts (hive columns included), in a stable order."""
        if not self.keys(f"clean/{table}/"):
            return []
        with self.duck(table) as con:
            relation = con.sql("SELECT * FROM t ORDER BY ALL")
            names = relation.columns
            return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]

    def column_types(self, table: str) -> dict[str, str]:
        """DuckDB's type of every column of `table` (hive columns included)."""
        with self.duck(table) as con:
            rows = con.sql("DESCRIBE SELECT * FROM t").fetchall()
        return {str(row[0]): str(row[1]) for row in rows}

    def parquet_columns(self, rel_key: str) -> list[str]:
        """The columns physically stored in one Parquet object (no hive columns)."""
        with tempfile.TemporaryDirectory(prefix="karet-it-read-") as tmp:
            path = Path(tmp) / "one.parquet"
            path.write_bytes(self.get(rel_key))
            with duckdb.connect() as con:
                relation = con.sql(f"SELECT * FROM read_parquet({sql_string(path.as_posix())})")
                return list(relation.columns)


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
