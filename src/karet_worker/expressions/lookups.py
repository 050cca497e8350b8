"""Lookup tables (SPEC §3) compiled into one vectorised Polars expression per reference.

The referenced node's tree is flattened into a single ranking: children first (depth-first, in
order), then the node's own rows by priority (desc) and definition order. "First child subtree
that matches wins, else the best own row" is then just "the matching row of lowest rank", so
each input is scanned once per (match mode, case) group — one Aho-Corasick pass for keywords
(`str.extract_many`), one hash lookup for exact values — whatever the number of rows.

Documented choices: an empty keyword pattern is ignored (it would match everything, and Polars
2.1's `extract_many` panics on it for non-ASCII input); in exact mode an empty pattern matches
the empty string. Case-insensitive nodes compare Unicode
lower-cased text, with final sigma (U+03C2) folded to U+03C3 for keywords so a pattern's
sigma matches wherever it sits in the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from karet_worker.config.lookup_tree import resolve_lookup
from karet_worker.config.model import LookupMapping

_RANK = pl.UInt32
_FINAL_SIGMA = "\u03c2"
_SIGMA = "\u03c3"
_SIGMAS = (_FINAL_SIGMA, _SIGMA)


class UnknownLookup(Exception):
    """A `lookup_ref` names no lookup node (validation should have caught it)."""


@dataclass(frozen=True)
class _Group:
    """All patterns of one (match mode, case) combination, each with its best rank."""

    exact: bool
    case_insensitive: bool
    fold_sigma: bool
    patterns: pl.Series
    ranks: pl.Series

    def rank_of(self, text: pl.Expr, miss: int) -> pl.Expr:
        """The best (lowest) rank of a matching row per value: `miss` when no row matches,
        null for null input. Encoding both in one column keeps `text` referenced once."""
        normalized = text
        if self.case_insensitive:
            normalized = normalized.str.to_lowercase()
        if self.fold_sigma:
            normalized = normalized.str.replace_all(_FINAL_SIGMA, _SIGMA, literal=True)
        if self.exact:
            # A null key maps null to null; every other unknown value is a miss.
            keys = pl.concat([self.patterns, pl.Series([None], dtype=pl.String)])
            ranks = pl.concat([self.ranks, pl.Series([None], dtype=_RANK)])
            return normalized.replace_strict(keys, ranks, default=miss, return_dtype=_RANK)
        # Overlapping mode reports every pattern occurrence, including patterns that are
        # prefixes/suffixes of others, so no matching row can be shadowed. A null input
        # gives a null list (→ null); an input without matches an empty one (→ miss).
        found = normalized.str.extract_many(self.patterns.to_list(), overlapping=True)
        best = (
            pl.element()
            .replace_strict(self.patterns, self.ranks, default=None, return_dtype=_RANK)
            .min()
            .fill_null(miss)
        )
        return found.list.eval(best).list.first()


@dataclass(frozen=True)
class CompiledLookup:
    """A lookup node ready to apply to any String expression (built once, reused)."""

    lookup_id: str
    groups: tuple[_Group, ...]
    outputs: pl.Series
    catch_all: str | None

    def apply(self, text: pl.Expr) -> pl.Expr:
        """Output per input value: null for null input, catch_all (if any) on a miss."""
        if not self.groups:
            return pl.when(text.is_not_null()).then(pl.lit(self.catch_all, dtype=pl.String))
        miss = len(self.outputs)
        ranks = [group.rank_of(text, miss) for group in self.groups]
        rank = ranks[0] if len(ranks) == 1 else pl.min_horizontal(ranks)
        positions = pl.Series("rank", range(miss + 1), dtype=_RANK)
        outputs = pl.concat([self.outputs, pl.Series([self.catch_all], dtype=pl.String)])
        return rank.replace_strict(positions, outputs, default=None, return_dtype=pl.String)


@dataclass
class _GroupBuilder:
    best_rank: dict[str, int] = field(default_factory=dict)

    def add(self, pattern: str, rank: int) -> None:
        if pattern not in self.best_rank:  # ranks arrive in increasing order: first is best
            self.best_rank[pattern] = rank


def _ranked_rows(node: LookupMapping) -> list[tuple[LookupMapping, int]]:
    """(owning node, row index) in global rank order: subtrees first, then own rows."""
    ranked: list[tuple[LookupMapping, int]] = []
    for child in node.children:
        ranked.extend(_ranked_rows(child))
    order = sorted(range(len(node.rows)), key=lambda i: (-node.rows[i].priority, i))
    ranked.extend((node, i) for i in order)
    return ranked


def _lowercase(patterns: list[str]) -> list[str]:
    """Lower-case with Polars itself so patterns and inputs use the same Unicode mapping."""
    lowered: list[str] = pl.Series(patterns, dtype=pl.String).str.to_lowercase().to_list()
    return lowered


def compile_lookup(node: LookupMapping, lookup_id: str | None = None) -> CompiledLookup:
    """Build the matcher of one referenced node (its children included, their catch_all not)."""
    ranked = _ranked_rows(node)
    builders: dict[tuple[bool, bool], _GroupBuilder] = {}
    outputs: list[str] = []
    for rank, (owner, row_index) in enumerate(ranked):
        row = owner.rows[row_index]
        outputs.append(row.output)
        exact = owner.match == "exact"
        key = (exact, owner.case_insensitive)
        patterns = _lowercase(row.input_patterns) if owner.case_insensitive else row.input_patterns
        builder = builders.setdefault(key, _GroupBuilder())
        for pattern in patterns:
            if pattern or exact:
                builder.add(pattern, rank)
    groups = tuple(
        _make_group(exact, case_insensitive, builder.best_rank)
        for (exact, case_insensitive), builder in builders.items()
        if builder.best_rank
    )
    return CompiledLookup(
        lookup_id=lookup_id if lookup_id is not None else node.id,
        groups=groups,
        outputs=pl.Series("output", outputs, dtype=pl.String),
        catch_all=node.catch_all.output if node.catch_all is not None else None,
    )


def _make_group(exact: bool, case_insensitive: bool, best_rank: dict[str, int]) -> _Group:
    fold_sigma = case_insensitive and not exact and any(s in p for p in best_rank for s in _SIGMAS)
    if fold_sigma:
        folded: dict[str, int] = {}
        for pattern, rank in best_rank.items():
            key = pattern.replace(_FINAL_SIGMA, _SIGMA)
            folded[key] = min(rank, folded.get(key, rank))
        best_rank = folded
    return _Group(
        exact=exact,
        case_insensitive=case_insensitive,
        fold_sigma=fold_sigma,
        patterns=pl.Series("pattern", list(best_rank), dtype=pl.String),
        ranks=pl.Series("rank", list(best_rank.values()), dtype=_RANK),
    )


class LookupCompiler:
    """Compiles lookup references on demand, each dotted id at most once (shared cache)."""

    def __init__(self, lookups: Sequence[LookupMapping]) -> None:
        self._lookups = lookups
        self._cache: dict[str, CompiledLookup] = {}

    @property
    def lookups(self) -> Sequence[LookupMapping]:
        """The lookup forest references are resolved against."""
        return self._lookups

    def get(self, dotted_id: str) -> CompiledLookup:
        """The compiled node for a dotted id; raises UnknownLookup if none exists."""
        cached = self._cache.get(dotted_id)
        if cached is not None:
            return cached
        node = resolve_lookup(self._lookups, dotted_id)
        if node is None:
            raise UnknownLookup(f"unknown lookup '{dotted_id}'")
        compiled = compile_lookup(node, dotted_id)
        self._cache[dotted_id] = compiled
        return compiled
