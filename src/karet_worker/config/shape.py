"""Pydantic's shape errors as problems: exact JSON Pointers and messages a person can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from karet_worker.config.model import EXPRESSION_KINDS
from karet_worker.config.pointer import Path, locate, to_pointer
from karet_worker.config.problems import MISSING_FIELD, SCHEMA, Problem

_EXPECTED_KINDS = ", ".join(EXPRESSION_KINDS)

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "none_required": "null",
}


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _value_at(document: object, path: Path) -> object:
    node = document
    for token in path:
        if isinstance(node, dict):
            node = node.get(token)
        elif isinstance(node, list) and isinstance(token, int):
            node = node[token]
    return node


def _subject(path: Path) -> str:
    """How a message names the node at `path`: its member name, or the array it belongs to."""
    if not path:
        return "the pipeline config"
    last = path[-1]
    if isinstance(last, int):
        parent = next((t for t in reversed(path) if isinstance(t, str)), "array")
        return f"item {last} of '{parent}'"
    return f"'{last}'"


def _describe(error: ErrorDetails, path: Path, document: object) -> tuple[str, str, Path]:
    """(kind, message, path) for one error located at `path`."""
    kind = error["type"]
    ctx: Mapping[str, object] = error.get("ctx") or {}
    pointer = to_pointer(path) or "/"
    value = _value_at(document, path)
    subject = _subject(path)
    if kind == "missing":
        parent = to_pointer(path[:-1]) or "/"
        return MISSING_FIELD, f"missing required field {subject} in the object at {parent}", path
    if kind == "union_tag_invalid":
        tag = value.get("kind") if isinstance(value, dict) else ctx.get("tag")
        return (
            SCHEMA,
            f"unknown expression kind {tag!r} at {pointer}; expected one of {_EXPECTED_KINDS}",
            path,
        )
    if kind == "union_tag_not_found":
        return (
            MISSING_FIELD,
            f"expression at {pointer} has no 'kind'; expected one of {_EXPECTED_KINDS}",
            (*path, "kind"),
        )
    if kind in _TYPE_NAMES:
        is_expression = kind == "model_attributes_type" and _in_expression(path)
        noun = f"the expression at {pointer}" if is_expression else f"{subject} at {pointer}"
        return SCHEMA, f"{noun} must be {_TYPE_NAMES[kind]}, got {json_type(value)}", path
    if kind == "literal_error":
        return (
            SCHEMA,
            f"invalid value {value!r} for {subject} at {pointer}; expected one of "
            f"{ctx.get('expected')}",
            path,
        )
    if kind in ("string_too_short", "string_too_long"):
        if ctx.get("min_length", 1) == 1 and ctx.get("max_length", 1) == 1:
            expected = "exactly one character"
        elif kind == "string_too_short":
            expected = f"at least {ctx.get('min_length')} characters"
        else:
            expected = f"at most {ctx.get('max_length')} characters"
        return SCHEMA, f"{subject} at {pointer} must be {expected}, got {value!r}", path
    if kind == "greater_than_equal":
        return SCHEMA, f"{subject} at {pointer} must be >= {ctx.get('ge')}, got {value!r}", path
    if kind == "recursion_loop":
        return SCHEMA, f"value at {pointer} is nested too deeply", path
    return SCHEMA, f"{subject} at {pointer}: {error['msg']}", path


def _in_expression(path: Path) -> bool:
    return any(token in ("expr", "where", "record_filter") for token in path)


def shape_problems(error: ValidationError, document: object) -> list[Problem]:
    """One problem per offending node, in document order as Pydantic reports them.

    Several errors at one node come from trying each member of a plain union (e.g. the
    `accepted_values` items): they are merged into one problem listing what would be accepted.
    """
    located: dict[str, list[tuple[str, str, ErrorDetails]]] = {}
    for details in error.errors(include_url=False):
        loc: Sequence[str | int] = details["loc"]
        path = locate(document, loc, missing=details["type"] == "missing")
        kind, message, path = _describe(details, path, document)
        located.setdefault(to_pointer(path), []).append((kind, message, details))
    problems: list[Problem] = []
    for pointer, found in located.items():
        type_errors = [d for _, _, d in found if d["type"] in _TYPE_NAMES]
        if len(type_errors) > 1:
            expected = " or ".join(dict.fromkeys(_TYPE_NAMES[d["type"]] for d in type_errors))
            value = type_errors[0]["input"]
            message = f"value at {pointer} must be {expected}, got {json_type(value)}"
            problems.append(Problem(SCHEMA, message, pointer))
            found = [f for f in found if f[2]["type"] not in _TYPE_NAMES]
        problems.extend(Problem(kind, message, pointer) for kind, message, _ in found)
    return problems
