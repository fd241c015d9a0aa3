"""Conditionals, casts and the math functions, against a row-by-row Python oracle.

Each case gives the expression and, beside it, the same predicate written in
plain Python over one row's values (None is null); the oracle's None or False
drops the row, as SQL's WHERE does.
"""

import math

import numpy as np
import pyarrow as pa
import pytest

import arrowjit

NAN = float("nan")
X_VALUES = [1.5, -2.7, None, NAN, 3e10, 7.0, 0.0, -0.5, 2.5, 3.5, float("inf"), -1e20, 127.9, -128.9, 255.5]
I_VALUES = [1, 2, 3, None, 300, -5, 0, -1, 128, -129, 2**40, -(2**40), 65535, 127, None]
U_VALUES = [0, 2**64 - 1, 2**63, 5, None, 7, 255, 256, 1, 2, 3, 4, 5, 6, 2**32]
F_VALUES = [True, False, None, True, False, True, None, False, True, True, False, False, True, None, True]


def batch() -> pa.RecordBatch:
    return pa.record_batch({"x": pa.array(X_VALUES, pa.float64()), "i": pa.array(I_VALUES, pa.int64()),
                            "u": pa.array(U_VALUES, pa.uint64()), "f": pa.array(F_VALUES, pa.bool_())})


def trunc_in(v, lo, hi):
    """numpy's astype truncation, null when NaN or out of range (the documented rule)."""
    if v is None or math.isnan(v) or math.isinf(v):
        return None
    t = math.trunc(v)
    return t if lo <= t <= hi else None


def in_range(v, lo, hi):
    return v if v is not None and lo <= v <= hi else None


def gt(a, b):
    return None if a is None or b is None else a > b


def lt(a, b):
    return None if a is None or b is None else a < b


def eq(a, b):
    return None if a is None or b is None else a == b


def greatest(*values):
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if present:
        return max(present)
    return NAN if any(v is not None for v in values) else None


def least(*values):
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if present:
        return min(present)
    return NAN if any(v is not None for v in values) else None


def sign(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return NAN
    return (v > 0) - (v < 0)


CASES = [
    ("cast(x as int32) > 1", lambda x, i, u, f: gt(trunc_in(x, -2**31, 2**31 - 1), 1)),
    ("x::int8 = -2", lambda x, i, u, f: eq(trunc_in(x, -128, 127), -2)),
    ("x::int8 is null", lambda x, i, u, f: trunc_in(x, -128, 127) is None),
    ("x::uint8 is null", lambda x, i, u, f: trunc_in(x, 0, 255) is None),
    ("x::int64 is null", lambda x, i, u, f: trunc_in(x, -2**63, 2**63 - 1) is None),
    ("i::int8 is null", lambda x, i, u, f: in_range(i, -128, 127) is None),
    ("i::uint8 > 0", lambda x, i, u, f: gt(in_range(i, 0, 255), 0)),
    ("i::uint64 > 5", lambda x, i, u, f: gt(in_range(i, 0, 2**64 - 1), 5)),
    ("u::int64 < 0", lambda x, i, u, f: lt(in_range(u, -2**63, 2**63 - 1), 0)),
    ("u::int64 is null", lambda x, i, u, f: in_range(u, -2**63, 2**63 - 1) is None),
    ("u + i < 0", lambda x, i, u, f: None if u is None or i is None
     else ((u + i + 2**63) % 2**64 - 2**63) < 0),  # promotion wraps, as pyarrow's add
    ("i::float32 > 2", lambda x, i, u, f: gt(None if i is None else float(np.float32(i)), 2)),
    ("f::int32 = 1", lambda x, i, u, f: eq(None if f is None else int(f), 1)),
    ("x::bool", lambda x, i, u, f: None if x is None else bool(x)),
    ("i::bool", lambda x, i, u, f: None if i is None else bool(i)),
    ("if(x > 0, x, -x) > 2", lambda x, i, u, f: gt(x if gt(x, 0) else (None if x is None else -x), 2)),
    ("if(f, i, 100) > 50", lambda x, i, u, f: gt(i if f else 100, 50)),
    ("case when x > 2 then 1 when x < 0 then 2 end = 2",
     lambda x, i, u, f: eq(1 if gt(x, 2) else (2 if lt(x, 0) else None), 2)),
    ("case when f then i else -i end < 0",
     lambda x, i, u, f: lt(i if f else (None if i is None else -i), 0)),
    ("coalesce(x, 100.0) > 50", lambda x, i, u, f: gt(x if x is not None else 100.0, 50)),
    ("coalesce(i, u::int64, 0) = 0", lambda x, i, u, f: eq(
        i if i is not None else (in_range(u, -2**63, 2**63 - 1) if u is not None else 0)
        if i is not None or in_range(u, -2**63, 2**63 - 1) is not None else 0, 0)),
    ("nullif(i, 2) is null", lambda x, i, u, f: i is None or i == 2),
    ("greatest(x, i, 2) > 2.5", lambda x, i, u, f: gt(greatest(x, i, 2), 2.5)),
    ("least(x, i) < 0", lambda x, i, u, f: lt(least(x, i), 0)),
    ("greatest(i, null) = i", lambda x, i, u, f: eq(i, i)),
    ("sign(x) < 0", lambda x, i, u, f: lt(sign(x), 0)),
    ("sign(i) = -1", lambda x, i, u, f: eq(sign(i), -1)),
    ("round(x) = 2", lambda x, i, u, f: eq(None if x is None else float(np.round(x)), 2)),
    ("round(x, 1) = -2.7", lambda x, i, u, f: eq(None if x is None else float(np.round(x, 1)), -2.7)),
    ("sin(x) > 0", lambda x, i, u, f: gt(None if x is None else float(np.sin(x)), 0)),
    ("cos(x) > 0", lambda x, i, u, f: gt(None if x is None else float(np.cos(x)), 0)),
    ("tan(x) > 0", lambda x, i, u, f: gt(None if x is None else float(np.tan(x)), 0)),
    ("asin(x / 10) > 0", lambda x, i, u, f: gt(None if x is None else float(np.arcsin(x / 10)), 0)),
    ("acos(x / 10) < 1", lambda x, i, u, f: lt(None if x is None else float(np.arccos(x / 10)), 1)),
    ("atan(x) > 1", lambda x, i, u, f: gt(None if x is None else float(np.arctan(x)), 1)),
    ("atan2(x, -1.0) > 0", lambda x, i, u, f: gt(None if x is None else float(np.arctan2(x, -1.0)), 0)),
    ("pow(i, 2) > 4", lambda x, i, u, f: gt(None if i is None else ((i * i + 2**63) % 2**64 - 2**63), 4)),
    ("pow(x, 2) > 4", lambda x, i, u, f: gt(None if x is None else float(np.power(x, 2.0)), 4)),
]


@pytest.mark.parametrize("expr, oracle", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("offset", [0, 3])
def test_function_against_python(expr, oracle, offset):
    data = batch().slice(offset)
    f = arrowjit.compile_filter(expr, data.schema)
    columns = {name: data.column(name).to_pylist() for name in data.schema.names}
    with np.errstate(all="ignore"):
        expected = [oracle(*row) is True for row in zip(*columns.values())]
    assert f.mask(data).to_pylist() == expected


@pytest.mark.parametrize("expr, message", [
    ("cast(x as binary) > 1", "cannot cast to 'binary'"),
    ("x::foo > 1", "cannot cast to 'foo'"),
    ("if(x, 1, 2) > 0", "'if' needs boolean operands"),
    ("if(f, 1) > 0", "if() takes 3 arguments, not 2"),
    ("if(f, 1, f) > 0", "if() mixes int64 and bool"),
    ("case when f then 1 else f end > 0", "case mixes int64 and bool"),
    ("coalesce() > 0", "coalesce() takes at least 1 argument"),
    ("round(x, 1.5) > 0", "round() takes a whole number of digits"),
    ("sin(f) > 0", "sin() is not defined for (bool)"),
    ("iff(f, 1, 2) > 0", "did you mean if()?"),
])
def test_errors(expr, message):
    with pytest.raises(arrowjit.ExpressionTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        arrowjit.compile_filter(expr, batch().schema)
