"""A small valid config to mutate, and helpers to look problems up by kind and path."""

from __future__ import annotations

import copy
from typing import Any

from karet_worker.config.validate import Problem, ValidationReport, validate_document

Doc = dict[str, Any]


def col(name: str) -> Doc:
    return {"kind": "col", "name": name}


def small_config() -> Doc:
    """Two sources, a lookup with a child, two mappings, two tables: valid as it is."""
    return copy.deepcopy(
        {
            "version": 1,
            "source_containers": [
                {
                    "id": "bank",
                    "name": "Bank",
                    "path_prefix": "raw/bank/",
                    "schema": [
                        {"name": "date", "type": "string"},
                        {"name": "description", "type": "string"},
                        {"name": "amount", "type": "number"},
                    ],
                },
                {
                    "id": "card",
                    "name": "Card",
                    "path_prefix": "raw/card/",
                    "csv": {"delimiter": ";"},
                    "schema": [
                        {"name": "Merchant", "type": "string"},
                        {"name": "Total", "type": "string"},
                    ],
                },
            ],
            "lookup_mappings": [
                {
                    "id": "categories",
                    "rows": [{"input_patterns": ["TESCO"], "output": "Groceries"}],
                    "children": [
                        {
                            "id": "coffee",
                            "rows": [{"input_patterns": ["PRET"], "output": "Coffee"}],
                        },
                        {"id": "travel", "rows": [{"input_patterns": ["TFL"], "output": "Travel"}]},
                    ],
                    "catch_all": {"output": "Other"},
                }
            ],
            "mappings": [
                {
                    "id": "bank_txns",
                    "source_container_id": "bank",
                    "analytic_table_id": "transactions",
                    "columns": [
                        {
                            "name": "day",
                            "expr": {
                                "kind": "parse_date",
                                "input": col("date"),
                                "format": "%Y-%m-%d",
                            },
                        },
                        {
                            "name": "category",
                            "expr": {
                                "kind": "lookup_ref",
                                "lookup_id": "categories.coffee",
                                "input": col("description"),
                            },
                        },
                        {"name": "amount", "expr": col("amount")},
                    ],
                    "where": {
                        "kind": "gt",
                        "left": col("amount"),
                        "right": {"kind": "num", "value": 0},
                    },
                    "partition_by": {"column": "day", "granularity": "month"},
                },
                {
                    "id": "card_merchants",
                    "source_container_id": "card",
                    "analytic_table_id": "merchants",
                    "columns": [
                        {"name": "merchant", "expr": {"kind": "upper", "input": col("Merchant")}},
                        {
                            "name": "total",
                            "expr": {"kind": "cast", "input": col("Total"), "to": "float64"},
                        },
                    ],
                },
            ],
            "analytic_tables": [
                {
                    "id": "transactions",
                    "name": "Transactions",
                    "schema": [
                        {"name": "day", "type": "date"},
                        {"name": "category", "type": "string"},
                        {"name": "amount", "type": "number", "assertions": {"min": 0, "max": 1e6}},
                    ],
                    "dedup_keys": ["day", "amount"],
                },
                {
                    "id": "merchants",
                    "name": "Merchants",
                    "schema": [
                        {"name": "merchant", "type": "string"},
                        {"name": "total", "type": "float64"},
                    ],
                    "partition_keys": ["merchant"],
                },
            ],
        }
    )


def only_problem(doc: object) -> Problem:
    """The single problem `doc` has (fails if there are none or several)."""
    report = validate_document(doc)
    assert len(report.problems) == 1, report.problems
    return report.problems[0]


def problem_at(report: ValidationReport, path: str) -> Problem:
    """The problem reported at `path` (fails, listing all problems, when there is none)."""
    matches = [p for p in report.problems if p.path == path]
    assert matches, f"no problem at {path!r}: {report.problems}"
    return matches[0]
