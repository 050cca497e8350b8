"""Walking a raw JSON document alongside the models it should match.

Validation inspects the document even where Pydantic rejected parts of it, so that unknown fields,
depth limits and cross references are still checked; the models tell which member holds what.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, Discriminator, Tag
from typing_extensions import TypeAliasType

from karet_worker.config.model import EXPRESSION_MODELS
from karet_worker.config.pointer import Path

Child = tuple[Path, type[BaseModel], dict[str, object]]


@cache
def _alias(model: type[BaseModel], field: str) -> str | None:
    return model.model_fields[field].alias


def member_key(model: type[BaseModel], node: dict[str, object], field: str) -> str:
    """The document key that feeds `field`: its alias when present, else its name."""
    alias = _alias(model, field)
    if alias is not None and (alias in node or field not in node):
        return alias
    return field


def member(model: type[BaseModel], node: dict[str, object], field: str) -> object:
    """The raw value of `field` in `node`, None when absent."""
    return node.get(member_key(model, node, field))


@cache
def known_keys(model: type[BaseModel]) -> frozenset[str]:
    """Every key the model reads (field names and aliases)."""
    keys = set(model.model_fields)
    keys.update(info.alias for info in model.model_fields.values() if info.alias is not None)
    return frozenset(keys)


@cache
def _kind_literals(model: type[BaseModel]) -> frozenset[object]:
    info = model.model_fields.get("kind")
    if info is None or get_origin(info.annotation) is not Literal:
        return frozenset()
    return frozenset(get_args(info.annotation))


def _union_members(annotation: Any) -> list[Any]:
    if isinstance(annotation, TypeAliasType):
        return _union_members(annotation.__value__)
    origin = get_origin(annotation)
    if origin is Annotated:
        return _union_members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(annotation) for m in _union_members(arg)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@dataclass(frozen=True)
class _Shape:
    """Where models sit in a field: an object of one of `models`, or an array of `item`s."""

    models: tuple[type[BaseModel], ...] = ()
    item: _Shape | None = None
    by_kind: Mapping[str, type[BaseModel]] = dataclass_field(default_factory=dict)
    tagger: Callable[[Any], Hashable] | None = None  # a union's callable discriminator

    def pick(self, value: dict[str, object]) -> type[BaseModel] | None:
        if len(self.models) == 1:
            return self.models[0]
        tag = self.tagger(value) if self.tagger is not None else value.get("kind")
        return self.by_kind.get(tag) if isinstance(tag, str) else None


def _tagged(annotation: Any, metadata: list[Any]) -> _Shape | None:
    """A union with a callable discriminator: `Annotated[A, Tag("a")] | ...` with
    `Discriminator(func)` in the field's metadata."""
    tagger = next((m.discriminator for m in metadata if isinstance(m, Discriminator)), None)
    if not callable(tagger):
        return None
    by_tag: dict[str, type[BaseModel]] = {}
    for member in get_args(annotation):
        model, *marks = get_args(member)
        for mark in marks:
            if isinstance(mark, Tag) and _is_model(model):
                by_tag[mark.tag] = model
    return _Shape(models=tuple(by_tag.values()), by_kind=by_tag, tagger=tagger)


def _shape_of(annotation: Any) -> _Shape | None:
    members = _union_members(annotation)
    if len(members) == 1 and get_origin(members[0]) is list:
        item = _shape_of(get_args(members[0])[0])
        return _Shape(item=item) if item is not None else None
    models = tuple(m for m in members if _is_model(m))
    if not models:
        return None
    by_kind = {str(k): m for m in models for k in _kind_literals(m)}
    return _Shape(models=models, by_kind=by_kind)


@cache
def _plan(model: type[BaseModel]) -> tuple[tuple[str, str | None, _Shape], ...]:
    """(field name, alias, shape) of the fields of `model` that can hold nested models.

    The annotations are resolved here, not taken from `model_fields`: the models build their
    validators lazily (`defer_build`), so a field naming the recursive `Expr` still holds a
    forward reference there."""
    hints = get_type_hints(model, include_extras=True)
    plan = []
    for name, info in model.model_fields.items():
        annotation, metadata = hints[name], list(info.metadata)
        if get_origin(annotation) is Annotated:
            annotation, *marks = get_args(annotation)
            metadata.extend(marks)
        shape = _tagged(annotation, metadata) or _shape_of(annotation)
        if shape is not None:
            plan.append((name, info.alias, shape))
    return tuple(plan)


def _models_in(shape: _Shape, value: object, path: Path) -> Iterator[Child]:
    if shape.item is not None:
        if isinstance(value, list):
            for index, element in enumerate(value):
                yield from _models_in(shape.item, element, (*path, index))
    elif isinstance(value, dict):
        model = shape.pick(value)
        if model is not None:
            yield path, model, value


def children(model: type[BaseModel], node: dict[str, object]) -> Iterator[Child]:
    """The nested model-shaped objects of `node`, with their paths relative to it.

    An expression whose `kind` is unknown has no model and is not entered (Pydantic reports it).
    """
    for name, alias, shape in _plan(model):
        key = alias if alias is not None and (alias in node or name not in node) else name
        if key in node:
            yield from _models_in(shape, node[key], (key,))


def is_expression(model: type[BaseModel]) -> bool:
    return model in EXPRESSION_MODELS


_EXPRESSION_BY_KIND: dict[object, type[BaseModel]] = {
    kind: model for model in EXPRESSION_MODELS for kind in _kind_literals(model)
}


def expression_model(node: dict[str, object]) -> type[BaseModel] | None:
    """The model of an expression object, chosen by its `kind` (None when unknown)."""
    kind = node.get("kind")
    return _EXPRESSION_BY_KIND.get(kind) if isinstance(kind, str) else None
