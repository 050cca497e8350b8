"""Property (b): compiled lookups agree with a naive per-row matcher written from SPEC §3."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.expressions.expr_helpers import col, evaluate, lookups, parse

from karet_worker.expressions import compile_expr
from karet_worker.expressions.lookups import KeywordScans, LookupCompiler

# A small alphabet so that patterns really occur; Greek sigmas exercise Unicode lower-casing.
ALPHABET = "aAbB\u03a3\u03c3\u03c2 "
FINAL_SIGMA, SIGMA = "\u03c2", "\u03c3"

text = st.text(alphabet=ALPHABET, max_size=6)
pattern = st.text(alphabet=ALPHABET, max_size=3)
row = st.fixed_dictionaries(
    {
        "input_patterns": st.lists(pattern, min_size=0, max_size=3),
        "output": st.text(alphabet="XYZ", min_size=1, max_size=2),
        "priority": st.integers(min_value=-2, max_value=2),
    }
)


def node_strategy(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    children = st.just([]) if depth == 0 else st.lists(node_strategy(depth - 1), max_size=2)
    return st.builds(
        lambda rows, kids, match, ci, catch: {
            "id": "n",
            "rows": rows,
            "children": [{**kid, "id": f"c{i}"} for i, kid in enumerate(kids)],
            "match": match,
            "case_insensitive": ci,
            "catch_all": None if catch is None else {"output": catch},
        },
        st.lists(row, max_size=4),
        children,
        st.sampled_from(["exact", "keyword_substring", "prefix"]),
        st.booleans(),
        st.none() | st.just("CATCH"),
    )


def normalize(value: str, node: dict[str, Any]) -> str:
    if not node["case_insensitive"]:
        return value
    lowered = value.lower()
    return lowered if node["match"] == "exact" else lowered.replace(FINAL_SIGMA, SIGMA)


def row_matches(node: dict[str, Any], patterns: list[str], value: str) -> bool:
    target = normalize(value, node)
    for raw in patterns:
        p = normalize(raw, node)
        if node["match"] == "exact":
            if p == target:
                return True
        elif node["match"] == "prefix":
            if raw and target.startswith(p):
                return True
        elif raw and p in target:
            return True
    return False


def subtree(node: dict[str, Any], value: str) -> str | None:
    """Children first, depth-first; then the best own row; no catch_all below the root."""
    for child in node["children"]:
        found = subtree(child, value)
        if found is not None:
            return found
    best: tuple[int, int] | None = None
    for index, r in enumerate(node["rows"]):
        if row_matches(node, r["input_patterns"], value):
            key = (-r["priority"], index)
            if best is None or key < best:
                best = key
    return None if best is None else str(node["rows"][best[1]]["output"])


def reference(node: dict[str, Any], value: str | None) -> str | None:
    if value is None:
        return None
    found = subtree(node, value)
    if found is None and node["catch_all"] is not None:
        return str(node["catch_all"]["output"])
    return found


@settings(max_examples=200, deadline=None)
@given(node=node_strategy(2), values=st.lists(st.none() | text, min_size=1, max_size=25))
def test_lookup_equals_naive_matcher(node: dict[str, Any], values: list[str | None]) -> None:
    expr = {"kind": "lookup_ref", "lookup_id": "n", "input": col("v")}
    got = evaluate(expr, {"v": values}, {"v": pl.String}, lookups(node))
    assert got == [reference(node, v) for v in values]


@settings(max_examples=100, deadline=None)
@given(node=node_strategy(2), values=st.lists(st.none() | text, min_size=1, max_size=25))
def test_child_reference_equals_naive_matcher(
    node: dict[str, Any], values: list[str | None]
) -> None:
    if not node["children"]:
        node["children"] = [{"id": "c0", **{k: v for k, v in node.items() if k != "id"}}]
    child = node["children"][0]
    expr = {"kind": "lookup_ref", "lookup_id": f"n.{child['id']}", "input": col("v")}
    got = evaluate(expr, {"v": values}, {"v": pl.String}, lookups(node), engine="streaming")
    assert got == [reference(child, v) for v in values]


@settings(max_examples=100, deadline=None)
@given(
    nodes=st.lists(node_strategy(1), min_size=2, max_size=3),
    values=st.lists(st.none() | text, min_size=1, max_size=25),
)
def test_lookups_sharing_one_keyword_scan_equal_naive_matcher(
    nodes: list[dict[str, Any]], values: list[str | None]
) -> None:
    """Several lookups over one column, compiled with one `KeywordScans`: their keyword
    searches share a pass over the union of their patterns (with mixed case folding), and each
    still gives exactly its own answer."""
    named = [{**node, "id": f"n{i}"} for i, node in enumerate(nodes)]
    compiler = LookupCompiler(lookups(*named))
    scans = KeywordScans("scan:")
    outputs = [
        compile_expr(
            parse({"kind": "lookup_ref", "lookup_id": node["id"], "input": col("v")}),
            {"v": pl.String},
            compiler.lookups,
            lookup_compiler=compiler,
            scans=scans,
        ).expr.alias(node["id"])
        for node in named
    ]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    got = frame.lazy().with_columns(scans.stage()).select(outputs).collect()
    for node in named:
        assert got[node["id"]].to_list() == [reference(node, v) for v in values]
