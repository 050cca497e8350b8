"""Regular expressions of `regex_match` / `regex_extract` (SPEC §13), checked at validation
with the engine that will run them: Polars' Rust `regex` crate (RE2-style: no look-around,
no backreferences, so matching takes linear time whatever the input)."""

from __future__ import annotations

import polars as pl


def regex_problem(pattern: str, group: int | None = None) -> str | None:
    """Why Polars (Rust `regex`, RE2-style) cannot use `pattern`, or lacks capture `group`;
    None when it can. The regex engine's own words say what is unsupported, e.g.
    "look-around, including look-ahead and look-behind, is not supported"."""
    probe = pl.Series([""], dtype=pl.String)
    try:
        groups = probe.str.extract_groups(pattern).struct.fields
    except pl.exceptions.PolarsError as exc:
        lines = [line.strip() for line in str(exc).splitlines()]
        reason = next(
            (line[len("error: ") :] for line in lines if line.startswith("error: ")), None
        )
        return f"invalid regular expression {pattern!r}: {reason}"
    if group is not None and group > len(groups):
        return (
            f"regular expression {pattern!r} has {len(groups)} capture group(s); "
            f"group {group} does not exist"
        )
    return None
