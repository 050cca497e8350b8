"""Preview (SPEC §14): the first output rows of each mapping, evaluated by the run's own code
(`Runner.preview`) on the store's first input files or on inline sample text; nothing is
written. The graph editor's live preview, and `karet-worker preview`.

    preview_config(store, stored, prefix="pipelines/demo/", inline={}, limit=3)
    -> Preview(mappings=[MappingPreview(mapping_id="bank", table_id="transactions",
                                        rows=[{"date": "2024-01-01", ...}, ...], ...)])
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from karet_worker.config.model import SOURCE_SUFFIXES, PipelineConfig, SourceContainer
from karet_worker.engine.limits import Limits
from karet_worker.engine.result import RunIssue, describe
from karet_worker.engine.run import MappingSample, Runner, StoredConfig
from karet_worker.layout import PipelineKeys
from karet_worker.storage.base import ObjectInfo, ObjectNotFound, ObjectStore

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
# Rows a preview reads from one source at most: a `where` that keeps nothing must not make
# the live preview read a whole bucket. 100,000 rows take well under a second to evaluate.
MAX_ROWS_READ = 100_000
# Input bytes parsed at a time: small, so a preview of a big file answers after one chunk.
PREVIEW_CHUNK_BYTES = 1024 * 1024
# Stands in for the pipeline prefix when every source of the preview is inline text.
INLINE_PREFIX = "preview/"


class PreviewRequestError(Exception):
    """The request names something the config does not have (API: 400)."""


@dataclass(frozen=True)
class MappingPreview:
    mapping_id: str
    table_id: str
    schema: list[dict[str, str]]
    rows: list[dict[str, Any]]
    rows_read: int
    rows_filtered: int
    rows_deduped: int
    partitions: list[str]
    errors: list[str]
    warnings: list[str]


@dataclass(frozen=True)
class Preview:
    mappings: list[MappingPreview]
    # What no previewed mapping owns: a dimension that did not load and the mappings it
    # stopped (errors); unknown fields, tables no mapping writes (warnings).
    errors: list[str]
    warnings: list[str]

    def body(self) -> dict[str, Any]:
        """The `POST /config/preview` answer; `preview --json` prints it too."""
        return {
            "mappings": [dataclasses.asdict(m) for m in self.mappings],
            "errors": self.errors,
            "warnings": self.warnings,
        }


def preview_config(
    store: ObjectStore | None,
    stored: StoredConfig,
    *,
    prefix: str | None,
    inline: Mapping[str, str | bytes],
    mapping_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Preview:
    """Evaluate `stored.config` on the inputs under `prefix` in `store` (sources named in
    `inline` read that text instead); every mapping, or only `mapping_id`."""
    config = stored.config
    _check_request(config, inline, mapping_id, limit)
    base = prefix or INLINE_PREFIX
    inputs = InlineInputs(store if prefix else None, base, config.source_containers, inline)
    limits = dataclasses.replace(Limits.for_machine(), chunk_bytes=PREVIEW_CHUNK_BYTES)
    result, samples = Runner(inputs, limits=limits).preview(
        stored, base, limit=limit, max_rows_read=MAX_ROWS_READ, mapping_id=mapping_id
    )
    mappings = [
        _mapping_preview(sample, base, result.errors, result.warnings) for sample in samples
    ]

    def general(issues: Sequence[RunIssue]) -> list[str]:
        return [describe(i) for i in issues if not any(_concerns(i, s, base) for s in samples)]

    return Preview(mappings, general(result.errors), general(result.warnings))


def _check_request(
    config: PipelineConfig, inline: Mapping[str, object], mapping_id: str | None, limit: int
) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise PreviewRequestError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    mappings = [m.id for m in config.mappings]
    if mapping_id is not None and mapping_id not in mappings:
        raise PreviewRequestError(
            f"no mapping {mapping_id!r} in the config (mappings: {', '.join(mappings)})"
        )
    sources = [s.id for s in config.source_containers]
    unknown = [s for s in inline if s not in sources]
    if unknown:
        raise PreviewRequestError(
            f"inline text for unknown source(s) {', '.join(map(repr, unknown))} "
            f"(sources: {', '.join(sources)})"
        )


def _mapping_preview(
    sample: MappingSample, prefix: str, errors: Sequence[RunIssue], warnings: Sequence[RunIssue]
) -> MappingPreview:
    plan = sample.plan

    def mine(issue: RunIssue) -> bool:
        return _concerns(issue, sample, prefix)

    assertion_errors = [
        f"assertion failed on the rows previewed: {v}; a run would write nothing for this mapping"
        for v in sample.violations
    ]
    return MappingPreview(
        mapping_id=plan.mapping.id,
        table_id=plan.table.id,
        schema=[{"name": c.name, "type": c.type} for c in plan.table.columns],
        rows=[
            {k: jsonable(v) for k, v in row.items()} for row in sample.rows.iter_rows(named=True)
        ],
        rows_read=sample.rows_read,
        rows_filtered=sample.rows_filtered,
        rows_deduped=sample.rows_deduped,
        partitions=sample.partitions,
        errors=[describe(i) for i in errors if mine(i)] + assertion_errors,
        warnings=[describe(i) for i in warnings if mine(i)],
    )


def _concerns(issue: RunIssue, sample: MappingSample, prefix: str) -> bool:
    """Whether a run issue is about this mapping: its own, its source's, or a file of it."""
    plan = sample.plan
    if issue.mapping is not None:
        return issue.mapping == plan.mapping.id
    if issue.source is not None:
        return issue.source == plan.source.id
    folder = PipelineKeys(prefix).inputs(plan.source.path_prefix)
    return issue.file is not None and issue.file.startswith(folder)


def jsonable(value: object) -> object:
    """A cell as JSON: dates and timestamps in ISO 8601, decimals as exact text, non-finite
    floats as text (JSON has no NaN): `jsonable(dt.date(2024, 1, 31))` -> "2024-01-31"."""
    match value:
        case None | bool() | int() | str():
            return value
        case float():
            return value if math.isfinite(value) else str(value)
        case dt.datetime():
            return value.isoformat().replace("+00:00", "Z")
        case dt.date():
            return value.isoformat()
        case decimal.Decimal():
            return str(value)
        case _:
            return str(value)


class PreviewWritesNothing(Exception):
    """A preview tried to write: a bug, never a user error."""


class InlineInputs:
    """The store a preview reads: the sources given inline read their text (as one object
    under their folder); the others read `base` (None: they have no input). Writing raises,
    so a preview cannot change the store whatever the engine does."""

    def __init__(
        self,
        base: ObjectStore | None,
        prefix: str,
        sources: Sequence[SourceContainer],
        inline: Mapping[str, str | bytes],
    ) -> None:
        self._base = base
        self._objects: dict[str, bytes] = {}
        self._hidden: list[str] = []
        for source in sources:
            if source.id in inline:
                text = inline[source.id]
                folder = PipelineKeys(prefix).inputs(source.path_prefix)
                key = f"{folder}inline{SOURCE_SUFFIXES[source.format][0]}"
                self._objects[key] = text.encode() if isinstance(text, str) else text
                self._hidden.append(folder)

    def list(self, prefix: str) -> list[ObjectInfo]:
        found = [ObjectInfo(k, len(v)) for k, v in self._objects.items() if k.startswith(prefix)]
        if self._base is not None:
            found += [
                o
                for o in self._base.list(prefix)
                if not any(o.key.startswith(h) for h in self._hidden)
            ]
        return sorted(found, key=lambda o: o.key)

    def get(self, key: str) -> bytes:
        if key in self._objects:
            return self._objects[key]
        if self._base is None:
            raise ObjectNotFound(key)
        return self._base.get(key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        if key in self._objects:
            return self._objects[key][start:end]
        if self._base is None:
            raise ObjectNotFound(key)
        return self._base.get_range(key, start, end)

    def get_to_file(self, key: str, path: Path) -> None:
        if key in self._objects:
            path.write_bytes(self._objects[key])
        elif self._base is None:
            raise ObjectNotFound(key)
        else:
            self._base.get_to_file(key, path)

    def local_path(self, key: str) -> Path | None:
        if key in self._objects or self._base is None:
            return None
        return self._base.local_path(key)

    def put(self, key: str, data: bytes) -> None:
        raise PreviewWritesNothing(key)

    def put_file(self, key: str, path: Path) -> None:
        raise PreviewWritesNothing(key)

    def delete_many(self, keys: Sequence[str]) -> None:
        raise PreviewWritesNothing(", ".join(keys))
