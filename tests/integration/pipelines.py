"""Small builders for `pipeline.json` documents (SPEC §3, §4), so each test states only what
matters to it. They produce plain dicts: exactly what a client would upload."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Json = dict[str, Any]
Column = tuple[str, str] | tuple[str, str, Json]  # (name, type[, assertions])


def schema(columns: Iterable[Column]) -> list[Json]:
    out = []
    for column in columns:
        entry: Json = {"name": column[0], "type": column[1]}
        if len(column) == 3:
            entry["assertions"] = column[2]
        out.append(entry)
    return out


def source(id: str, path_prefix: str, columns: Iterable[Column], **csv: Any) -> Json:
    entry: Json = {"id": id, "name": id, "path_prefix": path_prefix, "schema": schema(columns)}
    if csv:
        entry["csv"] = csv
    return entry


def table(
    id: str,
    columns: Iterable[Column],
    *,
    partition_keys: Sequence[str] = (),
    dedup_keys: Sequence[str] = (),
) -> Json:
    entry: Json = {"id": id, "name": id, "schema": schema(columns)}
    if partition_keys:
        entry["partition_keys"] = list(partition_keys)
    if dedup_keys:
        entry["dedup_keys"] = list(dedup_keys)
    return entry


def mapping(
    id: str,
    source_id: str,
    table_id: str,
    columns: dict[str, Json],
    *,
    where: Json | None = None,
    partition_by: tuple[str, str] | None = None,
) -> Json:
    entry: Json = {
        "id": id,
        "name": id,
        "source_container_id": source_id,
        "analytic_table_id": table_id,
        "columns": [{"name": name, "expr": expr} for name, expr in columns.items()],
    }
    if where is not None:
        entry["where"] = where
    if partition_by is not None:
        entry["partition_by"] = {"column": partition_by[0], "granularity": partition_by[1]}
    return entry


def pipeline(
    sources: list[Json], tables: list[Json], mappings: list[Json], lookups: Sequence[Json] = ()
) -> Json:
    return {
        "version": 1,
        "source_containers": sources,
        "lookup_mappings": list(lookups),
        "mappings": mappings,
        "analytic_tables": tables,
    }


def copy_pipeline(columns: Sequence[Column], **table_options: Any) -> Json:
    """One source `src` at `raw/` copied column for column into table `out` by mapping `m`."""
    return pipeline(
        sources=[source("src", "raw/", columns)],
        tables=[table("out", columns, **table_options)],
        mappings=[mapping("m", "src", "out", copy_columns(columns))],
    )


def copy_columns(columns: Iterable[Column]) -> dict[str, Json]:
    """Each column as is: the identity mapping."""
    return {column[0]: col(column[0]) for column in columns}


# ---------------------------------------------------------------- expressions


def col(name: str) -> Json:
    return {"kind": "col", "name": name}


def lit(value: str | float | bool | None) -> Json:
    if value is None:
        return {"kind": "null"}
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    return {"kind": "num", "value": value}


def op(kind: str, left: Json, right: Json) -> Json:
    return {"kind": kind, "left": left, "right": right}


def fn(kind: str, input: Json, **fields: Any) -> Json:
    return {"kind": kind, "input": input, **fields}


def coalesce(*args: Json) -> Json:
    return {"kind": "coalesce", "args": list(args)}


def lookup(lookup_id: str, input: Json) -> Json:
    return {"kind": "lookup_ref", "lookup_id": lookup_id, "input": input}


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document; None becomes an empty field (null, SPEC §3)."""
    lines = [",".join(header)]
    lines.extend(",".join("" if v is None else str(v) for v in row) for row in rows)
    return "\n".join(lines) + "\n"
