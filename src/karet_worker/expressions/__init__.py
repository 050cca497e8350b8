"""The expression language (SPEC §4) and lookups (SPEC §3), compiled to Polars expressions."""

from karet_worker.expressions.compile import Compiled, ExpressionError, compile_expr
from karet_worker.expressions.lookups import CompiledLookup, LookupCompiler, compile_lookup
from karet_worker.expressions.parsing import (
    parse_bool,
    parse_date_iso,
    parse_int,
    parse_number,
)

__all__ = [
    "Compiled",
    "CompiledLookup",
    "ExpressionError",
    "LookupCompiler",
    "compile_expr",
    "compile_lookup",
    "parse_bool",
    "parse_date_iso",
    "parse_int",
    "parse_number",
]
