"""The outcome of validation: problems that reject a config and warnings that do not (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from karet_worker.config.model import PipelineConfig

INVALID_JSON: Final = "invalid_json"
SCHEMA: Final = "schema"
MISSING_FIELD: Final = "missing_field"
DUPLICATE_ID: Final = "duplicate_id"
DANGLING_REFERENCE: Final = "dangling_reference"
UNKNOWN_FIELD: Final = "unknown_field"


def _printable(text: str) -> str:
    """Lone surrogates (legal in JSON escapes) cannot be encoded as UTF-8 in a response body."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class Problem:
    """One finding: `path` is a JSON Pointer into the submitted document ("" is the root)."""

    kind: str
    message: str
    path: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", _printable(self.message))
        object.__setattr__(self, "path", _printable(self.path))

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message, "path": self.path}


@dataclass(frozen=True)
class ValidationReport:
    """Everything validation found; `config` is set only when there are no problems."""

    config: PipelineConfig | None
    problems: list[Problem]
    warnings: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems
