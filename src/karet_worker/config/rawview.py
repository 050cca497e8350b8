"""Typed, forgiving reads of a raw JSON document: a value of the wrong type reads as absent.

The rules read the document rather than the models so they still run where Pydantic rejected a
part; a wrongly typed value is Pydantic's problem to report, never a second problem here.
"""

from __future__ import annotations

from pydantic import BaseModel

from karet_worker.config.walk import member


def as_object(value: object) -> dict[str, object] | None:
    return value if isinstance(value, dict) else None


def as_array(value: object) -> list[object] | None:
    return value if isinstance(value, list) else None


def as_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def text_of(model: type[BaseModel], node: dict[str, object], field: str) -> str | None:
    return as_text(member(model, node, field))


def array_of(model: type[BaseModel], node: dict[str, object], field: str) -> list[object] | None:
    return as_array(member(model, node, field))


def objects_of(
    model: type[BaseModel], node: dict[str, object], field: str
) -> list[tuple[int, dict[str, object]]]:
    """The object items of an array member with their indexes (other items are skipped)."""
    items = array_of(model, node, field) or []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def blank(text: str) -> bool:
    return not text.strip()
