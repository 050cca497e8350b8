"""Property (a) of issue 2: generated valid configs validate clean, and each single mutation
(empty an id, duplicate an id, dangle a source/table/lookup/source-column reference) is reported
at the mutated path with the right kind."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from karet_worker.config.validate import validate_document, validate_json
from karet_worker.layout import segment_problem

from .support import Doc, col

Path = tuple[str | int, ...]

COLUMN_TYPES = ["string", "number", "int64", "float64", "bool", "date"]
# Lookup ids never contain '/' or '.' (dotted references forbid it); names may be any text.
IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_- é", min_size=1, max_size=8).filter(
    lambda s: s.strip() != ""
)
# Source, table and mapping ids name folders and files of the output (SPEC §15).
KEY_IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789_-.", min_size=1, max_size=8)
KEY_IDS = KEY_IDS.filter(lambda s: s not in (".", ".."))
NAMES = st.text(min_size=1, max_size=8).filter(lambda s: s.strip() != "")
# Column names may be any text without control characters (those mark the engine's own columns).
COLUMN_NAMES = st.text(
    st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=8
).filter(lambda s: s.strip() != "")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _schema(draw: st.DrawFn, min_size: int = 1) -> list[Doc]:
    names = draw(st.lists(COLUMN_NAMES, min_size=min_size, max_size=5, unique=True))
    return [{"name": name, "type": draw(st.sampled_from(COLUMN_TYPES))} for name in names]


def _lookup_forest(draw: st.DrawFn, level: int = 0) -> list[Doc]:
    ids = draw(st.lists(IDS, max_size=3 if level == 0 else 2, unique=True))
    nodes: list[Doc] = []
    for lookup_id in ids:
        node: Doc = {
            "id": lookup_id,
            "rows": [
                {"input_patterns": patterns, "output": output, "priority": priority}
                for patterns, output, priority in draw(
                    st.lists(
                        st.tuples(
                            st.lists(NAMES, min_size=1, max_size=3),
                            NAMES,
                            st.integers(-5, 5),
                        ),
                        max_size=3,
                    )
                )
            ],
        }
        if draw(st.booleans()):
            node["match"] = draw(st.sampled_from(["exact", "keyword_substring"]))
            node["case_insensitive"] = draw(st.booleans())
        if level < 2:
            children = _lookup_forest(draw, level + 1)
            if children:
                node["children"] = children
        if draw(st.booleans()):
            node["catch_all"] = {"output": draw(NAMES)}
        nodes.append(node)
    return nodes


def _dotted_ids(nodes: list[Doc], parent: str = "") -> Iterator[str]:
    for node in nodes:
        dotted = parent + node["id"]
        yield dotted
        yield from _dotted_ids(node.get("children", []), dotted + ".")


def _expressions(columns: list[str], lookups: list[str]) -> st.SearchStrategy[Doc]:
    literals = st.one_of(
        st.builds(lambda v: {"kind": "str", "value": v}, st.text(max_size=4)),
        st.builds(lambda v: {"kind": "num", "value": v}, st.integers(-100, 100)),
        st.builds(lambda v: {"kind": "bool", "value": v}, st.booleans()),
        st.just({"kind": "null"}),
    )
    # Half of the leaves are column references when there are columns to refer to.
    leaves = st.one_of(st.sampled_from(columns).map(col), literals) if columns else literals

    def extend(inner: st.SearchStrategy[Doc]) -> st.SearchStrategy[Doc]:
        branches = [
            st.builds(
                lambda k, a, b: {"kind": k, "left": a, "right": b},
                st.sampled_from(["add", "sub", "mul", "div", "eq", "gt", "and", "or"]),
                inner,
                inner,
            ),
            st.builds(
                lambda k, a: {"kind": k, "input": a},
                st.sampled_from(["upper", "lower", "trim", "not", "year"]),
                inner,
            ),
            st.builds(
                lambda args: {"kind": "concat", "sep": "-", "args": args},
                st.lists(inner, max_size=3),
            ),
            st.builds(lambda args: {"kind": "coalesce", "args": args}, st.lists(inner, max_size=3)),
            st.builds(
                lambda c, t, e: {"kind": "if", "cond": c, "then": t, "else": e}, inner, inner, inner
            ),
            st.builds(  # from text: a cast that can never succeed is a validation error
                lambda a, to: {"kind": "cast", "input": as_text(a), "to": to},
                inner,
                st.sampled_from(["int64", "float64", "string", "date", "bool"]),
            ),
        ]
        if lookups:
            branches.append(
                st.builds(
                    lambda lookup_id, a: {"kind": "lookup_ref", "lookup_id": lookup_id, "input": a},
                    st.sampled_from(lookups),
                    inner,
                )
            )
        return st.one_of(branches)

    return st.recursive(leaves, extend, max_leaves=6)


def as_text(expr: Doc) -> Doc:
    return {"kind": "cast", "input": expr, "to": "string"}


@st.composite
def valid_configs(draw: st.DrawFn) -> Doc:
    source_ids = draw(st.lists(KEY_IDS, min_size=1, max_size=3, unique=True))
    sources: list[Doc] = [
        {"id": sid, "name": draw(NAMES), "path_prefix": f"raw/s{i}/", "schema": _schema(draw)}
        for i, sid in enumerate(source_ids)
    ]
    table_ids = draw(st.lists(KEY_IDS, min_size=1, max_size=3, unique=True))
    tables: list[Doc] = []
    for tid in table_ids:
        schema = _schema(draw)
        table: Doc = {"id": tid, "name": draw(NAMES), "schema": schema}
        names = [c["name"] for c in schema]
        partitionable = [
            c["name"]
            for c in schema
            if c["type"] not in ("number", "float64") and segment_problem(c["name"]) is None
        ]
        if len(partitionable) > 0 and len(names) > 1 and draw(st.booleans()):
            # at least one column stays out of the keys, to be stored in the files
            most = min(3, len(names) - 1)
            table["partition_keys"] = draw(
                st.lists(st.sampled_from(partitionable), min_size=1, max_size=most, unique=True)
            )
        if draw(st.booleans()):
            table["dedup_keys"] = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        for column in schema:
            if column["type"] in ("number", "int64") and draw(st.booleans()):
                low, high = sorted(draw(st.lists(st.integers(-10, 10), min_size=2, max_size=2)))
                assertions: Doc = {"min": low, "max": high, "not_null": draw(st.booleans())}
                column["assertions"] = assertions
        tables.append(table)
    lookups = _lookup_forest(draw)
    dotted = list(_dotted_ids(lookups))
    mapping_ids = draw(st.lists(KEY_IDS, min_size=1, max_size=4, unique=True))
    mappings: list[Doc] = []
    for mid in mapping_ids:
        source = draw(st.sampled_from(sources))
        table = draw(st.sampled_from(tables))
        source_columns = [c["name"] for c in source["schema"]]
        types = {c["name"]: c["type"] for c in table["schema"]}
        outputs = draw(st.lists(st.sampled_from(list(types)), min_size=1, unique=True))
        exprs = _expressions(source_columns, dotted)
        mapping: Doc = {
            "id": mid,
            "source_container_id": source["id"],
            "analytic_table_id": table["id"],
            # As text, the expression can become any column type (SPEC §13 type checking).
            "columns": [{"name": name, "expr": as_text(draw(exprs))} for name in outputs],
        }
        if draw(st.booleans()):
            # a condition must be boolean (SPEC §13); text always may convert to bool
            where = as_text(draw(_expressions(outputs, dotted)))
            mapping["where"] = {"kind": "cast", "input": where, "to": "bool"}
        dates = [name for name in outputs if types[name] == "date"]
        if dates and "partition_keys" not in table and draw(st.booleans()):
            mapping["partition_by"] = {
                "column": draw(st.sampled_from(dates)),
                "granularity": draw(st.sampled_from(["year", "month", "day"])),
            }
        mappings.append(mapping)
    return {
        "version": 1,
        "source_containers": sources,
        "lookup_mappings": lookups,
        "mappings": mappings,
        "analytic_tables": tables,
    }


# ---------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    path: Path
    value: str
    kind: str
    exact: bool  # True when the mutation cannot cause any other problem


def _walk_expressions(node: Any, path: Path) -> Iterator[tuple[Path, Doc]]:
    if isinstance(node, dict):
        if "kind" in node:
            yield path, node
        for key, value in node.items():
            yield from _walk_expressions(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_expressions(value, (*path, index))


def _sibling_lists(config: Doc) -> Iterator[tuple[Path, list[Doc]]]:
    for collection in ("source_containers", "mappings", "analytic_tables"):
        yield (collection,), config[collection]
    stack: list[tuple[Path, list[Doc]]] = [(("lookup_mappings",), config["lookup_mappings"])]
    while stack:
        path, nodes = stack.pop()
        yield path, nodes
        for index, node in enumerate(nodes):
            stack.append(((*path, index, "children"), node.get("children", [])))


def mutations(config: Doc) -> dict[str, list[Mutation]]:
    """Every single mutation of `config`, by family (so each family is drawn equally often)."""
    found: dict[str, list[Mutation]] = {
        "empty id": [],
        "duplicate id": [],
        "dangling source": [],
        "dangling table": [],
        "dangling lookup": [],
        "dangling source column": [],
    }
    for path, items in _sibling_lists(config):
        for k in range(len(items)):
            found["empty id"].append(Mutation((*path, k, "id"), "", "schema", exact=False))
            found["duplicate id"].extend(
                Mutation((*path, k, "id"), items[j]["id"], "duplicate_id", exact=False)
                for j in range(k)
            )
    dangle = "dangling/ref"  # ids and generated names are shorter and have no '/'
    for i, mapping in enumerate(config["mappings"]):
        found["dangling source"].append(
            Mutation(("mappings", i, "source_container_id"), dangle, "dangling_reference", True)
        )
        found["dangling table"].append(
            Mutation(("mappings", i, "analytic_table_id"), dangle, "dangling_reference", True)
        )
        for path, node in _walk_expressions(mapping, ("mappings", i)):
            if node["kind"] == "lookup_ref":
                found["dangling lookup"].append(
                    Mutation((*path, "lookup_id"), dangle, "dangling_reference", True)
                )
            if node["kind"] == "col" and path[2] == "columns":
                found["dangling source column"].append(
                    Mutation((*path, "name"), dangle, "dangling_reference", True)
                )
    return {family: items for family, items in found.items() if items}


def _set(doc: Doc, path: Path, value: str) -> Doc:
    mutated = copy.deepcopy(doc)
    node: Any = mutated
    for token in path[:-1]:
        node = node[token]
    node[path[-1]] = value
    return mutated


def _pointer(path: Path) -> str:
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


@SETTINGS
@given(valid_configs())
def test_generated_valid_configs_validate_clean(config: Doc) -> None:
    report = validate_document(config)
    assert report.problems == [] and report.warnings == []
    assert report.config is not None
    assert validate_json(json.dumps(config)).ok


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_each_single_mutation_is_reported_at_its_path(data: st.DataObject) -> None:
    config = data.draw(valid_configs())
    families = mutations(config)
    family = data.draw(st.sampled_from(sorted(families)))
    mutation = data.draw(st.sampled_from(families[family]))
    event(family)
    report = validate_document(_set(config, mutation.path, mutation.value))
    expected = (mutation.kind, _pointer(mutation.path))
    found = [(p.kind, p.path) for p in report.problems]
    assert expected in found
    if mutation.exact:
        assert found == [expected]
    else:
        # Consequences only: references to the changed id stop resolving or resolve elsewhere.
        assert {kind for kind, _ in found} <= {mutation.kind, "dangling_reference", "schema"}
    problem = next(p for p in report.problems if (p.kind, p.path) == expected)
    if mutation.kind != "schema":
        assert repr(mutation.value) in problem.message
