"""Pydantic models of `pipeline.json` (SPEC §3, §4): the single source of truth for its shape.

Shape problems are reported by Pydantic; cross-reference rules live in `validate.py`.
Models allow unknown fields so validation can report them as warnings instead of rejecting.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ColumnType = Literal["string", "number", "int64", "float64", "bool", "date"]
CastTarget = Literal["int64", "float64", "string", "date", "bool"]
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

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


# ---------------------------------------------------------------- expressions (SPEC §4)


class ColExpr(_Node):
    kind: Literal["col"]
    name: str


class StrExpr(_Node):
    kind: Literal["str"]
    value: str


class NumExpr(_Node):
    kind: Literal["num"]
    value: float


class BoolExpr(_Node):
    kind: Literal["bool"]
    value: bool


class NullExpr(_Node):
    kind: Literal["null"]
    value: None = None


class BinaryExpr(_Node):
    """Arithmetic, comparison and Kleene `and`/`or`: all take `left` and `right`."""

    kind: Literal["add", "sub", "mul", "div", "eq", "ne", "gt", "lt", "ge", "le", "and", "or"]
    left: Expr
    right: Expr


class UnaryExpr(_Node):
    """Single-input functions: case mapping, trim, negation and date parts."""

    kind: Literal["upper", "lower", "trim", "not", "year", "month", "day"]
    input: Expr


class ConcatExpr(_Node):
    kind: Literal["concat"]
    sep: str = ""
    args: list[Expr]


class SubstringExpr(_Node):
    kind: Literal["substring"]
    input: Expr
    start: int
    length: int | None = None


class ContainsExpr(_Node):
    kind: Literal["contains"]
    input: Expr
    pattern: Expr


class IfExpr(_Node):
    kind: Literal["if"]
    cond: Expr
    then: Expr
    else_: Expr = Field(alias="else")


class CoalesceExpr(_Node):
    kind: Literal["coalesce"]
    args: list[Expr]


class ParseDateExpr(_Node):
    kind: Literal["parse_date"]
    input: Expr
    format: str


class FromUnixExpr(_Node):
    kind: Literal["from_unix"]
    input: Expr
    unit: Literal["s", "ms"] = "s"


class CastExpr(_Node):
    kind: Literal["cast"]
    input: Expr
    to: CastTarget


class LookupRefExpr(_Node):
    kind: Literal["lookup_ref"]
    lookup_id: str
    input: Expr


Expr = Annotated[
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
    | LookupRefExpr,
    Field(discriminator="kind"),
]

EXPRESSION_KINDS: tuple[str, ...] = (
    "col", "str", "num", "bool", "null", "add", "sub", "mul", "div", "eq", "ne", "gt", "lt",
    "ge", "le", "and", "or", "upper", "lower", "trim", "not", "year", "month", "day", "concat",
    "substring", "contains", "if", "coalesce", "parse_date", "from_unix", "cast", "lookup_ref",
)  # fmt: skip

# ---------------------------------------------------------------- sources and tables


class Assertions(_Node):
    """Data-quality checks on one column of a mapping's output (SPEC §3)."""

    not_null: bool = False
    unique: bool = False
    accepted_values: list[str | int | float | bool] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None


class ColumnSchema(_Node):
    name: str
    type: ColumnType
    nullable: bool = True
    assertions: Assertions | None = None
    path: str | None = Field(
        default=None,
        description=(
            "Only for columns of an `ndjson` source: where the value sits in each JSON record, "
            "as dotted keys with `[n]` array indexes. Default: the column's `name` as one key. "
            "A record without the path gives null."
        ),
        examples=["request.headers.User-Agent[0]", "status"],
    )


class CsvOptions(_Node):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quote: str = Field(default='"', min_length=1, max_length=1)
    skip_rows: int = Field(default=0, ge=0)
    null_values: list[str] = Field(default_factory=list)
    encoding: Encoding = "utf8"


class SourceContainer(_Node):
    id: str
    name: str
    path_prefix: str
    columns: list[ColumnSchema] = Field(alias="schema")
    format: SourceFormat = Field(
        default="csv",
        description=(
            "How the input files are read. `csv`: keys ending in .csv or .csv.gz; `ndjson`: one "
            "JSON object per line, keys ending in .json, .jsonl or .ndjson (each also .gz); "
            "`parquet`: keys ending in .parquet."
        ),
        examples=["csv", "ndjson", "parquet"],
    )
    csv: CsvOptions = Field(default_factory=CsvOptions)
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
    input_patterns: list[str]
    output: str
    priority: int = 0


class CatchAll(_Node):
    output: str


class LookupMapping(_Node):
    id: str
    name: str | None = None
    match: Literal["keyword_substring", "exact"] = "keyword_substring"
    case_insensitive: bool = False
    rows: list[LookupRow]
    children: list[LookupMapping] = Field(default_factory=list)
    catch_all: CatchAll | None = None


# ---------------------------------------------------------------- mappings and tables


class MappingColumn(_Node):
    name: str
    expr: Expr


class PartitionBy(_Node):
    column: str
    granularity: Literal["year", "month", "day"]


class Mapping(_Node):
    id: str
    name: str | None = None
    source_container_id: str
    analytic_table_id: str
    columns: list[MappingColumn]
    partition_by: PartitionBy | None = None
    where: Expr | None = None


class AnalyticTable(_Node):
    id: str
    name: str
    columns: list[ColumnSchema] = Field(alias="schema")
    partition_keys: list[str] = Field(default_factory=list)
    dedup_keys: list[str] = Field(default_factory=list)
    output_prefix: str | None = None  # accepted for compatibility; the path is fixed


class PipelineConfig(BaseModel):
    """A whole `pipeline.json`. Unknown top-level fields (the web app adds some) are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    version: int
    source_containers: list[SourceContainer]
    lookup_mappings: list[LookupMapping] = Field(default_factory=list)
    mappings: list[Mapping]
    analytic_tables: list[AnalyticTable]
    layout: dict[str, Any] | None = None  # editor positions; ignored


for _model in (
    BinaryExpr,
    UnaryExpr,
    ConcatExpr,
    SubstringExpr,
    ContainsExpr,
    IfExpr,
    CoalesceExpr,
    ParseDateExpr,
    FromUnixExpr,
    CastExpr,
    LookupRefExpr,
    SourceContainer,
    MappingColumn,
    Mapping,
    LookupMapping,
):
    _model.model_rebuild()
