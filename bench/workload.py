"""The benchmark workloads as data: lookup tables, vocabulary, pipeline.json, DuckDB SQL and
the Polars script.

Everything the contenders need is derived from the lists below, so karet-worker's config,
DuckDB's SQL and the Polars query can never disagree on a pattern, an output or the winner
order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

Workload = Literal["lookup-heavy", "plain"]
WORKLOADS: tuple[Workload, ...] = ("lookup-heavy", "plain")

SOURCE_COLUMNS = ("date", "description", "amount", "account")
SOURCE_ID = "transactions"
SOURCE_PREFIX = "raw/transactions/"
TABLE_ID = "transactions"
MAPPING_ID = "transactions_clean"
CATCH_ALL = "UNCATEGORIZED"

_VOCAB_SEED = 20240607
_CONSONANTS = "BDFGKLMNPRSTVZ"
_VOWELS = "AEIOU"

CATEGORY_GROUPS = (
    "Groceries", "Dining", "Coffee", "Transport", "Fuel", "Travel", "Utilities", "Rent",
    "Insurance", "Health", "Pharmacy", "Entertainment", "Streaming", "Shopping", "Clothing",
    "Electronics", "Home", "Education", "Fitness", "Charity",
)  # fmt: skip

# Words that appear in descriptions but in no lookup: they make the non-matching rows and the
# noise around the keywords. Checked below never to contain a lookup pattern.
PREFIXES = (
    "", "", "", "POS ", "CARD PURCHASE ", "DIRECT DEBIT ", "CONTACTLESS ", "ONLINE PMT ",
    "VISA DEBIT ", "STANDING ORDER ", "FASTER PAYMENT ", "BILL PAYMENT ",
)  # fmt: skip
FILLER = (
    "PAYMENT", "TRANSFER", "REFUND", "INTEREST", "CASH WITHDRAWAL", "CHEQUE", "SALARY",
    "ATM", "ADJUSTMENT", "FEE", "REVERSAL", "DEPOSIT", "BANK CHARGE", "LOAN REPAYMENT",
    "SAVINGS", "DIVIDEND", "PENSION", "MISC", "UNKNOWN MERCHANT", "CREDIT",
)  # fmt: skip
CITIES = (
    "LONDON", "MANCHESTER", "LEEDS", "BRISTOL", "GLASGOW", "EDINBURGH", "CARDIFF", "BELFAST",
    "LIVERPOOL", "OXFORD", "CAMBRIDGE", "YORK", "BERLIN", "MÜNCHEN", "PARIS", "LYON",
    "DUBLIN, IE", "AMSTERDAM, NL", "KØBENHAVN", "ZÜRICH",
)  # fmt: skip


@dataclass(frozen=True)
class LookupRow:
    patterns: tuple[str, ...]
    output: str
    priority: int = 0


def _pseudo_words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """Distinct brand-like words (consonant-vowel syllables) that are not substrings of each
    other, of the filler vocabulary, or of any word already taken."""
    noise = " ".join(PREFIXES + FILLER + CITIES)
    words: list[str] = []
    while len(words) < count:
        syllables = rng.choice((3, 3, 4))
        word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))
        if word in noise or any(word in t or t in word for t in taken):
            continue
        taken.add(word)
        words.append(word)
    return words


def _build_vocabulary() -> tuple[tuple[LookupRow, ...], tuple[LookupRow, ...]]:
    rng = random.Random(_VOCAB_SEED)
    taken: set[str] = set()
    category_words = _pseudo_words(rng, 400, taken)
    merchant_words = _pseudo_words(rng, 160, taken)
    categories: list[LookupRow] = []
    for i in range(200):
        group = CATEGORY_GROUPS[i % len(CATEGORY_GROUPS)]
        first, second = category_words[2 * i], category_words[2 * i + 1]
        # A few rows outrank others so the winner order is priority first, then row order.
        priority = 2 if i % 25 == 0 else 1 if i % 10 == 3 else 0
        categories.append(LookupRow((first, second), f"{group}: {first.title()}", priority))
    merchants: list[LookupRow] = []
    extra = iter(merchant_words[120:])
    for i in range(120):
        word = merchant_words[i]
        patterns = (word, next(extra)) if i % 3 == 0 else (word,)
        merchants.append(LookupRow(patterns, f"{word.title()} Ltd"))
    return tuple(categories), tuple(merchants)


CATEGORY_ROWS, MERCHANT_ROWS = _build_vocabulary()
CATEGORY_PATTERNS: tuple[str, ...] = tuple(p for row in CATEGORY_ROWS for p in row.patterns)
MERCHANT_PATTERNS: tuple[str, ...] = tuple(p for row in MERCHANT_ROWS for p in row.patterns)


def winner_order(rows: tuple[LookupRow, ...]) -> list[LookupRow]:
    """Rows in the order a match is decided: priority descending, then definition order."""
    return sorted(rows, key=lambda row: -row.priority)  # sorted() is stable


# ---------------------------------------------------------------- pipeline.json (SPEC §3)


def _col(name: str) -> dict[str, Any]:
    return {"kind": "col", "name": name}


def _clean_description() -> dict[str, Any]:
    return {"kind": "upper", "input": {"kind": "trim", "input": _col("description")}}


def _lookup_json(
    lookup_id: str, rows: tuple[LookupRow, ...], catch_all: str | None
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": lookup_id,
        "name": lookup_id.title(),
        "match": "keyword_substring",
        "case_insensitive": False,
        "rows": [
            {"input_patterns": list(r.patterns), "output": r.output, "priority": r.priority}
            for r in rows
        ],
    }
    if catch_all is not None:
        node["catch_all"] = {"output": catch_all}
    return node


def pipeline_config(workload: Workload) -> dict[str, Any]:
    """The pipeline.json of a workload; `plain` is `lookup-heavy` without the two lookups."""
    date = {"kind": "parse_date", "input": _col("date"), "format": "%Y-%m-%d"}
    columns: list[dict[str, Any]] = [
        {"name": "date", "expr": date},
        {"name": "description", "expr": _clean_description()},
    ]
    table_schema = [{"name": "date", "type": "date"}, {"name": "description", "type": "string"}]
    lookups: list[dict[str, Any]] = []
    if workload == "lookup-heavy":
        columns += [
            {
                "name": "category",
                "expr": {
                    "kind": "lookup_ref",
                    "lookup_id": "categories",
                    "input": _clean_description(),
                },
            },
            {
                "name": "merchant",
                "expr": {
                    "kind": "coalesce",
                    "args": [
                        {
                            "kind": "lookup_ref",
                            "lookup_id": "merchants",
                            "input": _clean_description(),
                        },
                        _clean_description(),
                    ],
                },
            },
        ]
        table_schema += [
            {"name": "category", "type": "string"},
            {"name": "merchant", "type": "string"},
        ]
        lookups = [
            _lookup_json("categories", CATEGORY_ROWS, CATCH_ALL),
            _lookup_json("merchants", MERCHANT_ROWS, None),
        ]
    columns += [
        {"name": "amount", "expr": {"kind": "cast", "input": _col("amount"), "to": "float64"}},
        {"name": "account", "expr": _col("account")},
        {"name": "year", "expr": {"kind": "year", "input": date}},
        {"name": "month", "expr": {"kind": "month", "input": date}},
    ]
    table_schema += [
        {"name": "amount", "type": "float64"},
        {"name": "account", "type": "string"},
        {"name": "year", "type": "int64"},
        {"name": "month", "type": "int64"},
    ]
    return {
        "version": 1,
        "source_containers": [
            {
                "id": SOURCE_ID,
                "name": "Bank transactions",
                "path_prefix": SOURCE_PREFIX,
                "schema": [{"name": c, "type": "string"} for c in SOURCE_COLUMNS],
            }
        ],
        "lookup_mappings": lookups,
        "mappings": [
            {
                "id": MAPPING_ID,
                "name": "Clean transactions",
                "source_container_id": SOURCE_ID,
                "analytic_table_id": TABLE_ID,
                "columns": columns,
            }
        ],
        "analytic_tables": [
            {
                "id": TABLE_ID,
                "name": "Transactions",
                "schema": table_schema,
                "partition_keys": ["year", "month"],
            }
        ],
    }


def output_columns(workload: Workload) -> list[str]:
    """Columns of the output table, partition keys included (as read back with hive paths)."""
    return [c["name"] for c in pipeline_config(workload)["analytic_tables"][0]["schema"]]


# ---------------------------------------------------------------- the same job in DuckDB SQL


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _case_sql(rows: tuple[LookupRow, ...], subject: str, otherwise: str) -> str:
    """A lookup as one CASE in winner order; a null input stays null (SPEC §3)."""
    branches = [f"WHEN {subject} IS NULL THEN NULL"]
    for row in winner_order(rows):
        test = " OR ".join(f"contains({subject}, {_sql_str(p)})" for p in row.patterns)
        branches.append(f"WHEN {test} THEN {_sql_str(row.output)}")
    return "CASE " + "\n  ".join(branches) + f"\n  ELSE {otherwise} END"


def duckdb_copy_sql(workload: Workload, input_files: list[str], out_dir: str) -> str:
    """`read_csv(all_varchar)` -> the workload's expressions -> partitioned Parquet."""
    files = "[" + ", ".join(_sql_str(f) for f in input_files) + "]"
    select = [
        "date",
        "d AS description",
    ]
    if workload == "lookup-heavy":
        select += [
            _case_sql(CATEGORY_ROWS, "d", _sql_str(CATCH_ALL)) + " AS category",
            "coalesce(" + _case_sql(MERCHANT_ROWS, "d", "NULL") + ", d) AS merchant",
        ]
    select += [
        "TRY_CAST(amount AS DOUBLE) AS amount",
        "account",
        "year(date) AS year",
        "month(date) AS month",
    ]
    return f"""
COPY (
  WITH src AS (
    SELECT * FROM read_csv({files}, header = true, all_varchar = true,
                           delim = ',', quote = '"', escape = '"')
  ), typed AS (
    SELECT CAST(try_strptime(date, '%Y-%m-%d') AS DATE) AS date,
           upper(trim(description)) AS d, amount, account
    FROM src
  )
  SELECT {", ".join(select)}
  FROM typed
) TO {_sql_str(out_dir)} (FORMAT parquet, PARTITION_BY (year, month))
"""


# ---------------------------------------------------------------- the same job as a Polars script


def _when_chain(rows: tuple[LookupRow, ...], subject: pl.Expr, otherwise: pl.Expr) -> pl.Expr:
    """A lookup the way a Polars user writes one: a `when` per row in winner order (a null
    input stays null, as `contains` of null is null)."""
    chain: Any = pl
    for row in winner_order(rows):
        chain = chain.when(subject.str.contains_any(list(row.patterns))).then(pl.lit(row.output))
    return pl.when(subject.is_null()).then(None).otherwise(chain.otherwise(otherwise))


def polars_query(workload: Workload, input_files: list[str]) -> pl.LazyFrame:
    """`scan_csv(all String)` -> the workload's expressions, lazily (`bench/polars_peer.py`
    sinks it into the same partitions)."""
    schema = dict.fromkeys(SOURCE_COLUMNS, pl.String)
    date = pl.col("date").str.to_date("%Y-%m-%d", strict=False)
    description = pl.col("description").str.strip_chars().str.to_uppercase()
    select = [date.alias("date"), description.alias("description")]
    if workload == "lookup-heavy":
        d = pl.col("description")  # already cleaned by the first select
        select2 = [
            _when_chain(CATEGORY_ROWS, d, pl.lit(CATCH_ALL)).alias("category"),
            pl.coalesce(_when_chain(MERCHANT_ROWS, d, pl.lit(None)), d).alias("merchant"),
        ]
    else:
        select2 = []
    select += [
        pl.col("amount").cast(pl.Float64, strict=False),
        pl.col("account"),
        date.dt.year().cast(pl.Int64).alias("year"),
        date.dt.month().cast(pl.Int64).alias("month"),
    ]
    query = pl.scan_csv(input_files, schema=schema, quote_char='"').select(select)
    if select2:
        query = query.with_columns(select2)
    return query.select(output_columns(workload))
