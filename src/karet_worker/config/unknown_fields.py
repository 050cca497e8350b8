"""Warnings for unknown fields below the top level: they are kept but usually typos (SPEC §3)."""

from __future__ import annotations

from pydantic import BaseModel

from karet_worker.config.model import PipelineConfig
from karet_worker.config.pointer import Path, to_pointer
from karet_worker.config.problems import UNKNOWN_FIELD, Problem
from karet_worker.config.suggest import did_you_mean
from karet_worker.config.walk import children, is_expression, known_keys


def _label(model: type[BaseModel], node: dict[str, object]) -> str:
    if is_expression(model):
        return f"{node.get('kind')!r} expression"
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in model.__name__).strip()
    return words


def unknown_field_warnings(document: object) -> list[Problem]:
    """One warning per unknown member, in document order; top-level extras are ignored."""
    if not isinstance(document, dict):
        return []
    warnings: list[Problem] = []
    stack: list[tuple[Path, type[BaseModel], dict[str, object]]] = [((), PipelineConfig, document)]
    while stack:
        path, model, node = stack.pop()
        if model is not PipelineConfig:
            known = known_keys(model)
            for key in node:
                if key not in known:
                    pointer = to_pointer((*path, key))
                    message = (
                        f"unknown field {key!r} in {_label(model, node)} at "
                        f"{to_pointer(path)}; it is ignored{did_you_mean(key, known)}"
                    )
                    warnings.append(Problem(UNKNOWN_FIELD, message, pointer))
        found = [((*path, *relative), m, child) for relative, m, child in children(model, node)]
        stack.extend(reversed(found))
    return warnings
