"""A realistic multi-source config validates clean, through both entry points."""

from __future__ import annotations

import json
from pathlib import Path

from karet_worker.config.validate import validate_document, validate_json

REALISTIC = Path(__file__).parent / "fixtures" / "realistic.json"


def test_realistic_config_validates_clean() -> None:
    report = validate_json(REALISTIC.read_bytes())
    assert report.problems == [] and report.warnings == []
    assert report.ok
    config = report.config
    assert config is not None
    assert [s.id for s in config.source_containers] == ["bank", "card"]
    assert [m.analytic_table_id for m in config.mappings] == [
        "transactions",
        "transactions",
        "category_days",
    ]
    assert config.analytic_tables[1].partition_keys == ["year", "category"]
    assert config.lookup_mappings[0].children[0].children[0].catch_all is not None


def test_realistic_config_as_a_parsed_document() -> None:
    document = json.loads(REALISTIC.read_text())
    assert validate_document(document).ok
