"""Depth and number limits, checked iteratively before anything recursive (Pydantic, the
compiler) runs.

A too-deep node or an out-of-range number is reported and replaced by a harmless stand-in so
the rest of the document can still be validated; problems Pydantic would raise inside the
replaced subtrees are meaningless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from pydantic import BaseModel

from karet_worker.config.json_input import BadNumber
from karet_worker.config.model import PipelineConfig
from karet_worker.config.pointer import Path, Token, to_pointer
from karet_worker.config.problems import SCHEMA, Problem
from karet_worker.config.walk import children, is_expression

MAX_EXPRESSION_DEPTH: Final = 64
# Far above any sensible config (64 expression levels use about 140 JSON levels), far below
# what the recursive consumers of the document can take.
MAX_JSON_DEPTH: Final = 256
# Every integer field (version, priority, skip_rows, bounds) is a 64-bit integer downstream.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

_NULL_EXPRESSION: Final[dict[str, object]] = {"kind": "null"}


@dataclass
class DepthCheck:
    """The document with too-deep subtrees replaced, the problems, and the replaced paths."""

    document: object
    problems: list[Problem] = field(default_factory=list)
    cut_pointers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Frame:
    node: object
    depth: int
    parent: _Frame | None
    token: Token | None

    def path(self) -> Path:
        tokens: list[Token] = []
        frame: _Frame | None = self
        while frame is not None and frame.token is not None:
            tokens.append(frame.token)
            frame = frame.parent
        return tuple(reversed(tokens))


def _too_deep_json(document: object) -> list[Path]:
    """Paths of the outermost containers nested deeper than MAX_JSON_DEPTH."""
    found: list[Path] = []
    stack = [_Frame(document, 1, None, None)]
    while stack:
        frame = stack.pop()
        items: list[tuple[Token, object]]
        if isinstance(frame.node, dict):
            items = list(frame.node.items())
        elif isinstance(frame.node, list):
            items = list(enumerate(frame.node))
        else:
            continue
        if frame.depth > MAX_JSON_DEPTH:
            found.append(frame.path())
            continue
        stack.extend(
            _Frame(value, frame.depth + 1, frame, token)
            for token, value in reversed(items)
            if isinstance(value, dict | list)
        )
    return found


def _too_deep_expressions(document: object) -> list[Path]:
    """Paths of the outermost expressions nested deeper than MAX_EXPRESSION_DEPTH."""
    if not isinstance(document, dict):
        return []
    found: list[Path] = []
    stack: list[tuple[Path, type[BaseModel], dict[str, object], int]] = [
        ((), PipelineConfig, document, 0)
    ]
    while stack:
        path, model, node, depth = stack.pop()
        for (
            relative,
            child_model,
            child,
        ) in reversed(list(children(model, node))):
            child_depth = depth + 1 if is_expression(child_model) else depth
            if child_depth > MAX_EXPRESSION_DEPTH:
                found.append((*path, *relative))
            else:
                stack.append(((*path, *relative), child_model, child, child_depth))
    return found


def _item(container: object, token: Token) -> object:
    if isinstance(container, dict):
        return container[token]
    if isinstance(container, list) and isinstance(token, int):
        return container[token]
    raise KeyError(token)


def _set_item(container: object, token: Token, value: object) -> None:
    if isinstance(container, list):
        if isinstance(token, int):
            container[token] = value
    elif isinstance(container, dict):
        container[token] = value


def _shallow_copy(node: object) -> object:
    if isinstance(node, dict):
        return dict(node)
    if isinstance(node, list):
        return list(node)
    return node


def _replace(document: object, replacements: list[tuple[Path, object]]) -> object:
    """A copy of `document` with each path replaced; only containers on those paths are copied."""
    copies: dict[Path, object] = {}
    root = document
    for path, value in replacements:
        if not path:
            return value
        if () not in copies:
            copies[()] = _shallow_copy(root)
        root = container = copies[()]
        for end in range(1, len(path)):
            if path[:end] not in copies:
                copies[path[:end]] = _shallow_copy(_item(container, path[end - 1]))
                _set_item(container, path[end - 1], copies[path[:end]])
            container = copies[path[:end]]
        _set_item(container, path[-1], value)
    return root


def check_depth(document: object) -> DepthCheck:
    """Reject expressions deeper than 64 levels and JSON deeper than MAX_JSON_DEPTH, cleanly."""
    json_cuts = _too_deep_json(document)
    check = DepthCheck(_replace(document, [(path, None) for path in json_cuts]))
    _report_cuts(check, json_cuts, "value", MAX_JSON_DEPTH)
    expression_cuts = _too_deep_expressions(check.document)
    check.document = _replace(
        check.document, [(p, dict(_NULL_EXPRESSION)) for p in expression_cuts]
    )
    _report_cuts(check, expression_cuts, "expression", MAX_EXPRESSION_DEPTH)
    return check


def _report_cuts(check: DepthCheck, paths: list[Path], what: str, limit: int) -> None:
    """One `schema` problem per node that was cut for being nested past `limit`."""
    for path in paths:
        pointer = to_pointer(path)
        check.cut_pointers.append(pointer)
        message = f"{what} at {pointer or '/'} is nested more than {limit} levels deep"
        check.problems.append(Problem(SCHEMA, message, pointer))


def check_numbers(check: DepthCheck) -> None:
    """Report numbers no field can hold (integers beyond 64 bits, infinities, NaN) at their
    path, and replace them by null in `check.document`.

        {"rows": [{"priority": 1e999}]} → "number 1e999 at /rows/0/priority is out of range..."
    """
    bad = _bad_numbers(check.document)
    check.document = _replace(check.document, [(path, None) for path, _ in bad])
    for path, text in bad:
        pointer = to_pointer(path)
        check.cut_pointers.append(pointer)
        shown = text if len(text) <= 24 else f"{text[:20]}… ({len(text)} characters)"
        message = (
            f"number {shown} at {pointer or '/'} is out of range: integers must fit in 64 bits "
            f"({INT64_MIN} to {INT64_MAX}) and numbers must be finite"
        )
        check.problems.append(Problem(SCHEMA, message, pointer))


def _bad_numbers(document: object) -> list[tuple[Path, str]]:
    """(path, literal) of every out-of-range number, in document order."""
    found: list[tuple[Path, str]] = []
    stack: list[tuple[Path, object]] = [((), document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, BadNumber):
            found.append((path, str(node)))
        elif isinstance(node, bool | str) or node is None:
            continue
        elif isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                big = node.bit_length() > 128  # str() of a huge int is slow, or refused
                found.append(
                    (path, f"<an integer of {node.bit_length()} bits>" if big else str(node))
                )
        elif isinstance(node, float):
            if not math.isfinite(node):
                found.append((path, str(node)))
        elif isinstance(node, dict):
            stack.extend(((*path, key), value) for key, value in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(
                ((*path, index), value) for index, value in reversed(list(enumerate(node)))
            )
    return found
