"""Named parameters (``:lo``, ``@lo``) and automatic parameterization of literals.

Every expected result is computed without arrowjit: plain Python over ``to_pylist()``
values with SQL three-valued (Kleene) logic spelled out below, IEEE NaN as Python floats
have it, and numpy only to round a value to float32. The data has nulls in every column
and NaN in the float columns, and is longer than one 64-row block with a partial last one.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import math
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit import ExpressionTypeError, ParameterError, compile_filter

filter_module = importlib.import_module("arrowjit.filter")

nan, inf = math.nan, math.inf

# ---------------------------------------------------------------------------
# Three-valued logic (None is SQL null), the oracle's building blocks
# ---------------------------------------------------------------------------


def _null_safe(op):
    return lambda a, b: None if a is None or b is None else op(a, b)


gt = _null_safe(lambda a, b: a > b)
ge = _null_safe(lambda a, b: a >= b)
lt = _null_safe(lambda a, b: a < b)
le = _null_safe(lambda a, b: a <= b)
eq = _null_safe(lambda a, b: a == b)
ne = _null_safe(lambda a, b: a != b)
add = _null_safe(lambda a, b: a + b)
sub = _null_safe(lambda a, b: a - b)
mul = _null_safe(lambda a, b: a * b)
mod = _null_safe(lambda a, b: a % b)  # Python's floor remainder, as docs/language.md says
pow_ = _null_safe(lambda a, b: a ** b)


def AND(*xs):
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def OR(*xs):
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def NOT(x):
    return None if x is None else not x


def IN(a, *items):
    return OR(*(eq(a, item) for item in items))


def BETWEEN(a, lo, hi):
    return AND(ge(a, lo), le(a, hi))


def f32(value):
    """A Python float rounded to float32, as a float32 parameter holds it."""
    return None if value is None else float(np.float32(value))


# ---------------------------------------------------------------------------
# Data: 300 rows (four full 64-row blocks and a partial one), nulls everywhere, NaN in floats
# ---------------------------------------------------------------------------

N = 300
_rng = np.random.default_rng(20240917)


def _with_nulls(values, rate=0.1):
    return [None if _rng.random() < rate else v for v in values]


def _pick(pool, n=N):
    return [pool[k] for k in _rng.integers(0, len(pool), n)]


HALVES = [k / 2 for k in range(-6, 7)]  # -3.0 .. 3.0, exact in binary
BATCH = pa.record_batch({
    "x": pa.array(_with_nulls(_pick(HALVES + [nan])), pa.float64()),
    "y": pa.array(_with_nulls(_pick(HALVES + [nan])), pa.float64()),
    "i": pa.array(_with_nulls(_pick(list(range(-6, 7)))), pa.int64()),
    "j": pa.array(_with_nulls(_pick(list(range(-6, 7)))), pa.int64()),
    "i8": pa.array(_with_nulls(_pick(list(range(-8, 9)) + [-128, 127])), pa.int8()),
    "u8": pa.array(_with_nulls(_pick([0, 1, 2, 5, 254, 255])), pa.uint8()),
    "u64": pa.array(_with_nulls(_pick([0, 1, 5, 2**63 - 1, 2**63, 2**64 - 1])), pa.uint64()),
    "f32": pa.array(_with_nulls(_pick(HALVES + [0.1, nan])), pa.float32()),
    "flag": pa.array(_with_nulls(_pick([True, False]), rate=0.2), pa.bool_()),
})
SCHEMA = BATCH.schema
ROWS = BATCH.to_pylist()
# The same rows as a Table chunked at rows 0, 70, 200.
TABLE = pa.Table.from_batches([BATCH.slice(0, 70), BATCH.slice(70, 130), BATCH.slice(200)])


def expect(predicate, *args) -> list[bool]:
    """The rows a filter keeps: where ``predicate(row, *args)`` is true (not false, not null)."""
    return [predicate(row, *args) is True for row in ROWS]


def rows_of(data) -> list[dict]:
    """A batch's or table's rows, with NaN written "NaN" so that equal rows compare equal."""
    return [{k: "NaN" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            for row in data.to_pylist()]


def kept_rows(mask: list[bool]) -> list[dict]:
    return [row for row, keep in zip(rows_of(BATCH), mask) if keep]


def positions(mask: list[bool]) -> list[int]:
    return [k for k, keep in enumerate(mask) if keep]


def test_the_data_has_nulls_and_nan():
    for name in SCHEMA.names:
        assert BATCH.column(name).null_count > 0, name
    for name in ("x", "y", "f32"):
        assert any(isinstance(v, float) and math.isnan(v) for v in BATCH.column(name).to_pylist()), name


# ---------------------------------------------------------------------------
# Syntax: `:name`, `@name`, in lists, between, bare predicates, inside arithmetic
# ---------------------------------------------------------------------------

SYNTAX = [
    # (expression, values, oracle(row, values), expected parameter types)
    ("x > :lo and x < :hi", {"lo": -1.0, "hi": 2.0},
     lambda r, p: AND(gt(r["x"], p["lo"]), lt(r["x"], p["hi"])), {"lo": "float64", "hi": "float64"}),
    ("x > @lo and x < @hi", {"lo": -1.0, "hi": 2.0},
     lambda r, p: AND(gt(r["x"], p["lo"]), lt(r["x"], p["hi"])), {"lo": "float64", "hi": "float64"}),
    (":lo < x", {"lo": 0.5}, lambda r, p: lt(p["lo"], r["x"]), {"lo": "float64"}),
    ("x > :lo and x < @lo", {"lo": 0.5}, lambda r, p: AND(gt(r["x"], p["lo"]), lt(r["x"], p["lo"])),
     {"lo": "float64"}),  # :lo and @lo are one parameter
    ("x between @lo and @hi", {"lo": -1.5, "hi": 1.0},
     lambda r, p: BETWEEN(r["x"], p["lo"], p["hi"]), {"lo": "float64", "hi": "float64"}),
    ("x between :lo and :hi", {"lo": 1.0, "hi": -1.5},
     lambda r, p: BETWEEN(r["x"], p["lo"], p["hi"]), {"lo": "float64", "hi": "float64"}),
    ("x not between :lo and :hi", {"lo": -1.5, "hi": 1.0},
     lambda r, p: NOT(BETWEEN(r["x"], p["lo"], p["hi"])), {"lo": "float64", "hi": "float64"}),
    ("i in (:a, :b)", {"a": 1, "b": -2}, lambda r, p: IN(r["i"], p["a"], p["b"]),
     {"a": "int64", "b": "int64"}),
    ("i not in (:a, :b, 3)", {"a": 1, "b": -2},
     lambda r, p: NOT(IN(r["i"], p["a"], p["b"], 3)), {"a": "int64", "b": "int64"}),
    ("i8 in (@a, @b, -8)", {"a": 127, "b": 0}, lambda r, p: IN(r["i8"], p["a"], p["b"], -8),
     {"a": "int8", "b": "int8"}),
    ("x in (:a, 0.5)", {"a": -3.0}, lambda r, p: IN(r["x"], p["a"], 0.5), {"a": "float64"}),
    (":flag", {"flag": True}, lambda r, p: p["flag"], {"flag": "bool"}),
    (":flag", {"flag": False}, lambda r, p: p["flag"], {"flag": "bool"}),
    (":flag and x > 0", {"flag": True}, lambda r, p: AND(p["flag"], gt(r["x"], 0)), {"flag": "bool"}),
    ("not :flag or flag", {"flag": True}, lambda r, p: OR(NOT(p["flag"]), r["flag"]), {"flag": "bool"}),
    ("flag = :want", {"want": False}, lambda r, p: eq(r["flag"], p["want"]), {"want": "bool"}),
    ("x * :k > 1", {"k": -2.0}, lambda r, p: gt(mul(r["x"], p["k"]), 1), {"k": "float64"}),
    ("x * :k > 1", {"k": 0.5}, lambda r, p: gt(mul(r["x"], p["k"]), 1), {"k": "float64"}),
    ("i * :k > 1", {"k": 3}, lambda r, p: gt(mul(r["i"], p["k"]), 1), {"k": "int64"}),
    ("i + :k >= :lo", {"k": 2, "lo": 3}, lambda r, p: ge(add(r["i"], p["k"]), p["lo"]),
     {"k": "int64", "lo": "int64"}),
    ("x - :c < :tol and x - :c > -:tol", {"c": 1.0, "tol": 1.25},
     lambda r, p: AND(lt(sub(r["x"], p["c"]), p["tol"]), gt(sub(r["x"], p["c"]), -p["tol"])),
     {"c": "float64", "tol": "float64"}),
    ("x > :lo or i < :lo", {"lo": 2.5}, lambda r, p: OR(gt(r["x"], p["lo"]), lt(r["i"], p["lo"])),
     {"lo": "float64"}),  # the type comes from where the parameter first stands
]


@pytest.mark.parametrize("expr, values, oracle, types", SYNTAX,
                         ids=[f"{case[0]} {case[1]}" for case in SYNTAX])
def test_syntax(expr, values, oracle, types):
    f = compile_filter(expr, SCHEMA)
    assert {name: str(t) for name, t in f.parameters.items()} == types
    expected = expect(oracle, values)
    assert f.mask(BATCH, **values).to_pylist() == expected
    assert f.mask(BATCH, params=values).to_pylist() == expected
    assert f.indices(BATCH, **values).to_pylist() == positions(expected)
    assert f.count(BATCH, **values) == sum(expected)
    assert rows_of(f(BATCH, **values)) == kept_rows(expected)
    # a chunked Table: positions in the whole table, a mask per chunk
    assert f.indices(TABLE, params=values).to_pylist() == positions(expected)
    assert f.mask(TABLE, **values).to_pylist() == expected
    filtered = f(TABLE, **values)
    assert isinstance(filtered, pa.Table) and rows_of(filtered) == kept_rows(expected)


def test_parameters_only_in_both_prefixes_and_only_once():
    f = compile_filter("x > :lo and x < @lo or i = :lo", SCHEMA)
    assert list(f.parameters) == ["lo"]


@pytest.mark.parametrize("name", ["params", "threads", "class", "lambda", "in", "and", "x"])
def test_names_that_are_reserved_or_not_python_identifiers_go_through_params(name):
    f = compile_filter(f"x > :{name}", SCHEMA)
    assert list(f.parameters) == [name]
    expected = expect(lambda r: gt(r["x"], 0.5))
    assert f.mask(BATCH, params={name: 0.5}).to_pylist() == expected
    assert f.count(BATCH, params={name: 0.5}, threads=2) == sum(expected)


def test_threads_keyword_is_the_thread_count_not_the_parameter():
    f = compile_filter("x > :threads", SCHEMA)
    with pytest.raises(ParameterError, match="'threads'"):
        f.count(BATCH, threads=2)  # no value for :threads


# ---------------------------------------------------------------------------
# Type inference per column type
# ---------------------------------------------------------------------------

INT_TYPES = {
    "int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1), "int32": (-2**31, 2**31 - 1),
    "int64": (-2**63, 2**63 - 1), "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1),
}
FLOAT_POOL = [-inf, -1.5, -0.0, 0.0, 0.1, 0.5, 1.5, 1e30, inf, nan]


def _int_pool(lo, hi):
    negative = {-1, -5} if lo < 0 else set()
    return sorted({lo, lo + 1, 0, 1, 2, 5, 100 if hi >= 100 else hi, hi - 1, hi} | negative)


def _typed_column(pool, n=200):
    return [None if k % 9 == 4 else pool[(k * 7 + k // len(pool)) % len(pool)] for k in range(n)]


TYPED_COLUMNS = {name: _typed_column(_int_pool(*bounds)) for name, bounds in INT_TYPES.items()}
TYPED_COLUMNS["float32"] = _typed_column(FLOAT_POOL)
TYPED_COLUMNS["float64"] = _typed_column(FLOAT_POOL)
TYPED_COLUMNS["bool"] = _typed_column([True, False, True])
TYPED = pa.record_batch({f"c_{name}": pa.array(values, getattr(pa, name if name != "bool" else "bool_")())
                         for name, values in TYPED_COLUMNS.items()})
TYPED_ROWS = TYPED.to_pylist()


def typed_expect(predicate, *args):
    return [predicate(row, *args) is True for row in TYPED_ROWS]


@pytest.mark.parametrize("type_name", list(INT_TYPES))
def test_integer_parameters_take_the_column_type(type_name):
    column = f"c_{type_name}"
    lo, hi = INT_TYPES[type_name]
    pool = _int_pool(lo, hi)
    greater = compile_filter(f"{column} > :v", TYPED.schema)
    left = compile_filter(f":v >= {column}", TYPED.schema)
    between = compile_filter(f"{column} between :a and :b", TYPED.schema)
    listed = compile_filter(f"{column} in (:a, :b)", TYPED.schema)
    for f in (greater, left):
        assert {n: str(t) for n, t in f.parameters.items()} == {"v": type_name}
    for f in (between, listed):
        assert {n: str(t) for n, t in f.parameters.items()} == {"a": type_name, "b": type_name}
    for v in pool:
        assert greater.mask(TYPED, v=v).to_pylist() == typed_expect(lambda r, v: gt(r[column], v), v), v
        assert left.mask(TYPED, v=v).to_pylist() == typed_expect(lambda r, v: ge(v, r[column]), v), v
        assert listed.mask(TYPED, a=v, b=lo).to_pylist() == typed_expect(
            lambda r, v: IN(r[column], v, lo), v), v
        assert between.mask(TYPED, a=v, b=hi).to_pylist() == typed_expect(
            lambda r, v: BETWEEN(r[column], v, hi), v), v
    # the extremes fit; one past them does not
    for v in (lo - 1, hi + 1):
        with pytest.raises(ParameterError, match="'v'"):
            greater.mask(TYPED, v=v)
    with pytest.raises(ParameterError, match="'b'"):
        between.mask(TYPED, a=lo, b=hi + 1)


@pytest.mark.parametrize("type_name", ["float32", "float64"])
def test_float_parameters_take_the_column_type(type_name):
    column = f"c_{type_name}"
    rounded = f32 if type_name == "float32" else (lambda v: v)
    greater = compile_filter(f"{column} > :v", TYPED.schema)
    equal = compile_filter(f"{column} = :v", TYPED.schema)
    between = compile_filter(f"{column} between :a and :b", TYPED.schema)
    assert str(greater.parameters["v"]) == type_name
    assert {n: str(t) for n, t in between.parameters.items()} == {"a": type_name, "b": type_name}
    for v in [-inf, -1.5, -0.0, 0.1, 0.3, 1.5, 1e30, inf, nan, 2]:
        w = rounded(v)
        assert greater.mask(TYPED, v=v).to_pylist() == typed_expect(lambda r, w: gt(r[column], w), w), v
        assert equal.mask(TYPED, v=v).to_pylist() == typed_expect(lambda r, w: eq(r[column], w), w), v
        assert between.mask(TYPED, a=v, b=1.5).to_pylist() == typed_expect(
            lambda r, w: BETWEEN(r[column], w, 1.5), w), v


def test_float32_parameter_holds_the_float32_rounding():
    # 0.1 as a float32 parameter is float32(0.1): the float32 column's 0.1 is equal, not greater
    f = compile_filter("c_float32 = :v", TYPED.schema)
    stored = TYPED.column("c_float32").to_pylist()  # float32 values, exactly as Python floats
    assert f.count(TYPED, v=0.1) == sum(v == f32(0.1) for v in stored) > 0
    assert f.count(TYPED, v=0.1) == typed_expect(lambda r: eq(r["c_float32"], f32(0.1))).count(True)


def test_bool_parameters():
    column = "c_bool"
    cases = {
        f"{column} = :v": lambda r, v: eq(r[column], v),
        f"{column} != :v": lambda r, v: ne(r[column], v),
        f":v and {column}": lambda r, v: AND(v, r[column]),
        f"{column} or :v": lambda r, v: OR(r[column], v),
        ":v": lambda r, v: v,
        "not :v": lambda r, v: NOT(v),
    }
    for expr, oracle in cases.items():
        f = compile_filter(expr, TYPED.schema)
        assert {n: str(t) for n, t in f.parameters.items()} == {"v": "bool"}, expr
        for v in (True, False, None):
            assert f.mask(TYPED, v=v).to_pylist() == typed_expect(oracle, v), (expr, v)


# ---------------------------------------------------------------------------
# Explicit parameter types
# ---------------------------------------------------------------------------

def test_explicit_wider_type_on_an_int8_column_accepts_300():
    f = compile_filter("i8 > :lo", SCHEMA, params={"lo": "int64"})
    assert str(f.parameters["lo"]) == "int64"
    assert f.count(BATCH, lo=300) == 0
    assert f.mask(BATCH, lo=-300).to_pylist() == expect(lambda r: r["i8"] is not None)
    assert f.mask(BATCH, lo=5).to_pylist() == expect(lambda r: gt(r["i8"], 5))
    inferred = compile_filter("i8 > :lo", SCHEMA)
    assert str(inferred.parameters["lo"]) == "int8"
    with pytest.raises(ParameterError, match="'lo'"):
        inferred.count(BATCH, lo=300)


def test_explicit_signed_type_on_a_uint8_column_accepts_negative_values():
    f = compile_filter("u8 > :lo", SCHEMA, params={"lo": "int16"})
    assert f.mask(BATCH, lo=-1).to_pylist() == expect(lambda r: r["u8"] is not None)
    assert f.mask(BATCH, lo=254).to_pylist() == expect(lambda r: gt(r["u8"], 254))
    with pytest.raises(ParameterError, match="'lo'"):
        compile_filter("u8 > :lo", SCHEMA).count(BATCH, lo=-1)


def test_explicit_float_type_on_an_integer_column():
    f = compile_filter("i > :lo", SCHEMA, params={"lo": "float64"})
    assert f.mask(BATCH, lo=2.5).to_pylist() == expect(lambda r: gt(r["i"], 2.5))
    assert f.mask(BATCH, lo=-inf).to_pylist() == expect(lambda r: r["i"] is not None)
    with pytest.raises(ParameterError, match="'lo'"):
        compile_filter("i > :lo", SCHEMA).count(BATCH, lo=2.5)


def test_explicit_integer_type_on_a_float_column():
    f = compile_filter("x > :lo", SCHEMA, params={"lo": "int32"})
    assert str(f.parameters["lo"]) == "int32"
    assert f.mask(BATCH, lo=1).to_pylist() == expect(lambda r: gt(r["x"], 1))
    assert f.mask(BATCH, lo=2.0).to_pylist() == expect(lambda r: gt(r["x"], 2))  # integral float: fine
    with pytest.raises(ParameterError, match="'lo'"):
        f.count(BATCH, lo=2.5)


def test_explicit_float64_on_a_float32_column_compares_in_float64():
    f64 = compile_filter("f32 > :v", SCHEMA, params={"v": "float64"})
    f32_ = compile_filter("f32 > :v", SCHEMA)
    assert str(f64.parameters["v"]) == "float64" and str(f32_.parameters["v"]) == "float32"
    # float32(0.1) = 0.100000001... is greater than the float64 0.1 but not than float32(0.1)
    assert f64.mask(BATCH, v=0.1).to_pylist() == expect(lambda r: gt(r["f32"], 0.1))
    assert f32_.mask(BATCH, v=0.1).to_pylist() == expect(lambda r: gt(r["f32"], f32(0.1)))
    assert f64.count(BATCH, v=0.1) > f32_.count(BATCH, v=0.1)


@pytest.mark.parametrize("type_, name", [("int64", "int64"), ("double", "float64"), (pa.int64(), "int64"),
                                         (pa.float64(), "float64"), ("INT16", "int16")])
def test_explicit_types_by_name_or_arrow_type(type_, name):
    f = compile_filter("i > :lo", SCHEMA, params={"lo": type_})
    assert str(f.parameters["lo"]) == name
    assert f.mask(BATCH, lo=2).to_pylist() == expect(lambda r: gt(r["i"], 2))


def test_explicit_types_let_parameters_meet_each_other():
    f = compile_filter(":a < :b", SCHEMA, params={"a": "float64", "b": "float64"})
    assert f.count(BATCH, a=1, b=2) == N
    assert f.count(BATCH, a=2, b=1) == 0
    assert f.count(BATCH, a=None, b=1) == 0
    # one explicit type is enough: :b takes it from :a
    g = compile_filter(":a < :b and x > 0", SCHEMA, params={"a": "int8"})
    assert {n: str(t) for n, t in g.parameters.items()} == {"a": "int8", "b": "int8"}
    assert g.mask(BATCH, a=1, b=2).to_pylist() == expect(lambda r: gt(r["x"], 0))
    with pytest.raises(ParameterError, match="'b'"):
        g.count(BATCH, a=1, b=300)


def test_explicit_type_errors():
    with pytest.raises(ParameterError, match="'lo'"):
        compile_filter("x > :lo", SCHEMA, params={"lo": "binary"})
    with pytest.raises(ParameterError, match="'zz'"):
        compile_filter("x > :lo", SCHEMA, params={"lo": "float64", "zz": "int8"})
    with pytest.raises(ExpressionTypeError):
        compile_filter(":flag", SCHEMA, params={"flag": "int32"})  # not a predicate


def test_an_unknown_type_name_error_names_the_parameter():
    with pytest.raises(ParameterError, match="'lo'"):
        compile_filter("x > :lo", SCHEMA, params={"lo": "no_such_type"})


def test_parameters_that_only_meet_each_other_cannot_be_inferred():
    for expr, span in [(":a < :b", ":a < :b"), ("x > 0 and :a = :b", ":a = :b"),
                       (":a + :b > 1", ":a + :b")]:
        with pytest.raises(ExpressionTypeError) as info:
            compile_filter(expr, SCHEMA)
        message = str(info.value)
        assert ":a" in message and ":b" in message and "params=" in message, message
        start = expr.index(span)
        assert f"\n  {expr}\n  {' ' * start}{'^' * len(span)}" in message, message


# ---------------------------------------------------------------------------
# Null parameter values: SQL null
# ---------------------------------------------------------------------------

NULLS = [
    ("x > :lo", {"lo": None}, lambda r: None),
    ("x > :lo or flag", {"lo": None}, lambda r: OR(None, r["flag"])),
    ("x > :lo and flag", {"lo": None}, lambda r: AND(None, r["flag"])),
    ("not (x > :lo and flag)", {"lo": None}, lambda r: NOT(AND(None, r["flag"]))),
    ("not (x > :lo or flag)", {"lo": None}, lambda r: NOT(OR(None, r["flag"]))),
    ("x > :lo or x < :hi", {"lo": None, "hi": 0.5}, lambda r: OR(None, lt(r["x"], 0.5))),
    ("x > :lo or x < :hi", {"lo": None, "hi": None}, lambda r: None),
    ("x between :lo and :hi", {"lo": None, "hi": 1.0}, lambda r: BETWEEN(r["x"], None, 1.0)),
    ("x not between :lo and :hi", {"lo": None, "hi": 1.0}, lambda r: NOT(BETWEEN(r["x"], None, 1.0))),
    ("i in (:a, :b)", {"a": None, "b": 1}, lambda r: IN(r["i"], None, 1)),
    ("i in (:a, :b)", {"a": None, "b": None}, lambda r: None),
    ("i not in (:a, :b)", {"a": None, "b": 1}, lambda r: NOT(IN(r["i"], None, 1))),
    ("i not in (:a, 2)", {"a": None}, lambda r: NOT(IN(r["i"], None, 2))),
    (":flag", {"flag": None}, lambda r: None),
    (":flag or flag", {"flag": None}, lambda r: OR(None, r["flag"])),
    ("not :flag", {"flag": None}, lambda r: None),
    ("x * :k > 1 or i > 4", {"k": None}, lambda r: OR(None, gt(r["i"], 4))),
]


@pytest.mark.parametrize("expr, values, oracle", NULLS, ids=[f"{c[0]} {c[1]}" for c in NULLS])
def test_null_parameters(expr, values, oracle):
    f = compile_filter(expr, SCHEMA)
    expected = expect(oracle)
    assert f.mask(BATCH, **values).to_pylist() == expected
    assert f.count(TABLE, params=values) == sum(expected)
    assert f.indices(BATCH, **values).to_pylist() == positions(expected)


def test_null_and_non_null_values_alternate_on_one_filter():
    f = compile_filter("x > :lo or i < :hi", SCHEMA)
    calls = [(None, 0), (0.5, None), (None, None), (0.5, 0), (None, 0), (-1.0, 3)]
    for lo, hi in calls * 2:
        expected = expect(lambda r, lo, hi: OR(gt(r["x"], lo), lt(r["i"], hi)), lo, hi)
        assert f.mask(BATCH, lo=lo, hi=hi).to_pylist() == expected, (lo, hi)


def test_the_null_literal_and_a_null_parameter_agree():
    for expr, literal in [("x > :lo or flag", "x > null or flag"),
                          ("i not in (:a, 1)", "i not in (null, 1)")]:
        f = compile_filter(expr, SCHEMA)
        name = next(iter(f.parameters))
        assert f.mask(BATCH, params={name: None}).equals(compile_filter(literal, SCHEMA).mask(BATCH))


# ---------------------------------------------------------------------------
# Bad values: ParameterError naming the parameter
# ---------------------------------------------------------------------------

CALLS = {
    "call": lambda f, *a, **k: f(*a, **k),
    "mask": lambda f, *a, **k: f.mask(*a, **k),
    "indices": lambda f, *a, **k: f.indices(*a, **k),
    "count": lambda f, *a, **k: f.count(*a, **k),
}

BAD_CALLS = [
    # (expression, params mapping, keyword values, the name the message must quote)
    ("x > :lo and x < :hi", None, {"lo": 1.0}, "hi"),  # missing
    ("x > :lo and x < :hi", None, {}, "lo"),  # missing both: the first is named
    ("x > :lo and x < :hi", {"hi": 1.0}, {}, "lo"),  # missing, via params=
    ("x > :lo and x < :hi", None, {"lo": 1.0, "hi": 2.0, "zz": 3.0}, "zz"),  # unknown
    ("x > :lo and x < :hi", {"lo": 1.0, "hi": 2.0, "other name": 3.0}, {}, "other name"),
    ("x > 1.5", None, {"lo": 1.0}, "lo"),  # a filter without parameters
    ("x > 1.5", {"$0": 2.0}, {}, "$0"),  # hidden literal parameters cannot be set
    ("x > :lo and x < :hi", {"lo": 1.0}, {"lo": 1.0, "hi": 2.0}, "lo"),  # given twice
    ("x > :lo", None, {"lo": "1.0"}, "lo"),  # str for a float
    ("i > :lo", None, {"lo": "1"}, "lo"),  # str for an int
    (":flag", None, {"flag": "true"}, "flag"),  # str for a bool
    ("x > :lo", None, {"lo": True}, "lo"),  # bool for a float
    ("i > :lo", None, {"lo": False}, "lo"),  # bool for an int
    ("i8 > :lo", None, {"lo": np.bool_(True)}, "lo"),  # numpy bool for an int
    (":flag", None, {"flag": 1}, "flag"),  # int for a bool
    ("flag = :want", None, {"want": 0.0}, "want"),  # float for a bool
    ("i > :lo", None, {"lo": 2.5}, "lo"),  # float with a fraction for an int
    ("i8 > :lo", None, {"lo": np.float64(-0.5)}, "lo"),
    ("i > :lo", None, {"lo": nan}, "lo"),
    ("i > :lo", None, {"lo": inf}, "lo"),
    ("i8 > :lo", None, {"lo": 300}, "lo"),  # out of range
    ("i8 > :lo", None, {"lo": -129}, "lo"),
    ("i8 > :lo", None, {"lo": 128.0}, "lo"),
    ("i8 > :lo", None, {"lo": np.int64(300)}, "lo"),
    ("u8 > :lo", None, {"lo": -1}, "lo"),
    ("u64 > :lo", None, {"lo": 2**64}, "lo"),
    ("u64 > :lo", None, {"lo": -1}, "lo"),
    ("i > :lo", None, {"lo": 2**63}, "lo"),
    ("i > :lo", None, {"lo": -2**63 - 1}, "lo"),
    ("x > :lo", None, {"lo": [1.0]}, "lo"),
    ("x > :lo", None, {"lo": 1 + 0j}, "lo"),
    ("x > :lo", None, {"lo": object()}, "lo"),
    pytest.param("x > :lo", None, {"lo": 10**400}, "lo", id="int too large for float64"),
    pytest.param("f32 > :lo", None, {"lo": 1e300}, "lo", id="float too large for float32"),
]


def _bad_call_id(case):
    if hasattr(case, "marks"):
        return None
    expr, params, values, _ = case
    return f"{expr} params={params} {values!r}"


@pytest.mark.parametrize("how", list(CALLS))
@pytest.mark.parametrize("expr, params, values, name", BAD_CALLS, ids=[_bad_call_id(c) for c in BAD_CALLS])
def test_bad_values_raise_parameter_error_naming_the_parameter(how, expr, params, values, name):
    f = compile_filter(expr, SCHEMA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning instead of the error does not count
        with pytest.raises(ParameterError) as info:
            CALLS[how](f, BATCH, params=params, **values)
    assert f"'{name}'" in str(info.value), str(info.value)
    assert isinstance(info.value, arrowjit.ArrowJitError)


NUMPY_VALUES = [
    # (expression, numpy scalar, the same value in Python)
    ("i8 > :lo", np.int8(5), 5),
    ("i8 > :lo", np.int64(-3), -3),
    ("i8 > :lo", np.uint16(2), 2),
    ("i8 > :lo", np.float64(2.0), 2),
    ("u64 > :lo", np.uint64(2**64 - 1), 2**64 - 1),
    ("u64 >= :lo", np.uint64(2**63), 2**63),
    ("i > :lo", np.int32(-2), -2),
    ("x > :lo", np.float32(0.5), 0.5),
    ("x > :lo", np.float64(-1.5), -1.5),
    ("x > :lo", np.int64(1), 1),
    ("x > :lo", np.float16(1.5), 1.5),
    ("x != :lo", np.float64(nan), nan),
    ("f32 > :lo", np.float32(0.1), f32(0.1)),
    ("flag = :lo", np.bool_(False), False),
    ("flag = :lo", np.bool_(True), True),
]


@pytest.mark.parametrize("expr, value, plain", NUMPY_VALUES, ids=[f"{c[0]} {c[1]!r}" for c in NUMPY_VALUES])
def test_numpy_scalars_are_accepted(expr, value, plain):
    f = compile_filter(expr, SCHEMA)
    column = expr.split()[0]
    op = {">": gt, ">=": ge, "!=": ne, "=": eq}[expr.split()[1]]
    expected = expect(lambda r: op(r[column], plain))
    assert f.mask(BATCH, lo=value).to_pylist() == expected
    assert f.mask(BATCH, lo=plain).to_pylist() == expected


def test_integral_floats_are_accepted_for_integer_parameters():
    f = compile_filter("i8 >= :lo", SCHEMA)
    assert f.mask(BATCH, lo=-8.0).to_pylist() == expect(lambda r: ge(r["i8"], -8))
    assert f.mask(BATCH, lo=127.0).to_pylist() == expect(lambda r: ge(r["i8"], 127))


# ---------------------------------------------------------------------------
# One Filter, many values: the same rows as baked literals
# ---------------------------------------------------------------------------

def test_reusing_a_filter_gives_the_results_of_baked_literals():
    f = compile_filter("x > :lo", SCHEMA)
    for lo in [-inf, -3.0, -2.5, -0.0, 0.0, 0.25, 1.0, 2.5, 3.0, inf, nan]:
        baked = compile_filter(f"x > {lo!r}", SCHEMA, parameterize=False)
        expected = expect(lambda r, lo: gt(r["x"], lo), lo)
        assert f.mask(BATCH, lo=lo).to_pylist() == expected == baked.mask(BATCH).to_pylist(), lo
        assert rows_of(f(BATCH, lo=lo)) == rows_of(baked(BATCH)) == kept_rows(expected)

    g = compile_filter("i between :lo and :hi or i8 in (:a, :b)", SCHEMA)
    for lo, hi, a, b in [(-6, 6, 0, 0), (2, 1, -128, 127), (0, 0, -8, 8), (-3, 3, 5, -5), (6, 6, 1, 2)]:
        baked = compile_filter(f"i between {lo} and {hi} or i8 in ({a}, {b})", SCHEMA, parameterize=False)
        oracle = lambda r, lo, hi, a, b: OR(BETWEEN(r["i"], lo, hi), IN(r["i8"], a, b))
        expected = expect(oracle, lo, hi, a, b)
        assert g.mask(BATCH, lo=lo, hi=hi, a=a, b=b).to_pylist() == expected, (lo, hi, a, b)
        assert baked.mask(BATCH).to_pylist() == expected
        assert g.indices(TABLE, lo=lo, hi=hi, a=a, b=b).equals(baked.indices(TABLE))

    h = compile_filter("u64 > :v", SCHEMA)
    for v in [0, 1, 5, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]:
        baked = compile_filter(f"u64 > {v}", SCHEMA, parameterize=False)
        expected = expect(lambda r, v: gt(r["u64"], v), v)
        assert h.mask(BATCH, v=v).to_pylist() == expected == baked.mask(BATCH).to_pylist(), v


# ---------------------------------------------------------------------------
# pandas: @name resolved as DataFrame.query resolves it
# ---------------------------------------------------------------------------

DF = pd.DataFrame({
    "x": [1.0, nan, 3.0, 0.5, -2.0, 2.5, nan, 4.0],
    "i": np.array([1, 2, 3, 4, -1, 0, 7, 2], dtype=np.int64),
    "i8": np.array([1, -2, 3, 100, -128, 127, 0, 5], dtype=np.int8),
    "u8": np.array([0, 1, 2, 3, 255, 4, 5, 6], dtype=np.uint8),
}, index=[f"r{k}" for k in range(8)])

GLOBAL_LO = 2.0


def _pandas(df, expr, **kw):
    """``DataFrame.query`` one frame up (the caller's variables), quiet about its engine choice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return df.query(expr, level=1, **kw)


def test_pandas_closure_variable_from_an_enclosing_function():
    lo = 1.0

    def inner():
        hi = 3
        assert lo == 1.0  # makes lo a variable of this frame, which is what DataFrame.query sees
        got = DF.arrowjit.query("x > @lo and i < @hi")
        assert got.index.tolist() == [r for r, x, i in zip(DF.index, DF.x, DF.i) if x > lo and i < hi]
        pd.testing.assert_frame_equal(got, _pandas(DF, "x > @lo and i < @hi"))
        return got

    assert inner().index.tolist() == ["r5", "r7"]


def test_pandas_global_variable():
    got = DF.arrowjit.query("x >= @GLOBAL_LO")
    assert got.index.tolist() == ["r2", "r5", "r7"]
    pd.testing.assert_frame_equal(got, _pandas(DF, "x >= @GLOBAL_LO"))


def test_pandas_local_shadows_global():
    GLOBAL_LO = 3.5  # noqa: F841 - shadows the module's GLOBAL_LO; read through @GLOBAL_LO
    got = DF.arrowjit.query("x >= @GLOBAL_LO")
    assert got.index.tolist() == ["r7"]
    pd.testing.assert_frame_equal(got, _pandas(DF, "x >= @GLOBAL_LO"))


def test_pandas_local_dict_and_global_dict():
    lo = 100.0  # not used: local_dict replaces the caller's locals
    assert lo == 100.0
    got = DF.arrowjit.query("x > @lo", local_dict={"lo": 0.75})
    assert got.index.tolist() == ["r0", "r2", "r5", "r7"]
    pd.testing.assert_frame_equal(got, _pandas(DF, "x > @lo", local_dict={"lo": 0.75}))
    # global_dict replaces the module's globals; the locals still come first
    got = DF.arrowjit.query("x > @GLOBAL_LO", global_dict={"GLOBAL_LO": 3.0})
    assert got.index.tolist() == ["r7"]
    got = DF.arrowjit.query("x > @lo and i > @k", local_dict={"lo": 0.0}, global_dict={"k": 1, "lo": 9.0})
    assert got.index.tolist() == [r for r, x, i in zip(DF.index, DF.x, DF.i) if x > 0.0 and i > 1]
    # the mask form takes them too
    assert DF.arrowjit.mask("i8 < @k", local_dict={"k": 0}).tolist() == [v < 0 for v in DF.i8]


def test_pandas_missing_variable():
    with pytest.raises(ParameterError, match="no_such_variable"):
        DF.arrowjit.query("x > @no_such_variable")
    with pytest.raises(ParameterError, match="GLOBAL_LO"):
        DF.arrowjit.query("x > @GLOBAL_LO", local_dict={}, global_dict={})
    lo = 1.0
    assert lo == 1.0
    with pytest.raises(ParameterError, match="'lo'"):
        DF.arrowjit.query("x > @lo", local_dict={})  # local_dict replaces the caller's locals


def test_pandas_colon_parameters_resolve_the_same_way():
    lo = 2.0
    assert DF.arrowjit.query(":lo < x").index.tolist() == [r for r, x in zip(DF.index, DF.x) if x > lo]


def test_pandas_a_float_for_an_integer_column_compares_as_floats():
    lo = 2.5
    got = DF.arrowjit.query("i > @lo")
    assert got.index.tolist() == [r for r, i in zip(DF.index, DF.i) if i > 2.5]
    pd.testing.assert_frame_equal(got, _pandas(DF, "i > @lo"))
    lo = np.float64(-1.5)
    pd.testing.assert_frame_equal(DF.arrowjit.query("i8 < @lo"), _pandas(DF, "i8 < @lo"))
    lo = 2.0  # noqa: F841 - an integral float: the same rows as 2
    pd.testing.assert_frame_equal(DF.arrowjit.query("i == @lo"), _pandas(DF, "i == @lo"))


def test_pandas_a_numpy_float32_for_an_integer_column_compares_as_floats():
    lo = np.float32(2.5)  # noqa: F841 - read through @lo
    got = DF.arrowjit.query("i > @lo")
    assert got.index.tolist() == [r for r, i in zip(DF.index, DF.i) if i > 2.5]
    pd.testing.assert_frame_equal(got, _pandas(DF, "i > @lo"))


@pytest.mark.parametrize("expr, lo", [("i8 > @lo", 300), ("i8 > @lo", -300), ("u8 > @lo", -1)])
def test_pandas_an_integer_outside_the_column_type_is_compared_like_pandas(expr, lo):
    column = expr.split()[0]
    got = DF.arrowjit.query(expr)
    assert got.index.tolist() == [r for r, v in zip(DF.index, DF[column]) if (v > lo)]
    pd.testing.assert_frame_equal(got, _pandas(DF, expr))


PANDAS_QUERIES = [
    "x > @lo",
    "@lo < x",
    "x != @lo",
    "x == @lo or i == @k",
    "x > @lo and i < @hi",
    "not (x > @lo) and i8 >= @k",
    "i in (@k, @hi)",
    "i8 < @k or u8 > @big",
    "x * @k > @hi",
]


@pytest.mark.parametrize("values", [dict(lo=0.75, hi=3, k=2, big=4), dict(lo=nan, hi=-1, k=0, big=255),
                                    dict(lo=-2.0, hi=7, k=-2, big=0)])
@pytest.mark.parametrize("expr", PANDAS_QUERIES)
def test_pandas_agrees_with_dataframe_query(expr, values):
    got = DF.arrowjit.query(expr, local_dict=values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = DF.query(expr, local_dict=values)
    pd.testing.assert_frame_equal(got, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_mask = DF.eval(expr, local_dict=values)
    assert DF.arrowjit.mask(expr, local_dict=values).tolist() == expected_mask.tolist()


# ---------------------------------------------------------------------------
# The command line: --param
# ---------------------------------------------------------------------------

def _console_script() -> str:
    found = shutil.which("arrowjit", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"the arrowjit console script is not installed beside {sys.executable}")
    return found


CLI_RUNS = {
    "floats": ["--dump-ir", "x > :lo and x < :hi or flag and :on", "--schema", "x:float64,flag:bool",
               "--param", "lo=2.0", "--param", "hi=6.5", "--param", ":on=true", "--stage", "typed"],
    "int8-and-null": ["--dump-ir", "i8 > :lo or i8 < @hi", "--schema", "i8:int8,x:float64",
                      "--param", "lo=5", "--param", "@hi=null", "--stage", "typed"],
    "float-for-int": ["--dump-ir", "i8 > :lo", "--schema", "i8:int8", "--param", "lo=2.5",
                      "--stage", "typed"],
    "not-a-number": ["--dump-ir", "x > :lo", "--schema", "x:float64", "--param", "lo=abc"],
    "out-of-range": ["--dump-ir", "i8 > :lo", "--schema", "i8:int8", "--param", "lo=300"],
    "unknown": ["--dump-ir", "x > :lo", "--schema", "x:float64", "--param", "lo=1", "--param", "zz=2"],
    "bool-for-float": ["--dump-ir", "x > :lo", "--schema", "x:float64", "--param", "lo=true"],
    "temporal": ["--dump-ir", "m > :p and t < :q and du > :r and tm < :s and d > :u and n < :v",
                 "--schema", "m:decimal128(10,2),t:timestamp[us, tz=Asia/Kolkata],du:duration[ms],"
                 "tm:time64[us],d:date32,n:timestamp[s]", "--param", "p=1.25",
                 "--param", "q=2024-01-31T12:00:00+05:30", "--param", "r=90", "--param", "s=12:30:00",
                 "--param", "u=2024-01-31", "--param", "v=2024-01-31 10:00", "--stage", "typed"],
    "decimal-places": ["--dump-ir", "m > :p", "--schema", "m:decimal128(10,2)", "--param", "p=1.234"],
    "not-a-date": ["--dump-ir", "d > :p", "--schema", "d:date32", "--param", "p=2024-13-01"],
}


@pytest.fixture(scope="module")
def cli():
    """Every CLI_RUNS command line, run at once in subprocesses; id -> CompletedProcess-like tuple."""
    script = _console_script()
    procs = {key: subprocess.Popen([script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for key, args in CLI_RUNS.items()}
    results = {}
    for key, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[key] = (proc.returncode, out, err)
    return results


@pytest.mark.parametrize("key, line", [
    ("floats", "; parameters: :lo = 2.0 (float64), :hi = 6.5 (float64), :on = True (bool)"),
    ("int8-and-null", "; parameters: :lo = 5 (int8), :hi = None (int8)"),
    ("float-for-int", "; parameters: :lo = 2.5 (float64)"),
    # the storage integers: 1.25 unscaled, 06:30 UTC in us, 90 ms, 12:30 in us, days, seconds
    ("temporal", "; parameters: :p = 125 (decimal128(10,2)), "
                 ":q = 1706682600000000 (timestamp_us[Asia/Kolkata]), :r = 90 (duration_ms), "
                 ":s = 45000000000 (time64_us), :u = 19753 (date32), "
                 ":v = 1706695200 (timestamp_s)"),
])
def test_cli_prints_parameter_values(cli, key, line):
    status, out, err = cli[key]
    assert status == 0, err
    assert err == ""
    assert out.splitlines()[0] == line
    if key == "floats":
        assert "(greater_than_float64_float64 x:float64 :lo:float64):bool" in out


@pytest.mark.parametrize("key, name", [("not-a-number", "lo"), ("out-of-range", "lo"), ("unknown", "zz"),
                                       ("bool-for-float", "lo"), ("decimal-places", "p"),
                                       ("not-a-date", "p")])
def test_cli_bad_parameter_value_exits_2(cli, key, name):
    status, out, err = cli[key]
    assert status == 2
    assert out == ""
    assert err.startswith("arrowjit: error: ")
    assert f" {name}" in err or f"'{name}'" in err, err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------
# Automatic parameterization
# ---------------------------------------------------------------------------

def literal_value(text: str):
    """A literal's value by Python's reading of it."""
    plain = text.replace("_", "").strip()
    if plain.lower() in ("inf", "nan"):
        return float(plain)
    if plain.lower().startswith("0x"):
        return int(plain, 16)
    if any(c in plain.lower() for c in ".e"):
        return float(plain)
    return int(plain)


# (template, first literals, second literals, shares a kernel?, oracle(row, *values))
# `shares`: True: the second must reuse the first's kernel; False: it must compile its own; None: either.
AUTO = [
    ("x > {}", ("2.5",), ("0.5",), True, lambda r, v: gt(r["x"], v)),
    ("x >= {}", ("0",), ("1",), True, lambda r, v: ge(r["x"], v)),  # int literals on a float column
    ("x < {}", ("1e0",), ("25e-2",), True, lambda r, v: lt(r["x"], v)),
    ("x = {}", ("0.5",), ("nan",), True, lambda r, v: eq(r["x"], v)),
    ("x != {}", ("0.5",), ("nan",), True, lambda r, v: ne(r["x"], v)),
    ("x <> {}", ("inf",), ("1.5",), True, lambda r, v: ne(r["x"], v)),
    ("x > -{}", ("2.5",), ("0.5",), True, lambda r, v: gt(r["x"], -v)),  # negative literals
    ("-{} < x", ("1.5",), ("0.5",), True, lambda r, v: lt(-v, r["x"])),
    ("x > - {}", ("1.5",), ("0.0",), True, lambda r, v: gt(r["x"], -v)),
    ("x > {}", ("2",), ("2.0",), None, lambda r, v: gt(r["x"], v)),  # int vs float literal
    ("i > {}", ("2",), ("5",), True, lambda r, v: gt(r["i"], v)),
    ("i > -{}", ("2",), ("0",), True, lambda r, v: gt(r["i"], -v)),
    ("i <= {}", ("0x2",), ("0xFF",), True, lambda r, v: le(r["i"], v)),  # hex
    ("i <= {}", ("0x2",), ("3",), None, lambda r, v: le(r["i"], v)),
    ("i = {}", ("1_000",), ("3",), True, lambda r, v: eq(r["i"], v)),  # underscores
    ("x > {}", ("1_0.2_5",), ("0.7_5",), True, lambda r, v: gt(r["x"], v)),
    ("i > {}", ("2",), ("2.5",), None, lambda r, v: gt(r["i"], v)),  # int vs float literal, int column
    ("i > {}", ("2.5",), ("-0.5",), None, lambda r, v: gt(r["i"], v)),
    ("i > {}", ("1e3",), ("1e0",), None, lambda r, v: gt(r["i"], v)),
    ("x between {} and {}", ("0.5", "2.5"), ("1.5", "1.0"), True, lambda r, a, b: BETWEEN(r["x"], a, b)),
    ("x not between {} and {}", ("0.5", "2.5"), ("-1.5", "2.0"), True,
     lambda r, a, b: NOT(BETWEEN(r["x"], a, b))),
    ("i between {} and {}", ("0", "3"), ("3", "0"), True, lambda r, a, b: BETWEEN(r["i"], a, b)),
    ("i in ({}, {}, {})", ("1", "2", "3"), ("4", "5", "3"), True, lambda r, a, b, c: IN(r["i"], a, b, c)),
    ("i not in ({}, {})", ("1", "2"), ("2", "2"), True, lambda r, a, b: NOT(IN(r["i"], a, b))),
    ("x in ({}, {})", ("0.5", "nan"), ("1.5", "2.5"), True, lambda r, a, b: IN(r["x"], a, b)),
    ("i in ({}, {})", ("1", "2.5"), ("3", "2.5"), None, lambda r, a, b: IN(r["i"], a, b)),
    ("{} < x < {}", ("0.5", "2.5"), ("1.5", "1.5"), True, lambda r, a, b: AND(lt(a, r["x"]), lt(r["x"], b))),
    ("{} <= i < j <= {}", ("0", "5"), ("1", "3"), True,
     lambda r, a, b: AND(le(a, r["i"]), lt(r["i"], r["j"]), le(r["j"], b))),
    ("x < {} < y", ("1.5",), ("0.5",), True, lambda r, v: AND(lt(r["x"], v), lt(v, r["y"]))),  # shared
    ("x < {} < i", ("1",), ("2",), True, lambda r, v: AND(lt(r["x"], v), lt(v, r["i"]))),  # two types
    ("x < -{} < i", ("1",), ("2",), True, lambda r, v: AND(lt(r["x"], -v), lt(-v, r["i"]))),
    ("{} between x and y", ("0.5",), ("1.5",), True, lambda r, v: BETWEEN(v, r["x"], r["y"])),
    ("{} < {}", ("2", "3"), ("3", "2"), True, lambda r, a, b: lt(a, b)),  # literals on both sides
    ("{} < {}", ("2", "2.5"), ("3", "2.5"), True, lambda r, a, b: lt(a, b)),
    ("{} < {} and x > {}", ("2", "3", "0.5"), ("1", "1", "0.5"), True,
     lambda r, a, b, c: AND(lt(a, b), gt(r["x"], c))),
    ("{} = {} or flag", ("1.5", "1.5"), ("1.5", "2.5"), True, lambda r, a, b: OR(eq(a, b), r["flag"])),
    ("x > {} or x < {}", ("2.5", "2.5"), ("0.5", "1.5"), True,
     lambda r, a, b: OR(gt(r["x"], a), lt(r["x"], b))),
    ("not (x > {})", ("1.5",), ("0.5",), True, lambda r, v: NOT(gt(r["x"], v))),
    ("x < {} or flag", ("2",), ("-2",), None, lambda r, v: OR(lt(r["x"], v), r["flag"])),
    ("abs(x) > {}", ("2",), ("1",), True, lambda r, v: gt(None if r["x"] is None else abs(r["x"]), v)),
    ("x > :lo and x < {}", ("2.5",), ("1.5",), True, lambda r, v: AND(gt(r["x"], -1.0), lt(r["x"], v))),
    ("u64 > {}", ("18446744073709551615",), ("9223372036854775808",), True, lambda r, v: gt(r["u64"], v)),
    ("u64 >= {}", ("5",), ("9223372036854775808",), None, lambda r, v: ge(r["u64"], v)),
    ("u64 = {}", ("18446744073709551615",), ("0x8000000000000000",), None, lambda r, v: eq(r["u64"], v)),
    ("i > {}", ("5",), ("9223372036854775808",), None, lambda r, v: gt(r["i"], v)),  # past int64
    ("i > -{}", ("5",), ("9223372036854775808",), True, lambda r, v: gt(r["i"], -v)),  # int64 min
    ("i = {}", ("9223372036854775807",), ("1",), True, lambda r, v: eq(r["i"], v)),
    # literals that shape the code
    ("i8 > {}", ("5",), ("6",), False, lambda r, v: gt(r["i8"], v)),  # narrower column
    ("i8 > {}", ("5",), ("300",), False, lambda r, v: gt(r["i8"], v)),
    ("u8 <= {}", ("2",), ("1",), False, lambda r, v: le(r["u8"], v)),
    ("f32 > {}", ("0.5",), ("0.1",), False, lambda r, v: gt(r["f32"], v)),  # float32 column, float64 literal
    ("i % {} = {}", ("7", "0"), ("8", "0"), False, lambda r, d, v: eq(mod(r["i"], d), v)),  # divisor
    ("i % {} = {}", ("7", "0"), ("7", "1"), True, lambda r, d, v: eq(mod(r["i"], d), v)),
    ("i // {} > {}", ("2", "0"), ("3", "0"), False,
     lambda r, d, v: gt(None if r["i"] is None else r["i"] // d, v)),
    ("x ** {} > {}", ("2", "1"), ("3", "1"), False,  # exponent
     lambda r, e, v: gt(pow_(r["x"], float(e)), v)),
    ("x * {} > {}", ("2", "1"), ("3", "1"), False, lambda r, k, v: gt(mul(r["x"], k), v)),  # arithmetic
    ("x - {} > {}", ("2", "0"), ("2", "1"), True, lambda r, k, v: gt(sub(r["x"], k), v)),
    ("i - -{} > 0", ("2",), ("3",), False, lambda r, k: gt(sub(r["i"], -k), 0)),
    ("i8 < {} < i", ("5",), ("1",), None, lambda r, v: AND(lt(r["i8"], v), lt(v, r["i"]))),
    ("x < {} < f32", ("5",), ("1",), None, lambda r, v: AND(lt(r["x"], v), lt(v, r["f32"]))),
    ("{} between i8 and i", ("5",), ("1",), None, lambda r, v: BETWEEN(v, r["i8"], r["i"])),
]


def _auto_id(case):
    return None if hasattr(case, "marks") else case[0]


def test_the_automatic_parameterization_table_is_large_enough():
    assert len(AUTO) >= 30


@pytest.mark.parametrize("template, first, second, shares, oracle", AUTO, ids=[_auto_id(c) for c in AUTO])
def test_automatic_parameterization_gives_the_results_of_baked_literals(template, first, second, shares,
                                                                        oracle):
    compiled = []
    for literals in (first, second):  # the second goes through the first one's template
        expr = template.format(*literals)
        values = [literal_value(t) for t in literals]
        call = {"lo": -1.0} if ":lo" in expr else {}
        expected = expect(oracle, *values)
        auto = compile_filter(expr, SCHEMA)
        baked = compile_filter(expr, SCHEMA, parameterize=False)
        assert auto.mask(BATCH, **call).to_pylist() == expected, expr
        assert baked.mask(BATCH, **call).to_pylist() == expected, expr
        assert auto.indices(TABLE, **call).to_pylist() == positions(expected), expr
        assert auto.expression == expr
        compiled.append(auto)
    f1, f2 = compiled
    if shares is not None:
        same = f1._kernel(f1._default_nulls) is f2._kernel(f2._default_nulls)
        assert same == shares, f"{template}: shares a kernel: {same}, expected {shares}"


def test_an_invalid_literal_is_not_made_valid_by_the_template_cache():
    compile_filter("x > 5", SCHEMA)
    compile_filter("i > -5", SCHEMA)
    for expr in ["x > 99999999999999999999999", "i > -9223372036854775809", "x > -18446744073709551615"]:
        for parameterize in (True, False):
            with pytest.raises(arrowjit.ArrowJitError):
                compile_filter(expr, SCHEMA, parameterize=parameterize)


def test_same_shape_shares_the_kernel_and_skips_the_compiler(monkeypatch):
    f1 = compile_filter("x > 2.75 and i < 4", SCHEMA)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the second filter of a known shape went through the compiler")

    monkeypatch.setattr(filter_module, "front_end", must_not_run)
    monkeypatch.setattr(filter_module, "back_end", must_not_run)
    f2 = compile_filter("x > 3.125 and i < 2", SCHEMA)
    assert f1._kernel(f1._default_nulls) is f2._kernel(f2._default_nulls)
    assert f2.mask(BATCH).to_pylist() == expect(lambda r: AND(gt(r["x"], 3.125), lt(r["i"], 2)))
    assert f1.mask(BATCH).to_pylist() == expect(lambda r: AND(gt(r["x"], 2.75), lt(r["i"], 4)))
    assert f2.parameters == {}


@pytest.mark.parametrize("first, second", [
    ("i % 7 = 0", "i % 8 = 0"),
    ("i // 7 = 0", "i // 8 = 0"),
    ("x ** 2 > 1", "x ** 3 > 1"),
    ("i ** 2 > 1", "i ** 3 > 1"),
    ("i8 > 5", "i8 > 6"),
    ("x * 2 > 1", "x * 3 > 1"),
])
def test_literals_that_shape_the_code_compile_a_different_kernel(first, second):
    f1, f2 = compile_filter(first, SCHEMA), compile_filter(second, SCHEMA)
    assert f1._kernel(f1._default_nulls) is not f2._kernel(f2._default_nulls)
    assert f1.ir("typed") != f2.ir("typed")
    assert f1.ir("llvm") != f2.ir("llvm")


def test_parameterize_false_bakes_every_literal():
    f1 = compile_filter("x > 1.375", SCHEMA, parameterize=False)
    f2 = compile_filter("x > 1.625", SCHEMA, parameterize=False)
    assert f1._kernel(f1._default_nulls) is not f2._kernel(f2._default_nulls)
    assert "shared" not in f1.ir("typed")
    assert f1.ir("llvm") != f2.ir("llvm")
    assert f2.mask(BATCH).to_pylist() == expect(lambda r: gt(r["x"], 1.625))


def test_typed_ir_shows_each_filters_own_literals():
    f1 = compile_filter("x > 2.5 and i8 > 5 or i in (1, 2)", SCHEMA)
    f2 = compile_filter("x > 3.1 and i8 > 5 or i in (7, 8)", SCHEMA)
    assert f1._kernel(f1._default_nulls) is f2._kernel(f2._default_nulls)
    t1, t2 = f1.ir("typed"), f2.ir("typed")
    assert "2.5:float64" in t1 and "3.1" not in t1
    assert "3.1:float64" in t2 and "2.5" not in t2
    assert "1:int64" in t1 and "2:int64" in t1 and "7:int64" not in t1
    assert "7:int64" in t2 and "8:int64" in t2
    # the hidden parameters are noted with each filter's values
    assert "= 2.5" in t1 and "= 3.1" in t2
    assert "= 7" in t2 and "= 7" not in t1
    # the LLVM stages show the one shared kernel; the llvm stage's source comments quote each text
    uncommented = [re.sub(r"(?m)  ; .*$|^; .*\n", "", f.ir("llvm")) for f in (f1, f2)]
    assert uncommented[0] == uncommented[1]
    assert "  ; x > 2.5  [0:7]\n" in f1.ir("llvm") and "  ; x > 3.1  [0:7]\n" in f2.ir("llvm")
    assert f1.ir("optimized") == f2.ir("optimized")
    # the AST is each filter's own
    assert "3.1" in f2.ir("ast") and "2.5" not in f2.ir("ast")
    assert f2.expression == "x > 3.1 and i8 > 5 or i in (7, 8)"
    assert "3.1" in repr(f2)


def test_hidden_literals_and_named_parameters_together():
    f1 = compile_filter("x > :lo and i < 3", SCHEMA)
    f2 = compile_filter("x > :lo and i < -3", SCHEMA)
    assert f1._kernel(f1._default_nulls) is f2._kernel(f2._default_nulls)
    assert list(f2.parameters) == ["lo"]
    for lo in (None, -1.0, 0.5):
        oracle = lambda r, lo, hi: AND(gt(r["x"], lo), lt(r["i"], hi))
        assert f2.mask(BATCH, lo=lo).to_pylist() == expect(oracle, lo, -3)
        assert f1.mask(BATCH, lo=lo).to_pylist() == expect(oracle, lo, 3)
    with pytest.raises(ParameterError, match="'lo'"):
        f2.count(BATCH)


# ---------------------------------------------------------------------------
# Temporal and decimal parameters: values from Python, numpy and pyarrow, the
# oracle pyarrow.compute with the same value as a scalar of the column's type
# ---------------------------------------------------------------------------

_D = decimal.Decimal
_ROWS = 150


def _temporal_table() -> pa.Table:
    base = dt.datetime(2024, 1, 1)
    days = [None if i % 7 == 3 else dt.date(2024, 1, 1) + dt.timedelta(days=i - 70) for i in range(_ROWS)]
    stamps = [None if i % 5 == 1 else base + dt.timedelta(hours=7 * i - 500, microseconds=i)
              for i in range(_ROWS)]
    amounts = [None if i % 6 == 2 else _D(i * 37 - 2000).scaleb(-2) for i in range(_ROWS)]
    return pa.table({
        "d": pa.array(days, pa.date32()),
        "d64": pa.array(days, pa.date64()),
        "ts": pa.array(stamps, pa.timestamp("us")),
        "tz": pa.array(stamps, pa.timestamp("ms", "America/New_York")),
        "tm": pa.array([None if s is None else s.time() for s in stamps], pa.time64("us")),
        "du": pa.array([None if i % 4 == 0 else dt.timedelta(minutes=13 * i - 900) for i in range(_ROWS)],
                       pa.duration("s")),
        "m": pa.array(amounts, pa.decimal128(12, 2)),
    })


_TEMPORAL_CASES = [
    ("d", dt.date(2024, 1, 15), dt.date(2024, 1, 15)),
    ("d", np.datetime64("2023-12-01"), dt.date(2023, 12, 1)),
    ("d", pa.scalar(dt.date(2024, 2, 1)), dt.date(2024, 2, 1)),
    ("d64", dt.date(2023, 11, 30), dt.date(2023, 11, 30)),
    ("ts", dt.datetime(2024, 1, 3, 4, 0, 0, 12), dt.datetime(2024, 1, 3, 4, 0, 0, 12)),
    ("ts", dt.date(2024, 1, 5), dt.datetime(2024, 1, 5)),
    ("ts", np.datetime64("2023-12-30T10:00:00.000003"), dt.datetime(2023, 12, 30, 10, 0, 0, 3)),
    ("ts", pd.Timestamp("2024-01-10 13:00"), dt.datetime(2024, 1, 10, 13)),
    # naive: a wall-clock time in the column's zone (as timestamp literals); aware: that instant
    ("tz", dt.datetime(2024, 1, 3, 4), dt.datetime(2024, 1, 3, 9, tzinfo=dt.UTC)),
    ("tz", dt.datetime(2024, 1, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
     dt.datetime(2024, 1, 2, 22, 30, tzinfo=dt.UTC)),
    ("tm", dt.time(13, 0, 0, 7), dt.time(13, 0, 0, 7)),
    ("du", dt.timedelta(hours=-3), dt.timedelta(hours=-3)),
    ("du", np.timedelta64(90, "m"), dt.timedelta(minutes=90)),
    ("m", _D("-3.21"), _D("-3.21")),
    ("m", 5, _D(5)),
    ("m", 2.5, _D("2.5")),
    ("m", pa.scalar(_D("1.7"), pa.decimal128(5, 1)), _D("1.7")),
]


@pytest.mark.parametrize("column, value, expected_value", _TEMPORAL_CASES)
@pytest.mark.parametrize("op, function", [(">", pc.greater), ("==", pc.equal), ("<=", pc.less_equal)])
def test_temporal_and_decimal_parameters_match_pyarrow(column, value, expected_value, op, function):
    table = _temporal_table()
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=61))
    f = compile_filter(f"{column} {op} :p", table.schema)
    scalar = pa.scalar(expected_value, table.schema.field(column).type)
    for data in (table, table.slice(3, 101), chunked.slice(17, 120)):
        expected = function(data[column], scalar).fill_null(False).to_pylist()
        assert f.mask(data, p=value).to_pylist() == expected
        assert f.count(data, p=value) == sum(expected)


@pytest.mark.parametrize("column", ["d", "d64", "ts", "tz", "tm", "du", "m"])
def test_temporal_and_decimal_null_parameters_keep_no_row(column):
    table = _temporal_table()
    f = compile_filter(f"{column} >= :p or :p is null", table.schema)
    for null in (None, pa.scalar(None, table.schema.field(column).type)):
        assert f.count(table, p=null) == _ROWS
    g = compile_filter(f"{column} >= :p", table.schema)
    assert g.count(table, p=None) == 0


@pytest.mark.parametrize("type_name, value, expected", [
    ("date32", dt.date(1970, 1, 2), 1),
    ("date64", dt.date(1969, 12, 31), -86_400_000),
    ("timestamp[s]", dt.datetime(1970, 1, 1, 0, 1), 60),
    ("timestamp[ns, tz=UTC]", dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC), 10**9),
    ("time32[ms]", dt.time(0, 0, 2), 2000),
    ("duration[us]", dt.timedelta(seconds=-1), -10**6),
    ("decimal128(38,0)", _D(10**38 - 1), 10**38 - 1),
    ("decimal128(38,0)", _D(-(10**38 - 1)), -(10**38 - 1)),
    ("decimal128(38,10)", _D("-1.0000000001"), -10_000_000_001),
])
def test_explicit_temporal_and_decimal_parameter_types_read_back_exactly(type_name, value, expected):
    # cast(:p as T) of a T parameter is the value itself: the projection reads the slot back
    proj = arrowjit.compile_projection({"v": "coalesce(:p, :p)", "w": ":q + 1"},
                                       pa.schema([("x", pa.int8())]), params={"p": type_name, "q": "int64"})
    out = proj(pa.record_batch({"x": pa.array([1, 2, 3], pa.int8())}), p=value, q=41)
    arrow_type = out.schema.field("v").type
    if not pa.types.is_decimal(arrow_type):
        storage = out.column(0).view(pa.int32() if arrow_type.bit_width == 32 else pa.int64())
        assert storage.to_pylist() == [expected] * 3
    else:
        exact = decimal.Context(prec=100)
        assert [int(v.scaleb(arrow_type.scale, exact)) for v in out.column(0).to_pylist()] == [expected] * 3
    assert out.column(1).to_pylist() == [42] * 3  # the slot after a 16-byte decimal is intact


def test_decimal_parameters_next_to_other_parameters_keep_their_slots():
    table = _temporal_table()
    f = compile_filter("m > :a and d < :b and m < :c", table.schema)
    expected = [m is not None and d is not None and _D("-5") < m < _D("7.5") and d < dt.date(2024, 2, 1)
                for m, d in zip(table["m"].to_pylist(), table["d"].to_pylist())]
    assert f.mask(table, a=_D(-5), b=dt.date(2024, 2, 1), c=_D("7.5")).to_pylist() == expected


@pytest.mark.parametrize("column, value, message", [
    ("m", _D("1.234"), "more than 2 decimal places"),
    ("m", _D("1e10"), "does not fit decimal128(12, 2)"),
    ("m", "1.5", "must be a decimal.Decimal or an int, not str"),
    ("m", _D("NaN"), "must be a decimal.Decimal"),
    ("m", True, "must be a decimal.Decimal"),
    ("d", dt.datetime(2024, 1, 1), "must be a datetime.date, not datetime"),
    ("d", 5, "must be a datetime.date, not int"),
    ("ts", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "has a time zone but timestamp[us] has none"),
    ("ts", "2024-01-01", "must be a datetime.datetime or datetime.date"),
    ("tz", dt.datetime(2024, 1, 1, 0, 0, 0, 1), "not a whole number of ms"),
    ("tm", dt.timedelta(hours=1), "must be a datetime.time"),
    ("du", dt.timedelta(microseconds=5), "not a whole number of s"),
    ("du", 5, "must be a datetime.timedelta"),
])
def test_temporal_and_decimal_parameter_errors(column, value, message):
    f = compile_filter(f"{column} > :p", _temporal_table().schema)
    with pytest.raises(ParameterError, match=re.escape(message)) as raised:
        f.count(_temporal_table(), p=value)
    assert "'p'" in str(raised.value)


def test_temporal_parameter_out_of_range():
    schema = pa.schema([("t", pa.timestamp("ns"))])
    f = compile_filter("t > :p", schema)
    with pytest.raises(ParameterError, match="out of the range of timestamp"):
        f.count(pa.table({"t": pa.array([0], pa.timestamp("ns"))}), p=dt.datetime(2300, 1, 1))


def test_explicit_temporal_parameter_types_and_refusals():
    schema = pa.schema([("x", pa.int64())])
    f = compile_filter(":p < :q", schema, params={"p": "date32", "q": "timestamp[ms, tz=Europe/Berlin]"})
    batch = pa.record_batch({"x": pa.array([1, 2])})
    # the date's midnight and the wall-clock time, both in Berlin
    assert f.count(batch, p=dt.date(2024, 6, 1), q=dt.datetime(2024, 6, 1, 0, 0, 1)) == 2
    assert f.count(batch, p=dt.date(2024, 6, 1), q=dt.datetime(2024, 5, 31, 21, 30, 0,
                                                                tzinfo=dt.UTC)) == 0
    for bad in ("utf8", "month_day_nano_interval"):
        with pytest.raises(ParameterError, match="is not a type arrowjit can use"):
            compile_filter("x > 0 or :p is null", schema, params={"p": bad})


def test_pandas_resolves_temporal_and_decimal_variables():
    frame = pd.DataFrame({"at": pd.to_datetime(["2024-01-01", "2024-03-01", None]),
                          "amount": [1.5, 2.5, 3.5]})
    cutoff = pd.Timestamp("2024-02-01")  # noqa: F841 - read by @cutoff
    assert frame.arrowjit.query("at > @cutoff")["amount"].tolist() == [2.5]
    day = {"cutoff": dt.date(2023, 12, 1)}
    assert frame.arrowjit.query("at > @cutoff", local_dict=day)["amount"].tolist() == [1.5, 2.5]
    instant = {"cutoff": np.datetime64("2024-03-01")}
    assert frame.arrowjit.query("at >= @cutoff", local_dict=instant)["amount"].tolist() == [2.5]
    zoned = pd.DataFrame({"at": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 12:00"]).tz_localize("UTC"),
                          "amount": [1.0, 2.0]})
    aware = {"cutoff": pd.Timestamp("2024-01-01 12:30", tz="Europe/Berlin")}  # 11:30 UTC
    assert zoned.arrowjit.query("at > @cutoff", local_dict=aware)["amount"].tolist() == [2.0]
    assert zoned.query("at > @cutoff", local_dict=aware)["amount"].tolist() == [2.0]
