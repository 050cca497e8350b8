"""Lookups, coalesce, `where`, dedup and assertions end to end (SPEC §3, §4)."""

from __future__ import annotations

from typing import Any

import pytest

from .pipelines import (
    Column,
    coalesce,
    col,
    csv_text,
    fn,
    lit,
    lookup,
    mapping,
    op,
    pipeline,
    source,
    table,
)
from .service import Service
from .workspace import Workspace

pytestmark = pytest.mark.integration

HEADER = ["id", "desc", "merchant", "amount"]
# Ingest order = key order, then row order (SPEC §6): a.csv before b.csv.
FILES: dict[str, list[list[Any]]] = {
    "raw/a.csv": [
        [1, "Morning COFFEE at Joe", "SBX-001", "4.5"],
        [2, "Super Market Espresso", "sbx-001", "-5"],  # dropped by `where` before dedup
        [3, "Train ticket and coffee", None, "120"],  # the child is case-sensitive: no match
        [4, "Rent", "LANDLORD", "900"],
        [5, None, "SBX-002", "7"],
    ],
    "raw/b.csv": [
        [1, "Grocer and market", "X", "10"],  # duplicate id 1: the a.csv row wins
        [2, "Super Market Espresso", "SBX-002", "8"],  # id 2 survives: its first row was dropped
        [6, "flight", "", None],  # null amount: `where` is not true -> dropped
        [4, "Rent again", "LANDLORD", "900"],  # duplicate id 4
        [7, "night train to Oslo", "SBX-001", "60"],  # the child matches: children first
    ],
}

CATEGORIES = {
    "id": "categories",
    "match": "keyword_substring",
    "case_insensitive": True,
    "rows": [
        {"input_patterns": ["coffee", "espresso"], "output": "Coffee"},
        {"input_patterns": ["market", "grocer"], "output": "Groceries"},
        {"input_patterns": ["super market"], "output": "Supermarket", "priority": 5},
    ],
    "children": [
        {"id": "travel", "rows": [{"input_patterns": ["train", "flight"], "output": "Travel"}]}
    ],
    "catch_all": {"output": "Other"},
}
MERCHANTS = {
    "id": "merchants",
    "match": "exact",
    "rows": [{"input_patterns": ["SBX-001", "SBX-002"], "output": "Starbucks"}],
}


def category(desc: str | None) -> str | None:
    """SPEC §3 lookup semantics, spelled out for this lookup tree."""
    if desc is None:
        return None
    if "train" in desc or "flight" in desc:  # children first; the child is case-sensitive
        return "Travel"
    text = desc.lower()  # the root node is case-insensitive
    if "super market" in text:  # highest priority among matching rows
        return "Supermarket"
    if "coffee" in text or "espresso" in text:  # ties: definition order
        return "Coffee"
    if "market" in text or "grocer" in text:
        return "Groceries"
    return "Other"  # catch_all of the referenced node


def travel(desc: str | None) -> str | None:
    """The child referenced by its dotted id: no catch_all of its own, so a miss is null."""
    return None if desc is None or category(desc) != "Travel" else "Travel"


def merchant(code: str | None) -> str:
    return "Starbucks" if code in ("SBX-001", "SBX-002") else (code or "unknown")


SOURCE = source(
    "tx",
    "raw/",
    [("id", "string"), ("desc", "string"), ("merchant", "string"), ("amount", "number")],
)
# Assertions that hold for the rows left after `where`; they run before dedup, so they see
# b.csv's duplicate rows too (merchant "X").
OUT_COLUMNS: list[Column] = [
    ("id", "int64", {"not_null": True}),
    ("category", "string"),
    ("travel", "string"),
    ("merchant", "string", {"not_null": True, "accepted_values": ["Starbucks", "LANDLORD",
                                                                  "unknown", "X"]}),
    ("amount", "number", {"min": 0, "max": 1000}),
]  # fmt: skip
COLUMN_EXPRS = {
    "id": col("id"),
    "category": lookup("categories", col("desc")),
    "travel": lookup("categories.travel", col("desc")),
    "merchant": coalesce(lookup("merchants", col("merchant")), col("merchant"), lit("unknown")),
    "amount": col("amount"),
}


def seed(workspace: Workspace, config: dict[str, Any]) -> None:
    for key, rows in FILES.items():
        workspace.put_csv(key, csv_text(HEADER, rows))
    workspace.put_config(config)


def expected_clean_rows() -> tuple[list[dict[str, Any]], int]:
    """Rows after `where` (amount > 0) and dedup on id (first in ingest order), and the number
    of rows dedup dropped."""
    kept: dict[int, dict[str, Any]] = {}
    deduped = 0
    for rows in FILES.values():
        for id_, desc, code, amount in rows:
            code = code or None
            if amount is None or float(amount) <= 0:
                continue
            if id_ in kept:
                deduped += 1
                continue
            kept[id_] = {
                "id": id_,
                "category": category(desc),
                "travel": travel(desc),
                "merchant": merchant(code),
                "amount": float(amount),
            }
    return sorted(kept.values(), key=lambda r: r["id"]), deduped


def test_lookups_coalesce_where_and_dedup(service: Service, workspace: Workspace) -> None:
    config = pipeline(
        sources=[
            source("tx", "raw/", [(h, "string") for h in HEADER[:3]] + [("amount", "number")])
        ],
        tables=[table("clean_tx", OUT_COLUMNS, dedup_keys=["id"])],
        mappings=[
            mapping(
                "m",
                "tx",
                "clean_tx",
                COLUMN_EXPRS,
                where=op("gt", col("amount"), lit(0)),
            )
        ],
        lookups=[CATEGORIES, MERCHANTS],
    )
    seed(workspace, config)

    body = service.run_ok(workspace.prefix)

    expected, deduped = expected_clean_rows()
    assert deduped == 2
    assert body["errors"] == []
    assert sorted(workspace.read_table("clean_tx"), key=lambda r: r["id"]) == expected
    assert body["errors"] == []
    assert body["rows_read"] == 10
    assert body["rows_deduped"] == deduped
    assert body["rows_written"] == len(expected)


def test_assertion_failure_fails_only_that_mapping_and_reports_every_violation(
    service: Service, workspace: Workspace
) -> None:
    strict_columns: list[Column] = [
        ("id", "int64", {"unique": True}),  # ids 1, 2 and 4 repeat
        ("desc", "string", {"not_null": True}),  # a null desc
        ("merchant", "string", {"accepted_values": ["SBX-001", "SBX-002"]}),  # LANDLORD, X ...
        ("amount", "number", {"min": 0, "max": 100}),  # -5 and 900
    ]
    config = pipeline(
        sources=[
            source("tx", "raw/", [(h, "string") for h in HEADER[:3]] + [("amount", "number")])
        ],
        tables=[
            table("clean_tx", OUT_COLUMNS, dedup_keys=["id"]),
            table("strict", strict_columns),
        ],
        mappings=[
            mapping("m", "tx", "clean_tx", COLUMN_EXPRS, where=op("gt", col("amount"), lit(0))),
            mapping("m_strict", "tx", "strict", {c[0]: col(c[0]) for c in strict_columns}),
        ],
        lookups=[CATEGORIES, MERCHANTS],
    )
    seed(workspace, config)

    body = service.run_ok(workspace.prefix)

    # The failing mapping writes nothing; the other mapping of the run is unaffected.
    assert workspace.keys("clean/strict/") == []
    assert workspace.keys("clean/clean_tx/") == ["clean/clean_tx/m.parquet"]
    assert (
        sorted(workspace.read_table("clean_tx"), key=lambda r: r["id"])
        == (expected_clean_rows()[0])
    )
    failures = [e for e in body["errors"] if "m_strict" in e]
    assert failures, body["errors"]
    for column, check in [
        ("id", "unique"),
        ("desc", "not_null"),
        ("merchant", "accepted_values"),
        ("amount", "min"),
        ("amount", "max"),
    ]:
        assert any(column in e and check in e for e in failures), (column, check, failures)
    assert body["partitions_written"] == 1


def test_upper_substring_and_if_over_typed_columns(service: Service, workspace: Workspace) -> None:
    """A few more expression kinds through the real stack, on declared-type columns."""
    config = pipeline(
        sources=[SOURCE],
        tables=[table("t", [("id", "int64"), ("size", "string"), ("cents", "int64")])],
        mappings=[
            mapping(
                "m",
                "tx",
                "t",
                {
                    "id": col("id"),
                    "size": {
                        "kind": "if",
                        "cond": op("ge", col("amount"), lit(100)),
                        "then": lit("big"),
                        "else": fn("lower", lit("SMALL")),
                    },
                    "cents": {"kind": "cast", "input": op("mul", col("amount"), lit(100)),
                              "to": "int64"},
                },
            )
        ],
    )  # fmt: skip
    seed(workspace, config)

    body = service.run_ok(workspace.prefix)

    expected = []
    for rows in FILES.values():
        for id_, _desc, _code, amount in rows:
            value = None if amount is None else float(amount)
            expected.append(
                {
                    "id": int(id_),
                    # a null condition takes the else branch (SPEC §4)
                    "size": "big" if value is not None and value >= 100 else "small",
                    "cents": None if value is None else int(value * 100),
                }
            )
    key = lambda r: (r["id"], r["size"], r["cents"] if r["cents"] is not None else -1)  # noqa: E731
    assert sorted(workspace.read_table("t"), key=key) == sorted(expected, key=key)
    assert body["errors"] == []
