"""The README's config example is a valid pipeline (docs that drift from the code mislead)."""

from __future__ import annotations

import re
from pathlib import Path

from karet_worker.config.validate import validate_json

README = Path(__file__).parents[1] / "README.md"


def test_readme_config_example_validates_clean() -> None:
    text = README.read_text()
    section = text.split("## The config in brief", 1)[1]
    example = re.search(r"```json\n(.*?)```", section, re.S)
    assert example is not None
    report = validate_json(example.group(1))
    assert report.ok, [p.to_dict() for p in report.problems]
    assert report.warnings == []


def test_readme_first_command_serves_the_demo_with_the_locked_environment() -> None:
    first = next(line for line in README.read_text().splitlines() if "karet-worker serve" in line)
    assert "uv run --locked" in first
    assert "serve --demo" in first
    assert "pip install" in first  # uv is installed when missing
