"""Dimensions (SPEC §13) compile to the lookup matcher: a naive per-row reference for inline
rows, and the seam file-backed rows come in through (`compile_dimension` with a frame)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.expressions.expr_helpers import col, parse

from karet_worker.config.model import Dimension
from karet_worker.expressions import LookupCompiler, compile_dimension, compile_expr
from karet_worker.expressions.compile import ExpressionError
from karet_worker.expressions.lookups import MAX_DIMENSION_ROWS, DimensionRowsError

ALPHABET = "aAbB\u03a3\u03c3 "
text = st.text(alphabet=ALPHABET, max_size=5)
pattern = st.text(alphabet=ALPHABET, max_size=3)


def dimension(**fields: Any) -> Dimension:
    return Dimension.model_validate({"id": "d", **fields})


def apply(dim: Dimension, values: list[str | None], value: str | None = None, **kw: Any) -> Any:
    shared = LookupCompiler([], [dim], **kw)
    expr = parse({"kind": "dim_ref", "dim_id": dim.id, "input": col("v"), "value": value})
    compiled = compile_expr(expr, {"v": pl.String}, [], lookup_compiler=shared)
    assert compiled.dtype == pl.String
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.lazy().select(compiled.expr.alias("o")).collect()["o"].to_list()


def reference(spec: dict[str, Any], value: str | None, column: int) -> str | None:
    """The best matching row by priority then order; on_miss; null stays null."""
    if value is None:
        return None

    def normalize(text: str) -> str:  # Unicode lower case; sigmas folded but in exact mode
        if not spec["case_insensitive"]:
            return text
        lowered = text.lower()
        return lowered if spec["match"] == "exact" else lowered.replace("\u03c2", "\u03c3")

    target = normalize(value)
    best: tuple[int, int] | None = None
    for index, row in enumerate(spec["rows"]["rows"]):
        for raw in row["patterns"]:
            p = normalize(raw)
            if spec["match"] == "exact":
                hit = p == target
            elif spec["match"] == "prefix":
                hit = bool(raw) and target.startswith(p)
            else:
                hit = bool(raw) and p in target
            if hit and (best is None or (-row["priority"], index) < best):
                best = (-row["priority"], index)
    if best is not None:
        return str(spec["rows"]["rows"][best[1]]["values"][column])
    on_miss = spec["on_miss"]
    if on_miss == "passthrough":
        return value
    return on_miss["literal"] if isinstance(on_miss, dict) else None


row = st.fixed_dictionaries(
    {
        "patterns": st.lists(pattern, max_size=3),
        "values": st.tuples(st.text("XYZ", min_size=1, max_size=2), st.sampled_from(["p", "q"])),
        "priority": st.integers(-2, 2),
    }
)


@st.composite
def inline_dimensions(draw: st.DrawFn) -> dict[str, Any]:
    match = draw(st.sampled_from(["exact", "keyword_substring", "prefix"]))
    case_insensitive = draw(st.booleans())
    rows = [{**r, "values": list(r["values"])} for r in draw(st.lists(row, max_size=5))]
    if match == "exact":  # exact keys are unique (validation rejects repeats)
        seen: set[str] = set()
        for r in rows:
            keep = []
            for p in r["patterns"]:
                key = p.lower() if case_insensitive else p
                if key not in seen:
                    seen.add(key)
                    keep.append(p)
            r["patterns"] = keep
    on_miss = draw(st.sampled_from(["null", "passthrough", {"literal": "MISS"}]))
    return {
        "match": match,
        "case_insensitive": case_insensitive,
        "on_miss": on_miss,
        "rows": {"values": ["name", "group"], "rows": rows},
    }


@settings(max_examples=200, deadline=None)
@given(spec=inline_dimensions(), values=st.lists(st.none() | text, min_size=1, max_size=20))
def test_inline_dimension_equals_naive_matcher(
    spec: dict[str, Any], values: list[str | None]
) -> None:
    dim = dimension(**spec)
    assert apply(dim, values) == [reference(spec, v, 0) for v in values]
    assert apply(dim, values, "group") == [reference(spec, v, 1) for v in values]


def test_exact_is_the_default_and_on_miss_literal_is_not_applied_to_null() -> None:
    dim = dimension(
        on_miss={"literal": "Other"},
        rows={"values": ["country"], "rows": [{"patterns": ["CA"], "values": ["Canada"]}]},
    )
    assert apply(dim, ["CA", "CAX", "ca", None]) == ["Canada", "Other", "Other", None]


FILE_DIM = {
    "match": "exact",
    "rows": {
        "path_prefix": "reference/geo/",
        "key": "code",
        "values": ["country", "region"],
        "priority_column": "rank",
    },
}


def test_file_backed_rows_come_in_as_a_frame_of_any_dtypes() -> None:
    dim = dimension(**FILE_DIM)
    rows = pl.DataFrame(
        {
            "code": [1, 2, None, 3],
            "country": ["Canada", "Germany", "Nowhere", None],
            "region": ["Americas", "Europe", "x", "Asia"],
            "rank": ["5", None, "1", "x"],
            "ignored": [0, 0, 0, 0],
        }
    )
    matcher = compile_dimension(dim, rows)
    assert apply(dim, ["1", "2", "3", "4"], loaded={"d": matcher}) == [
        "Canada",
        "Germany",
        None,  # a null value in the file
        None,  # a miss
    ]
    assert apply(dim, ["2"], "region", loaded={"d": matcher}) == ["Europe"]


def test_keyword_file_rows_rank_by_priority_column_then_file_order() -> None:
    dim = dimension(**{**FILE_DIM, "match": "keyword_substring", "case_insensitive": True})
    rows = pl.DataFrame(
        {
            "code": ["shop", "coffee shop", "coffee"],
            "country": ["A", "B", "C"],
            "region": ["", "", ""],
            "rank": [0, 10, 0],
        }
    )
    matched = apply(
        dim, ["Coffee Shop #1", "COFFEE", "shop"], loaded={"d": compile_dimension(dim, rows)}
    )
    assert matched == ["B", "C", "A"]


def test_duplicate_exact_keys_are_named() -> None:
    dim = dimension(**{**FILE_DIM, "case_insensitive": True})
    codes = ["a", "b", "A", "c", "b", *[f"k{i}" for i in range(6) for _ in (0, 1)]]
    rows = pl.DataFrame({"code": codes}).with_columns(
        country=pl.lit("x"), region=pl.lit("y"), rank=pl.lit(0)
    )
    with pytest.raises(DimensionRowsError) as info:
        compile_dimension(dim, rows)
    message = str(info.value)
    assert "dimension 'd'" in message and "'a', 'b', 'k0', 'k1', 'k2' and 3 more" in message


def test_missing_columns_and_too_many_rows_are_errors() -> None:
    dim = dimension(**FILE_DIM)
    with pytest.raises(DimensionRowsError, match=r"no column\(s\) 'region', 'rank'"):
        compile_dimension(dim, pl.DataFrame({"code": ["a"], "country": ["x"]}))
    big = pl.DataFrame({"code": pl.int_range(MAX_DIMENSION_ROWS + 1, eager=True)}).with_columns(
        country=pl.lit("x"), region=pl.lit("y"), rank=pl.lit(0)
    )
    with pytest.raises(DimensionRowsError, match="1,000,001 rows; at most 1,000,000"):
        compile_dimension(dim, big)


def test_unloaded_file_dimension_and_unknown_value_column_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="file-backed dimension 'd' was not loaded"):
        apply(dimension(**FILE_DIM), ["x"])
    inline = dimension(rows={"values": ["a"], "rows": []})
    with pytest.raises(ExpressionError, match="no value column 'b'"):
        apply(inline, ["x"], "b")
