"""The rules of SPEC §5 beyond shape: ids, cross references, keys, prefixes and option sanity.

They read the raw document (see `rawview`) so that they still run where parts failed to parse:
one response then lists every problem that can be found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Mapping as Mapping_
from dataclasses import dataclass, field
from typing import TypeVar, get_args

from pydantic import BaseModel

from karet_worker.config.column_types import is_column_type
from karet_worker.config.json_path import BadPath, parse_path
from karet_worker.config.lookup_tree import resolve_lookup
from karet_worker.config.model import (
    AnalyticTable,
    Assertions,
    ColExpr,
    ColumnSchema,
    Dimension,
    DimensionRow,
    DimRefExpr,
    FileDimensionRows,
    InlineDimensionRows,
    LookupMapping,
    LookupRefExpr,
    Mapping,
    MappingColumn,
    PartitionBy,
    PipelineConfig,
    RegexExtractExpr,
    RegexMatchExpr,
    SourceContainer,
    SourceFormat,
)
from karet_worker.config.pointer import Path, to_pointer
from karet_worker.config.problems import DANGLING_REFERENCE, DUPLICATE_ID, SCHEMA, Problem
from karet_worker.config.rawview import (
    array_of,
    as_object,
    as_text,
    blank,
    objects_of,
    text_of,
)
from karet_worker.config.regex import regex_problem
from karet_worker.config.suggest import did_you_mean
from karet_worker.config.walk import (
    children,
    expression_model,
    is_expression,
    member,
    member_key,
)
from karet_worker.layout import id_problem, segment_problem, source_path_problem

MAX_PARTITION_KEYS = 3
# Floats have no exact text; a timestamp per segment would make a folder per row.
_UNPARTITIONABLE_TYPES = ("number", "float64", "timestamp")

_T = TypeVar("_T")
Columns = dict[str, str | None]  # column name -> declared type (None when not a valid type)


@dataclass
class _Source:
    id: str
    columns: Columns | None  # None when the schema itself is malformed: nothing can be checked


@dataclass
class _Table:
    id: str
    columns: Columns | None
    has_partition_keys: bool


@dataclass
class _Found:
    problems: list[Problem] = field(default_factory=list)

    def add(self, kind: str, path: Path, message: str) -> None:
        self.problems.append(Problem(kind, message, to_pointer(path)))


def rule_problems(document: object) -> list[Problem]:
    """Every rule violation found in `document` (which may have shape problems too)."""
    root = as_object(document)
    if root is None:
        return []
    found = _Found()
    _check_version(root, found)
    sources = _check_sources(root, found)
    tables = _check_tables(root, found)
    targets = _Targets(_check_lookups(root, found), _check_dimensions(root, found))
    _check_record_filters(root, sources, targets, found)
    _check_mappings(root, sources, tables, targets, found)
    return found.problems


# ---------------------------------------------------------------- shared helpers


def _check_version(root: dict[str, object], found: _Found) -> None:
    version = root.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version != 1:
        found.add(SCHEMA, ("version",), f"unsupported config version {version}; expected 1")


def _check_ids(
    model: type[BaseModel],
    items: Sequence[tuple[int, dict[str, object]]],
    base: Path,
    label: str,
    found: _Found,
    *,
    in_keys: bool = False,
) -> dict[str, tuple[int, dict[str, object]]]:
    """Reports empty and repeated ids, and with `in_keys` ids that cannot be one segment of an
    object key (SPEC §15); returns the first item of each usable id."""
    first: dict[str, tuple[int, dict[str, object]]] = {}
    for index, item in items:
        item_id = text_of(model, item, "id")
        path = (*base, index, "id")
        if item_id is None:
            continue
        if blank(item_id):
            found.add(
                SCHEMA,
                path,
                f"{label} at {to_pointer((*base, index))} has an empty id",
            )
        elif item_id in first:
            earlier = to_pointer((*base, first[item_id][0]))
            found.add(DUPLICATE_ID, path, f"two {label}s share id {item_id!r} (first at {earlier})")
        else:
            first[item_id] = (index, item)
            problem = id_problem(item_id) if in_keys else None
            if problem is not None:
                found.add(
                    SCHEMA,
                    path,
                    f"{label} id {item_id!r} {problem}: it names a folder or file of the "
                    "output, so it is restricted to those characters",
                )
    return first


def _check_name(
    model: type[BaseModel], item: dict[str, object], path: Path, what: str, found: _Found
) -> None:
    """Names are optional on some models, but a name that is given must not be blank."""
    name = text_of(model, item, "name")
    if name is not None and blank(name):
        found.add(SCHEMA, (*path, "name"), f"{what} has an empty name")


def _check_schema(
    model: type[BaseModel], owner: dict[str, object], path: Path, what: str, found: _Found
) -> Columns | None:
    """Column names non-empty and unique, assertion bounds ordered; returns name -> type."""
    key = member_key(model, owner, "columns")
    if array_of(model, owner, "columns") is None:
        return None
    columns: Columns = {}
    first_at: dict[str, int] = {}
    for index, column in objects_of(model, owner, "columns"):
        column_path = (*path, key, index)
        name = text_of(ColumnSchema, column, "name")
        if name is not None:
            if blank(name):
                found.add(
                    SCHEMA,
                    (*column_path, "name"),
                    f"column {index} in the schema of {what} has an empty name",
                )
            elif _has_control(name):
                found.add(
                    SCHEMA,
                    (*column_path, "name"),
                    f"column name {name!r} in the schema of {what} contains a control character",
                )
            elif name in columns:
                earlier = to_pointer((*path, key, first_at[name]))
                found.add(
                    DUPLICATE_ID,
                    (*column_path, "name"),
                    f"the schema of {what} declares column {name!r} twice (first at {earlier})",
                )
            else:
                declared = text_of(ColumnSchema, column, "type")
                columns[name] = declared if declared and is_column_type(declared) else None
                first_at[name] = index
        _check_assertions(column, column_path, name, what, found)
    return columns


def _has_control(name: str) -> bool:
    """Control characters (U+0000-U+001F, U+007F) never name a real column; the engine's own
    helper columns start with one, so refusing them keeps the two apart (engine/columns.py)."""
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _check_assertions(
    column: dict[str, object], path: Path, name: str | None, what: str, found: _Found
) -> None:
    assertions = as_object(member(ColumnSchema, column, "assertions"))
    if assertions is None:
        return
    low = _number(member(Assertions, assertions, "min"))
    high = _number(member(Assertions, assertions, "max"))
    if low is not None and high is not None and low > high:
        found.add(
            SCHEMA,
            (*path, "assertions", "max"),
            f"assertions of column {name!r} in {what}: min {low:g} is greater than max {high:g}",
        )


# ---------------------------------------------------------------- sources


def _check_sources(root: dict[str, object], found: _Found) -> dict[str, _Source]:
    base: Path = ("source_containers",)
    items = objects_of(PipelineConfig, root, "source_containers")
    first = _check_ids(SourceContainer, items, base, "source container", found, in_keys=True)
    prefixes: list[tuple[str, str]] = []  # (prefix, owner) of the valid prefixes seen so far
    sources: dict[str, _Source] = {}
    for index, item in items:
        path = (*base, index)
        source_id = text_of(SourceContainer, item, "id")
        what = f"source container {source_id!r}" if source_id else f"source container {index}"
        _check_name(SourceContainer, item, path, what, found)
        columns = _check_schema(SourceContainer, item, path, what, found)
        _check_prefix(item, path, what, prefixes, found)
        _check_csv(item, path, what, found)
        _check_column_paths(item, path, what, found)
        if source_id is not None and first.get(source_id, (None,))[0] == index:
            sources[source_id] = _Source(source_id, columns)
    return sources


def _check_prefix(
    item: dict[str, object],
    path: Path,
    what: str,
    earlier: list[tuple[str, str]],
    found: _Found,
) -> None:
    prefix = text_of(SourceContainer, item, "path_prefix")
    if prefix is None:
        return
    prefix_path = (*path, "path_prefix")
    problem = source_path_problem(prefix)
    if problem is not None:
        found.add(SCHEMA, prefix_path, f"path_prefix {prefix!r} of {what} {problem}")
        return
    for other, owner in earlier:
        if other == prefix:
            relation = "is the same as"
        elif prefix.startswith(other):
            relation = "is nested under"
        elif other.startswith(prefix):
            relation = "contains"
        else:
            continue
        found.add(
            SCHEMA,
            prefix_path,
            f"path_prefix {prefix!r} of {what} {relation} path_prefix {other!r} of {owner}",
        )
        break
    earlier.append((prefix, what))


def _check_csv(item: dict[str, object], path: Path, what: str, found: _Found) -> None:
    csv = as_object(member(SourceContainer, item, "csv"))
    if csv is None:
        return
    delimiter = as_text(csv.get("delimiter", ","))
    quote = as_text(csv.get("quote", '"'))
    for name, value in (("delimiter", delimiter), ("quote", quote)):
        if value is not None and value in ("\n", "\r"):
            found.add(
                SCHEMA, (*path, "csv", name), f"csv {name} of {what} must not be a line break"
            )
    if delimiter is not None and delimiter == quote and len(delimiter) == 1:
        culprit = "quote" if "quote" in csv else "delimiter"
        found.add(
            SCHEMA,
            (*path, "csv", culprit),
            f"csv delimiter and quote of {what} are both {delimiter!r}; they must differ",
        )


def _source_format(item: dict[str, object]) -> SourceFormat | None:
    """The declared format (`csv` when absent); None when it is not a valid format."""
    value = member(SourceContainer, item, "format")
    if value is None:
        return "csv"
    return value if value in get_args(SourceFormat) else None  # type: ignore[return-value]


def _check_column_paths(item: dict[str, object], path: Path, what: str, found: _Found) -> None:
    """`path` is for the columns of ndjson sources, and must parse; `csv` options for csv."""
    source_format = _source_format(item)
    if source_format is None:
        return
    if source_format != "csv" and "csv" in item:
        found.add(
            SCHEMA,
            (*path, "csv"),
            f"{what} has csv options but its format is {source_format!r}; remove them",
        )
    key = member_key(SourceContainer, item, "columns")
    for index, column in objects_of(SourceContainer, item, "columns"):
        text = text_of(ColumnSchema, column, "path")
        if text is None:
            continue
        column_path = (*path, key, index, "path")
        name = text_of(ColumnSchema, column, "name")
        if source_format != "ndjson":
            found.add(
                SCHEMA,
                column_path,
                f"column {name!r} of {what} has a path, which only ndjson sources use; "
                f"{_match_rule(source_format)}",
            )
            continue
        try:
            parse_path(text)
        except BadPath as error:
            found.add(SCHEMA, column_path, f"path {text!r} of column {name!r} in {what}: {error}")


def _match_rule(source_format: SourceFormat) -> str:
    if source_format == "csv":
        return "a csv source finds its columns by header name"
    return "a parquet source finds its columns by name"


def _check_record_filters(
    root: dict[str, object],
    sources: dict[str, _Source],
    targets: _Targets,
    found: _Found,
) -> None:
    """A record filter may use the columns of its own source, and any lookup."""
    base: Path = ("source_containers",)
    for index, item in objects_of(PipelineConfig, root, "source_containers"):
        expr = as_object(member(SourceContainer, item, "record_filter"))
        source_id = text_of(SourceContainer, item, "id")
        if expr is None:
            continue
        what = f"the record_filter of source container {source_id!r}"
        source = sources.get(source_id) if source_id is not None else None
        columns = source.columns if source is not None else None

        def problem(name: str, known: Columns, what: str = what) -> str:
            return f"column {name!r} used by {what} is not in its schema{did_you_mean(name, known)}"

        check_expression(
            expr, (*base, index, "record_filter"), columns, targets, what, problem, found
        )


# ---------------------------------------------------------------- tables


def _check_tables(root: dict[str, object], found: _Found) -> dict[str, _Table]:
    base: Path = ("analytic_tables",)
    items = objects_of(PipelineConfig, root, "analytic_tables")
    first = _check_ids(AnalyticTable, items, base, "analytic table", found, in_keys=True)
    tables: dict[str, _Table] = {}
    for index, item in items:
        path = (*base, index)
        table_id = text_of(AnalyticTable, item, "id")
        what = f"analytic table {table_id!r}" if table_id else f"analytic table {index}"
        _check_name(AnalyticTable, item, path, what, found)
        columns = _check_schema(AnalyticTable, item, path, what, found)
        for position, column in objects_of(AnalyticTable, item, "columns"):
            if "path" in column:
                found.add(
                    SCHEMA,
                    (*path, member_key(AnalyticTable, item, "columns"), position, "path"),
                    f"column {position} of {what} has a path, which only the columns of "
                    "ndjson sources use",
                )
        keys = _check_keys(item, path, "partition_keys", what, columns, found)
        _check_keys(item, path, "dedup_keys", what, columns, found)
        if len(keys) > MAX_PARTITION_KEYS:
            found.add(
                SCHEMA,
                (*path, "partition_keys"),
                f"{what} has {len(keys)} partition keys; at most {MAX_PARTITION_KEYS} are allowed",
            )
        for position, key in keys:
            problem = segment_problem(key)
            if problem is not None:
                found.add(
                    SCHEMA,
                    (*path, "partition_keys", position),
                    f"partition key {key!r} of {what} {problem}: it names the folders "
                    f"{key}=<value>/ of the output",
                )
        if columns is not None:
            for position, key in keys:
                if columns.get(key) in _UNPARTITIONABLE_TYPES:
                    found.add(
                        SCHEMA,
                        (*path, "partition_keys", position),
                        f"partition key {key!r} of {what} has type {columns[key]!r}; "
                        "number, float64 and timestamp columns cannot be partition keys "
                        "(partition by a date or a part of it instead)",
                    )
        if columns and keys and {key for _, key in keys} >= columns.keys():
            found.add(
                SCHEMA,
                (*path, "partition_keys"),
                f"every column of {what} is a partition key; key columns are stored in the "
                "folder names only, so its Parquet files would hold no column, which DuckDB "
                "cannot read: keep at least one column of its schema out of partition_keys",
            )
        if table_id is not None and first.get(table_id, (None,))[0] == index:
            tables[table_id] = _Table(table_id, columns, bool(keys))
    return tables


def _check_keys(
    item: dict[str, object],
    path: Path,
    field_name: str,
    what: str,
    columns: Columns | None,
    found: _Found,
) -> list[tuple[int, str]]:
    """Keys must be schema columns and distinct; returns the (position, key) of the distinct."""
    keys: list[tuple[int, str]] = []
    seen: set[str] = set()
    for position, value in enumerate(array_of(AnalyticTable, item, field_name) or []):
        key = as_text(value)
        if key is None:
            continue
        key_path = (*path, field_name, position)
        if key in seen:
            found.add(DUPLICATE_ID, key_path, f"{field_name} of {what} lists {key!r} twice")
            continue
        seen.add(key)
        keys.append((position, key))
        if columns is not None and key not in columns:
            found.add(
                DANGLING_REFERENCE,
                key_path,
                f"{field_name} of {what} names {key!r}, which is not a column of its "
                f"schema{did_you_mean(key, columns)}",
            )
    return keys


# ---------------------------------------------------------------- lookups


def _check_lookups(root: dict[str, object], found: _Found) -> list[LookupMapping] | None:
    """Ids non-empty, dot-free and unique among siblings; returns the addressable id forest."""
    if "lookup_mappings" not in root:
        return []
    if array_of(PipelineConfig, root, "lookup_mappings") is None:
        return None
    return _lookup_level(
        objects_of(PipelineConfig, root, "lookup_mappings"), ("lookup_mappings",), found
    )


def _lookup_level(
    items: list[tuple[int, dict[str, object]]], base: Path, found: _Found
) -> list[LookupMapping]:
    """One sibling list; recursion depth is bounded by the JSON depth limit (see `limits`)."""
    first = _check_ids(LookupMapping, items, base, "lookup", found)
    nodes: list[LookupMapping] = []
    for index, item in items:
        lookup_id = text_of(LookupMapping, item, "id")
        what = f"lookup {lookup_id!r}" if lookup_id else f"lookup at {to_pointer((*base, index))}"
        _check_name(LookupMapping, item, (*base, index), what, found)
        kids = _lookup_level(
            objects_of(LookupMapping, item, "children"), (*base, index, "children"), found
        )
        if lookup_id is None or first.get(lookup_id, (None,))[0] != index:
            continue
        if "." in lookup_id:
            found.add(
                SCHEMA,
                (*base, index, "id"),
                f"lookup id {lookup_id!r} contains '.', which separates the parts of "
                "dotted lookup references",
            )
            continue
        nodes.append(LookupMapping.model_construct(id=lookup_id, rows=[], children=kids))
    return nodes


# ---------------------------------------------------------------- dimensions


@dataclass(frozen=True)
class _Targets:
    """What expressions may reference: the lookup id forest and dimension id -> value columns
    (None where that part of the document is malformed: nothing is checked against it)."""

    lookups: list[LookupMapping] | None
    dimensions: dict[str, list[str] | None] | None


def _check_dimensions(root: dict[str, object], found: _Found) -> dict[str, list[str] | None] | None:
    """Ids, value columns, inline rows and file prefixes; returns id -> value column names."""
    if "dimensions" in root and array_of(PipelineConfig, root, "dimensions") is None:
        return None
    base: Path = ("dimensions",)
    items = objects_of(PipelineConfig, root, "dimensions")
    first = _check_ids(Dimension, items, base, "dimension", found)
    dimensions: dict[str, list[str] | None] = {}
    for index, item in items:
        path = (*base, index)
        dim_id = text_of(Dimension, item, "id")
        what = f"dimension {dim_id!r}" if dim_id else f"dimension {index}"
        _check_name(Dimension, item, path, what, found)
        rows = as_object(member(Dimension, item, "rows"))
        columns = None if rows is None else _check_dimension_rows(item, rows, path, what, found)
        if dim_id is not None and first.get(dim_id, (None,))[0] == index:
            dimensions[dim_id] = columns
    return dimensions


def _check_dimension_rows(
    item: dict[str, object], rows: dict[str, object], path: Path, what: str, found: _Found
) -> list[str] | None:
    """Returns the value column names (None when they are malformed)."""
    rows_path = (*path, "rows")
    model: type[BaseModel] = FileDimensionRows if "path_prefix" in rows else InlineDimensionRows
    names = array_of(model, rows, "values")
    if names is None or not all(isinstance(n, str) for n in names):
        return None
    columns = [n for n in names if isinstance(n, str)]
    seen: set[str] = set()
    for position, name in enumerate(columns):
        if blank(name):
            found.add(
                SCHEMA, (*rows_path, "values", position), f"{what} has an empty value column name"
            )
        elif name in seen:
            found.add(
                DUPLICATE_ID,
                (*rows_path, "values", position),
                f"{what} lists value column {name!r} twice",
            )
        seen.add(name)
    if model is FileDimensionRows:
        prefix = text_of(FileDimensionRows, rows, "path_prefix")
        problem = None if prefix is None else source_path_problem(prefix)
        if problem is not None:
            found.add(
                SCHEMA, (*rows_path, "path_prefix"), f"path_prefix {prefix!r} of {what} {problem}"
            )
        return columns
    exact = member(Dimension, item, "match") in (None, "exact")
    folded = member(Dimension, item, "case_insensitive") is True
    first_at: dict[str, Path] = {}
    for row_index, row in objects_of(InlineDimensionRows, rows, "rows"):
        row_path = (*rows_path, "rows", row_index)
        values = array_of(DimensionRow, row, "values")
        if values is not None and len(values) != len(columns):
            found.add(
                SCHEMA,
                (*row_path, "values"),
                f"row {row_index} of {what} has {len(values)} value(s); its value columns "
                f"are {', '.join(map(repr, columns))}",
            )
        if not exact:
            continue
        for position, pattern in enumerate(array_of(DimensionRow, row, "patterns") or []):
            if not isinstance(pattern, str):
                continue
            key = pattern.lower() if folded else pattern
            pattern_path = (*row_path, "patterns", position)
            if key in first_at:
                found.add(
                    DUPLICATE_ID,
                    pattern_path,
                    f"{what} has the key {pattern!r} twice (first at {to_pointer(first_at[key])}); "
                    "exact keys must be unique",
                )
            else:
                first_at[key] = pattern_path
    return columns


# ---------------------------------------------------------------- mappings


def _check_mappings(
    root: dict[str, object],
    sources: dict[str, _Source],
    tables: dict[str, _Table],
    targets: _Targets,
    found: _Found,
) -> None:
    base: Path = ("mappings",)
    items = objects_of(PipelineConfig, root, "mappings")
    _check_ids(Mapping, items, base, "mapping", found, in_keys=True)
    for index, item in items:
        _MappingCheck(item, (*base, index), sources, tables, targets, found).run()


def _expressions(
    root: dict[str, object], path: Path
) -> list[tuple[Path, type[BaseModel], dict[str, object]]]:
    """Every well-kinded expression node under `root`, also inside helper objects such as a
    `case` branch (iteratively; depth was checked before)."""
    out: list[tuple[Path, type[BaseModel], dict[str, object]]] = []
    first = expression_model(root)
    stack = [] if first is None else [(path, first, root)]
    while stack:
        node_path, model, node = stack.pop()
        if is_expression(model):
            out.append((node_path, model, node))
        stack.extend(((*node_path, *rel), m, child) for rel, m, child in children(model, node))
    return out


class _MappingCheck:
    """The rules of one mapping, which need its source, its table and the lookups and
    dimensions its expressions may reference."""

    def __init__(
        self,
        item: dict[str, object],
        path: Path,
        sources: dict[str, _Source],
        tables: dict[str, _Table],
        targets: _Targets,
        found: _Found,
    ) -> None:
        self.item, self.path, self.targets, self.found = item, path, targets, found
        mapping_id = text_of(Mapping, item, "id")
        self.what = f"mapping {mapping_id!r}" if mapping_id else f"mapping {path[-1]}"
        self.source = self._resolve("source_container_id", sources, "source container")
        self.table = self._resolve("analytic_table_id", tables, "analytic table")

    def _resolve(self, field_name: str, known: Mapping_[str, _T], label: str) -> _T | None:
        target = text_of(Mapping, self.item, field_name)
        if target is None:
            return None
        if target not in known:
            self.found.add(
                DANGLING_REFERENCE,
                (*self.path, field_name),
                f"{self.what} refers to {label} {target!r}, which does not "
                f"exist{did_you_mean(target, known)}",
            )
            return None
        return known[target]

    def run(self) -> None:
        _check_name(Mapping, self.item, self.path, self.what, self.found)
        outputs = self._check_outputs()
        for index, column in objects_of(Mapping, self.item, "columns"):
            expr_path = (*self.path, "columns", index, "expr")
            expr = as_object(member(MappingColumn, column, "expr"))
            if expr is not None:
                columns = self.source.columns if self.source is not None else None
                self._check_expression(expr, expr_path, columns, self._source_column_problem)
        where = as_object(member(Mapping, self.item, "where"))
        if where is not None:
            self._check_expression(where, (*self.path, "where"), outputs, self._where_problem)
        self._check_partition_by(outputs)

    def _check_outputs(self) -> Columns | None:
        """Output names non-empty, unique and in the table; returns name -> table type."""
        if array_of(Mapping, self.item, "columns") is None:
            return None
        table_columns = self.table.columns if self.table is not None else None
        outputs: Columns = {}
        for index, column in objects_of(Mapping, self.item, "columns"):
            name = text_of(MappingColumn, column, "name")
            name_path = (*self.path, "columns", index, "name")
            if name is None:
                continue
            if blank(name):
                self.found.add(
                    SCHEMA, name_path, f"output column {index} of {self.what} has an empty name"
                )
            elif name in outputs:
                self.found.add(
                    DUPLICATE_ID, name_path, f"{self.what} produces column {name!r} twice"
                )
            else:
                outputs[name] = table_columns.get(name) if table_columns is not None else None
                if table_columns is not None and name not in table_columns:
                    assert self.table is not None
                    self.found.add(
                        DANGLING_REFERENCE,
                        name_path,
                        f"output column {name!r} of {self.what} is not in the schema "
                        f"of table {self.table.id!r}{did_you_mean(name, table_columns)}",
                    )
        return outputs

    def _source_column_problem(self, name: str, columns: Columns) -> str:
        assert self.source is not None
        return (
            f"column {name!r} used by {self.what} is not in the schema of source container "
            f"{self.source.id!r}{did_you_mean(name, columns)}"
        )

    def _where_problem(self, name: str, columns: Columns) -> str:
        return (
            f"column {name!r} in the where of {self.what} is not an output column of that "
            f"mapping{did_you_mean(name, columns)}"
        )

    def _check_expression(
        self,
        expr: dict[str, object],
        path: Path,
        columns: Columns | None,
        problem: Callable[[str, Columns], str],
    ) -> None:
        check_expression(expr, path, columns, self.targets, self.what, problem, self.found)

    def _check_partition_by(self, outputs: Columns | None) -> None:
        partition_by = as_object(member(Mapping, self.item, "partition_by"))
        if partition_by is None:
            return
        path = (*self.path, "partition_by")
        if self.table is not None and self.table.has_partition_keys:
            self.found.add(
                SCHEMA,
                path,
                f"{self.what} uses partition_by, but its table {self.table.id!r} has "
                "partition_keys; use one or the other",
            )
        column = text_of(PartitionBy, partition_by, "column")
        if column is None or outputs is None:
            return
        if column not in outputs:
            self.found.add(
                DANGLING_REFERENCE,
                (*path, "column"),
                f"partition_by column {column!r} is not produced by {self.what}"
                f"{did_you_mean(column, outputs)}",
            )
        elif outputs[column] is not None and outputs[column] != "date":
            self.found.add(
                SCHEMA,
                (*path, "column"),
                f"partition_by column {column!r} of {self.what} has type "
                f"{outputs[column]!r} in its table; it must be 'date'",
            )


def check_expression(
    expr: dict[str, object],
    path: Path,
    columns: Columns | None,
    targets: _Targets,
    what: str,
    problem: Callable[[str, Columns], str],
    found: _Found,
) -> None:
    """Every `col` is one of `columns` (when known) and every lookup and dimension reference
    resolves (to a value column the dimension has)."""
    forest = targets.lookups
    for node_path, model, node in _expressions(expr, path):
        if model is ColExpr and columns is not None:
            name = text_of(ColExpr, node, "name")
            if name is not None and name not in columns:
                found.add(DANGLING_REFERENCE, (*node_path, "name"), problem(name, columns))
        elif model is LookupRefExpr and forest is not None:
            lookup_id = text_of(LookupRefExpr, node, "lookup_id")
            if lookup_id is not None and resolve_lookup(forest, lookup_id) is None:
                found.add(
                    DANGLING_REFERENCE,
                    (*node_path, "lookup_id"),
                    f"lookup {lookup_id!r} used by {what} does not exist",
                )
        elif model is DimRefExpr and targets.dimensions is not None:
            _check_dim_ref(node, node_path, targets.dimensions, what, found)
        elif model in (RegexMatchExpr, RegexExtractExpr):
            _check_regex(node, node_path, what, found)


def _check_regex(node: dict[str, object], path: Path, what: str, found: _Found) -> None:
    pattern = text_of(RegexExtractExpr, node, "pattern")
    group: object = None
    if node.get("kind") == "regex_extract":
        group = member(RegexExtractExpr, node, "group")
        group = 1 if group is None else group  # the model's default
    if pattern is None:
        return
    problem = regex_problem(pattern, group if isinstance(group, int) else None)
    if problem is not None:
        found.add(SCHEMA, (*path, "pattern"), f"{problem} (in {what})")


def _check_dim_ref(
    node: dict[str, object],
    path: Path,
    dimensions: dict[str, list[str] | None],
    what: str,
    found: _Found,
) -> None:
    dim_id = text_of(DimRefExpr, node, "dim_id")
    if dim_id is None:
        return
    if dim_id not in dimensions:
        found.add(
            DANGLING_REFERENCE,
            (*path, "dim_id"),
            f"dimension {dim_id!r} used by {what} does not exist{did_you_mean(dim_id, dimensions)}",
        )
        return
    value = text_of(DimRefExpr, node, "value")
    columns = dimensions[dim_id]
    if value is not None and columns is not None and value not in columns:
        found.add(
            DANGLING_REFERENCE,
            (*path, "value"),
            f"dimension {dim_id!r} used by {what} has no value column {value!r}; it has "
            f"{', '.join(map(repr, columns))}{did_you_mean(value, columns)}",
        )
