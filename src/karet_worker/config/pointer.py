"""JSON Pointers (RFC 6901) for problem paths, and the mapping from Pydantic error locations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from karet_worker.config.model import EXPRESSION_KINDS, ROWS_TAGS

Token = str | int
Path = tuple[Token, ...]

_EXPRESSION_KINDS = frozenset(EXPRESSION_KINDS)


def escape_token(token: Token) -> str:
    """`~` and `/` inside a member name must not be read as pointer syntax."""
    return str(token).replace("~", "~0").replace("/", "~1")


def to_pointer(tokens: Iterable[Token]) -> str:
    return "".join("/" + escape_token(token) for token in tokens)


def is_within(path: str, ancestor: str) -> bool:
    """True when `path` is `ancestor` itself or lies below it."""
    return ancestor == "" or path == ancestor or path.startswith(ancestor + "/")


def locate(document: object, loc: Sequence[Token], *, missing: bool = False) -> Path:
    """The document path a Pydantic `loc` designates.

    Pydantic inserts the discriminator tag of the expression union into `loc` (`.../expr/add/left`)
    and names union members (`.../0/str`); walking the real document drops both. For a missing
    field the last element names a member that is not in the document, and is kept.
    """
    node = document
    path: list[Token] = []
    for index, element in enumerate(loc):
        if isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
            path.append(element)
            node = node[element]
            continue
        if isinstance(node, dict) and isinstance(element, str):
            if element in _EXPRESSION_KINDS and node.get("kind") == element:
                continue  # a discriminator tag, not a member
            if element in ROWS_TAGS and element not in node:
                continue  # the tag of a dimension's inline/file rows
            if element in node:
                path.append(element)
                node = node[element]
                continue
            if missing and index == len(loc) - 1:
                path.append(element)
        break
    return tuple(path)
