"""Common-subexpression hoisting over the expression AST.

Mappings repeat work, e.g. `upper(trim(description))` as a column and again as the input of
two lookups; Polars' own CSE does not see through compiled lookups. A subtree used more than
once becomes a temporary column computed once, and its uses read that column."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TypeVar

from pydantic import BaseModel

from karet_worker.config.model import EXPRESSION_MODELS, ColExpr, Expr

_M = TypeVar("_M", bound=BaseModel)


def hoist_shared(
    exprs: Sequence[Expr], prefix: str = "__shared_"
) -> tuple[list[tuple[str, Expr]], list[Expr]]:
    """Returns (stages, rewritten): `stages` are (column name, expression) pairs to compute in
    order (a later stage may read an earlier one); `rewritten` are `exprs` reading them."""
    roots: list[Expr] = list(exprs)
    found: list[tuple[str, Expr]] = []
    while True:
        pool = [*roots, *(definition for _, definition in found)]
        counts = Counter(_key(node) for root in pool for node in _subtrees(root))
        repeated = [
            node
            for root in pool
            for node in _subtrees(root)
            if _has_children(node) and counts[_key(node)] > 1
        ]
        if not repeated:
            break
        biggest = max(repeated, key=lambda node: len(_key(node)))
        target = _key(biggest)
        column = ColExpr(kind="col", name=f"{prefix}{len(found)}")
        roots = [_replace(root, target, column) for root in roots]
        found = [(name, _replace(d, target, column)) for name, d in found]
        found.append((column.name, biggest))
    # A later (smaller) subtree may be read by an earlier (bigger) one: compute it first.
    return list(reversed(found)), roots


def _key(node: BaseModel) -> str:
    return node.model_dump_json(by_alias=True, exclude_unset=False)


def _children(node: BaseModel) -> Iterator[tuple[str, int | None, BaseModel]]:
    """Nested models: expressions, and helpers holding them (a `case` branch)."""
    for field in type(node).model_fields:
        value = getattr(node, field)
        if isinstance(value, BaseModel):
            yield field, None, value
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield field, index, item


def _has_children(node: BaseModel) -> bool:
    """False for leaves (columns, literals): reading them again costs nothing."""
    return any(True for _ in _children(node))


def _subtrees(node: BaseModel) -> Iterator[Expr]:
    """Every expression in `node`, itself included, also inside helpers like case branches."""
    if isinstance(node, EXPRESSION_MODELS):
        yield node  # type: ignore[misc]
    for _, _, child in _children(node):
        yield from _subtrees(child)


def _replace(node: _M, target: str, replacement: Expr) -> _M:
    if isinstance(node, EXPRESSION_MODELS) and _key(node) == target:
        return replacement  # type: ignore[return-value]
    update: dict[str, object] = {}
    for field, index, child in _children(node):
        new = _replace(child, target, replacement)
        if new is child:
            continue
        if index is None:
            update[field] = new
        else:
            items = list(update.get(field, getattr(node, field)))  # type: ignore[call-overload]
            items[index] = new
            update[field] = items
    return node.model_copy(update=update) if update else node
