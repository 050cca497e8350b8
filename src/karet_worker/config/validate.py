"""Validation of a pipeline config (SPEC §5): every problem at once, each with a JSON Pointer.

Order of work: parse; cut nodes past the depth limits (iteratively, so nothing recursive ever
sees them); let Pydantic check the shape; run the cross-reference rules on the raw document so
they also cover the parts that failed to parse; collect unknown-field warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from karet_worker.config.json_input import InvalidJson, load_json
from karet_worker.config.limits import (
    MAX_EXPRESSION_DEPTH,
    MAX_JSON_DEPTH,
    check_depth,
    check_numbers,
)
from karet_worker.config.model import PipelineConfig
from karet_worker.config.pointer import is_within
from karet_worker.config.problems import Problem, ValidationReport
from karet_worker.config.rules import rule_problems
from karet_worker.config.shape import shape_problems
from karet_worker.config.typecheck import type_problems
from karet_worker.config.unknown_fields import unknown_field_warnings

__all__ = [
    "MAX_EXPRESSION_DEPTH",
    "MAX_JSON_DEPTH",
    "Problem",
    "ValidationReport",
    "validate_document",
    "validate_json",
    "validation_body",
]


def validate_json(raw: bytes | str) -> ValidationReport:
    """Validate a submitted document; unparseable input gives one `invalid_json` problem."""
    try:
        document = load_json(raw)
    except InvalidJson as error:
        return ValidationReport(config=None, problems=[error.problem], warnings=[])
    return validate_document(document)


def validate_document(document: object) -> ValidationReport:
    """Validate an already parsed JSON value (dicts, lists, str, int, float, bool, None)."""
    depth = check_depth(document)
    check_numbers(depth)
    problems: list[Problem] = list(depth.problems)
    config: PipelineConfig | None = None
    try:
        config = PipelineConfig.model_validate(depth.document, strict=True)
    except ValidationError as error:
        problems.extend(
            problem
            for problem in shape_problems(error, depth.document)
            if not any(is_within(problem.path, cut) for cut in depth.cut_pointers)
        )
    problems.extend(rule_problems(depth.document))
    if config is not None and not problems:  # types need a config whose references resolve
        problems.extend(type_problems(config))
    warnings = unknown_field_warnings(depth.document)
    return ValidationReport(
        config=None if problems else config, problems=problems, warnings=warnings
    )


def summary(problems: Sequence[Problem]) -> str:
    """One line for humans: the first problem, and how many more there are."""
    first = problems[0]
    where = f" (at {first.path})" if first.path and first.path not in first.message else ""
    more = len(problems) - 1
    tail = f"; and {more} more problem{'s' if more > 1 else ''}" if more else ""
    return f"{first.message}{where}{tail}"


def validation_body(report: ValidationReport, *, under: str = "") -> dict[str, Any]:
    """The `/config/validate` answer (SPEC §7) for a report; `validate --json` prints it too:
    `{"ok": true, "warnings": [...]}` or `{"ok": false, "error", "message", "details",
    "warnings"}`. `under` prefixes every path, for a config sent inside a larger document
    (`/config` in a preview request)."""
    if under:
        report = ValidationReport(
            report.config,
            [Problem(p.kind, p.message, under + p.path) for p in report.problems],
            [Problem(w.kind, w.message, under + w.path) for w in report.warnings],
        )
    warnings = [w.to_dict() for w in report.warnings]
    if report.ok:
        return {"ok": True, "warnings": warnings}
    return {
        "ok": False,
        "error": report.problems[0].kind,
        "message": summary(report.problems),
        "details": [p.to_dict() for p in report.problems],
        "warnings": warnings,
    }
