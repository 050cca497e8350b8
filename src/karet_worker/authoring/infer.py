"""Draft a `SourceContainer` from sample CSV files (SPEC §14), like DuckDB's `read_csv` sniffing:
encoding, delimiter, quote, preamble lines, header names, a type per column, null markers and
date/timestamp formats.

Every guess is checked by reading the samples with the engine's own CSV reader under the drafted
config: a column with a value that reader would turn into null is declared `string` instead, so
the draft always reads its samples without losing a value.

    infer_source([Sample("bank.csv", b"date;amount\\n2024-01-31;12.5\\n")], source_id="bank")
    -> Inference(source={"id": "bank", "name": "bank", "path_prefix": "raw/bank/",
                         "schema": [{"name": "date", "type": "date"},
                                    {"name": "amount", "type": "number"}],
                         "csv": {"delimiter": ";"}}, columns=[...], notes=[])
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from karet_worker.config.model import SOURCE_SUFFIXES, ColumnType, SourceContainer
from karet_worker.engine.read import BadInputFile, read_source_file
from karet_worker.storage.base import ObjectStore

SAMPLE_BYTES = 1024 * 1024  # per file: enough for thousands of rows, small enough to be quick
SAMPLE_RECORDS = 2000  # records per file whose values decide the types
DELIMITERS = (",", ";", "\t", "|")
# Text that stands for "no value" in exports (databases, R, pandas); only declared as
# `null_values` when it occurs in a column whose other values all have a non-string type.
NULL_MARKERS = ("NULL", "null", "NA", "N/A", "n/a", "\\N", "None", "nan", "NaN", "-")
# Non-ISO date layouts seen in bank and card exports; the first that reads every value wins,
# and a day/month order that both read (all days <= 12) is reported as ambiguous.
DATE_FORMATS = (
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d %b %Y",
    "%b %d %Y",
    "%d/%m/%y",
    "%m/%d/%y",
)
TIMESTAMP_FORMATS = tuple(
    f"{date} {time}" for date in DATE_FORMATS[:6] for time in ("%H:%M:%S", "%H:%M")
)
_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_ISO_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_INT = re.compile(r"^[+-]?(0|[1-9]\d{0,17})$")  # no leading zeros: "007" is an identifier
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_BOOL_WORDS = frozenset({"true", "false", "yes", "no", "t", "f", "y", "n"})
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


class NoSample(Exception):
    """Nothing usable to infer from; the message says why."""


@dataclass(frozen=True)
class Sample:
    """The first bytes of one file; `name` (a key or file name) tells a `.gz` file."""

    name: str
    data: bytes


@dataclass
class ColumnGuess:
    name: str
    type: ColumnType = "string"
    format: str | None = None  # a strftime format for dates/timestamps that are not ISO
    examples: list[str] = field(default_factory=list)  # up to 3 distinct sample values


@dataclass
class Inference:
    source: dict[str, Any]  # the SourceContainer JSON, ready to paste into pipeline.json
    columns: list[ColumnGuess]
    notes: list[str]  # what a person should know: ambiguous formats, mismatched files...

    def body(self) -> dict[str, Any]:
        """The `POST /sources/infer` answer; `infer --json` prints it too."""
        return {
            "source": self.source,
            "columns": [
                {"name": c.name, "type": c.type, "format": c.format, "examples": c.examples}
                for c in self.columns
            ],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class _Dialect:
    encoding: str
    delimiter: str
    quote: str
    skip_rows: int


def infer_source(
    samples: Sequence[Sample], *, source_id: str, path_prefix: str | None = None
) -> Inference:
    """A drafted SourceContainer for files like `samples` (the first one sets the dialect)."""
    notes: list[str] = []
    usable: list[tuple[Sample, str, str]] = []  # sample, its text, its encoding
    for sample in samples:
        try:
            usable.append((sample, *_decoded_head(sample)))
        except NoSample as exc:
            notes.append(f"{exc}; not used")
    if not usable:
        raise NoSample("; ".join(notes) or "no sample files to infer from")
    first, first_text, encoding = usable[0]
    dialect = _sniff(first_text, encoding)
    header, records = _records(first_text, dialect, truncated=_cut(first))
    if not header or not any(h.strip() for h in header):
        raise NoSample(f"{first.name}: no header row found")
    alike = [first]
    for sample, text, _ in usable[1:]:
        other, more = _records(text, dialect, truncated=_cut(sample))
        if other != header:
            notes.append(
                f"{sample.name}: its header differs from {first.name}'s "
                f"({', '.join(other)}); not used (a run skips a file that lacks a declared column)"
            )
            continue
        alike.append(sample)
        records.extend(more)
    names = [h.strip() for h in header]
    columns = [ColumnGuess(name) for name in names]
    null_values: set[str] = set()
    for index, column in enumerate(columns):
        values = [r[index].strip() for r in records if index < len(r) and r[index].strip()]
        column.examples = list(dict.fromkeys(values))[:3]
        markers = {v for v in values if v in NULL_MARKERS}
        kind, fmt, note = _type_of([v for v in values if v not in markers])
        if markers and kind != "string":
            null_values |= markers
        elif markers:  # a string column: "NA" may be a real value; keep it as text
            kind, fmt, note = _type_of(values)
        column.type, column.format = kind, fmt
        if note:
            notes.append(f"column '{column.name}': {note}")
        if not values:
            notes.append(f"column '{column.name}': empty in the sample, declared string")
    duplicates = [n for n, c in Counter(names).items() if c > 1]
    if duplicates:
        notes.append(f"duplicate header(s) {duplicates}: the first column of each name is read")
    first_of_name = {c.name: c for c in reversed(columns)}  # reversed: the first one wins
    columns = [c for c in columns if c.name and first_of_name[c.name] is c]
    sid = _SAFE_ID.sub("_", source_id).strip("_") or "source"
    source = _source_json(sid, path_prefix or f"raw/{sid}/", columns, dialect, null_values)
    _check_with_reader(source, alike, columns, notes)
    source = _source_json(sid, path_prefix or f"raw/{sid}/", columns, dialect, null_values)
    for column in columns:
        if column.format is not None:
            notes.append(_format_note(column))
    return Inference(source=source, columns=columns, notes=notes)


def store_samples(store: ObjectStore, prefix: str, *, files: int = 3) -> list[Sample]:
    """The heads of the first `files` non-empty CSV objects under `prefix` (ranged reads)."""
    suffixes = SOURCE_SUFFIXES["csv"]
    found = [o for o in store.list(prefix) if o.key.lower().endswith(suffixes) and o.size]
    return [
        Sample(o.key, store.get_range(o.key, 0, min(o.size, SAMPLE_BYTES))) for o in found[:files]
    ]


def _cut(sample: Sample) -> bool:
    """Whether the sample is only the head of its file (its last line may be cut)."""
    return len(_plain_bytes(sample)) >= SAMPLE_BYTES


def _plain_bytes(sample: Sample) -> bytes:
    """The sample's bytes, gunzipped as far as the (possibly cut) compressed head allows."""
    data = sample.data[:SAMPLE_BYTES]
    if not sample.name.lower().endswith(".gz"):
        return data
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        return inflater.decompress(data, SAMPLE_BYTES)
    except zlib.error as exc:
        raise NoSample(f"{sample.name}: not a readable gzip file ({exc})") from None


def _decoded_head(sample: Sample) -> tuple[str, str]:
    """The sample as text and the engine encoding name that reads it: UTF-8 when it decodes
    (a multi-byte character cut at the end of the head is fine), else cp1252 when it uses
    that code page's 0x80-0x9F characters, else latin1 (which decodes any byte)."""
    data = _plain_bytes(sample)
    if b"\x00" in data:
        raise NoSample(f"{sample.name}: binary content (NUL bytes), not a CSV text file")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False), "utf8"
    except UnicodeDecodeError:
        pass
    if any(0x80 <= b <= 0x9F for b in data):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return data.decode("latin1"), "latin1"


def _sniff(text: str, encoding: str) -> _Dialect:
    """The delimiter that splits most records into the same number (> 1) of fields; the
    records before the first such one are a preamble (`skip_rows`)."""
    lines = text.splitlines()[:200]
    best: tuple[int, int, str] = (0, 0, ",")
    for delimiter in DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=delimiter)]
        widths = Counter(c for c in counts if c > 1)
        if not widths:
            continue
        width, hits = widths.most_common(1)[0]
        best = max(best, (hits, width, delimiter))
    hits, width, delimiter = best
    skip = 0
    if hits:
        counts = [len(r) for r in csv.reader(lines, delimiter=delimiter)]
        skip = next((i for i, c in enumerate(counts) if c == width), 0)
    quote = (
        "'"
        if _quoted_fields(lines, delimiter, "'") > _quoted_fields(lines, delimiter, '"')
        else '"'
    )
    return _Dialect(encoding, delimiter, quote, skip)


def _quoted_fields(lines: list[str], delimiter: str, quote: str) -> int:
    """How many whole fields are wrapped in `quote` (`;'a b';` counts, `;'a' b;` does not)."""
    d, q = re.escape(delimiter), re.escape(quote)
    wrapped = re.compile(f"(?:^|{d}){q}[^{q}]*{q}(?={d}|$)")
    return sum(len(wrapped.findall(line)) for line in lines)


def _records(text: str, dialect: _Dialect, *, truncated: bool) -> tuple[list[str], list[list[str]]]:
    """Header and up to SAMPLE_RECORDS records; the last line of a cut head is dropped."""
    lines = text.splitlines(keepends=True)
    if truncated and len(lines) > 1:
        lines = lines[:-1]
    body = io.StringIO("".join(lines[dialect.skip_rows :]), newline="")
    reader = csv.reader(body, delimiter=dialect.delimiter, quotechar=dialect.quote)
    try:
        header = next(reader, [])
        records = [row for _, row in zip(range(SAMPLE_RECORDS), reader, strict=False) if row]
    except csv.Error as exc:
        raise NoSample(f"the sample is not readable as CSV ({exc})") from None
    return header, records


def _type_of(values: list[str]) -> tuple[ColumnType, str | None, str | None]:
    """The narrowest type every value reads as, a strftime format for non-ISO dates, and a
    note. `_type_of(["1", "2"])` -> ("int64", None, None)."""
    if not values:
        return "string", None, None
    lowered = {v.lower() for v in values}
    if lowered <= _BOOL_WORDS:
        return "bool", None, None
    if any(_LEADING_ZERO.match(v) for v in values):  # "007", "0123": codes, not numbers
        pass
    elif all(_INT.match(v) for v in values):
        return "int64", None, None
    elif all(_is_float(v) for v in values):
        return "number", None, None
    if all(_ISO_DATE.match(v) for v in values):
        return "date", None, None
    if all(_ISO_TIMESTAMP.match(v) for v in values):
        return "timestamp", None, None
    for formats, what in ((DATE_FORMATS, "dates"), (TIMESTAMP_FORMATS, "timestamps")):
        fitting = [f for f in formats if all(_parses(v, f) for v in values)]
        if fitting:
            note = None
            if len(fitting) > 1:
                note = (
                    f"{what} fit both {fitting[0]!r} and {fitting[1]!r} (every day <= 12 in the "
                    f"sample); {fitting[0]!r} assumed"
                )
            return "string", fitting[0], note
    return "string", None, None


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.lower().lstrip("+-") not in ("inf", "infinity", "nan")


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _format_note(column: ColumnGuess) -> str:
    parse = (
        f'{{"kind": "parse_date", "input": {{"kind": "col", "name": "{column.name}"}}, '
        f'"format": "{column.format}"}}'
    )
    if "%H" in (column.format or ""):
        return (
            f"column '{column.name}': declared string: values like {column.examples[0]!r} are "
            f"{column.format} timestamps; {parse} reads their date part"
        )
    return (
        f"column '{column.name}': declared string: values like {column.examples[0]!r} are "
        f"{column.format} dates; a mapping reads them with {parse}"
    )


def _source_json(
    source_id: str,
    path_prefix: str,
    columns: list[ColumnGuess],
    dialect: _Dialect,
    null_values: set[str],
) -> dict[str, Any]:
    options: dict[str, Any] = {"delimiter": dialect.delimiter}
    if dialect.quote != '"':
        options["quote"] = dialect.quote
    if dialect.skip_rows:
        options["skip_rows"] = dialect.skip_rows
    if null_values:
        options["null_values"] = sorted(null_values)
    if dialect.encoding != "utf8":
        options["encoding"] = dialect.encoding
    return {
        "id": source_id,
        "name": source_id,
        "path_prefix": path_prefix,
        "schema": [{"name": c.name, "type": c.type} for c in columns],
        "csv": options,
    }


def _check_with_reader(
    source: dict[str, Any], samples: Sequence[Sample], columns: list[ColumnGuess], notes: list[str]
) -> None:
    """Read every sample with the engine's reader under the draft; a column with values that
    reader turns into null becomes `string` (so the draft never loses a sample value)."""
    for sample in samples:
        data = _plain_bytes(sample)
        if len(data) >= SAMPLE_BYTES:  # a cut head: keep whole records only
            data = data[: data.rfind(b"\n") + 1]
        config = SourceContainer.model_validate(source)
        with tempfile.TemporaryDirectory(prefix="karet-infer-") as tmp:
            path = Path(tmp) / "sample.csv"
            path.write_bytes(data)
            try:
                unparsed: Counter[str] = Counter()
                for chunk in read_source_file(path, "sample.csv", config):
                    unparsed.update(chunk.unparsed)
            except (BadInputFile, pl.exceptions.PolarsError) as exc:
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                notes.append(f"{sample.name}: the engine cannot read it with this draft: {reason}")
                continue
        for column in columns:
            if unparsed.get(column.name):
                notes.append(
                    f"column '{column.name}': {unparsed[column.name]} value(s) do not read as "
                    f"{column.type}; declared string"
                )
                column.type, column.format = "string", None
                source["schema"] = [{"name": c.name, "type": c.type} for c in columns]
