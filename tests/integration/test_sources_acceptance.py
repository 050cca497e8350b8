"""Acceptance of SPEC §13's sources through the real stack (service + SeaweedFS, read back with
DuckDB), each pipeline compared with a plain-Python reference of the same pipeline:

- an access log: NDJSON (plain and gzipped) with nested fields, a record_filter dropping bot
  traffic, ISO timestamps truncated to the hour, and a file-backed dimension mapping paths to
  sections by prefix;
- a Parquet source whose files store the columns with other physical types.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import random
from typing import Any

import polars as pl
import pytest

from .pipelines import Json, col, fn, lit, mapping, op, pipeline, table
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

UTC = dt.UTC

# ---------------------------------------------------------------- the access log

AGENTS = ["Mozilla/5.0 (X11)", "curl/8.5", "Googlebot/2.1", "AhrefsBot", "Safari/17", None]
URIS = ["/", "/blog/", "/blog/post-1", "/shop/cart", "/shop/", "/about", "/blogroll"]
# path prefix → section, with priorities: the longest prefixes rank first, "/" is the fallback
SECTIONS = [("/blog/", "Blog", 10), ("/shop/", "Shop", 10), ("/", "Home", 0)]


def access_records(seed: int, count: int) -> list[Json]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    records = []
    for _ in range(count):
        when = start + dt.timedelta(seconds=rng.randrange(4 * 3600))
        headers: Json = {"Accept": ["*/*"]}
        agent = rng.choice(AGENTS)
        if agent is not None:
            headers["User-Agent"] = [agent]
        records.append(
            {
                "ts": when.isoformat().replace("+00:00", "Z"),
                "status": rng.choice([200, 200, 200, 304, 404, 500]),
                "size": rng.randrange(100, 50_000),
                "request": {"method": rng.choice(["GET", "POST"]), "uri": rng.choice(URIS),
                            "headers": headers},
            }
        )  # fmt: skip
    return records


ACCESS_SOURCE: Json = {
    "id": "access",
    "name": "Access log",
    "path_prefix": "raw/access/",
    "format": "ndjson",
    "schema": [
        {"name": "ts", "type": "timestamp"},
        {"name": "status", "type": "int64"},
        {"name": "bytes", "type": "int64", "path": "size"},
        {"name": "method", "type": "string", "path": "request.method"},
        {"name": "uri", "type": "string", "path": "request.uri"},
        {"name": "agent", "type": "string", "path": "request.headers.User-Agent[0]"},
    ],
    "record_filter": fn("not", fn("contains", fn("lower", col("agent")), pattern=lit("bot"))),
}
SECTIONS_DIMENSION: Json = {
    "id": "sections",
    "match": "prefix",
    "on_miss": {"literal": "Other"},
    "rows": {
        "path_prefix": "reference/sections/",
        "key": "prefix",
        "values": ["section"],
        "priority_column": "rank",
    },
}
HITS = table(
    "hits",
    [
        ("hour", "timestamp"),
        ("section", "string"),
        ("method", "string"),
        ("status", "int64"),
        ("bytes", "int64"),
    ],
)
ACCESS_MAPPING = mapping(
    "hits_from_access",
    "access",
    "hits",
    {
        "hour": fn("date_trunc", col("ts"), unit="hour"),
        "section": {"kind": "dim_ref", "dim_id": "sections", "input": col("uri")},
        "method": col("method"),
        "status": col("status"),
        "bytes": col("bytes"),
    },
)


def reference_hits(lines: list[str]) -> list[dict[str, Any]]:
    """The access-log pipeline in plain Python: parse, filter, truncate, look up."""
    rows = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        request = record.get("request", {})
        agent = (request.get("headers", {}).get("User-Agent") or [None])[0]
        if agent is None or "bot" in agent.lower():  # null verdict drops the record too
            continue
        when = dt.datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
        status = record["status"] if isinstance(record["status"], int) else None
        rows.append(
            {
                "hour": when.replace(minute=0, second=0, microsecond=0),
                "section": section_of(request["uri"]),
                "method": request["method"],
                "status": status,
                "bytes": record["size"],
            }
        )
    return rows


def section_of(uri: str) -> str:
    matching = [(rank, -i, name) for i, (p, name, rank) in enumerate(SECTIONS) if uri.startswith(p)]
    return max(matching)[2] if matching else "Other"


def sortable(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple((value is None, "" if value is None else value) for value in row.values())


def test_access_log_ndjson_with_record_filter_timestamps_and_a_file_dimension(
    service: Service, workspace: Workspace
) -> None:
    files = {
        "raw/access/2026-03-01/a.ndjson": access_records(1, 120),
        "raw/access/2026-03-01/b.jsonl": access_records(2, 80),
        "raw/access/2026-03-02/c.json.gz": access_records(3, 100),
    }
    lines_of: dict[str, list[str]] = {
        key: [json.dumps(r) for r in recs] for key, recs in files.items()
    }
    # a truncated last line (a log still being written) and a status of the wrong JSON type
    lines_of["raw/access/2026-03-01/a.ndjson"].append('{"ts": "2026-03-01T12:00:00Z", "sta')
    broken = dict(files["raw/access/2026-03-01/b.jsonl"][0], status="teapot")
    broken["request"] = dict(broken["request"], headers={"User-Agent": ["curl/8.5"]})
    lines_of["raw/access/2026-03-01/b.jsonl"].append(json.dumps(broken))
    for key, lines in lines_of.items():
        data = ("\n".join(lines) + "\n").encode()
        workspace.put(key, gzip.compress(data, mtime=0) if key.endswith(".gz") else data)
    workspace.put("raw/access/notes.txt", b"not an input of an ndjson source\n")
    workspace.put_csv(
        "reference/sections/sections.csv",
        "prefix,section,rank\n" + "".join(f"{p},{name},{rank}\n" for p, name, rank in SECTIONS),
    )
    config = pipeline(sources=[ACCESS_SOURCE], tables=[HITS], mappings=[ACCESS_MAPPING])
    # a dimension's path_prefix is a key prefix in the bucket, from its root (SPEC §13); this
    # test's reference table is kept in its own pipeline folder, which the bucket key names
    rows = dict(SECTIONS_DIMENSION["rows"], path_prefix=workspace.prefix + "reference/sections/")
    config["dimensions"] = [dict(SECTIONS_DIMENSION, rows=rows)]
    workspace.put_config(config)

    body = service.run_ok(workspace.prefix)

    assert body["errors"] == []
    all_lines = [line for lines in lines_of.values() for line in lines]
    expected = reference_hits(all_lines)
    assert len(expected) < sum(len(r) for r in files.values())  # bots were there to drop
    assert body["rows_written"] == len(expected)
    assert any("1 line(s) are not JSON objects" in w for w in body["warnings"])
    assert any("column 'status': 1 value(s)" in w for w in body["warnings"])
    assert workspace.column_types("hits")["hour"] == "TIMESTAMP WITH TIME ZONE"
    got = workspace.read_table("hits")
    for row in got:
        row["hour"] = row["hour"].astimezone(UTC)
    assert sorted(got, key=sortable) == sorted(expected, key=sortable)


# ---------------------------------------------------------------- a Parquet source


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


PARQUET_FILES = {
    # stored as Int32 / text / naive Datetime
    "raw/orders/a.parquet": pl.DataFrame(
        {
            "id": pl.Series([1, 2, 3], dtype=pl.Int32),
            "amount": ["12.50", "n/a", "3"],
            "placed": [dt.datetime(2026, 1, 5, 23, 30), dt.datetime(2026, 1, 6, 8), None],
            "shop": ["north", "South", None],
            "ignored": [True, False, True],
        }
    ),
    # stored as Int64 / Float64 / text dates
    "raw/orders/b/c.parquet": pl.DataFrame(
        {
            "shop": ["north"],
            "id": [4],
            "amount": [99.0],
            "placed": ["2026-02-01"],
        }
    ),
}


def reference_orders() -> list[dict[str, Any]]:
    rows = []
    for frame in PARQUET_FILES.values():
        for record in frame.to_dicts():
            amount = record["amount"]
            try:
                number = float(amount) if amount is not None else None
            except ValueError:
                number = None
            placed = record["placed"]
            day = (
                placed.date()
                if isinstance(placed, dt.datetime)
                else (dt.date.fromisoformat(placed) if placed else None)
            )
            rows.append(
                {
                    "id": int(record["id"]),
                    "cents": None if number is None else number * 100,
                    "day": day,
                    "shop": None if record["shop"] is None else record["shop"].upper(),
                }
            )
    return rows


def test_parquet_source_read_with_the_declared_types(
    service: Service, workspace: Workspace
) -> None:
    for key, frame in PARQUET_FILES.items():
        workspace.put(key, parquet_bytes(frame))
    workspace.put("raw/orders/broken.parquet", b"PAR1 truncated")
    workspace.put("raw/orders/d.parquet", parquet_bytes(pl.DataFrame({"id": [9]})))
    source: Json = {
        "id": "orders",
        "name": "Orders",
        "path_prefix": "raw/orders/",
        "format": "parquet",
        "schema": [
            {"name": "id", "type": "int64"},
            {"name": "amount", "type": "number"},
            {"name": "placed", "type": "date"},
            {"name": "shop", "type": "string"},
        ],
    }
    out = table(
        "orders", [("id", "int64"), ("cents", "float64"), ("day", "date"), ("shop", "string")]
    )
    config = pipeline(
        sources=[source],
        tables=[out],
        mappings=[
            mapping(
                "m",
                "orders",
                "orders",
                {
                    "id": col("id"),
                    "cents": op("mul", col("amount"), lit(100)),
                    "day": col("placed"),
                    "shop": fn("upper", col("shop")),
                },
            )
        ],
    )
    workspace.put_config(config)

    body = service.run_ok(workspace.prefix)

    skipped = sorted(e.split(":")[0].rsplit("/", 1)[-1] for e in body["errors"])
    assert skipped == ["broken.parquet", "d.parquet"]
    assert any("missing column(s) 'amount', 'placed', 'shop'" in e for e in body["errors"])
    assert any("column 'amount': 1 value(s)" in w for w in body["warnings"])
    expected = reference_orders()
    assert sorted(workspace.read_table("orders"), key=sortable) == sorted(expected, key=sortable)
