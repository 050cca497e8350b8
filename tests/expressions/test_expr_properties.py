"""Property (c): random expression trees evaluated by the compiler equal a plain-Python
reference evaluator written from SPEC §4 (with the documented typing and coercion choices)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.expressions.expr_helpers import compile_json, evaluate, parse

from karet_worker.config.typecheck import Kind, Typer

Row = dict[str, Any]
Ref = tuple[str, Callable[[Row], Any]]  # (static type, value of a row)

SCHEMA: dict[str, type[pl.DataType]] = {
    "s": pl.String,
    "t": pl.String,
    "x": pl.Float64,
    "i": pl.Int64,
    "p": pl.Boolean,
}
TYPES = {"s": "str", "t": "str", "x": "float", "i": "int", "p": "bool"}
DECLARED = {"s": "string", "t": "string", "x": "float64", "i": "int64", "p": "bool"}
STATIC_KINDS = {
    Kind.TEXT: pl.String,
    Kind.FLOAT: pl.Float64,
    Kind.INT: pl.Int64,
    Kind.BOOL: pl.Boolean,
    Kind.NULL: pl.Null,
}

WORDS = ["", " ", "a", "B", "abc", "1", "2.5", " 3 ", "-4", "1e2", "10", "0", "true", "no"]
WORDS += ["Yes", "é", "ß", "x-1", "-"]
FLOATS = [0.0, -0.0, 1.0, 2.5, -3.0, 0.1, 1e20, 7.0, 1e-6, math.nan, math.inf, -math.inf]
TRUE_WORDS = {"true", "1", "yes", "t", "y"}
FALSE_WORDS = {"false", "0", "no", "f", "n"}
INT_LIMIT = 2**63

# ---------------------------------------------------------------- reference conversions


def parse_num(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def parse_int(text: str) -> int | None:
    stripped = text.strip()
    if re.fullmatch(r"[+-]?[0-9]+", stripped) and -INT_LIMIT <= int(stripped) < INT_LIMIT:
        return int(stripped)
    return None


def parse_bool(text: str) -> bool | None:
    word = text.strip().lower()
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None


def float_text(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == math.floor(x) and abs(x) < 1e15:
        return str(int(x))
    text = repr(x)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = int(exponent)
    if power == -5:  # Polars writes 1e-5..1e-4 positionally, Python does not
        return format(Decimal(text), "f")
    return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"


def to_text(kind: str, v: Any) -> str | None:
    if v is None:
        return None
    if kind == "str":
        return str(v)
    if kind == "float":
        return float_text(v)
    if kind == "bool":
        return "true" if v else "false"
    return str(v)


def to_number(kind: str, v: Any) -> Any:
    if v is None:
        return None
    if kind in ("int", "float"):
        return v
    if kind == "str":
        return parse_num(v)
    if kind == "bool":
        return float(v)
    return None


def number_kind(kind: str) -> str:
    return "int" if kind == "int" else "float"


def to_bool(kind: str, v: Any) -> bool | None:
    if v is None:
        return None
    if kind == "bool":
        return bool(v)
    if kind == "str":
        return parse_bool(v)
    if kind in ("int", "float"):
        return bool(v != 0)
    return None


def float_to_int(x: float) -> int | None:
    if math.isfinite(x) and -INT_LIMIT <= x < INT_LIMIT:
        return int(x)
    return None


def unify(kinds: list[str]) -> str:
    distinct = list(dict.fromkeys(k for k in kinds if k != "null"))
    if not distinct:
        return "null"
    if len(distinct) == 1:
        return distinct[0]
    if all(k in ("int", "float") for k in distinct):
        return "float"
    return "str"


def convert(kind: str, target: str, v: Any) -> Any:
    if v is None or kind == target or target == "null":
        return v
    if target == "str":
        return to_text(kind, v)
    if target == "float":
        n = to_number(kind, v)
        return None if n is None else float(n)
    raise AssertionError(target)


def ieee(op: str, a: float, b: float) -> float:
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def order_key(kind: str, v: Any) -> Any:
    """Polars' total order: NaN equals NaN and sorts above every number."""
    if kind == "num":
        return (1, 0.0) if math.isnan(v) else (0, v)
    return v


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "lt": lambda a, b: bool(a < b),
    "ge": lambda a, b: bool(a >= b),
    "le": lambda a, b: bool(a <= b),
}

# ---------------------------------------------------------------- reference evaluator


def ref(e: dict[str, Any]) -> Ref:
    kind = e["kind"]
    if kind == "col":
        name = e["name"]
        return TYPES[name], lambda row: row[name]
    if kind in ("str", "num", "bool", "null"):
        lit_type = {"str": "str", "num": "float", "bool": "bool", "null": "null"}[kind]
        value = float(e["value"]) if kind == "num" else e.get("value")
        return lit_type, lambda row: value
    if kind in ("add", "sub", "mul", "div"):
        return ref_arith(kind, ref(e["left"]), ref(e["right"]))
    if kind in ("and", "or"):
        (lk, lf), (rk, rf) = ref(e["left"]), ref(e["right"])

        def logic(row: Row) -> bool | None:
            a, b = to_bool(lk, lf(row)), to_bool(rk, rf(row))
            if kind == "and":
                return False if False in (a, b) else None if None in (a, b) else True
            return True if True in (a, b) else None if None in (a, b) else False

        return "bool", logic
    if kind in COMPARE:
        return ref_compare(kind, ref(e["left"]), ref(e["right"]))
    if kind == "not":
        ik, f = ref(e["input"])

        def negate(row: Row) -> bool | None:
            v = to_bool(ik, f(row))
            return None if v is None else not v

        return "bool", negate
    if kind in ("upper", "lower", "trim", "substring"):
        ik, f = ref(e["input"])
        text_fn = text_function(e)
        return "str", lambda row: None if (v := to_text(ik, f(row))) is None else text_fn(v)
    if kind == "concat":
        parts = [ref(a) for a in e["args"]]
        sep: str = e["sep"]

        def join(row: Row) -> str:
            texts = [to_text(k, f(row)) for k, f in parts]
            return sep.join(t for t in texts if t is not None)

        return "str", join
    if kind == "contains":
        (ik, f), (pk, pf) = ref(e["input"]), ref(e["pattern"])

        def has(row: Row) -> bool | None:
            v, p = to_text(ik, f(row)), to_text(pk, pf(row))
            return None if v is None or p is None else p in v

        return "bool", has
    if kind == "if":
        (ck, cf), (tk, tf), (ek, ef) = ref(e["cond"]), ref(e["then"]), ref(e["else"])
        target = unify([tk, ek])
        return (
            target,
            lambda row: (
                convert(tk, target, tf(row))
                if to_bool(ck, cf(row))
                else convert(ek, target, ef(row))
            ),
        )
    if kind == "coalesce":
        parts = [ref(a) for a in e["args"]]
        target = unify([k for k, _ in parts])

        def first(row: Row) -> Any:
            for k, f in parts:
                v = convert(k, target, f(row))
                if v is not None:
                    return v
            return None

        return target, first
    if kind == "cast":
        return ref_cast(e["to"], ref(e["input"]))
    return ref_more(e)


# ---------------------------------------------------------------- SPEC §13 kinds


def round_half_away(x: float, digits: int) -> float:
    """Polars: scale by 10^digits, round half away from zero (Rust f64::round), scale back."""
    if not math.isfinite(x):
        return x
    scale = 10.0**digits
    y = x * scale
    if not math.isfinite(y):
        return x
    whole = float(Decimal(y).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return whole / scale


def ref_more(e: dict[str, Any]) -> Ref:
    kind = e["kind"]
    if kind in ("round", "abs"):
        ik, f = ref(e["input"])
        integer = number_kind(ik) == "int"

        def number(row: Row) -> Any:
            v = to_number(ik, f(row))
            if v is None:
                return None
            if kind == "abs":
                return (abs(v) if abs(v) < INT_LIMIT else None) if integer else abs(float(v))
            return v if integer else round_half_away(float(v), e["digits"])

        return ("int" if integer else "float"), number
    if kind in ("starts_with", "ends_with"):
        (ik, f), (pk, pf) = ref(e["input"]), ref(e["pattern"])

        def affix(row: Row) -> bool | None:
            v, p = to_text(ik, f(row)), to_text(pk, pf(row))
            if v is None or p is None:
                return None
            return v.startswith(p) if kind == "starts_with" else v.endswith(p)

        return "bool", affix
    if kind in ("replace", "length", "split_part", "regex_match", "regex_extract"):
        ik, f = ref(e["input"])
        fn = text_more(e)
        out = {"length": "int", "regex_match": "bool"}.get(kind, "str")
        return out, lambda row: None if (v := to_text(ik, f(row))) is None else fn(v)
    if kind == "in":
        inner = ref(e["input"])
        literal_types = {str: "str", float: "float", bool: "bool"}
        checks = [
            ref_compare("eq", inner, (literal_types[type(v)], lambda row, v=v: v))[1]
            for v in e["values"]
        ]

        def member(row: Row) -> bool | None:
            if inner[1](row) is None or inner[0] == "null":
                return None
            return any(check(row) is True for check in checks)

        return "bool", member
    if kind == "case":
        branches = [(ref(b["when"]), ref(b["then"])) for b in e["branches"]]
        other = ref(e["else"]) if "else" in e else ("null", lambda row: None)
        target = unify([t[0] for _, t in branches] + [other[0]])

        def choose(row: Row) -> Any:
            for (ck, cf), (tk, tf) in branches:
                if to_bool(ck, cf(row)):
                    return convert(tk, target, tf(row))
            return convert(other[0], target, other[1](row))

        return target, choose
    raise AssertionError(kind)


def text_more(e: dict[str, Any]) -> Callable[[str], Any]:
    kind = e["kind"]
    if kind == "replace":
        return lambda v: v.replace(e["pattern"], e["replacement"])
    if kind == "length":
        return len
    if kind == "split_part":

        def part(v: str) -> str | None:
            parts = v.split(e["sep"])
            return parts[e["index"]] if -len(parts) <= e["index"] < len(parts) else None

        return part
    if kind == "regex_match":
        return lambda v: re.search(e["pattern"], v) is not None
    group = e.get("group", 1)
    return lambda v: None if (m := re.search(e["pattern"], v)) is None else m.group(group)


def ref_arith(op: str, left: Ref, right: Ref) -> Ref:
    (lk, lf), (rk, rf) = left, right
    integer = number_kind(lk) == "int" and number_kind(rk) == "int" and op != "div"

    def arith(row: Row) -> Any:
        a, b = to_number(lk, lf(row)), to_number(rk, rf(row))
        if a is None or b is None:
            return None
        if integer:
            r = a + b if op == "add" else a - b if op == "sub" else a * b
            return r if -INT_LIMIT < r < INT_LIMIT else None
        return ieee(op, float(a), float(b))

    return ("int" if integer else "float"), arith


def ref_compare(op: str, left: Ref, right: Ref) -> Ref:
    (lk, lf), (rk, rf) = left, right
    kinds = {lk, rk}
    if "null" in kinds:
        return "bool", lambda row: None
    if len(kinds) == 1:
        mode = "num" if lk in ("int", "float") else "same"
    elif kinds <= {"int", "float", "str", "bool"} and kinds & {"int", "float"}:
        mode = "num"
    elif kinds == {"bool", "str"}:
        mode = "bool"
    else:
        mode = "text"

    def side(kind: str, v: Any) -> Any:
        if mode == "num":
            return to_number(kind, v)
        if mode == "bool":
            return to_bool(kind, v)
        if mode == "text":
            return to_text(kind, v)
        return v

    def compare(row: Row) -> bool | None:
        a, b = side(lk, lf(row)), side(rk, rf(row))
        if a is None or b is None:
            return None
        return COMPARE[op](order_key(mode, a), order_key(mode, b))

    return "bool", compare


def text_function(e: dict[str, Any]) -> Callable[[str], str]:
    kind = e["kind"]
    if kind == "upper":
        return str.upper
    if kind == "lower":
        return str.lower
    if kind == "trim":
        return str.strip
    start, length = e["start"], e.get("length")
    if length is not None:
        length = max(length, 0)
    return lambda v: v[start:] if length is None else v[start:][:length]


def ref_cast(to: str, inner: Ref) -> Ref:
    ik, f = inner
    if to == "string":
        return "str", lambda row: to_text(ik, f(row))
    if to == "bool":
        return "bool", lambda row: to_bool(ik, f(row))
    if to == "float64":

        def as_float(row: Row) -> float | None:
            n = to_number(ik, f(row))
            return None if n is None else float(n)

        return "float", as_float

    def as_int(row: Row) -> int | None:
        v = f(row)
        if v is None:
            return None
        if ik == "str":
            parsed = parse_int(v)
            if parsed is not None:
                return parsed
            n = parse_num(v)
            return None if n is None else float_to_int(n)
        if ik == "float":
            return float_to_int(v)
        return int(v)

    return "int", as_int


# ---------------------------------------------------------------- strategies

leaf = st.one_of(
    st.sampled_from(list(SCHEMA)).map(lambda c: {"kind": "col", "name": c}),
    st.sampled_from(WORDS).map(lambda w: {"kind": "str", "value": w}),
    st.sampled_from([f for f in FLOATS if math.isfinite(f)]).map(
        lambda f: {"kind": "num", "value": f}
    ),
    st.booleans().map(lambda v: {"kind": "bool", "value": v}),
    st.just({"kind": "null"}),
)


def extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    binary = st.sampled_from(
        ["add", "sub", "mul", "div", "eq", "ne", "gt", "lt", "ge", "le", "and", "or"]
    )
    return st.one_of(
        st.builds(lambda k, a, b: {"kind": k, "left": a, "right": b}, binary, children, children),
        st.builds(
            lambda k, a: {"kind": k, "input": a},
            st.sampled_from(["upper", "lower", "trim", "not"]),
            children,
        ),
        st.builds(
            lambda sep, args: {"kind": "concat", "sep": sep, "args": args},
            st.sampled_from(["", "-", " "]),
            st.lists(children, max_size=3),
        ),
        st.builds(
            lambda a, start, length: (
                {"kind": "substring", "input": a, "start": start}
                | ({} if length is None else {"length": length})
            ),
            children,
            st.integers(-5, 5),
            st.none() | st.integers(-1, 4),
        ),
        st.builds(lambda a, p: {"kind": "contains", "input": a, "pattern": p}, children, children),
        st.builds(
            lambda c, t, o: {"kind": "if", "cond": c, "then": t, "else": o},
            children,
            children,
            children,
        ),
        st.builds(lambda args: {"kind": "coalesce", "args": args}, st.lists(children, max_size=3)),
        st.builds(
            lambda a, to: {"kind": "cast", "input": a, "to": to},
            children,
            st.sampled_from(["int64", "float64", "string", "bool"]),
        ),
        *more_kinds(children),
    )


REGEXES = ["a", "^a", "B$", "[0-9]+", "(?i)yes", "é", "^$", "x-"]
EXTRACTS = [("([0-9]+)", 1), ("(a)(b)?", 2), ("([a-z]*)-", 0), ("^ *([^ ]+)", 1)]


def more_kinds(children: st.SearchStrategy[dict[str, Any]]) -> list[st.SearchStrategy[Any]]:
    """Strategies for the kinds of SPEC §13 that work on the types of SCHEMA."""
    return [
        st.builds(
            lambda a, d: {"kind": "round", "input": a, "digits": d}, children, st.integers(0, 3)
        ),
        st.builds(lambda a: {"kind": "abs", "input": a}, children),
        st.builds(
            lambda k, a, p: {"kind": k, "input": a, "pattern": p},
            st.sampled_from(["starts_with", "ends_with"]),
            children,
            children,
        ),
        st.builds(
            lambda a, p, r: {"kind": "replace", "input": a, "pattern": p, "replacement": r},
            children,
            st.sampled_from(["a", "-", " ", "1", "ß", "aa"]),
            st.sampled_from(["", "X", "--"]),
        ),
        st.builds(lambda a: {"kind": "length", "input": a}, children),
        st.builds(
            lambda a, sep, i: {"kind": "split_part", "input": a, "sep": sep, "index": i},
            children,
            st.sampled_from(["-", " ", "a", ".5"]),
            st.integers(-3, 3),
        ),
        st.builds(
            lambda a, p: {"kind": "regex_match", "input": a, "pattern": p},
            children,
            st.sampled_from(REGEXES),
        ),
        st.builds(
            lambda a, pg: {"kind": "regex_extract", "input": a, "pattern": pg[0], "group": pg[1]},
            children,
            st.sampled_from(EXTRACTS),
        ),
        st.builds(
            lambda a, vs: {"kind": "in", "input": a, "values": vs},
            children,
            st.lists(
                st.sampled_from(WORDS)
                | st.sampled_from([0.0, 1.0, 2.5, -4.0, 10.0])
                | st.booleans(),
                max_size=4,
            ),
        ),
        st.builds(
            lambda bs, o: (
                {"kind": "case", "branches": [{"when": w, "then": t} for w, t in bs]}
                | ({} if o is None else {"else": o})
            ),
            st.lists(st.tuples(children, children), min_size=1, max_size=3),
            st.none() | children,
        ),
    ]


expressions = st.recursive(leaf, extend, max_leaves=12)

rows = st.lists(
    st.fixed_dictionaries(
        {
            "s": st.none() | st.sampled_from(WORDS),
            "t": st.none() | st.sampled_from(WORDS),
            "x": st.none() | st.sampled_from(FLOATS),
            "i": st.none() | st.integers(-5, 20),
            "p": st.none() | st.booleans(),
        }
    ),
    min_size=1,
    max_size=12,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=1e-12)
    return type(a) is type(b) and a == b if a is not None and b is not None else a is b


@settings(max_examples=200, deadline=None)
@given(expr=expressions, data=rows)
def test_compiler_equals_reference_evaluator(expr: dict[str, Any], data: list[Row]) -> None:
    columns = {name: [r[name] for r in data] for name in SCHEMA}
    got = evaluate(expr, columns, SCHEMA)
    kind, fn = ref(expr)
    expected = [fn(r) for r in data]
    dtype = {"str": pl.String, "float": pl.Float64, "int": pl.Int64, "bool": pl.Boolean}
    compiled = compile_json(expr, SCHEMA).dtype
    assert compiled == dtype.get(kind, pl.Null)
    # validation's static type (config/typecheck.py) is the compiler's type
    static = Typer(DECLARED).type_of(parse(expr)).kind
    assert STATIC_KINDS[static] == compiled, (static, compiled)
    mismatches = [(r, g, x) for r, g, x in zip(data, got, expected, strict=True) if not same(g, x)]
    assert not mismatches, mismatches


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.none() | st.text(alphabet="aé€ \U0001f600", max_size=6), min_size=1),
    start=st.integers(-8, 8),
    length=st.none() | st.integers(-2, 8),
)
def test_substring_equals_python_slicing(
    values: list[str | None], start: int, length: int | None
) -> None:
    expr: dict[str, Any] = {"kind": "substring", "input": {"kind": "col", "name": "s"}}
    expr |= {"start": start} if length is None else {"start": start, "length": length}
    cut = text_function(expr)
    got = evaluate(expr, {"s": values}, {"s": pl.String})
    assert got == [None if v is None else cut(v) for v in values]
