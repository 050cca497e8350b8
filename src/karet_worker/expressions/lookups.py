"""The one vectorised matcher behind lookups (SPEC §3) and dimensions (SPEC §13).

Both compile to a `Matcher`: patterns with a *rank* (0 = best) and, per rank, the values it
gives. For each input, the matching pattern of lowest rank wins. Ranking encodes precedence:

- a lookup node's tree is flattened into one ranking: children first (depth-first, in order),
  then the node's own rows by priority (desc) and definition order, so "first child subtree that
  matches wins, else the best own row" is just "lowest rank";
- a dimension's rows rank by priority (desc), then definition (or file) order.

Each (match mode, case) group of patterns is scanned once per input, whatever the number of
rows: one Aho-Corasick pass for keywords (`str.extract_many`), one hash lookup for exact
values, one hash lookup per distinct pattern length for prefixes.

Documented choices: an empty keyword or prefix pattern is ignored (it would match everything,
and Polars 2.1's `extract_many` panics on it for non-ASCII input); in exact mode an empty
pattern matches the empty string. Case-insensitive matching compares Unicode lower-cased text,
with final sigma (U+03C2) folded to U+03C3 for keywords and prefixes so a pattern's sigma
matches wherever it sits in the input. A null input always gives null.

File-backed dimensions (read by the engine at run start) come in through `compile_dimension`:

    frame = pl.DataFrame({"code": ["CA", "DE"], "country": ["Canada", "Germany"]})
    matcher = compile_dimension(geo, frame)   # geo.rows = {"key": "code", "values": ["country"]}
    pl.select(matcher.apply(pl.lit("CA")))    # → "Canada"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, assert_never

import polars as pl

from karet_worker.config.lookup_tree import resolve_lookup
from karet_worker.config.model import (
    Dimension,
    FileDimensionRows,
    InlineDimensionRows,
    LookupMapping,
    OnMissLiteral,
)

MatchMode = Literal["exact", "keyword_substring", "prefix"]

# The reference data a run may hold per dimension (SPEC §13): a reference table that quietly
# grows must fail loudly rather than take the worker's memory (a million short rows ≈ 100 MB).
MAX_DIMENSION_ROWS: Final = 1_000_000
MAX_NAMED_DUPLICATES: Final = 5  # duplicate keys listed in an error message

_RANK = pl.UInt32
_FINAL_SIGMA = "\u03c2"
_SIGMA = "\u03c3"


class UnknownLookup(Exception):
    """A `lookup_ref` or `dim_ref` names nothing known (validation should have caught it)."""


class DimensionRowsError(Exception):
    """A dimension's rows cannot be used: too many, duplicate exact keys or missing columns.
    The message names the dimension and what is wrong; a run reports it as an error."""


@dataclass(frozen=True)
class Miss:
    """What a non-null input that matches no row gives: null, itself, or a literal."""

    passthrough: bool = False
    literal: str | None = None


@dataclass(frozen=True)
class _Group:
    """All patterns of one (match mode, case) combination, each with its best rank."""

    mode: MatchMode
    case_insensitive: bool
    fold_sigma: bool
    patterns: pl.Series
    ranks: pl.Series

    def rank_of(self, text: pl.Expr, miss: int, scans: KeywordScans | None = None) -> pl.Expr:
        """The best (lowest) rank of a matching row per value: `miss` when no row matches,
        null for null input."""
        normalized = _normalized(text, self.case_insensitive, self.fold_sigma)
        match self.mode:
            case "exact":
                return _exact_rank(normalized, self.patterns, self.ranks, miss)
            case "keyword_substring":
                # Overlapping mode reports every pattern occurrence, including patterns that
                # are prefixes/suffixes of others, so no matching row can be shadowed. A null
                # input gives a null list (→ null); no match an empty one (→ miss). Patterns
                # of other matchers in a shared scan map to null and do not count.
                if scans is not None and text.meta.is_column():
                    found = scans.found(text.meta.output_name(), self)
                else:
                    found = keyword_scan(normalized, self.patterns.to_list())
                # Ranked inside `list.eval`, the minimum taken by the list kernel outside it:
                # 0.13 vs 0.16-0.19 CPU-s for the bench's two lookups on 625k rows (an
                # aggregation inside `list.eval` runs per row).
                ranks = found.list.eval(
                    pl.element().replace_strict(
                        self.patterns, self.ranks, default=None, return_dtype=_RANK
                    )
                )
                return pl.when(found.is_not_null()).then(ranks.list.min().fill_null(miss))
            case "prefix":
                # One exact lookup of the input's first L characters per pattern length L.
                lengths = self.patterns.str.len_chars()
                per_length = [
                    _exact_rank(
                        normalized.str.slice(0, length),
                        self.patterns.filter(lengths == length),
                        self.ranks.filter(lengths == length),
                        miss,
                    )
                    for length in sorted(lengths.unique().to_list())
                ]
                return per_length[0] if len(per_length) == 1 else pl.min_horizontal(per_length)
            case unreachable:
                assert_never(unreachable)


def _normalized(text: pl.Expr, case_insensitive: bool, fold_sigma: bool) -> pl.Expr:
    """`text` as a group's patterns were prepared: lower-cased and sigma-folded if need be."""
    if case_insensitive:
        text = text.str.to_lowercase()
    if fold_sigma:
        text = text.str.replace_all(_FINAL_SIGMA, _SIGMA, literal=True)
    return text


def keyword_scan(text: pl.Expr, patterns: list[str]) -> pl.Expr:
    """Every occurrence of every pattern in each value, overlapping (one Aho-Corasick pass)."""
    return text.str.extract_many(patterns, overlapping=True)


class KeywordScans:
    """Keyword matchers that read the same column share one Aho-Corasick pass over it.

    On the benchmark's lookup-heavy job two lookups (400 and 160 keywords) read the same
    `upper(trim(description))`: a pass costs ~18 ms per 78k values whatever the number of
    patterns (all 560 at once: ~21 ms), so scanning once for both saves a third of the
    lookups' cost. Polars does not find the shared pass by itself (two identical
    `extract_many` expressions were slower than one each: bench/README.md).

        scans = KeywordScans("scan:")
        rank = group.rank_of(pl.col("text"), miss, scans)   # reads column "scan:0"
        frame.with_columns(scans.stage()).with_columns(rank)

    `stage()` is computed once all matchers of the frame were applied: it holds the union of
    their patterns, per (column, case folding)."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._scans: dict[tuple[str, bool, bool], tuple[str, dict[str, None]]] = {}

    def found(self, column: str, group: _Group) -> pl.Expr:
        """The scan column holding the matches of `column` (folded as `group` folds)."""
        key = (column, group.case_insensitive, group.fold_sigma)
        if key not in self._scans:
            self._scans[key] = (f"{self._prefix}{len(self._scans)}", {})
        name, patterns = self._scans[key]
        patterns.update(dict.fromkeys(group.patterns.to_list()))
        return pl.col(name)

    def stage(self) -> list[pl.Expr]:
        """The scan columns, to compute before the expressions that read them."""
        stage: list[pl.Expr] = []
        for (column, case_insensitive, fold_sigma), (name, patterns) in self._scans.items():
            text = _normalized(pl.col(column), case_insensitive, fold_sigma)
            stage.append(keyword_scan(text, list(patterns)).alias(name))
        return stage


def _exact_rank(text: pl.Expr, patterns: pl.Series, ranks: pl.Series, miss: int) -> pl.Expr:
    """Rank of the pattern equal to the value; a null key maps null to null."""
    keys = pl.concat([patterns, pl.Series([None], dtype=pl.String)])
    with_null = pl.concat([ranks, pl.Series([None], dtype=_RANK)])
    return text.replace_strict(keys, with_null, default=miss, return_dtype=_RANK)


@dataclass(frozen=True)
class Matcher:
    """A lookup node or a dimension, ready to apply to any String expression (built once,
    reused). `values` has one row per rank (best first) and one String column per value
    column (a lookup has one, `output`)."""

    name: str
    groups: tuple[_Group, ...]
    values: pl.DataFrame
    miss: Miss

    @property
    def value_columns(self) -> list[str]:
        return self.values.columns

    @property
    def reads_input_more_than_once(self) -> bool:
        """`apply` reads its input once per group, and again to pass it through on a miss."""
        return len(self.groups) + self.miss.passthrough > 1

    def apply(
        self, text: pl.Expr, value: str | None = None, scans: KeywordScans | None = None
    ) -> pl.Expr:
        """The value column `value` (default: the first) of the best matching row per input;
        `miss` where none matches; null for null input. With `scans`, a keyword search of a
        column joins the frame's shared scan of it."""
        column = self.values.get_column(value if value is not None else self.values.columns[0])
        miss_rank = len(column)
        on_miss = pl.Series([self.miss.literal], dtype=pl.String)
        outputs = pl.concat([column.cast(pl.String), on_miss])
        if not self.groups:
            rank: pl.Expr = pl.when(text.is_not_null()).then(pl.lit(miss_rank, dtype=_RANK))
        else:
            ranks = [group.rank_of(text, miss_rank, scans) for group in self.groups]
            rank = ranks[0] if len(ranks) == 1 else pl.min_horizontal(ranks)
        found = pl.lit(outputs).gather(rank)
        if self.miss.passthrough:
            return pl.when(rank == miss_rank).then(text).otherwise(found)
        return found


# ---------------------------------------------------------------- building


def _build(
    name: str,
    patterns: pl.DataFrame,
    values: pl.DataFrame,
    miss: Miss,
) -> Matcher:
    """`patterns` has columns pattern (String), rank (UInt32), mode, case_insensitive; each
    rank indexes a row of `values`."""
    groups: list[_Group] = []
    keys = patterns.select("mode", "case_insensitive").unique(maintain_order=True)
    for mode, case_insensitive in keys.iter_rows():
        subset = patterns.filter(
            (pl.col("mode") == mode) & (pl.col("case_insensitive") == case_insensitive)
        )
        group = _make_group(mode, case_insensitive, subset)
        if group is not None:
            groups.append(group)
    return Matcher(name=name, groups=tuple(groups), values=values, miss=miss)


def _make_group(mode: MatchMode, case_insensitive: bool, rows: pl.DataFrame) -> _Group | None:
    normalized = rows.select("pattern", "rank").drop_nulls("pattern")
    if case_insensitive:  # Polars' lower-casing, the one inputs get
        normalized = normalized.with_columns(pl.col("pattern").str.to_lowercase())
    fold_sigma = (
        case_insensitive
        and mode != "exact"
        and bool(normalized["pattern"].str.contains(f"[{_FINAL_SIGMA}{_SIGMA}]").any())
    )
    if fold_sigma:
        normalized = normalized.with_columns(
            pl.col("pattern").str.replace_all(_FINAL_SIGMA, _SIGMA, literal=True)
        )
    if mode != "exact":
        normalized = normalized.filter(pl.col("pattern") != "")
    best = normalized.sort("rank", maintain_order=True).unique(
        "pattern", keep="first", maintain_order=True
    )
    if best.is_empty():
        return None
    return _Group(
        mode=mode,
        case_insensitive=case_insensitive,
        fold_sigma=fold_sigma,
        patterns=best["pattern"],
        ranks=best["rank"].cast(_RANK),
    )


def _ranked_rows(node: LookupMapping) -> list[tuple[LookupMapping, int]]:
    """(owning node, row index) in global rank order: subtrees first, then own rows."""
    ranked: list[tuple[LookupMapping, int]] = []
    for child in node.children:
        ranked.extend(_ranked_rows(child))
    order = sorted(range(len(node.rows)), key=lambda i: (-node.rows[i].priority, i))
    ranked.extend((node, i) for i in order)
    return ranked


def compile_lookup(node: LookupMapping, lookup_id: str | None = None) -> Matcher:
    """The matcher of one referenced lookup node (its children included, their catch_all not)."""
    patterns: dict[str, list[object]] = {"pattern": [], "rank": [], "mode": [], "ci": []}
    outputs: list[str] = []
    for rank, (owner, row_index) in enumerate(_ranked_rows(node)):
        row = owner.rows[row_index]
        outputs.append(row.output)
        for pattern in row.input_patterns:
            patterns["pattern"].append(pattern)
            patterns["rank"].append(rank)
            patterns["mode"].append(owner.match)
            patterns["ci"].append(owner.case_insensitive)
    frame = pl.DataFrame(
        {
            "pattern": pl.Series(patterns["pattern"], dtype=pl.String),
            "rank": pl.Series(patterns["rank"], dtype=_RANK),
            "mode": pl.Series(patterns["mode"], dtype=pl.String),
            "case_insensitive": pl.Series(patterns["ci"], dtype=pl.Boolean),
        }
    )
    catch_all = node.catch_all.output if node.catch_all is not None else None
    return _build(
        lookup_id if lookup_id is not None else node.id,
        frame,
        pl.DataFrame({"output": pl.Series(outputs, dtype=pl.String)}),
        Miss(literal=catch_all),
    )


def compile_dimension(dimension: Dimension, rows: pl.DataFrame | None = None) -> Matcher:
    """The matcher of a dimension (SPEC §13).

    Inline dimensions take their rows from the config (`rows` stays None). File-backed ones
    take `rows`: every row read from the files under `path_prefix`, concatenated in key order,
    with at least the columns the definition names (`key`, each of `values`, and
    `priority_column` if set; any dtype: keys and values are read as text, priorities as
    integers, a null priority is 0). Rows with a null key are ignored.

    Raises `DimensionRowsError` for more than MAX_DIMENSION_ROWS rows, a missing column, or
    (in exact mode) a key that appears twice (after case folding when case-insensitive).
    """
    spec = dimension.rows
    match spec:
        case InlineDimensionRows():
            keys, values, priorities = _inline_frames(spec)
        case FileDimensionRows():
            if rows is None:
                raise DimensionRowsError(f"dimension '{dimension.id}': its rows were not loaded")
            keys, values, priorities = _file_frames(dimension.id, spec, rows)
        case unreachable:
            assert_never(unreachable)
    if keys.height > MAX_DIMENSION_ROWS:
        raise DimensionRowsError(
            f"dimension '{dimension.id}' has {keys.height:,} rows; at most "
            f"{MAX_DIMENSION_ROWS:,} are allowed"
        )
    if dimension.match == "exact":
        duplicates = duplicate_keys(keys["pattern"], case_insensitive=dimension.case_insensitive)
        if duplicates:
            named = ", ".join(repr(key) for key in duplicates[:MAX_NAMED_DUPLICATES])
            more = len(duplicates) - MAX_NAMED_DUPLICATES
            extra = f" and {more} more" if more > 0 else ""
            raise DimensionRowsError(
                f"dimension '{dimension.id}' has duplicate key(s) {named}{extra}; "
                "exact keys must be unique"
            )
    # Rank by priority (desc), then row order; each pattern keeps its row's rank.
    order = (
        pl.DataFrame({"priority": priorities})
        .with_row_index("row")
        .sort("priority", descending=True, maintain_order=True)["row"]
    )
    rank_of_row = pl.zeros(len(order), _RANK, eager=True).scatter(
        order, pl.arange(0, len(order), dtype=_RANK, eager=True)
    )
    patterns = keys.select(
        "pattern",
        pl.lit(rank_of_row).gather(pl.col("row")).alias("rank"),
        pl.lit(dimension.match).alias("mode"),
        pl.lit(dimension.case_insensitive).alias("case_insensitive"),
    )
    return _build(dimension.id, patterns, values[order], _miss(dimension))


def duplicate_keys(keys: pl.Series, *, case_insensitive: bool) -> list[str]:
    """Keys (as compared: lower-cased when case-insensitive) that occur more than once, in
    order of first occurrence."""
    compared = keys.drop_nulls()
    if case_insensitive:
        compared = compared.str.to_lowercase()
    repeated = compared.filter(compared.is_duplicated()).unique(maintain_order=True)
    return [str(key) for key in repeated.to_list()]


def _miss(dimension: Dimension) -> Miss:
    match dimension.on_miss:
        case "null":
            return Miss()
        case "passthrough":
            return Miss(passthrough=True)
        case OnMissLiteral():
            return Miss(literal=dimension.on_miss.literal)
        case unreachable:
            assert_never(unreachable)


def _inline_frames(spec: InlineDimensionRows) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """(patterns with their row index, values per row, priority per row) of inline rows."""
    pattern_rows = [(pattern, i) for i, row in enumerate(spec.rows) for pattern in row.patterns]
    keys = pl.DataFrame(
        {
            "pattern": pl.Series([p for p, _ in pattern_rows], dtype=pl.String),
            "row": pl.Series([i for _, i in pattern_rows], dtype=_RANK),
        }
    )
    values = pl.DataFrame(
        {
            name: pl.Series([_at(row.values, j) for row in spec.rows], dtype=pl.String)
            for j, name in enumerate(spec.values)
        }
    )
    priorities = pl.Series([row.priority for row in spec.rows], dtype=pl.Int64)
    return keys, values, priorities


def _at(items: Sequence[str], index: int) -> str | None:
    return items[index] if index < len(items) else None


def _file_frames(
    dimension_id: str, spec: FileDimensionRows, rows: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    needed = [spec.key, *spec.values, *([spec.priority_column] if spec.priority_column else [])]
    missing = [name for name in dict.fromkeys(needed) if name not in rows.columns]
    if missing:
        raise DimensionRowsError(
            f"dimension '{dimension_id}': the rows have no column(s) "
            f"{', '.join(repr(m) for m in missing)}; found {', '.join(map(repr, rows.columns))}"
        )
    rows = rows.filter(pl.col(spec.key).is_not_null())
    keys = rows.select(
        pl.col(spec.key).cast(pl.String).alias("pattern"),
        pl.int_range(pl.len(), dtype=_RANK).alias("row"),
    )
    values = rows.select(pl.col(name).cast(pl.String) for name in spec.values)
    if spec.priority_column:
        priority = pl.col(spec.priority_column).cast(pl.Int64, strict=False).fill_null(0)
        priorities = rows.select(priority).to_series()
    else:
        priorities = pl.zeros(rows.height, pl.Int64, eager=True)
    return keys, values, priorities


# ---------------------------------------------------------------- per-run registry


class LookupCompiler:
    """Compiles `lookup_ref` and `dim_ref` targets on demand, each at most once (shared by
    every mapping of a run). File-backed dimensions are passed in already compiled."""

    def __init__(
        self,
        lookups: Sequence[LookupMapping],
        dimensions: Sequence[Dimension] = (),
        loaded: Mapping[str, Matcher] | None = None,
    ) -> None:
        self._lookups = lookups
        self._dimensions = {d.id: d for d in dimensions}
        self._cache: dict[str, Matcher] = {}
        self._dimension_cache: dict[str, Matcher] = dict(loaded or {})

    @property
    def lookups(self) -> Sequence[LookupMapping]:
        """The lookup forest references are resolved against."""
        return self._lookups

    def get(self, dotted_id: str) -> Matcher:
        """The matcher of a lookup node by dotted id; raises UnknownLookup if none exists."""
        cached = self._cache.get(dotted_id)
        if cached is not None:
            return cached
        node = resolve_lookup(self._lookups, dotted_id)
        if node is None:
            raise UnknownLookup(f"unknown lookup '{dotted_id}'")
        compiled = compile_lookup(node, dotted_id)
        self._cache[dotted_id] = compiled
        return compiled

    def dimension(self, dim_id: str) -> Matcher:
        """The matcher of a dimension; raises UnknownLookup if none exists (or a file-backed
        one was not loaded)."""
        cached = self._dimension_cache.get(dim_id)
        if cached is not None:
            return cached
        dimension = self._dimensions.get(dim_id)
        if dimension is None:
            raise UnknownLookup(f"unknown dimension '{dim_id}'")
        if isinstance(dimension.rows, FileDimensionRows):
            raise UnknownLookup(f"file-backed dimension '{dim_id}' was not loaded")
        compiled = compile_dimension(dimension)
        self._dimension_cache[dim_id] = compiled
        return compiled
