"""Parsing a submitted document, turning every failure into one `invalid_json` problem."""

from __future__ import annotations

import json
import re

from karet_worker.config.problems import INVALID_JSON, Problem

# Strings are matched first so that a NaN inside a string is skipped.
_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


class InvalidJson(Exception):
    """The document could not be parsed; `problem` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _NonStandardConstant(ValueError):
    pass


def _reject_constant(name: str) -> object:
    raise _NonStandardConstant(name)


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        message = (
            f"the document is not valid UTF-8: byte 0x{raw[error.start]:02x} at line {line}, "
            f"column {column} (byte offset {error.start})"
        )
        raise InvalidJson(Problem(INVALID_JSON, message, "")) from None


def load_json(raw: bytes | str) -> object:
    """The parsed document. A UTF-8 byte order mark is tolerated, NaN/Infinity are not."""
    text = _decode(raw) if isinstance(raw, bytes) else raw
    text = text.removeprefix("\ufeff")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        message = f"invalid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
    except _NonStandardConstant as error:
        match = next((m for m in _CONSTANT.finditer(text) if m.group(1)), None)
        where = ""
        if match is not None:
            line, column = _line_column(text, match.start(1))
            where = f" at line {line}, column {column}"
        message = f"invalid JSON: {error} is not a JSON value{where}"
    except RecursionError:
        message = "invalid JSON: the document is nested too deeply to parse"
    raise InvalidJson(Problem(INVALID_JSON, message, ""))
