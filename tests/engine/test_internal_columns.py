"""User columns named like the engine's helper columns (issue 7, defect 2).

The engine once named its helpers `__keep`, `__bad_<col>`, `__cast_<col>`, `__raw_<col>`,
`__part_<part>`, `__shared_<n>` and `<col>__<n>`; a user column with one of those names was
overwritten, replaced by a partition value or failed every file. Here users pick exactly those
names (and the helpers' current prefix is refused by validation, tests/config/test_rules.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from tests.engine.fuzzing import fuzz_settings
from tests.engine.workspace import Workspace, col, kinds, make_config

from karet_worker.engine.result import IssueKind

OLD_INTERNAL_NAMES = [
    "__keep",
    "__bad_n",
    "__bad_d",
    "__cast_c",
    "__raw_c",
    "__part_year",
    "__part_month",
    "__shared_0",
    "__shared_1",
    "n__1",
    "d__1",
]
ROLES = ("flag", "n", "d", "c", "text")


def _config(names: dict[str, str]) -> dict[str, Any]:
    """Source: flag (string), n (int64), d (date), text (string); table: flag, n, d, c
    (int64 cast from the text `n`), and two columns sharing a subexpression (hoisted)."""
    f, n, d, c, t = (names[r] for r in ROLES)
    shared = {"kind": "upper", "input": {"kind": "trim", "input": col(t)}}
    return make_config(
        source_schema=[(f, "string"), (n, "int64"), (d, "date"), (t, "string"), (c, "string")],
        table_schema=[
            (f, "string"),
            (n, "int64"),
            (d, "date"),
            (c, "int64"),
            ("u1", "string"),
            ("u2", "string"),
        ],
        columns={
            f: col(f),
            n: col(n),
            d: col(d),
            c: col(c),  # string -> int64: a raw value and a cast flag
            "u1": shared,
            "u2": {"kind": "concat", "sep": "-", "args": [shared, shared]},
        },
        mapping_extra={
            "partition_by": {"column": d, "granularity": "month"},
            "where": {"kind": "eq", "left": col(f), "right": {"kind": "str", "value": "yes"}},
        },
    )


ROWS = [  # flag, n, d, text, c
    ("yes", "1", "2024-03-05", " ab ", "10"),
    ("no", "2", "2024-03-06", "cd", "11"),
    ("yes", "x", "2024-04-01", "ef", "zz"),  # n does not parse; c does not convert
    ("yes", "4", "bad", "gh", "13"),  # d does not parse: null partition
]


@fuzz_settings(12)
@given(st.permutations(OLD_INTERNAL_NAMES))
def test_user_columns_named_like_old_helper_columns(tmp_path: Path, order: list[str]) -> None:
    names = dict(zip(ROLES, order, strict=False))
    ws = Workspace(tmp_path / uuid.uuid4().hex)  # one fresh store per example
    ws.config(_config(names))
    header = ",".join(names[r] for r in ("flag", "n", "d", "text", "c"))
    ws.put("raw/a.csv", header + "\n" + "".join(",".join(r) + "\n" for r in ROWS))
    result = ws.run()

    assert result.errors == []
    assert sorted(kinds(result.warnings)) == sorted(
        [
            IssueKind.UNPARSED_VALUES,  # n = "x"
            IssueKind.UNPARSED_VALUES,  # d = "bad"
            IssueKind.CAST_FAILED,  # c = "zz"
            IssueKind.NULL_PARTITION,  # d = null
        ]
    )
    assert {(w.column, w.count) for w in result.warnings if w.column} == {
        (names["n"], 1),
        (names["d"], 1),
        (names["c"], 1),
    }
    assert sorted(ws.objects()) == [
        "clean/t/year=2024/month=03/m1.parquet",
        "clean/t/year=2024/month=04/m1.parquet",
        "clean/t/year=__HIVE_DEFAULT_PARTITION__/month=__HIVE_DEFAULT_PARTITION__/m1.parquet",
    ]
    out = ws.read("t").sort(names["c"], nulls_last=True)
    f, n, d, c = (names[r] for r in ("flag", "n", "d", "c"))
    assert out.select(f, n, d, c, "u1", "u2").to_dicts() == [
        {f: "yes", n: 1, d: dt.date(2024, 3, 5), c: 10, "u1": "AB", "u2": "AB-AB"},
        {f: "yes", n: 4, d: None, c: 13, "u1": "GH", "u2": "GH-GH"},
        {f: "yes", n: None, d: dt.date(2024, 4, 1), c: None, "u1": "EF", "u2": "EF-EF"},
    ]
    assert out.schema[c] == pl.Int64 and out.schema[f] == pl.String
