"""The `path` of a column of an NDJSON source (SPEC §13): dotted keys with `[n]` indexes.

`parse_path("request.headers.User-Agent[0]")` → `("request", "headers", "User-Agent", 0)`.
A key may hold any character but `.`, `[` and `]`; a record is an object, so a path starts
with a key.
"""

from __future__ import annotations

import re

Step = str | int  # a key of an object, or an index into an array

_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)|(\.)")


class BadPath(ValueError):
    """The text is not a path; the message says what is wrong, in the user's terms."""


def parse_path(text: str) -> tuple[Step, ...]:
    """`a.b[0][2].c` → `("a", "b", 0, 2, "c")`; raises BadPath for anything else."""
    if not text:
        raise BadPath("a path must not be empty")
    steps: list[Step] = []
    position = 0
    expect_key = True  # at the start and after a dot, a key must follow
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position] == "[":
                raise BadPath(
                    f"malformed index at character {position + 1}: an index is digits in "
                    "brackets, like [0]"
                )
            raise BadPath(f"unexpected {text[position]!r} at character {position + 1}")
        index, key, dot = match.groups()
        if key is not None:
            if not expect_key:
                raise BadPath(f"a '.' is missing before {key!r} at character {position + 1}")
            steps.append(key)
            expect_key = False
        elif index is not None:
            if not steps:
                raise BadPath("a path must start with a key (records are objects), not an index")
            if expect_key:
                raise BadPath(f"an index must follow a key, not '.' (character {position + 1})")
            steps.append(int(index))
        elif dot is not None and expect_key:
            raise BadPath(f"empty key at character {position + 1}")
        else:
            expect_key = True
        position = match.end()
    if expect_key:
        raise BadPath("a path must not end with '.'")
    return tuple(steps)


def default_path(name: str) -> tuple[Step, ...]:
    """A column without `path` reads the top-level key named like the column (dots included)."""
    return (name,)
