"""Every object key the worker reads or writes, built in this one module (SPEC §2, §12, §15).

    config         <prefix>pipeline.json
    inputs         <prefix><source.path_prefix>...
    table dir      <prefix>clean/<table_id>/
    output         <prefix>clean/<table_id>/[<k1>=<v1>/...]<mapping_id>.parquet
    job record     <prefix>_jobs/<job_id>.json
    reference rows <dimension.path_prefix>...   (from the bucket root; read only)

Keys are assembled only from validated pieces: ids used as path components (tables, mappings,
sources, jobs) match `[A-Za-z0-9._-]+` and are not `.`/`..`; partition values are
percent-encoded. Every builder re-checks what it produced and raises `UnsafeKey` rather than
return a key outside its pipeline's folder, so a validation gap cannot turn into a write in
the wrong place.

>>> keys = PipelineKeys("pipelines/shop/")
>>> keys.output("sales", partition_path(["region"], ["Zürich"]), "orders")
'pipelines/shop/clean/sales/region=Z%C3%BCrich/orders.parquet'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
"""The segment value DuckDB, Polars and Spark read back as NULL."""

CONFIG_NAME = "pipeline.json"
CLEAN_DIR = "clean/"
JOBS_DIR = "_jobs/"

# The longest key S3 accepts (1024 bytes of UTF-8); applied to the local store too so both
# stores take the same tables.
MAX_KEY_BYTES = 1024
# NAME_MAX of ext4/xfs/APFS: a longer path segment cannot be created on the local store.
MAX_SEGMENT_BYTES = 255
# The longest pipeline prefix a request may name (SPEC §7).
MAX_PREFIX_BYTES = 512
# Ids name folders and files (`<mapping_id>.parquet`): 128 bytes leave room for the suffix
# under MAX_SEGMENT_BYTES and keep keys readable.
MAX_ID_BYTES = 128

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
# An encoded partition value: safe characters and %XX escapes only (may be empty).
_ENCODED_VALUE = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-F]{2})*")


class UnsafeKey(ValueError):
    """A key could not be built safely (a piece that would escape its folder, or too long)."""


def segment_problem(text: str) -> str | None:
    """Why `text` cannot be one path segment (an id used as a folder or file name), else None.

    >>> segment_problem("orders_2024") is None
    True
    >>> segment_problem("../x")
    "may only contain letters, digits and '.', '_', '-' (found '/')"
    """
    if text in ("", ".", ".."):
        return "must not be empty, '.' or '..'"
    if not _SEGMENT.fullmatch(text):
        bad = next(c for c in text if c not in _SAFE)
        return f"may only contain letters, digits and '.', '_', '-' (found {bad!r})"
    if len(text) > MAX_SEGMENT_BYTES:  # ASCII only here: chars = bytes
        return f"must be at most {MAX_SEGMENT_BYTES} bytes long"
    return None


def id_problem(text: str) -> str | None:
    """Why `text` cannot be an id used in keys (table, mapping, source, job), else None.

    >>> id_problem("a b")
    "may only contain letters, digits and '.', '_', '-' (found ' ')"
    """
    problem = segment_problem(text)
    if problem is None and len(text) > MAX_ID_BYTES:  # ASCII only here: chars = bytes
        return f"must be at most {MAX_ID_BYTES} bytes long"
    return problem


def pipeline_prefix_problems(prefix: str) -> list[str]:
    """Every reason `prefix` is not a usable pipeline prefix (SPEC §7), empty when it is fine.

    >>> pipeline_prefix_problems("pipelines/shop/")
    []
    """
    problems: list[str] = []
    if _utf8_len(prefix) > MAX_PREFIX_BYTES:
        problems.append(f"pipeline_prefix is longer than {MAX_PREFIX_BYTES} bytes")
    if not prefix.endswith("/"):
        problems.append("pipeline_prefix must end with '/'")
    if prefix.startswith("/"):
        problems.append("pipeline_prefix must be relative (no leading '/')")
    for segment in prefix.removeprefix("/").removesuffix("/").split("/"):
        if segment in ("", ".", ".."):
            problems.append(f"pipeline_prefix has an empty, '.' or '..' segment: {prefix!r}")
            break
        if not _SEGMENT.fullmatch(segment):
            problems.append(
                f"pipeline_prefix segment {segment!r} may only contain letters, digits "
                "and '.', '_', '-'"
            )
            break
        if len(segment) > MAX_SEGMENT_BYTES:
            problems.append(
                f"pipeline_prefix has a segment longer than {MAX_SEGMENT_BYTES} bytes "
                "(a folder name)"
            )
            break
    return problems


# The same rule as a JSON Schema pattern, published in the OpenAPI document: one or more
# segments of the safe characters, each followed by '/', none of them '.' or '..' (spelled
# without look-ahead, which not every JSON Schema tool supports).
_PATTERN_SEGMENT = r"(?:[A-Za-z0-9_-]|\.[A-Za-z0-9_-]|\.\.[A-Za-z0-9._-])[A-Za-z0-9._-]{0,252}"
PIPELINE_PREFIX_PATTERN = rf"^(?:{_PATTERN_SEGMENT}/)+$"
SEGMENT_PATTERN = rf"^{_PATTERN_SEGMENT}$"  # one segment, e.g. a pipeline slug


def source_path_problem(path_prefix: str) -> str | None:
    """Why a source's `path_prefix` (relative to the pipeline prefix) is unusable, else None.

    Any printable text is allowed in a segment (folders of raw files are named by people);
    control characters, empty/`.`/`..` segments and the worker's own `_jobs/` folder are not.

    >>> source_path_problem("raw/2024 sales/") is None
    True
    """
    if not path_prefix:
        return "must not be empty"
    if path_prefix.startswith("/"):
        return "must be relative (no leading '/')"
    if not path_prefix.endswith("/"):
        return "must end with '/'"
    control = next((c for c in path_prefix if _is_control(c)), None)
    if control is not None:
        return f"must not contain control characters (found {control!r})"
    segments = path_prefix[:-1].split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return "must not contain empty, '.' or '..' segments"
    if any(_utf8_len(segment) > MAX_SEGMENT_BYTES for segment in segments):
        return f"has a segment longer than {MAX_SEGMENT_BYTES} bytes"
    if path_prefix.startswith(JOBS_DIR):
        return f"must not be under {JOBS_DIR}, where the worker keeps its job records"
    return None


def reference_prefix(path_prefix: str) -> str:
    """The key prefix listed for a file-backed dimension's reference rows: its `path_prefix`
    from the bucket root (SPEC §13: "a key prefix in the bucket"; reference tables such as a
    country list are shared by pipelines), checked like a source's.

    >>> reference_prefix("reference/geo/")
    'reference/geo/'
    """
    problem = source_path_problem(path_prefix)
    if problem is not None:
        raise UnsafeKey(f"dimension path_prefix {path_prefix!r} {problem}")
    return path_prefix


def _utf8_len(text: str) -> int:
    """Bytes of `text` in UTF-8; lone surrogates (legal in JSON escapes) count as 3."""
    return len(text.encode("utf-8", "surrogatepass"))


def _is_control(char: str) -> bool:
    """C0, DEL and C1 controls: never part of a name a person typed; unsafe in logs."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0


# ---------------------------------------------------------------- partition segments


def encode_value(value: object, *, zero_pad: int = 0) -> str:
    """A partition value as the text after `<key>=` (SPEC §3).

    Ints unpadded (or zero-padded for `partition_by`), booleans true/false, dates ISO,
    strings percent-encoded outside `[A-Za-z0-9._-]`; null is `HIVE_NULL`. The empty string is
    the empty segment value (DuckDB and Polars read `k=` back as ''), and a string that is
    literally `__HIVE_DEFAULT_PARTITION__` has its first character escaped so it stays apart
    from the null partition (DuckDB reads it back verbatim).

    >>> encode_value("a/b"), encode_value(None), encode_value(7, zero_pad=2)
    ('a%2Fb', '__HIVE_DEFAULT_PARTITION__', '07')
    >>> encode_value("__HIVE_DEFAULT_PARTITION__")
    '%5F_HIVE_DEFAULT_PARTITION__'
    """
    if value is None:
        return HIVE_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value).zfill(zero_pad) if zero_pad else str(value)
    if isinstance(value, dt.date):  # also datetimes, whose ':' the escaping below covers
        value = value.isoformat()
    text = _percent_encode(str(value))
    if text == HIVE_NULL:
        return "%5F" + text[1:]
    return text


def _percent_encode(text: str) -> str:
    return "".join(
        c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in text
    )


def partition_path(
    names: Sequence[str], values: Sequence[object], zero_pads: Sequence[int] | None = None
) -> str:
    """`k1=v1/k2=v2` for one row's partition values, in key order ('' when unpartitioned).

    >>> partition_path(["year", "month"], [2024, 3], [4, 2])
    'year=2024/month=03'
    """
    pads = zero_pads if zero_pads is not None else [0] * len(names)
    segments: list[str] = []
    for name, value, pad in zip(names, values, pads, strict=True):
        problem = segment_problem(name)
        if problem is not None or "=" in name:
            raise UnsafeKey(f"partition key {name!r} cannot name a folder: {problem}")
        segment = f"{name}={encode_value(value, zero_pad=pad)}"
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise UnsafeKey(
                f"the value of partition key {name!r} is too long for a folder name: "
                f"{len(segment.encode())} bytes encoded, at most {MAX_SEGMENT_BYTES}"
            )
        segments.append(segment)
    return "/".join(segments)


def is_null_segment(segment: str) -> bool:
    """True for `<key>=__HIVE_DEFAULT_PARTITION__` (the null partition of that key)."""
    return segment.partition("=")[2] == HIVE_NULL


# ---------------------------------------------------------------- keys of one pipeline


@dataclass(frozen=True)
class PipelineKeys:
    """The keys of the pipeline at `prefix` (which must obey SPEC §7)."""

    prefix: str

    def __post_init__(self) -> None:
        problems = pipeline_prefix_problems(self.prefix)
        if problems:
            raise UnsafeKey("; ".join(problems))

    @property
    def config(self) -> str:
        """`<prefix>pipeline.json`"""
        return self.prefix + CONFIG_NAME

    def inputs(self, path_prefix: str) -> str:
        """The prefix listed for a source's raw inputs: `<prefix><path_prefix>`."""
        problem = source_path_problem(path_prefix)
        if problem is not None:
            raise UnsafeKey(f"source path_prefix {path_prefix!r} {problem}")
        return self.prefix + path_prefix

    def table(self, table_id: str) -> str:
        """The folder holding every object of a table: `<prefix>clean/<table_id>/`."""
        _require_segment("table id", table_id)
        return f"{self.prefix}{CLEAN_DIR}{table_id}/"

    def output(self, table_id: str, partition: str, mapping_id: str) -> str:
        """The Parquet object one mapping writes into one partition of a table.

        `partition` comes from `partition_path` ('' for an unpartitioned table); it is checked
        again here, segment by segment, so no value can add or climb out of a folder.
        """
        _require_segment("mapping id", mapping_id)
        folder = self.table(table_id)
        if partition:
            for segment in partition.split("/"):
                name, equals, value = segment.partition("=")
                if (
                    not equals
                    or segment_problem(name) is not None
                    or not _ENCODED_VALUE.fullmatch(value)
                ):
                    raise UnsafeKey(f"not an encoded partition segment: {segment!r}")
            folder += partition + "/"
        key = f"{folder}{mapping_id}.parquet"
        if len(key.encode()) > MAX_KEY_BYTES:
            raise UnsafeKey(
                f"the output key of mapping {mapping_id!r} in table {table_id!r} is "
                f"{len(key.encode())} bytes long; object keys hold at most {MAX_KEY_BYTES} "
                f"(shorten the pipeline prefix, the ids or the partition values)"
            )
        return key

    @property
    def jobs(self) -> str:
        """The folder of finished jobs' records: `<prefix>_jobs/` (never read as input)."""
        return self.prefix + JOBS_DIR

    def job_record(self, job_id: str) -> str:
        """`<prefix>_jobs/<job_id>.json`"""
        _require_segment("job id", job_id)
        return f"{self.jobs}{job_id}.json"


def _require_segment(what: str, text: str) -> None:
    problem = id_problem(text)
    if problem is not None:
        raise UnsafeKey(f"{what} {text!r} {problem}")
