"""Pydantic models of `pipeline.json` (SPEC §3, §4, §13): the single source of truth for its shape.

Shape problems are reported by Pydantic; cross-reference rules live in `rules.py`.
Models allow unknown fields so validation can report them as warnings instead of rejecting.

The expression kinds exist once, as the members of `Expr`; the compiler, the static type
checker, the walkers and the docs check all derive from that union.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypeAliasType

from karet_worker.config.column_types import (
    CAST_TARGET_PATTERN,
    COLUMN_TYPE_PATTERN,
    InvalidColumnType,
    parse_cast_target,
    parse_column_type,
)


def _column_type(text: str) -> str:
    try:
        parse_column_type(text)
    except InvalidColumnType as exc:
        raise PydanticCustomError("column_type", str(exc)) from None
    return text


def _cast_target(text: str) -> str:
    try:
        parse_cast_target(text)
    except InvalidColumnType as exc:
        raise PydanticCustomError("column_type", str(exc)) from None
    return text


ColumnType = Annotated[
    str,
    AfterValidator(_column_type),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": COLUMN_TYPE_PATTERN,
            "description": (
                "`string`, `number` (= `float64`), `int64`, `float64`, `bool`, `date` (ISO "
                "YYYY-MM-DD), `timestamp` (UTC, microseconds; ISO 8601 with or without offset) "
                "or `decimal(p,s)` (precision 1-38, scale 0-p)."
            ),
            "examples": ["string", "int64", "date", "timestamp", "decimal(12,2)"],
        }
    ),
]
CastTarget = Annotated[
    str,
    AfterValidator(_cast_target),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": CAST_TARGET_PATTERN,
            "description": "Any column type but `number` (write `float64`).",
            "examples": ["int64", "timestamp", "decimal(12,2)"],
        }
    ),
]
Encoding = Literal["utf8", "utf8-lossy", "latin1", "cp1252"]
SourceFormat = Literal["csv", "ndjson", "parquet"]

# The keys a source of each format reads (SPEC §2, §13), matched case-insensitively at the end
# of the key. The one place that says which files belong to which format.
SOURCE_SUFFIXES: dict[SourceFormat, tuple[str, ...]] = {
    "csv": (".csv", ".csv.gz"),
    "ndjson": (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"),
    "parquet": (".parquet",),
}


class _Node(BaseModel):
    """Base of every nested node: unknown fields are kept (and reported as warnings)."""

    # defer_build: validators are built on first use, once for the whole PipelineConfig, not
    # per model at import (that cost 0.10 of the 0.16 CPU-s this module's import took, on a
    # `karet-worker run` that starts in ~0.5 s); `config/walk.py` resolves the annotations.
    # Threads racing to a first use are safe from pydantic 2.14 on (rebuilds take one lock;
    # tests/config/test_deferred_build.py).
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True, defer_build=True)


# ---------------------------------------------------------------- expressions (SPEC §4, §13)
# Each model's docstring is its entry in the README's expression reference (checked by a
# test): first line what it does, then null behaviour.

_INPUT = "The expression the function applies to."


def _input(description: str = _INPUT) -> Any:
    return Field(description=description, examples=[{"kind": "col", "name": "description"}])


class ColExpr(_Node):
    """A column of the source (in `where`: an output column of the mapping).

    Null when the value is null."""

    kind: Literal["col"]
    name: str = Field(description="The column's name.", examples=["amount"])


class StrExpr(_Node):
    """A text literal."""

    kind: Literal["str"]
    value: str = Field(description="The text.", examples=["EUR"])


class NumExpr(_Node):
    """A number literal (Float64)."""

    kind: Literal["num"]
    value: float = Field(description="The number.", examples=[0, 2.5])


class BoolExpr(_Node):
    """A boolean literal."""

    kind: Literal["bool"]
    value: bool = Field(description="true or false.", examples=[True])


class NullExpr(_Node):
    """The null value (typeless: it takes the type its context needs)."""

    kind: Literal["null"]
    value: None = Field(default=None, description="Always null; may be omitted.")


class BinaryExpr(_Node):
    """Arithmetic (`add` `sub` `mul` `div`), comparison (`eq` `ne` `gt` `lt` `ge` `le`) and
    Kleene logic (`and` `or`) of two operands.

    Arithmetic reads text as a number (non-numeric → null); Int64 stays Int64 except for `div`
    (overflow → null); division by zero gives ±inf/NaN. Comparisons compare numbers with numbers
    (text parsed), dates with dates, anything else as text; null on either side → null. `and`
    and `or` are three-valued: `false and null` is false, `true or null` is true."""

    kind: Literal["add", "sub", "mul", "div", "eq", "ne", "gt", "lt", "ge", "le", "and", "or"]
    left: Expr = Field(description="The left operand.", examples=[{"kind": "col", "name": "a"}])
    right: Expr = Field(description="The right operand.", examples=[{"kind": "num", "value": 1}])


class UnaryExpr(_Node):
    """Functions of one value: `upper` `lower` (Unicode case mapping), `trim` (surrounding
    whitespace), `not` (Kleene), `year` `month` `day` (Int64 part of a date or timestamp;
    text is read as an ISO date).

    Null in gives null out."""

    kind: Literal["upper", "lower", "trim", "not", "year", "month", "day"]
    input: Expr = _input()


class ConcatExpr(_Node):
    """Joins its arguments as text, with `sep` between them.

    A null argument is skipped together with its separator; all null → `""`."""

    kind: Literal["concat"]
    sep: str = Field(default="", description="Put between the arguments.", examples=[" "])
    args: list[Expr] = Field(
        description="The values to join, in order.",
        examples=[[{"kind": "col", "name": "first"}, {"kind": "col", "name": "last"}]],
    )


class SubstringExpr(_Node):
    """Part of a text, counted in characters: like Python's `s[start:][:length]`.

    Null in gives null out; a start past the end gives `""`."""

    kind: Literal["substring"]
    input: Expr = _input()
    start: int = Field(
        description="0-based index of the first character; negative counts from the end.",
        examples=[0, -4],
    )
    length: int | None = Field(
        default=None,
        description="How many characters to take; omitted: to the end; negative: none.",
        examples=[3],
    )


class ContainsExpr(_Node):
    """Whether `input` contains `pattern` (literal text, case-sensitive).

    Null when either is null."""

    kind: Literal["contains"]
    input: Expr = _input()
    pattern: Expr = Field(
        description="The text to look for (an expression, usually a `str` literal).",
        examples=[{"kind": "str", "value": "UBER"}],
    )


class IfExpr(_Node):
    """`then` where `cond` is true, else `else`.

    A null (or false) `cond` takes `else`. Branches of different types are unified (Int64 with
    Float64 → Float64, other mixes → text)."""

    kind: Literal["if"]
    cond: Expr = Field(
        description="The condition (text and numbers are read as booleans).",
        examples=[{"kind": "gt", "left": {"kind": "col", "name": "amount"},
                   "right": {"kind": "num", "value": 0}}],
    )  # fmt: skip
    then: Expr = Field(
        description="Value where `cond` is true.", examples=[{"kind": "str", "value": "credit"}]
    )
    else_: Expr = Field(
        alias="else", description="Value elsewhere.", examples=[{"kind": "str", "value": "debit"}]
    )


class CoalesceExpr(_Node):
    """The first non-null argument.

    All null (or no arguments) → null."""

    kind: Literal["coalesce"]
    args: list[Expr] = Field(
        description="Candidates, in order of preference.",
        examples=[[{"kind": "col", "name": "merchant"}, {"kind": "str", "value": "unknown"}]],
    )


class ParseDateExpr(_Node):
    """Text → date with a strftime `format`.

    Unparseable text → null (never an error); a format without a year gives null."""

    kind: Literal["parse_date"]
    input: Expr = _input()
    format: str = Field(
        description="strftime format, e.g. `%d/%m/%Y` (`%Y` year, `%m` month, `%d` day).",
        examples=["%d/%m/%Y", "%Y%m%d"],
    )


class FromUnixExpr(_Node):
    """Seconds (or milliseconds) since 1970-01-01 UTC → date or timestamp.

    Null, non-numeric and out-of-range input → null. To a date, the time of day is dropped
    (floored to the UTC day)."""

    kind: Literal["from_unix"]
    input: Expr = _input("The epoch number (text is read as a number).")
    unit: Literal["s", "ms"] = Field(default="s", description="Seconds or milliseconds.")
    to: Literal["date", "timestamp"] = Field(default="date", description="The result type.")


class CastExpr(_Node):
    """Converts to another type, non-strictly: a value that does not convert becomes null.

    Null in gives null out. int64 from text takes integers or any number truncated toward zero;
    bool from `true/false/1/0/yes/no/t/f/y/n` (any case) or numbers (non-zero → true); date and
    timestamp from ISO text; decimal rounds half away from zero."""

    kind: Literal["cast"]
    input: Expr = _input()
    to: CastTarget = Field(description="The target type.", examples=["int64"])


class LookupRefExpr(_Node):
    """Applies a lookup (SPEC §3) to the input as text.

    Null input → null (`catch_all` does not apply to null)."""

    kind: Literal["lookup_ref"]
    lookup_id: str = Field(
        description="The lookup's id; dotted for a child (`categories.coffee`).",
        examples=["categories"],
    )
    input: Expr = _input("The value to look up (read as text).")


class DimRefExpr(_Node):
    """Applies a dimension (SPEC §13) to the input as text and gives one of its value columns.

    Null input → null; a miss gives what the dimension's `on_miss` says."""

    kind: Literal["dim_ref"]
    dim_id: str = Field(description="The dimension's id.", examples=["countries"])
    input: Expr = _input("The key to look up (read as text).")
    value: str | None = Field(
        default=None,
        description="Which value column to give; default the dimension's first.",
        examples=["region"],
    )


class RoundExpr(_Node):
    """A number rounded to `digits` decimals, half away from zero (2.5 → 3, -2.5 → -3).

    Null in gives null out; text is read as a number (non-numeric → null); Int64 stays Int64."""

    kind: Literal["round"]
    input: Expr = _input("The number (text is read as a number).")
    digits: int = Field(default=0, ge=0, le=15, description="Decimals to keep (0-15).")


class AbsExpr(_Node):
    """The absolute value of a number (Int64 stays Int64; text is read as a number).

    Null in gives null out."""

    kind: Literal["abs"]
    input: Expr = _input("The number (text is read as a number).")


class AffixExpr(_Node):
    """Whether `input` starts with (`starts_with`) or ends with (`ends_with`) `pattern`:
    literal text, case-sensitive.

    Null when either is null."""

    kind: Literal["starts_with", "ends_with"]
    input: Expr = _input()
    pattern: Expr = Field(
        description="The text (an expression, usually a `str` literal).",
        examples=[{"kind": "str", "value": "/blog/"}],
    )


class RegexMatchExpr(_Node):
    """Whether the regular expression `pattern` matches anywhere in `input` (anchor with `^`
    and `$` for the whole text).

    Null in gives null out. Patterns use RE2-style syntax (Rust `regex`: no look-around, no
    backreferences, so matching is linear-time) and are checked at validation."""

    kind: Literal["regex_match"]
    input: Expr = _input()
    pattern: str = Field(
        description="A regular expression (RE2 syntax); `(?i)` makes it case-insensitive.",
        examples=["^[A-Z]{2}[0-9]{4}$"],
    )


class RegexExtractExpr(_Node):
    """The text a capture group of `pattern` matched, at its first match in `input`.

    Null when the input is null, the pattern does not match, or the group took no part."""

    kind: Literal["regex_extract"]
    input: Expr = _input()
    pattern: str = Field(
        description="A regular expression (RE2 syntax) with at least `group` capture groups.",
        examples=["order-([0-9]+)"],
    )
    group: int = Field(
        default=1, ge=0, description="The capture group: 1 = the first, 0 = the whole match."
    )


class ReplaceExpr(_Node):
    """Every occurrence of the literal text `pattern` in `input` replaced by `replacement`.

    Null in gives null out."""

    kind: Literal["replace"]
    input: Expr = _input()
    pattern: str = Field(min_length=1, description="The text to replace (literal).", examples=["-"])
    replacement: str = Field(description="What replaces it (literal).", examples=[""])


class DateTruncExpr(_Node):
    """A date or timestamp truncated to the start of its `unit` (weeks start on Monday).

    Null in gives null out. A date stays a date (`hour` leaves it unchanged); a timestamp stays
    a timestamp (in UTC); text is read as an ISO timestamp."""

    kind: Literal["date_trunc"]
    input: Expr = _input("The date or timestamp.")
    unit: Literal["year", "quarter", "month", "week", "day", "hour"] = Field(
        description="The unit to truncate to.", examples=["month"]
    )


class DateDiffExpr(_Node):
    """How many `unit` boundaries lie between `start` and `end` (Int64; negative when `end` is
    earlier), like DuckDB's `date_diff`: from 2024-01-31 to 2024-02-01 is 1 month.

    Null when either is null. Dates count from midnight UTC; text is read as an ISO timestamp."""

    kind: Literal["date_diff"]
    start: Expr = Field(
        description="The earlier date or timestamp.", examples=[{"kind": "col", "name": "opened"}]
    )
    end: Expr = Field(
        description="The later date or timestamp.", examples=[{"kind": "col", "name": "closed"}]
    )
    unit: Literal["year", "quarter", "month", "week", "day", "hour", "minute", "second"] = Field(
        description="What to count (weeks start on Monday).", examples=["day"]
    )


class LengthExpr(_Node):
    """The number of characters (Unicode code points) of the input as text (Int64).

    Null in gives null out."""

    kind: Literal["length"]
    input: Expr = _input()


class SplitPartExpr(_Node):
    """One part of the input split at every `sep`, counted from 0 like `substring`; a
    negative `index` counts from the end (-1 = the last part).

    Null in gives null out; an index past the parts gives null."""

    kind: Literal["split_part"]
    input: Expr = _input()
    sep: str = Field(min_length=1, description="The separator (literal text).", examples=["/"])
    index: int = Field(description="0-based part number; negative from the end.", examples=[1])


class InExpr(_Node):
    """Whether the input equals one of `values` (compared like `eq`: numbers numerically).

    Null in gives null out; a non-null input that equals none gives false."""

    kind: Literal["in"]
    input: Expr = _input()
    values: list[str | float | bool] = Field(
        description="The candidate values (JSON strings, numbers, booleans).",
        examples=[["GET", "HEAD"]],
    )


class CaseBranch(_Node):
    """One branch of a `case`."""

    when: Expr = Field(
        description="The condition (text and numbers are read as booleans).",
        examples=[{"kind": "lt", "left": {"kind": "col", "name": "age"},
                   "right": {"kind": "num", "value": 18}}],
    )  # fmt: skip
    then: Expr = Field(
        description="The value where this is the first true `when`.",
        examples=[{"kind": "str", "value": "minor"}],
    )


class CaseExpr(_Node):
    """The `then` of the first branch whose `when` is true, else `else`.

    A null `when` counts as false; without `else` the result is null. Branches of different
    types are unified as for `if`."""

    kind: Literal["case"]
    branches: list[CaseBranch] = Field(min_length=1, description="Tried in order.")
    else_: Expr | None = Field(
        default=None,
        alias="else",
        description="The value where no `when` is true; omitted: null.",
        examples=[{"kind": "str", "value": "adult"}],
    )


Expr = TypeAliasType(
    "Expr",
    Annotated[
        ColExpr
        | StrExpr
        | NumExpr
        | BoolExpr
        | NullExpr
        | BinaryExpr
        | UnaryExpr
        | ConcatExpr
        | SubstringExpr
        | ContainsExpr
        | IfExpr
        | CoalesceExpr
        | ParseDateExpr
        | FromUnixExpr
        | CastExpr
        | LookupRefExpr
        | DimRefExpr
        | RoundExpr
        | AbsExpr
        | AffixExpr
        | RegexMatchExpr
        | RegexExtractExpr
        | ReplaceExpr
        | DateTruncExpr
        | DateDiffExpr
        | LengthExpr
        | SplitPartExpr
        | InExpr
        | CaseExpr,
        Field(discriminator="kind"),
    ],
)
"""An expression: a JSON object whose `kind` says which of the models above it is."""

EXPRESSION_MODELS: tuple[type[_Node], ...] = get_args(get_args(Expr.__value__)[0])


def _kinds_of(model: type[_Node]) -> tuple[str, ...]:
    return get_args(model.model_fields["kind"].annotation)


EXPRESSION_KINDS: tuple[str, ...] = tuple(k for m in EXPRESSION_MODELS for k in _kinds_of(m))

# ---------------------------------------------------------------- sources and tables


class Assertions(_Node):
    """Data-quality checks on one column of a mapping's output (SPEC §3)."""

    not_null: bool = Field(default=False, description="No row may have a null value.")
    unique: bool = Field(default=False, description="No two rows may have the same non-null value.")
    accepted_values: list[str | int | float | bool] = Field(
        default_factory=list,
        description=(
            "The only values allowed (null passes; compared as text, so 1 and 1.0 agree). "
            "An empty list checks nothing."
        ),
        examples=[["bank", "card"]],
    )
    min: float | None = Field(
        default=None,
        description="Smallest allowed value (dates: as days since 1970-01-01; text: as number).",
        examples=[0],
    )
    max: float | None = Field(default=None, description="Largest allowed value.", examples=[10000])


class ColumnSchema(_Node):
    """One column of a source (the CSV header it must have) or of a table (the output)."""

    name: str = Field(
        description=(
            "Header name in the input (matched after trimming whitespace), or output column name."
        ),
        examples=["amount"],
    )
    type: ColumnType = Field(
        description=(
            "Declared type. Sources are read with it (a value that does not parse becomes null "
            "and is counted as a warning); table columns are cast to it when written."
        )
    )
    nullable: bool = Field(
        default=True, description="`false` is the same check as `assertions.not_null`."
    )
    assertions: Assertions | None = Field(
        default=None,
        description=(
            "Data-quality checks. On a table column they fail the mapping that violates them; "
            "on a source column, every mapping of that source. The error names up to 5 "
            "offending values with their files."
        ),
        examples=[{"not_null": True, "min": 0}],
    )
    path: str | None = Field(
        default=None,
        description=(
            "Only for columns of an `ndjson` source: where the value sits in each JSON record, "
            "as dotted keys with `[n]` array indexes. Default: the column's `name` as one key. "
            "A record without the path gives null."
        ),
        examples=["request.headers.User-Agent[0]", "status"],
    )


# Preamble lines a CSV may have before its header: exports put a few (title, date, account);
# a bound keeps a typo like 10^18 from meaning "read the whole file as preamble".
MAX_SKIP_ROWS = 10_000


class CsvOptions(_Node):
    """How the CSV files of a source are written. `karet-worker infer` drafts these."""

    delimiter: str = Field(
        default=",", min_length=1, max_length=1, description="Field separator.", examples=[";"]
    )
    quote: str = Field(
        default='"',
        min_length=1,
        max_length=1,
        description=(
            "Quote character (doubled inside a quoted field). A file that never quotes but "
            "has stray quotes: set a character it never contains."
        ),
        examples=["'"],
    )
    skip_rows: int = Field(
        default=0,
        ge=0,
        le=MAX_SKIP_ROWS,
        description="Raw lines before the header row (a title, a banner).",
        examples=[1],
    )
    null_values: list[str] = Field(
        default_factory=list,
        description="Field texts read as null, besides the empty field.",
        examples=[["NA", "N/A"]],
    )
    encoding: Encoding = Field(
        default="utf8",
        description=(
            "`utf8` (a file that is not valid UTF-8 is skipped with an error), `utf8-lossy` "
            "(invalid bytes become U+FFFD), `latin1`, `cp1252`. A UTF-8 BOM is always stripped."
        ),
        examples=["cp1252"],
    )


class SourceContainer(_Node):
    """A folder of input files sharing one schema, e.g. a bank's monthly exports."""

    id: str = Field(
        description="Unique among sources; letters, digits, '.', '_', '-'.", examples=["bank"]
    )
    name: str = Field(description="Display name.", examples=["Bank exports"])
    path_prefix: str = Field(
        description=(
            "Folder of the inputs, relative to the pipeline prefix: non-empty, ending in '/', "
            "no leading '/', no '.' or '..' segments, not nested in another source's folder. "
            "Every matching file under it, at any depth, is read, in key order."
        ),
        examples=["raw/bank/"],
    )
    columns: list[ColumnSchema] = Field(
        alias="schema",
        description="The columns every file must have (others are ignored); a file missing "
        "one is skipped with an error naming it and the headers found.",
        examples=[[{"name": "date", "type": "date"}, {"name": "amount", "type": "number"}]],
    )
    format: SourceFormat = Field(
        default="csv",
        description=(
            "How the input files are read. `csv`: keys ending in .csv or .csv.gz; `ndjson`: one "
            "JSON object per line, keys ending in .json, .jsonl or .ndjson (each also .gz); "
            "`parquet`: keys ending in .parquet."
        ),
        examples=["csv", "ndjson", "parquet"],
    )
    csv: CsvOptions = Field(
        default_factory=CsvOptions,
        description="Dialect of CSV files (only for format `csv`).",
        examples=[{"delimiter": ";", "skip_rows": 1}],
    )
    record_filter: Expr | None = Field(
        default=None,
        description=(
            "A predicate over the source's columns (as typed by its schema). Records for which "
            "it is not true (false or null) are dropped before any mapping sees them."
        ),
        examples=[
            {
                "kind": "not",
                "input": {
                    "kind": "contains",
                    "input": {"kind": "col", "name": "user_agent"},
                    "pattern": {"kind": "str", "value": "bot"},
                },
            }
        ],
    )


# ---------------------------------------------------------------- lookups


class LookupRow(_Node):
    """One row of a lookup: where any pattern matches, the lookup gives `output`."""

    input_patterns: list[str] = Field(
        description="Keywords (or exact values, or prefixes, per the lookup's `match`).",
        examples=[["STARBUCKS", "PRET"]],
    )
    output: str = Field(description="The value given for a match.", examples=["Coffee"])
    priority: int = Field(
        default=0,
        description="Among a node's matching rows the highest priority wins; ties go to the "
        "first defined.",
    )


class CatchAll(_Node):
    """The value a lookup gives when nothing matches (not for null input)."""

    output: str = Field(description="The value given on a miss.", examples=["Other"])


LookupMatch = Literal["keyword_substring", "exact", "prefix"]


class LookupMapping(_Node):
    """A lookup table (SPEC §3): keyword, exact or prefix matching with priorities, nested
    children (consulted first, depth-first) and a catch-all."""

    id: str = Field(description="Unique among siblings; no '.'.", examples=["categories"])
    name: str | None = Field(default=None, description="A label for people.")
    match: LookupMatch = Field(
        default="keyword_substring",
        description="`keyword_substring`: a pattern occurs inside the input; `exact`: the "
        "input equals a pattern; `prefix`: the input starts with a pattern.",
    )
    case_insensitive: bool = Field(
        default=False, description="Compare lower-cased (Unicode), for this node."
    )
    rows: list[LookupRow] = Field(description="The node's own rows.")
    children: list[LookupMapping] = Field(
        default_factory=list,
        description="Sub-lookups consulted before the node's own rows; the first child "
        "subtree that matches wins. Addressable as `parent.child`.",
    )
    catch_all: CatchAll | None = Field(
        default=None, description="Given on a miss, only by the node a reference names."
    )


# ---------------------------------------------------------------- dimensions (SPEC §13)


class OnMissLiteral(_Node):
    """On a miss, give this text."""

    literal: str = Field(description="The text given on a miss.", examples=["Other"])


OnMiss = Literal["null", "passthrough"] | OnMissLiteral


class DimensionRow(_Node):
    """One inline row: where any pattern matches, the dimension gives `values`."""

    patterns: list[str] = Field(
        description="Keys (exact), keywords or prefixes, per the dimension's `match`.",
        examples=[["CA", "CAN"]],
    )
    values: list[str] = Field(
        description="One value per value column, in the order of the dimension's `values`.",
        examples=[["Canada", "Americas"]],
    )
    priority: int = Field(
        default=0,
        description="Among matching rows the highest priority wins; ties go to the first.",
    )


class InlineDimensionRows(_Node):
    """Rows written in the config."""

    values: list[str] = Field(
        min_length=1,
        description="Names of the value columns; `dim_ref` picks one (default the first).",
        examples=[["country", "region"]],
    )
    rows: list[DimensionRow] = Field(description="The rows, in definition order.")


class FileDimensionRows(_Node):
    """Rows read at run start from every `.csv` / `.parquet` under a key prefix in the bucket
    (at most 1,000,000 rows; a repeated exact key is a run error naming it)."""

    path_prefix: str = Field(
        description="Where the reference files are: a key prefix in the bucket, from its root "
        "(not relative to the pipeline prefix as a source's is, so pipelines can share "
        "reference tables; ends with '/'); every .csv, .csv.gz and .parquet key under it is "
        "read at run start, in key order.",
        examples=["reference/sections/"],
    )
    key: str = Field(description="The column holding the key (or pattern).", examples=["path"])
    values: list[str] = Field(
        min_length=1,
        description="The columns `dim_ref` can return (default the first).",
        examples=[["section"]],
    )
    priority_column: str | None = Field(
        default=None, description="An integer column ranking rows (highest wins); default 0."
    )


def _rows_tag(value: Any) -> str:
    """File-backed rows are the ones with a `path_prefix`."""
    if isinstance(value, dict):
        return "file" if "path_prefix" in value else "inline"
    return "file" if isinstance(value, FileDimensionRows) else "inline"


DimensionRows = Annotated[
    Annotated[InlineDimensionRows, Tag("inline")] | Annotated[FileDimensionRows, Tag("file")],
    Discriminator(_rows_tag),
]


# Pydantic puts these tags into error locations (`.../rows/file/key`); they are no members.
ROWS_TAGS: frozenset[str] = frozenset(
    mark.tag for member in get_args(get_args(DimensionRows)[0]) for mark in get_args(member)[1:]
)


class Dimension(_Node):
    """A dimension (SPEC §13, the later name for lookups): maps a key to one or more value
    columns, by exact key (default), keyword or prefix."""

    id: str = Field(description="Unique among dimensions.", examples=["countries"])
    name: str | None = Field(default=None, description="A label for people.")
    match: LookupMatch = Field(
        default="exact",
        description="`exact` (default): the input equals a key; `keyword_substring`: a pattern "
        "occurs inside the input; `prefix`: the input starts with a pattern.",
    )
    case_insensitive: bool = Field(default=False, description="Compare lower-cased (Unicode).")
    on_miss: OnMiss = Field(
        default="null",
        description='A non-null input without a match gives null (`"null"`), itself '
        '(`"passthrough"`) or a literal (`{"literal": "Other"}`).',
        examples=["passthrough", {"literal": "Other"}],
    )
    rows: DimensionRows = Field(
        description='Inline `{"values": [...], "rows": [...]}` or file-backed '
        '`{"path_prefix", "key", "values", "priority_column"?}`.'
    )


# ---------------------------------------------------------------- mappings and tables


class MappingColumn(_Node):
    """One output column of a mapping and the expression computing it per source row."""

    name: str = Field(description="A column of the target table.", examples=["amount"])
    expr: Expr = Field(
        description="Evaluated over the source's columns (typed by its schema).",
        examples=[{"kind": "col", "name": "amount"}],
    )


class PartitionBy(_Node):
    """Date partitioning (the original form): `year=2024/month=01/`, zero-padded. Unlike
    `partition_keys`, which writes integers unpadded (`month=1`); the two exclude each other."""

    column: str = Field(
        description="A `date` column this mapping produces; it stays in the Parquet data.",
        examples=["date"],
    )
    granularity: Literal["year", "month", "day"] = Field(
        description="`year` -> year=YYYY, `month` -> year=YYYY/month=MM, `day` adds /day=DD.",
        examples=["month"],
    )


class Mapping(_Node):
    """How the rows of one source become rows of one table. Several mappings may read the same
    source, and several may feed one table (each writes its own `<mapping id>.parquet`)."""

    id: str = Field(
        description="Unique among mappings; the name of the Parquet files it writes.",
        examples=["bank"],
    )
    name: str | None = Field(default=None, description="Display name.")
    source_container_id: str = Field(description="The source it reads.", examples=["bank"])
    analytic_table_id: str = Field(description="The table it writes.", examples=["spend"])
    columns: list[MappingColumn] = Field(
        description="Table columns it computes; table columns it does not compute are written "
        "as typed nulls."
    )
    partition_by: PartitionBy | None = Field(
        default=None,
        description="Partition by a date column; not allowed when the table has `partition_keys`.",
        examples=[{"column": "date", "granularity": "month"}],
    )
    where: Expr | None = Field(
        default=None,
        description=(
            "A predicate over the mapping's output columns; rows where it is not true (false "
            "or null) are dropped before assertions, dedup and partitioning (`rows_filtered`)."
        ),
        examples=[
            {
                "kind": "ne",
                "left": {"kind": "col", "name": "amount"},
                "right": {"kind": "num", "value": 0},
            }
        ],
    )


class AnalyticTable(_Node):
    """A typed output table, written as Parquet under `<prefix>clean/<id>/`."""

    id: str = Field(
        description="Unique among tables; letters, digits, '.', '_', '-' (a path segment).",
        examples=["spend"],
    )
    name: str = Field(description="Display name.", examples=["Spending"])
    columns: list[ColumnSchema] = Field(
        alias="schema",
        description="Output columns; every file of the table has exactly these types.",
        examples=[[{"name": "date", "type": "date"}, {"name": "amount", "type": "number"}]],
    )
    partition_keys: list[str] = Field(
        default_factory=list,
        description=(
            "Up to 3 schema columns (not number/float64) whose values become path segments "
            "`key=value`: integers unpadded (`month=5`, where `partition_by` writes `month=05`), "
            "dates ISO, text percent-encoded, null as __HIVE_DEFAULT_PARTITION__. The key "
            "columns live in the path, not in the Parquet data, so at least one schema column "
            "must stay out of them."
        ),
        examples=[["source"]],
    )
    dedup_keys: list[str] = Field(
        default_factory=list,
        description="Schema columns identifying a row: within one mapping's output, later rows "
        "with the same key values are dropped (`rows_deduped`).",
        examples=[["date", "description", "amount"]],
    )
    output_prefix: str | None = Field(
        default=None,
        description="Accepted for compatibility and ignored: the path is always clean/<id>/.",
    )


class PipelineConfig(BaseModel):
    """A whole `pipeline.json`. Unknown top-level fields (the web app adds some) are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)

    version: int = Field(description="Always 1.", examples=[1])
    source_containers: list[SourceContainer] = Field(description="The inputs.")
    lookup_mappings: list[LookupMapping] = Field(
        default_factory=list, description="Lookup tables that `lookup_ref` expressions apply."
    )
    dimensions: list[Dimension] = Field(
        default_factory=list, description="Dimensions that `dim_ref` expressions apply."
    )
    mappings: list[Mapping] = Field(description="Source rows -> table rows.")
    analytic_tables: list[AnalyticTable] = Field(description="The outputs.")
    layout: dict[str, Any] | None = Field(
        default=None, description="Positions of the graph editor's nodes; ignored."
    )
