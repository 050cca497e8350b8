"""Lookups (SPEC §3): matching modes, case, priority, children, catch_all and nulls."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from tests.expressions.expr_helpers import col, compile_json, evaluate, lookups, parse

from karet_worker.config.model import LookupMapping
from karet_worker.expressions import ExpressionError, LookupCompiler, compile_expr
from karet_worker.expressions import lookups as lookups_module


def row(output: str, *patterns: str, priority: int = 0) -> dict[str, Any]:
    return {"input_patterns": list(patterns), "output": output, "priority": priority}


def apply(
    node: dict[str, Any],
    values: list[Any],
    lookup_id: str | None = None,
    dtype: type[pl.DataType] = pl.String,
) -> list[Any]:
    expr = {"kind": "lookup_ref", "lookup_id": lookup_id or node["id"], "input": col("v")}
    return evaluate(expr, {"v": values}, {"v": dtype}, lookups(node))


# ---------------------------------------------------------------- the cases of the issue


def test_first_row_wins_a_priority_tie() -> None:
    node = {"id": "l", "rows": [row("FIRST", "FOO"), row("SECOND", "FOO", "BAR")]}
    assert apply(node, ["FOO BAR"]) == ["FIRST"]


def test_case_insensitive_matching() -> None:
    rows = [row("COFFEE", "Starbucks")]
    insensitive = {"id": "l", "case_insensitive": True, "rows": rows}
    sensitive = {"id": "l", "rows": rows}
    assert apply(insensitive, ["visit STARBUCKS today"]) == ["COFFEE"]
    assert apply(sensitive, ["visit STARBUCKS today"]) == [None]


def test_higher_priority_wins_over_definition_order() -> None:
    node = {
        "id": "l",
        "rows": [row("SHOPPING", "AMAZON"), row("INCOME", "PAYROLL", "DEPOSIT", priority=10)],
    }
    assert apply(node, ["AMAZON PAYROLL DEPOSIT"]) == ["INCOME"]


def test_non_matching_high_priority_row_never_wins() -> None:
    node = {"id": "l", "rows": [row("HIGH", "ZZZ", priority=100), row("LOW", "abc", priority=-5)]}
    assert apply(node, ["xabcx"]) == ["LOW"]


def test_negative_priority_loses_to_default() -> None:
    node = {"id": "l", "rows": [row("NEG", "a", priority=-1), row("ZERO", "b")]}
    assert apply(node, ["ab"]) == ["ZERO"]


TREE: dict[str, Any] = {
    "id": "categories",
    "rows": [row("GENERAL", "SHOP", "CAFE", priority=50)],
    "catch_all": {"output": "UNCATEGORISED"},
    "children": [
        {
            "id": "coffee",
            "rows": [row("COFFEE", "CAFE")],
            "catch_all": {"output": "NOT_COFFEE"},
        },
        {"id": "food", "rows": [row("FOOD", "SHOP")]},
    ],
}


def test_child_match_beats_parent_rows() -> None:
    assert apply(TREE, ["CAFE SHOP"]) == ["COFFEE"]
    assert apply(TREE, ["SHOP"]) == ["FOOD"]


def test_child_catch_all_is_ignored_when_parent_is_referenced() -> None:
    # Child `coffee` misses on "SHOP" but its catch_all must not answer for the parent.
    assert apply(TREE, ["SHOP"]) == ["FOOD"]


def test_parent_catch_all_applies_only_on_full_miss() -> None:
    assert apply(TREE, ["CAFE", "nothing here", "", None]) == [
        "COFFEE",
        "UNCATEGORISED",
        "UNCATEGORISED",
        None,
    ]


def test_child_is_addressable_by_dotted_id_with_its_own_catch_all() -> None:
    assert apply(TREE, ["CAFE", "SHOP", None], "categories.coffee") == [
        "COFFEE",
        "NOT_COFFEE",
        None,
    ]
    assert apply(TREE, ["SHOP", "CAFE"], "categories.food") == ["FOOD", None]


def test_exact_mode_requires_the_whole_value() -> None:
    node = {"id": "l", "match": "exact", "rows": [row("X", "FOO")]}
    assert apply(node, ["FOO", "FOO BAR", "xFOO", "foo", None]) == ["X", None, None, None, None]


# ---------------------------------------------------------------- further semantics


def test_grandchild_subtree_is_consulted_before_its_parent_rows() -> None:
    node = {
        "id": "top",
        "rows": [row("TOP", "a", priority=9)],
        "children": [
            {
                "id": "mid",
                "rows": [row("MID", "a", priority=9)],
                "children": [{"id": "low", "rows": [row("LOW", "ab", priority=-9)]}],
            },
            {"id": "other", "rows": [row("OTHER", "b", priority=99)]},
        ],
    }
    assert apply(node, ["ab", "a", "b", "c"]) == ["LOW", "MID", "OTHER", None]


def test_exact_mode_case_insensitive_and_empty_pattern() -> None:
    node = {
        "id": "l",
        "match": "exact",
        "case_insensitive": True,
        "rows": [row("CITY", "Zürich"), row("EMPTY", "")],
    }
    assert apply(node, ["ZÜRICH", "zürich ", "", None]) == ["CITY", None, "EMPTY", None]


def test_empty_keyword_pattern_is_ignored() -> None:
    node = {"id": "l", "rows": [row("ALL", ""), row("A", "a", priority=-1)]}
    assert apply(node, ["xyz", "abc", ""]) == [None, "A", None]


def test_overlapping_prefix_and_suffix_patterns_all_count() -> None:
    node = {
        "id": "l",
        "rows": [
            row("FOO", "FOO"),
            row("OO", "OO", priority=1),
            row("FOOBAR", "FOOBAR", priority=2),
            row("O", "O", priority=3),
        ],
    }
    assert apply(node, ["FOOBAR", "FOO", "OOPS", "BAR"]) == ["O", "O", "O", None]
    node["rows"] = node["rows"][:3]
    assert apply(node, ["FOOBAR", "FOO", "xOO"]) == ["FOOBAR", "OO", "OO"]


def test_identical_patterns_in_several_rows_rank_by_priority_then_order() -> None:
    node = {
        "id": "l",
        "rows": [row("A", "k"), row("B", "k", priority=3), row("C", "k", priority=3)],
    }
    assert apply(node, ["k"]) == ["B"]


def test_case_insensitive_greek_final_sigma() -> None:
    node = {"id": "l", "case_insensitive": True, "rows": [row("HIT", "\u0391\u03a3")]}
    # Capital alpha-sigma lower-cases with a final sigma alone but with a plain sigma inside
    # a longer word: both spellings must match.
    inputs = ["\u0391\u03a3\u0391", "x\u03b1\u03c2", "\u0391\u039b\u0391"]
    assert apply(node, inputs) == ["HIT", "HIT", None]


def test_mixed_modes_in_one_tree() -> None:
    node = {
        "id": "top",
        "rows": [row("KEYWORD", "shop")],
        "children": [
            {
                "id": "exact",
                "match": "exact",
                "case_insensitive": True,
                "rows": [row("EXACT", "Shop")],
            }
        ],
    }
    assert apply(node, ["SHOP", "shop", "my shop"]) == ["EXACT", "EXACT", "KEYWORD"]


def test_non_string_input_is_matched_as_text() -> None:
    node = {"id": "l", "match": "exact", "rows": [row("FIVE", "5"), row("HALF", "2.5")]}
    assert apply(node, [5.0, 2.5, 1.0, None], dtype=pl.Float64) == ["FIVE", "HALF", None, None]
    assert apply(node, [5, None], dtype=pl.Int64) == ["FIVE", None]


def test_lookup_without_rows_gives_catch_all_or_null() -> None:
    node = {"id": "l", "rows": [], "catch_all": {"output": "?"}}
    assert apply(node, ["a", None]) == ["?", None]
    assert apply({"id": "l", "rows": []}, ["a"]) == [None]


def test_thousands_of_rows_and_patterns() -> None:
    count = 3000
    rows = [row(f"OUT{i}", f"K{i:05d}X", f"Q{i:05d}Z", priority=i % 3) for i in range(count)]
    node = {"id": "l", "rows": rows, "catch_all": {"output": "MISS"}}
    values = [f"pay K{i:05d}X now" for i in range(0, count, 7)] + ["K99999X"]
    expected = [f"OUT{i}" for i in range(0, count, 7)] + ["MISS"]
    assert apply(node, values) == expected
    # Two rows matching at once: priority decides, then definition order.
    assert apply(node, ["Q00001Z K00002X", "K00005X Q00001Z", "K00003X Q00006Z"]) == [
        "OUT2",
        "OUT5",
        "OUT3",
    ]


def test_unknown_lookup_is_an_expression_error() -> None:
    expr = {"kind": "lookup_ref", "lookup_id": "nope.child", "input": col("v")}
    with pytest.raises(ExpressionError, match=r"nope\.child"):
        compile_json(expr, {"v": pl.String}, lookups(TREE))


def test_each_referenced_lookup_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = lookups_module.compile_lookup

    def counting(node: LookupMapping, lookup_id: str | None = None) -> Any:
        calls.append(node.id)
        return real(node, lookup_id)

    monkeypatch.setattr(lookups_module, "compile_lookup", counting)
    ref = {"kind": "lookup_ref", "lookup_id": "categories", "input": col("v")}
    twice = {"kind": "concat", "sep": "|", "args": [ref, ref]}
    assert evaluate(twice, {"v": ["CAFE"]}, {"v": pl.String}, lookups(TREE)) == ["COFFEE|COFFEE"]
    assert calls == ["categories"]

    shared = LookupCompiler(lookups(TREE))
    first = shared.get("categories")
    assert shared.get("categories") is first
    assert calls == ["categories", "categories"]


def test_a_compiled_lookup_applies_repeatedly_with_the_same_result() -> None:
    node = lookups(TREE)[0]
    compiled = lookups_module.compile_lookup(node)
    frame = pl.DataFrame({"v": ["CAFE", "SHOP", "x", None]})
    expected = ["COFFEE", "FOOD", "UNCATEGORISED", None]
    for _ in range(3):
        result = frame.select(compiled.apply(pl.col("v")).alias("o"))["o"].to_list()
        assert result == expected


def test_a_shared_lookup_compiler_serves_several_compile_calls() -> None:
    shared = LookupCompiler(lookups(TREE))
    ref = {"kind": "lookup_ref", "lookup_id": "categories", "input": col("v")}
    first = compile_expr(parse(ref), {"v": pl.String}, [], lookup_compiler=shared)
    second = compile_expr(parse(ref), {"v": pl.String}, [], lookup_compiler=shared)
    frame = pl.DataFrame({"v": ["SHOP", "zzz"]})
    out = frame.select(first.expr.alias("a"), second.expr.alias("b"))
    assert out.rows() == [("FOOD", "FOOD"), ("UNCATEGORISED", "UNCATEGORISED")]
