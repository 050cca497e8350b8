"""The expression language (SPEC §4) and lookups (SPEC §3), compiled to Polars expressions.

Choices where the spec leaves room (each one is covered by tests/expressions):

- Types are static, from the scope: String, Float64, Int64, Boolean, Date, or Null for a
  null literal. `num` literals are Float64.
- Arithmetic reads text as a number (trimmed; non-numeric → null), booleans as 1/0 and dates
  as null. Int64 with Int64 stays Int64 for add/sub/mul, and an overflow gives null instead
  of wrapping; everything else is Float64 with IEEE division (x/0 → ±inf, 0/0 → NaN).
- Text of non-text values: integral floats below 1e15 without a fraction (`5`), other floats
  as Polars' shortest round-trip form (`0.1`, `1e+20`, `NaN`, `inf`), dates ISO, booleans
  `true`/`false`. Used by concat, the text functions, `contains`, `cast(string)` and lookups.
- `substring` is 0-based and character based, like Python's `s[start:][:length]`: negative
  start counts from the end and is clamped to the first character; start past the end → "";
  negative length → "".
- Comparisons: numbers with numbers (text parsed, booleans 1/0), Date with text (parsed as ISO),
  Boolean with text (parsed as a bool word), same types as they are (text by code point), any
  other mix as text. Null on either side → null. NaN equals NaN and sorts above every number
  (Polars' total order).
- Truth of non-booleans (and/or/not/if): text via the bool words, numbers non-zero → true,
  dates → null. Kleene logic throughout.
- `if`/`coalesce` unify their branches: nulls are ignored, Int64 with Float64 → Float64, any
  other mix → String.
- `parse_date` uses a strftime format; a format Polars rejects, or that names no year, gives
  null for every row. `year`/`month`/`day` also accept ISO text. `from_unix` floors to the
  UTC day; out-of-range or non-finite → null.
- `cast` is non-strict: int64 from text takes integers, or any number truncated toward zero;
  from floats truncates (NaN/inf/out of range → null); date only from Date or ISO text; bool
  from the words `true/false/1/0/yes/no/t/f/y/n` (any case) or numbers (non-zero).
- Lookups and dimensions: see `lookups.py` (one matcher; empty keyword and prefix patterns
  are ignored; case folding is Unicode).
- Timestamps are Datetime(µs, UTC): ISO 8601 text with or without offset (none = UTC, a date
  alone = midnight), shown as `2024-01-05T10:30:00Z`. Dates meet timestamps as midnight UTC.
- Decimals keep their type through `col` (exact copies) and are Float64 in every
  computation; conversion to decimal(p,s) rounds half away from zero, too many digits → null.
- `round` rounds half away from zero (of the value scaled by 10^digits); `abs`/`round` keep
  Int64. `split_part` is 0-based like `substring` (negative from the end, past the end →
  null). `in` is `eq` against each value: null for null input, else true/false. `case`
  unifies like `if`; no `else` → null. `date_diff` counts unit boundaries (DuckDB's
  `date_diff`); `date_trunc` weeks start on Monday. Regexes are Rust `regex` (RE2-style).
"""

from karet_worker.expressions.compile import Compiled, ExpressionError, compile_expr
from karet_worker.expressions.lookups import (
    LookupCompiler,
    Matcher,
    compile_dimension,
    compile_lookup,
)
from karet_worker.expressions.parsing import (
    parse_bool,
    parse_date_iso,
    parse_int,
    parse_number,
)

__all__ = [
    "Compiled",
    "ExpressionError",
    "LookupCompiler",
    "Matcher",
    "compile_dimension",
    "compile_expr",
    "compile_lookup",
    "parse_bool",
    "parse_date_iso",
    "parse_int",
    "parse_number",
]
