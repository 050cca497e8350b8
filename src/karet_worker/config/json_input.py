"""Parsing a submitted document, turning every failure into one `invalid_json` problem."""

from __future__ import annotations

import json
import math
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


# Longest integer literal parsed into an int: 20 characters hold every 64-bit integer and its
# sign. Longer ones are out of range anyway, and Python refuses to convert past 4300 digits.
_MAX_INT_CHARS = 20


class BadNumber(str):
    """A number literal that no config field can hold (an integer beyond 64 bits, a float that
    overflows to infinity), kept as its text so validation reports it at its path.

    >>> load_json('[1e999]')
    [BadNumber('1e999')]
    """

    def __repr__(self) -> str:
        return f"BadNumber({str(self)!r})"


def _parse_int(text: str) -> int | BadNumber:
    if len(text) > _MAX_INT_CHARS:
        return BadNumber(text)
    return int(text)


def _parse_float(text: str) -> float | BadNumber:
    value = float(text)
    return value if math.isfinite(value) else BadNumber(text)


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
    """The parsed document. A UTF-8 byte order mark is tolerated, NaN/Infinity are not;
    numbers out of range come back as `BadNumber` for validation to report with their path."""
    text = _decode(raw) if isinstance(raw, bytes) else raw
    text = text.removeprefix("\ufeff")
    try:
        return json.loads(
            text, parse_constant=_reject_constant, parse_int=_parse_int, parse_float=_parse_float
        )
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
