"""End-to-end differential tests: arrowjit against independent pyarrow.compute / Python oracles.

Every case is an expression and, beside it, an oracle computed without arrowjit: a
``pyarrow.compute`` expression over the table, or (where Arrow has no kernel with the
language's semantics) plain Python over ``to_pylist()`` values with explicit null handling.
Each case is checked on three forms of one generated data set:

* the whole RecordBatch (517 rows, not a multiple of 64);
* a slice with an odd offset, so validity bitmaps do not start on a byte boundary;
* a Table whose columns are chunked at different places (some with an empty chunk), so
  some runs of rows have no nulls in a nullable column.

On each form the filter's ``mask``, ``indices``, ``count`` and filtered output must agree
with ``pc.fill_null(oracle, False)``. A case with ``after=`` first compiles an expression of
the same shape with other literals, so the case goes through the literal-template cache and
runs the kernel compiled for the other expression with its own literals as hidden parameters.

Float ``//`` and ``%`` by zero, which Python leaves undefined (it raises), follow numpy and
the implementation's documented choice: ``x // 0.0`` is ``x / 0.0``, ``x % 0.0`` is NaN.

Semantics the oracles encode (docs/language.md): SQL three-valued logic, IEEE NaN, int
literals int64 and float literals float64, int with float -> float64, mixed widths -> the
wider, signed with unsigned -> the narrowest signed type holding both (int64 at most, so
uint64 arithmetic with a signed operand wraps in int64), exact comparisons of signed ints
with uint64, ``/`` true division, Python floor ``//`` and ``%`` (integer by zero -> null),
wrapping integer overflow, int ``**`` null for a negative exponent.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit.compiler import jit

N = 517
SEED = 20240611
NULL_RATE = 0.15
SLICE = (13, 300)

nan, inf = math.nan, math.inf

INT_COLUMNS = {
    "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
    "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
}

# Rows written over the random data at positions FIRST_SPECIAL, FIRST_SPECIAL + 1, ...
# (inside the odd slice too); columns a row does not name keep their random values.
# None is a null. They pin down combinations random data would rarely produce.
FIRST_SPECIAL = 20
SPECIAL_ROWS = [
    # int MIN // -1 wraps; uint max; NaN; inf
    dict(i8=-128, i16=-32768, i32=-2**31, i64=-2**63, k=-1, u8=255, u16=65535, u32=2**32 - 1,
         u64=2**64 - 1, f64=nan, f32=inf, g=0.0, b=True, c=True),
    dict(i8=127, i16=32767, i32=2**31 - 1, i64=2**63 - 1, k=0, u8=0, u16=0, u32=0, u64=2**63,
         f64=-0.0, f32=-inf, g=-0.0, b=False, c=False),
    dict(i8=-1, i16=-1, i32=-1, i64=-1, k=-3, u8=128, u16=1, u32=1, u64=0, f64=inf, f32=nan, g=inf,
         b=True, c=False),
    dict(i8=-7, i16=-7, i32=-7, i64=-7, k=2, u8=7, u64=2**63 - 1, f64=-7.5, f32=2.5, g=-2.0,
         b=False, c=True),
    dict(i8=7, i16=7, i32=7, i64=7, k=-2, u8=1, u64=2**63 + 1, f64=7.5, f32=0.1, g=2.0),
    dict(i8=0, i16=0, i32=0, i64=0, k=3, u64=1, f64=-inf, f32=-0.0, g=nan, b=True, c=None),
    dict(b=None, c=False, i32=None, k=0, f64=None, g=0.0),
    dict(b=False, c=None, i64=2**62, k=0, f64=0.0, g=0.0),
    dict(b=None, c=None, i8=-128, k=-1, f64=2.5, f32=None, u64=None),
    dict(i8=2, i16=-300, i32=-2**31, k=-1, f64=-2.5, g=-0.0, u8=3, u16=9),
]


# ---------------------------------------------------------------------------
# The data.
# ---------------------------------------------------------------------------

def _ints(rng: np.random.Generator, dtype) -> np.ndarray:
    """A third small values, the rest full range, ~12% boundary values."""
    info = np.iinfo(dtype)
    small = rng.integers(max(int(info.min), -20), 21, N).astype(dtype)
    full = rng.integers(int(info.min), int(info.max), N, dtype=dtype, endpoint=True)
    boundaries = [0, 1, int(info.max), int(info.max) - 1]
    if info.min < 0:
        boundaries += [-1, int(info.min), int(info.min) + 1]
    else:
        boundaries += [(int(info.max) + 1) // 2, (int(info.max) + 1) // 2 - 1]
    boundary = rng.choice(np.array(boundaries, dtype=dtype), N)
    pick = rng.random(N)
    return np.where(pick < 0.35, small, np.where(pick < 0.88, full, boundary))


def _floats(rng: np.random.Generator, dtype, specials: list[float]) -> np.ndarray:
    """Half normal * 10, a third multiples of 0.5 (exact equality), the rest special values."""
    normal = rng.normal(0.0, 10.0, N)
    halves = rng.integers(-20, 21, N) / 2.0
    special = rng.choice(np.array(specials), N)
    pick = rng.random(N)
    return np.where(pick < 0.5, normal, np.where(pick < 0.82, halves, special)).astype(dtype)


def _make_batch() -> pa.RecordBatch:
    rng = np.random.default_rng(SEED)
    values: dict[str, np.ndarray] = {
        "row": np.arange(N, dtype=np.int64),
        "b": rng.random(N) < 0.5,
        "c": rng.random(N) < 0.3,
    }
    for name, dtype in INT_COLUMNS.items():
        values[name] = _ints(rng, dtype)
    float_specials = [nan, inf, -inf, 0.0, -0.0, 2.5, -7.5, 1.0]
    values["f32"] = _floats(rng, np.float32, float_specials)
    values["f64"] = _floats(rng, np.float64, float_specials)
    values["g"] = _floats(rng, np.float64, [0.0, -0.0, nan, inf, -inf, 2.0, -3.0])
    values["k"] = rng.integers(-6, 7, N).astype(np.int32)  # divisors / exponents, zero included
    values["n"] = rng.integers(-50, 51, N).astype(np.int64)  # never null: no validity bitmap
    never_null = {"row", "n"}
    nulls = {name: (rng.random(N) < NULL_RATE) if name not in never_null else np.zeros(N, bool)
             for name in values}
    for offset, special in enumerate(SPECIAL_ROWS):
        r = FIRST_SPECIAL + offset
        for name, value in special.items():
            if value is None:
                nulls[name][r] = True
            else:
                values[name][r] = value
                nulls[name][r] = False
    arrays, fields = [], []
    for name, array in values.items():
        mask = nulls[name] if nulls[name].any() else None
        arrays.append(pa.array(array, mask=mask))
        fields.append(pa.field(name, arrays[-1].type, nullable=name not in never_null))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _chunked_table(batch: pa.RecordBatch) -> pa.Table:
    """Each column split at its own random points; every third column also gets an empty chunk."""
    rng = np.random.default_rng(SEED + 1)
    columns = []
    for i, array in enumerate(batch.columns):
        cuts = sorted(int(c) for c in rng.choice(np.arange(1, N), rng.integers(1, 6), replace=False))
        bounds = [0, *cuts, N]
        chunks = [array.slice(lo, hi - lo) for lo, hi in zip(bounds, bounds[1:])]
        if i % 3 == 0:  # an empty chunk somewhere
            chunks.insert(i % len(chunks), array.slice(0, 0))
        columns.append(pa.chunked_array(chunks, type=array.type))
    table = pa.Table.from_arrays(columns, schema=batch.schema)
    assert len({tuple(len(chunk) for chunk in col.chunks) for col in table.columns}) > 1
    return table


BATCH = _make_batch()
SCHEMA = BATCH.schema


@pytest.fixture(scope="module")
def datasets() -> list[tuple[str, pa.RecordBatch | pa.Table]]:
    sliced = BATCH.slice(*SLICE)
    assert sliced.column("f64").offset % 8 != 0
    return [("batch", BATCH), (f"slice{SLICE}", sliced), ("chunked table", _chunked_table(BATCH))]


# ---------------------------------------------------------------------------
# Oracle helpers (none of them calls arrowjit).
# ---------------------------------------------------------------------------

Oracle = Callable[[pa.RecordBatch | pa.Table], pa.Array | pa.ChunkedArray]


def F(column):
    """Widen to float64 as the language does (int64 -> float64 rounds; Arrow's safe cast would refuse)."""
    return pc.cast(column, pa.float64(), safe=False)


def i64(value: int) -> pa.Scalar:
    return pa.scalar(value, pa.int64())


def null_bool(t) -> pa.Array:
    return pa.nulls(t.num_rows, pa.bool_())


def const(value: bool | None) -> Oracle:
    return lambda t: pa.array([value] * t.num_rows, pa.bool_())


def any_equal(column, *items) -> pa.Array:
    """SQL IN: an OR (Kleene) of equalities."""
    result = pc.equal(column, items[0])
    for item in items[1:]:
        result = pc.or_kleene(result, pc.equal(column, item))
    return result


def py(fn: Callable[..., bool | None], *names: str) -> Oracle:
    """Row by row in Python; a null in any named column makes the row null."""
    def oracle(t):
        columns = [t[name].to_pylist() for name in names]
        return pa.array([None if any(v is None for v in row) else fn(*row) for row in zip(*columns)],
                        pa.bool_())
    return oracle


def py_raw(fn: Callable[..., bool | None], *names: str) -> Oracle:
    """Row by row in Python; ``fn`` sees the nulls (None) itself."""
    def oracle(t):
        columns = [t[name].to_pylist() for name in names]
        return pa.array([fn(*row) for row in zip(*columns)], pa.bool_())
    return oracle


def wrap(value: int, bits: int, signed: bool = True) -> int:
    """Two's complement wrap-around of an exact integer result to ``bits``."""
    value &= (1 << bits) - 1
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def int_floordiv(x: int, y: int, bits: int) -> int | None:
    return None if y == 0 else wrap(x // y, bits)


def int_mod(x: int, y: int, bits: int) -> int | None:
    return None if y == 0 else wrap(x % y, bits)


def int_pow(x: int, y: int, bits: int, signed: bool = True) -> int | None:
    return None if y < 0 else wrap(pow(x, y, 1 << bits), bits, signed)


def float_floordiv(x: float, y: float) -> float:
    """Python's float //; by zero (undefined in Python) IEEE x / y, as numpy does."""
    if y == 0:
        with np.errstate(all="ignore"):
            return float(np.float64(x) / np.float64(y))
    return x // y


def float_mod(x: float, y: float) -> float:
    """Python's float %; by zero NaN, as numpy does."""
    return nan if y == 0 else x % y


def cmp(op: Callable[[object, object], bool], a, b) -> bool | None:
    return None if a is None or b is None else op(a, b)


def kand(*values: bool | None) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def fdiv(x: float, y: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.float64(x) / np.float64(y))


lt, le, gt, ge, eq = operator.lt, operator.le, operator.gt, operator.ge, operator.eq
AND, OR, NOT = pc.and_kleene, pc.or_kleene, pc.invert


# ---------------------------------------------------------------------------
# The table: expression, oracle.
# ---------------------------------------------------------------------------

def case(expr: str, oracle: Oracle, bug: str | None = None, after: str | None = None,
         raises: type[BaseException] | None = None):
    """One row. ``after``: compile this expression of the same shape (other literals) first,
    so ``expr`` reuses its kernel through the literal-template cache."""
    marks = [pytest.mark.xfail(strict=True, raises=raises, reason=f"BUG: {bug}")] if bug else []
    return pytest.param(expr, oracle, after, id=expr if after is None else f"{expr} (after: {after})",
                        marks=marks)




CASES = [
    # -- float comparisons, NaN, inf, -0.0 --------------------------------------------
    case("f64 > 2.0", lambda t: pc.greater(t["f64"], 2.0)),
    case("f64 >= -1.5", lambda t: pc.greater_equal(t["f64"], -1.5)),
    case("f64 < 0", lambda t: pc.less(t["f64"], 0.0)),
    case("f64 <= 2.5", lambda t: pc.less_equal(t["f64"], 2.5)),
    case("f64 == 2.5", lambda t: pc.equal(t["f64"], 2.5)),
    case("f64 != 2.5", lambda t: pc.not_equal(t["f64"], 2.5)),
    case("f64 = -7.5", lambda t: pc.equal(t["f64"], -7.5)),
    case("f64 <> 0", lambda t: pc.not_equal(t["f64"], 0.0)),
    case("f64 == nan", lambda t: pc.equal(t["f64"], nan)),
    case("f64 != nan", lambda t: pc.not_equal(t["f64"], nan)),
    case("f64 != f64", lambda t: pc.not_equal(t["f64"], t["f64"])),
    case("f64 < inf", lambda t: pc.less(t["f64"], inf)),
    case("f64 >= -inf", lambda t: pc.greater_equal(t["f64"], -inf)),
    case("f64 > -inf and f64 < inf", lambda t: pc.is_finite(t["f64"])),
    case("f32 > 0.1", lambda t: pc.greater(F(t["f32"]), 0.1)),
    case("f32 == 2.5", lambda t: pc.equal(F(t["f32"]), 2.5)),
    case("f32 < f64", lambda t: pc.less(F(t["f32"]), t["f64"])),
    case("f32 != g", lambda t: pc.not_equal(F(t["f32"]), t["g"])),
    # -- integer comparisons, same signedness ----------------------------------------
    case("i8 < -100", lambda t: pc.less(t["i8"], i64(-100))),
    case("i8 >= 127", lambda t: pc.greater_equal(t["i8"], i64(127))),
    case("i16 == -32768", lambda t: pc.equal(t["i16"], i64(-32768))),
    case("i32 != 0", lambda t: pc.not_equal(t["i32"], i64(0))),
    case("i64 > 4611686018427387904", lambda t: pc.greater(t["i64"], i64(2**62))),
    case("i64 <= -1", lambda t: pc.less_equal(t["i64"], i64(-1))),
    case("i8 < i16", lambda t: pc.less(t["i8"], t["i16"])),
    case("i16 >= i32", lambda t: pc.greater_equal(t["i16"], t["i32"])),
    case("i32 <= i64", lambda t: pc.less_equal(t["i32"], t["i64"])),
    case("u8 > 200", lambda t: pc.greater(t["u8"], i64(200))),
    case("u8 == 0xff", lambda t: pc.equal(t["u8"], i64(255))),
    case("u16 <= 3", lambda t: pc.less_equal(t["u16"], i64(3))),
    case("u32 = 4294967295", lambda t: pc.equal(t["u32"], i64(2**32 - 1))),
    case("u16 < u32", lambda t: pc.less(t["u16"], t["u32"])),
    case("u64 == 18446744073709551615", py(lambda u: u == 2**64 - 1, "u64")),
    case("u64 >= 9223372036854775808", py(lambda u: u >= 2**63, "u64")),
    case("n > 0", lambda t: pc.greater(t["n"], i64(0))),
    case("n <= i8", lambda t: pc.less_equal(t["n"], t["i8"])),
    # -- signed vs unsigned (exact) ----------------------------------------------------
    case("u64 > -1", py(lambda u: u > -1, "u64")),
    case("u64 != -1", py(lambda u: u != -1, "u64")),
    case("-1 < u64", py(lambda u: -1 < u, "u64")),
    case("u64 <= -1", py(lambda u: u <= -1, "u64")),
    case("u64 > 9223372036854775807", py(lambda u: u > 2**63 - 1, "u64")),
    case("u64 < i64", py(lambda u, i: u < i, "u64", "i64")),
    case("i64 >= u64", py(lambda i, u: i >= u, "i64", "u64")),
    case("i8 == u64", py(lambda i, u: i == u, "i8", "u64")),
    case("u8 < i8", py(lambda u, i: u < i, "u8", "i8")),
    case("u32 > i32", py(lambda u, i: u > i, "u32", "i32")),
    case("u16 != -1", py(lambda u: u != -1, "u16")),
    case("i16 <= u16", py(lambda i, u: i <= u, "i16", "u16")),
    # -- int vs float ----------------------------------------------------------------------
    case("i64 > 2.5", lambda t: pc.greater(F(t["i64"]), 2.5)),
    case("i32 < f64", lambda t: pc.less(F(t["i32"]), t["f64"])),
    case("u64 > 1e19", lambda t: pc.greater(F(t["u64"]), 1e19)),
    case("i16 < f32", lambda t: pc.less(F(t["i16"]), F(t["f32"]))),
    case("u8 >= f64", lambda t: pc.greater_equal(F(t["u8"]), t["f64"])),
    case("f32 == k", lambda t: pc.equal(F(t["f32"]), F(t["k"]))),
    # -- bool ------------------------------------------------------------------------------
    case("b", lambda t: t["b"]),
    case("b == true", lambda t: pc.equal(t["b"], True)),
    case("b != false", lambda t: pc.not_equal(t["b"], False)),
    case("b = c", lambda t: pc.equal(t["b"], t["c"])),
    case("b <> c", lambda t: pc.not_equal(t["b"], t["c"])),
    case("b < c", lambda t: pc.less(t["b"], t["c"])),
    case("b >= c", lambda t: pc.greater_equal(t["b"], t["c"])),
    # -- logic (Kleene) ------------------------------------------------------------------
    case("b and c", lambda t: AND(t["b"], t["c"])),
    case("b or c", lambda t: OR(t["b"], t["c"])),
    case("not b", lambda t: NOT(t["b"])),
    case("b & c", lambda t: AND(t["b"], t["c"])),
    case("b | c", lambda t: OR(t["b"], t["c"])),
    case("~b", lambda t: NOT(t["b"])),
    case("b AND NOT c", lambda t: AND(t["b"], NOT(t["c"]))),
    case("b and null", lambda t: AND(t["b"], null_bool(t))),
    case("c or null", lambda t: OR(t["c"], null_bool(t))),
    case("not (f64 > 0)", lambda t: NOT(pc.greater(t["f64"], 0.0))),
    case("f64 > 0 and i32 < 0 or b",
         lambda t: OR(AND(pc.greater(t["f64"], 0.0), pc.less(t["i32"], i64(0))), t["b"])),
    case("not b or c and i8 > 0", lambda t: OR(NOT(t["b"]), AND(t["c"], pc.greater(t["i8"], i64(0))))),
    case("~(i16 < 0) & (u8 > 10)",
         lambda t: AND(NOT(pc.less(t["i16"], i64(0))), pc.greater(t["u8"], i64(10)))),
    case("(b | c) & ~(f32 > 0)", lambda t: AND(OR(t["b"], t["c"]), NOT(pc.greater(F(t["f32"]), 0.0)))),
    case("not not c", lambda t: t["c"]),
    case("b or c or f64 > 5 or i8 < -100",
         lambda t: OR(OR(OR(t["b"], t["c"]), pc.greater(t["f64"], 5.0)), pc.less(t["i8"], i64(-100)))),
    case("b and c and k > 0 and g < 0",
         lambda t: AND(AND(AND(t["b"], t["c"]), pc.greater(t["k"], i64(0))), pc.less(t["g"], 0.0))),
    # -- comparison chains ---------------------------------------------------------------
    case("2 < f64 <= 6", lambda t: AND(pc.greater(t["f64"], 2.0), pc.less_equal(t["f64"], 6.0))),
    case("-10 < i32 < 10", lambda t: AND(pc.greater(t["i32"], i64(-10)), pc.less(t["i32"], i64(10)))),
    case("0 <= k < i8 <= 100", lambda t: AND(AND(pc.greater_equal(t["k"], i64(0)), pc.less(t["k"], t["i8"])),
                                             pc.less_equal(t["i8"], i64(100)))),
    case("i8 < i16 < i32 < i64", lambda t: AND(AND(pc.less(t["i8"], t["i16"]), pc.less(t["i16"], t["i32"])),
                                               pc.less(t["i32"], t["i64"]))),
    case("u8 > i8 >= -1", py_raw(lambda u, i: kand(cmp(gt, u, i), cmp(ge, i, -1)), "u8", "i8")),
    case("f64 == f64 != 2.5", lambda t: AND(pc.equal(t["f64"], t["f64"]), pc.not_equal(t["f64"], 2.5))),
    case("-1 <= u64 < 10", py(lambda u: -1 <= u < 10, "u64")),
    # -- between -----------------------------------------------------------------------------
    case("f64 between -1.5 and 2.5",
         lambda t: AND(pc.greater_equal(t["f64"], -1.5), pc.less_equal(t["f64"], 2.5))),
    case("f64 not between -1.5 and 2.5",
         lambda t: NOT(AND(pc.greater_equal(t["f64"], -1.5), pc.less_equal(t["f64"], 2.5)))),
    case("i32 between k and i16",
         lambda t: AND(pc.greater_equal(t["i32"], t["k"]), pc.less_equal(t["i32"], t["i16"]))),
    case("u64 between -5 and 100", py(lambda u: -5 <= u <= 100, "u64")),
    case("i8 not between -1 and 1",
         lambda t: NOT(AND(pc.greater_equal(t["i8"], i64(-1)), pc.less_equal(t["i8"], i64(1))))),
    case("f64 BETWEEN 0 AND 1 and b",
         lambda t: AND(AND(pc.greater_equal(t["f64"], 0.0), pc.less_equal(t["f64"], 1.0)), t["b"])),
    case("f32 between g and f64", lambda t: AND(pc.greater_equal(F(t["f32"]), t["g"]),
                                                pc.less_equal(F(t["f32"]), t["f64"]))),
    # -- in / not in (SQL: OR of equalities) ----------------------------------------------
    case("i8 in (1, -1, -128, 127)", lambda t: any_equal(t["i8"], i64(1), i64(-1), i64(-128), i64(127))),
    case("k in (1, null)", lambda t: any_equal(t["k"], i64(1), pa.scalar(None, pa.int64()))),
    case("k not in (1, null)", lambda t: NOT(any_equal(t["k"], i64(1), pa.scalar(None, pa.int64())))),
    case("k not in (0, 2, -3)", lambda t: NOT(any_equal(t["k"], i64(0), i64(2), i64(-3)))),
    case("f64 in (2.5, nan, inf)", lambda t: any_equal(t["f64"], 2.5, nan, inf)),
    case("f64 not in (2.5, nan)", lambda t: NOT(any_equal(t["f64"], 2.5, nan))),
    case("u64 in (0, 18446744073709551615, -1)", py(lambda u: u in (0, 2**64 - 1, -1), "u64")),
    case("i16 in (k, i8)", lambda t: any_equal(t["i16"], t["k"], t["i8"])),
    case("b in (c, false)", lambda t: any_equal(t["b"], t["c"], False)),
    case("i8 in (1, 2.5, 300)", lambda t: any_equal(F(t["i8"]), 1.0, 2.5, 300.0)),
    # -- null tests (never null) ----------------------------------------------------------
    case("i64 is null", lambda t: pc.is_null(t["i64"])),
    case("f64 is not null", lambda t: pc.is_valid(t["f64"])),
    case("b IS NOT NULL and c is null", lambda t: AND(pc.is_valid(t["b"]), pc.is_null(t["c"]))),
    case("isnull(b)", lambda t: pc.is_null(t["b"])),
    case("isnull(f32) or f32 > 1", lambda t: OR(pc.is_null(t["f32"]), pc.greater(F(t["f32"]), 1.0))),
    case("(i32 // k) is null", py_raw(lambda a, k: a is None or k is None or k == 0, "i32", "k")),
    case("(2 ** k) is not null", py_raw(lambda k: k is not None and k >= 0, "k")),
    case("(f64 > 1) is null", lambda t: pc.is_null(pc.greater(t["f64"], 1.0))),
    case("not (u8 % u16 is null)",
         py_raw(lambda a, b: a is not None and b is not None and b != 0, "u8", "u16")),
    case("isnull(sqrt(f64))", lambda t: pc.is_null(t["f64"])),
    case("n is null", const(False)),
    case("null is null", const(True)),
    case("null", const(None)),
    case("true", const(True)),
    case("false or b", lambda t: t["b"]),
    case("i8 > null", const(None)),
    case("not (i8 > null)", const(None)),
    case("i8 > null or b", lambda t: OR(null_bool(t), t["b"])),
    case("1 + 1 == 2", const(True)),
    case("b == null", const(None)),
    case("b in (true, null)", lambda t: OR(t["b"], null_bool(t))),
    case("not null", const(None)),
    case("null or true", const(True)),
    case("not (null and false)", const(True)),
    case("isnull(null) and not isnull(1)", const(True)),
    case("abs(null) is null and -null is null", const(True)),
    # -- constants: IEEE, literal forms, precedence ----------------------------------------
    case("1 / 0 > 1e308", const(True)),
    case("0 / 0 != 0 / 0", const(True)),
    case("1 // 0 is null and 1 % 0 is null", const(True)),
    case("2 ** -1 is null", const(True)),
    case("2.0 ** -1 == 0.5", const(True)),
    case("-2 ** 2 == -4", const(True)),
    case("-0.0 == 0.0", const(True)),
    case("log(0) == -inf and exp(1000) == inf", const(True)),
    case("sqrt(-1) != sqrt(-1)", const(True)),
    case("-7 // 2 == -4 and -7 % 2 == 1 and 7 % -2 == -1", const(True)),
    case("-9223372036854775808 // -1 == -9223372036854775808", const(True)),
    case("not b == c", lambda t: NOT(pc.equal(t["b"], t["c"]))),
    case("`f64` > 2 and `k` < 0", lambda t: AND(pc.greater(t["f64"], 2.0), pc.less(t["k"], i64(0)))),
    case("u16 > 1_000 and u16 < 0xF_FFF", lambda t: AND(pc.greater(t["u16"], i64(1000)),
                                                        pc.less(t["u16"], i64(0xFFFF)))),
    case("f64 > .5 or f64 < -5. or u32 > 1e9",
         lambda t: OR(OR(pc.greater(t["f64"], 0.5), pc.less(t["f64"], -5.0)), pc.greater(F(t["u32"]), 1e9))),
    case("k in (1, 2,)", lambda t: any_equal(t["k"], i64(1), i64(2))),
    case("f64 in (1, 2)", lambda t: any_equal(t["f64"], 1.0, 2.0)),
    case("i64 in (18446744073709551615, -1)", py(lambda i: i in (2**64 - 1, -1), "i64")),
    case("u64 not in (-1, 0)", py(lambda u: u not in (-1, 0), "u64")),
    case("i64 between 0 and 18446744073709551615", py(lambda i: 0 <= i <= 2**64 - 1, "i64")),
    case("k between 3 and -3",
         lambda t: AND(pc.greater_equal(t["k"], i64(3)), pc.less_equal(t["k"], i64(-3)))),
    case("f64 == -0.0", lambda t: pc.equal(t["f64"], -0.0)),
    case("f32 != nan", lambda t: pc.not_equal(t["f32"], nan)),
    # -- arithmetic ---------------------------------------------------------------------------
    case("f64 + 1.5 > 3", lambda t: pc.greater(pc.add(t["f64"], 1.5), 3.0)),
    case("f64 - g < 0", lambda t: pc.less(pc.subtract(t["f64"], t["g"]), 0.0)),
    case("f64 * g >= 4", lambda t: pc.greater_equal(pc.multiply(t["f64"], t["g"]), 4.0)),
    case("f64 / g > 1", lambda t: pc.greater(pc.divide(t["f64"], t["g"]), 1.0)),
    case("i32 / k > 1.5", lambda t: pc.greater(pc.divide(F(t["i32"]), F(t["k"])), 1.5)),
    case("i64 / 2 == -3.5", lambda t: pc.equal(pc.divide(F(t["i64"]), 2.0), -3.5)),
    case("k / 4 == 0.25", lambda t: pc.equal(pc.divide(F(t["k"]), 4.0), 0.25)),
    case("u64 / 2 > 4e18", lambda t: pc.greater(pc.divide(F(t["u64"]), 2.0), 4e18)),
    case("i8 + i8 < 0", lambda t: pc.less(pc.add(t["i8"], t["i8"]), i64(0))),
    case("i8 + i16 > 100", lambda t: pc.greater(pc.add(t["i8"], t["i16"]), i64(100))),
    case("i16 * i16 < 0", lambda t: pc.less(pc.multiply(t["i16"], t["i16"]), i64(0))),
    case("i64 * i64 > 0", lambda t: pc.greater(pc.multiply(t["i64"], t["i64"]), i64(0))),
    case("i64 - 1 > i64", lambda t: pc.greater(pc.subtract(t["i64"], i64(1)), t["i64"])),
    case("i32 * 2 > i64", lambda t: pc.greater(pc.multiply(t["i32"], i64(2)), t["i64"])),
    case("u8 + u8 < u8", lambda t: pc.less(pc.add(t["u8"], t["u8"]), t["u8"])),
    case("u16 - u32 > 4000000000", lambda t: pc.greater(pc.subtract(t["u16"], t["u32"]), i64(4000000000))),
    case("u32 + i32 > 0", py(lambda u, i: u + i > 0, "u32", "i32")),
    case("u64 + i64 < 0", py(lambda u, i: wrap(u + i, 64) < 0, "u64", "i64")),
    case("u64 + 0 >= 0", py(lambda u: wrap(u, 64) >= 0, "u64")),
    case("i8 - u8 < -200", py(lambda i, u: i - u < -200, "i8", "u8")),
    case("u8 * i8 < -1000", py(lambda u, i: u * i < -1000, "u8", "i8")),
    case("f32 * f32 > 100", lambda t: pc.greater(pc.multiply(t["f32"], t["f32"]), 100.0)),
    case("f32 / f32 > 1", lambda t: pc.greater(pc.divide(t["f32"], t["f32"]), 1.0)),
    case("isnan(f32 * 0)", lambda t: pc.is_nan(pc.multiply(F(t["f32"]), 0.0))),
    case("f32 % 2 < 0.5", py(lambda x: float_mod(x, 2.0) < 0.5, "f32")),
    case("f32 + i8 > 0", lambda t: pc.greater(pc.add(F(t["f32"]), F(t["i8"])), 0.0)),
    case("-f64 > 1", lambda t: pc.greater(pc.negate(t["f64"]), 1.0)),
    case("+f64 < -1", lambda t: pc.less(t["f64"], -1.0)),
    case("-i8 == i8", py(lambda i: wrap(-i, 8) == i, "i8")),
    case("-u8 > 128", py(lambda u: wrap(-u, 8, signed=False) > 128, "u8")),
    case("- -i32 == i32", py(lambda i: wrap(-wrap(-i, 32), 32) == i, "i32")),
    case("-k ** 2 < -4", py(lambda k: -(k**2) < -4, "k")),
    case("-(i16 - 1) > 0", py(lambda i: wrap(-wrap(i - 1, 64), 64) > 0, "i16")),
    # -- floor division and modulo (Python semantics) --------------------------------------
    case("i32 // k > 2", py(lambda a, k: cmp(gt, int_floordiv(a, k, 32), 2), "i32", "k")),
    case("i64 // k < 0", py(lambda a, k: cmp(lt, int_floordiv(a, k, 64), 0), "i64", "k")),
    case("i8 // k == -1", py(lambda a, k: cmp(eq, int_floordiv(a, k, 32), -1), "i8", "k")),
    case("i32 % k < 0", py(lambda a, k: cmp(lt, int_mod(a, k, 32), 0), "i32", "k")),
    case("i64 % k == 1", py(lambda a, k: cmp(eq, int_mod(a, k, 64), 1), "i64", "k")),
    case("i8 % 5 == 3", py(lambda a: a % 5 == 3, "i8")),
    case("i16 % -7 == -3", py(lambda a: a % -7 == -3, "i16")),
    case("(i16 // 7) % 2 == 1", py(lambda a: (a // 7) % 2 == 1, "i16")),
    case("n // -3 >= 5", py(lambda a: a // -3 >= 5, "n")),
    case("u32 // 7 > 100000000", py(lambda a: a // 7 > 100000000, "u32")),
    case("u64 % 10 == 5", py(lambda u: wrap(u, 64) % 10 == 5, "u64")),
    case("u64 // 3 < 0", py(lambda u: wrap(u, 64) // 3 < 0, "u64")),
    case("u16 % u8 == 0", py(lambda a, b: cmp(eq, None if b == 0 else a % b, 0), "u16", "u8")),
    case("u8 // u8 == 1", py(lambda a, b: None if a == 0 else a // a == 1, "u8", "u8")),
    case("f64 // 2.5 == -3", py(lambda x: float_floordiv(x, 2.5) == -3, "f64")),
    case("f64 % -3.0 < -1", py(lambda x: float_mod(x, -3.0) < -1, "f64")),
    case("f64 % 4 >= 2", py(lambda x: float_mod(x, 4.0) >= 2, "f64")),
    case("f64 // g > 1", py(lambda x, y: float_floordiv(x, y) > 1, "f64", "g")),
    case("f64 % g > 0.5", py(lambda x, y: float_mod(x, y) > 0.5, "f64", "g")),
    case("f64 % g < 0", py(lambda x, y: float_mod(x, y) < 0, "f64", "g")),
    case("f32 // 2.5 >= 1", py(lambda x: float_floordiv(x, 2.5) >= 1, "f32")),
    case("i32 // 2.0 < -3", py(lambda a: float_floordiv(float(a), 2.0) < -3, "i32")),
    case("floor(i32 / 7) == i32 // 7", py(lambda a: math.floor(fdiv(a, 7)) == a // 7, "i32")),
    case("u8 % -3 == -1", py(lambda a: a % -3 == -1, "u8")),
    case("i8 // u64 == -1", py(lambda a, u: cmp(eq, int_floordiv(a, wrap(u, 64), 64), -1), "i8", "u64")),
    case("n % k == 2", py(lambda a, k: cmp(eq, int_mod(a, k, 64), 2), "n", "k")),
    # -- power ---------------------------------------------------------------------------------
    case("k ** 2 > 10", py(lambda k: k**2 > 10, "k")),
    case("i8 ** 2 == 16384", py(lambda a: a * a == 16384, "i8")),
    case("3 ** u8 < 0", py(lambda u: int_pow(3, u, 64) < 0, "u8")),
    case("u64 ** 2 > 0", py(lambda u: int_pow(wrap(u, 64), 2, 64) > 0, "u64")),
    case("i8 ** u8 > 1000", py(lambda a, u: int_pow(a, u, 16) > 1000, "i8", "u8")),
    case("2 ** k == 8", py(lambda k: cmp(eq, int_pow(2, k, 64), 8), "k")),
    case("i64 ** 3 > 0", py(lambda a: int_pow(a, 3, 64) > 0, "i64")),
    case("i8 ** k < 0", py(lambda a, k: cmp(lt, int_pow(a, k, 32), 0), "i8", "k")),
    case("k ** k >= 1", py(lambda k: cmp(ge, int_pow(k, k, 32), 1), "k")),
    case("u16 ** 2 > 1000000", py(lambda u: u * u > 1000000, "u16")),
    case("u32 ** u8 > 1000", py(lambda a, b: int_pow(a, b, 32, signed=False) > 1000, "u32", "u8")),
    case("f64 ** 2 > 10", lambda t: pc.greater(pc.power(t["f64"], 2.0), 10.0)),
    case("f64 ** 0.5 > 1", lambda t: pc.greater(pc.power(t["f64"], 0.5), 1.0)),
    case("g ** f64 > 2", lambda t: pc.greater(pc.power(t["g"], t["f64"]), 2.0)),
    case("k ** 0.5 >= 2", lambda t: pc.greater_equal(pc.power(F(t["k"]), 0.5), 2.0)),
    case("f32 ** 2 < 4", lambda t: pc.less(pc.power(F(t["f32"]), 2.0), 4.0)),
    case("2 ** 3 ** 2 == 512", const(True)),
    # -- functions -----------------------------------------------------------------------------
    case("abs(i8) < 0", lambda t: pc.less(pc.abs(t["i8"]), i64(0))),
    case("abs(f64) > 5", lambda t: pc.greater(pc.abs(t["f64"]), 5.0)),
    case("abs(k) == 3", lambda t: pc.equal(pc.abs(t["k"]), i64(3))),
    case("abs(i64) < 0", py(lambda a: wrap(abs(a), 64) < 0, "i64")),
    case("abs(u8) > 200", lambda t: pc.greater(t["u8"], i64(200))),
    case("abs(f32 - f64) < 1", lambda t: pc.less(pc.abs(pc.subtract(F(t["f32"]), t["f64"])), 1.0)),
    case("sqrt(f64) > 2", lambda t: pc.greater(pc.sqrt(t["f64"]), 2.0)),
    case("sqrt(i32) >= 100", lambda t: pc.greater_equal(pc.sqrt(F(t["i32"])), 100.0)),
    case("sqrt(f32) < 1", lambda t: pc.less(F(pc.sqrt(t["f32"])), 1.0)),
    case("isnan(sqrt(f64))", lambda t: pc.is_nan(pc.sqrt(t["f64"]))),
    case("exp(f64) > 10", lambda t: pc.greater(pc.exp(t["f64"]), 10.0)),
    case("exp(f32) < 0.5", lambda t: pc.less(F(pc.exp(t["f32"])), 0.5)),
    case("exp(k) > 20", lambda t: pc.greater(pc.exp(F(t["k"])), 20.0)),
    case("log(f64) < 0", lambda t: pc.less(pc.ln(t["f64"]), 0.0)),
    case("log(u32) > 20", lambda t: pc.greater(pc.ln(F(t["u32"])), 20.0)),
    case("log10(f64) >= 1", lambda t: pc.greater_equal(pc.log10(t["f64"]), 1.0)),
    case("log10(i64) > 15", lambda t: pc.greater(pc.log10(F(t["i64"])), 15.0)),
    case("floor(f64) == -8", lambda t: pc.equal(pc.floor(t["f64"]), -8.0)),
    case("ceil(f64) == 8", lambda t: pc.equal(pc.ceil(t["f64"]), 8.0)),
    case("floor(f32) == 2", lambda t: pc.equal(F(pc.floor(t["f32"])), 2.0)),
    case("ceil(f32) > f32", lambda t: pc.greater(pc.ceil(t["f32"]), t["f32"])),
    case("floor(i8) == i8", py(lambda a: True, "i8")),
    case("ceil(u64) > 9223372036854775807", py(lambda u: u > 2**63 - 1, "u64")),
    case("floor(i32 / k) == -2", lambda t: pc.equal(pc.floor(pc.divide(F(t["i32"]), F(t["k"]))), -2.0)),
    case("isnan(f64)", lambda t: pc.is_nan(t["f64"])),
    case("not isnan(f32)", lambda t: NOT(pc.is_nan(t["f32"]))),
    case("isnan(i32)", py(lambda a: False, "i32")),
    case("isnan(null) is null", const(True)),
    case("isnan(f64 * g)", lambda t: pc.is_nan(pc.multiply(t["f64"], t["g"]))),
    case("isfinite(f64)", lambda t: pc.is_finite(t["f64"])),
    case("not isfinite(f32)", lambda t: NOT(pc.is_finite(t["f32"]))),
    case("isfinite(u8)", py(lambda a: True, "u8")),
    case("isfinite(f64 / g)", lambda t: pc.is_finite(pc.divide(t["f64"], t["g"]))),
    case("isnull(i32 // k)", py_raw(lambda a, k: a is None or k is None or k == 0, "i32", "k")),
    # -- larger combinations -----------------------------------------------------------------
    case("(i32 + i16) * 2 - k > 0 and not isnan(f64 / g)",
         py_raw(lambda a, b, k, x, y: kand(
             None if None in (a, b, k) else wrap(a + b, 32) * 2 - k > 0,
             None if x is None or y is None else not math.isnan(fdiv(x, y))),
             "i32", "i16", "k", "f64", "g")),
    case("abs(f64 - g) <= 1 or isnull(g) and b",
         lambda t: OR(pc.less_equal(pc.abs(pc.subtract(t["f64"], t["g"])), 1.0),
                      AND(pc.is_null(t["g"]), t["b"]))),
    # -- the literal-template cache: same shape, other literals (the kernel is reused) -----
    case("f64 > 3.5", lambda t: pc.greater(t["f64"], 3.5), after="f64 > 0.25"),
    case("f64 <= -2", lambda t: pc.less_equal(t["f64"], -2.0), after="f64 <= -9"),
    case("i64 >= -9223372036854775808", lambda t: pc.is_valid(t["i64"]), after="i64 >= -5"),
    case("u64 < 9223372036854775808", py(lambda u: u < 2**63, "u64"), after="u64 < 18446744073709551615"),
    case("u64 < 5", py(lambda u: u < 5, "u64"), after="u64 < 18446744073709551614"),
    case("i64 in (0, -1, 4611686018427387904)", lambda t: any_equal(t["i64"], i64(0), i64(-1), i64(2**62)),
         after="i64 in (7, -3, 12)"),
    case("f64 between -7.5 and 0.0",
         lambda t: AND(pc.greater_equal(t["f64"], -7.5), pc.less_equal(t["f64"], 0.0)),
         after="f64 between -1.25 and 9.0"),
    case("f64 == inf or f64 == nan", lambda t: pc.equal(t["f64"], inf), after="f64 == 2.5 or f64 == 1.0"),
    case("i64 < 0xff", lambda t: pc.less(t["i64"], i64(255)), after="i64 < 0x1"),
    case("-1 < f64 <= 0.5", lambda t: AND(pc.greater(t["f64"], -1.0), pc.less_equal(t["f64"], 0.5)),
         after="-3 < f64 <= 2.5"),
    case("k > 2 and f64 < 1.5", lambda t: AND(pc.greater(t["k"], i64(2)), pc.less(t["f64"], 1.5)),
         after="k > 2 and f64 < 3.5"),
    case("k > 3 and g < 1.5", lambda t: AND(pc.greater(t["k"], i64(3)), pc.less(t["g"], 1.5)),
         after="k > 2 and g < 1.5"),
    case("f64 * 2 > 3", lambda t: pc.greater(pc.multiply(t["f64"], 2.0), 3.0), after="f64 * 2 > 10"),
    case("1_000 > i64", lambda t: pc.greater(i64(1000), t["i64"]), after="5 > i64"),
    case("3 < 2 or b", lambda t: t["b"], after="1 < 2 or b"),
    case("f64 < 5 < g", lambda t: AND(pc.less(t["f64"], 5.0), pc.less(5.0, t["g"])),
         after="f64 < 1 < g"),
    case("2.5 between f64 and g", lambda t: AND(pc.greater_equal(2.5, t["f64"]), pc.less_equal(2.5, t["g"])),
         after="6.5 between f64 and g"),
    case("1.5 in (f64, g)", lambda t: OR(pc.equal(t["f64"], 1.5), pc.equal(t["g"], 1.5)),
         after="2.5 in (f64, g)"),
    # The same shapes compiled fresh (templates no other case shares) work:
    case("f64 < 5.5 < g", lambda t: AND(pc.less(t["f64"], 5.5), pc.less(5.5, t["g"]))),
    case("2 between f64 and g", lambda t: AND(pc.greater_equal(2.0, t["f64"]), pc.less_equal(2.0, t["g"]))),
    case("1 in (f64, g)", lambda t: OR(pc.equal(t["f64"], 1.0), pc.equal(t["g"], 1.0))),
    # -- larger combinations (2) ---------------------------------------------------------------
    case("i8 in (1, 2) or u64 > -1 and f32 not between -1 and 1",
         lambda t: OR(any_equal(t["i8"], i64(1), i64(2)),
                      AND(pc.is_valid(t["u64"]),
                          NOT(AND(pc.greater_equal(F(t["f32"]), -1.0), pc.less_equal(F(t["f32"]), 1.0)))))),
]


# ---------------------------------------------------------------------------
# The test.
# ---------------------------------------------------------------------------

def _expected(oracle: Oracle, data: pa.RecordBatch | pa.Table) -> np.ndarray:
    result = oracle(data)
    if isinstance(result, pa.ChunkedArray):
        result = result.combine_chunks()
    assert result.type == pa.bool_() and len(result) == data.num_rows, "oracle is malformed"
    return np.asarray(pc.fill_null(result, False).to_pylist(), dtype=bool)


def _check(f: arrowjit.Filter, oracle: Oracle, name: str, data: pa.RecordBatch | pa.Table) -> None:
    expected = _expected(oracle, data)
    want_rows = data.column("row").to_numpy()[expected]
    where = f"{f.expression!r} on the {name}"

    mask = f.mask(data)
    if isinstance(data, pa.Table):
        assert isinstance(mask, pa.ChunkedArray), where
        assert all(chunk.null_count == 0 for chunk in mask.chunks), where
    else:
        assert isinstance(mask, pa.BooleanArray), where
    assert mask.type == pa.bool_() and mask.null_count == 0 and len(mask) == data.num_rows, where
    got = np.asarray(mask.to_pylist(), dtype=bool)
    wrong = np.flatnonzero(got != expected)
    assert wrong.size == 0, (
        f"{where}: mask differs at {wrong.size} rows, e.g. rows "
        f"{data.column('row').to_numpy()[wrong[:5]].tolist()} (expected {expected[wrong[:5]].tolist()})")

    indices = f.indices(data)
    assert indices.type == pa.uint32(), where
    assert indices.to_pylist() == np.flatnonzero(expected).tolist(), where

    assert f.count(data) == int(expected.sum()), where

    filtered = f(data)
    assert type(filtered) is type(data) and filtered.schema == data.schema, where
    assert filtered.column("row").to_pylist() == want_rows.tolist(), where


@pytest.fixture(params=[jit.QUICK, jit.OPTIMIZED], ids=["quick code", "O3 code"])
def tier(request, monkeypatch) -> int:
    """Each case runs on each tier's code alone (see compiler/jit.py): quick code that is never
    replaced, or O3 code compiled before the first call."""
    for cache in (arrowjit.compiled.KERNELS, arrowjit.filter._FILTERS, arrowjit.filter._SHAPES):
        cache.clear()
    if request.param == jit.QUICK:
        monkeypatch.setenv("ARROWJIT_CACHE", "0")  # (O3 code from the disk would skip the quick tier)
        monkeypatch.setattr(arrowjit.compiled, "_start_optimizing", lambda kernel, build: None)
        # Every nulls variant a call wants is quick code too (none compiled at O3 in the background).
        monkeypatch.setattr(arrowjit.compiled.Compiled, "_kernel_for",
                            lambda self, wanted: self._kernel(wanted, quick=True))
    else:
        monkeypatch.setenv("ARROWJIT_TIERED", "0")
    return request.param


@pytest.mark.parametrize(("expr", "oracle", "after"), CASES)
def test_differential(expr: str, oracle: Oracle, after: str | None, datasets, tier) -> None:
    if after is not None:
        arrowjit.compile_filter(after, SCHEMA)
    f = arrowjit.compile_filter(expr, SCHEMA)
    for name, data in datasets:
        _check(f, oracle, name, data)
    assert {kernel.compiled.level for kernel in f._kernels.values()} == {tier}  # every kernel that ran


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 70
    assert N % 64 != 0


def test_data_has_the_edge_cases() -> None:
    """The generated data really contains what the table's cases are about."""
    for name in ["b", "c", *INT_COLUMNS, "f32", "f64", "g", "k"]:
        nulls = BATCH.column(name).null_count
        assert 0.08 * N < nulls < 0.25 * N, name
    assert BATCH.column("n").null_count == 0 and BATCH.column("n").buffers()[0] is None
    for name in ["f32", "f64", "g"]:
        values = BATCH.column(name).to_pylist()
        assert any(v is not None and math.isnan(v) for v in values), name
        assert inf in values and -inf in values, name
    for name, dtype in INT_COLUMNS.items():
        info = np.iinfo(dtype)
        values = set(BATCH.column(name).to_pylist())
        assert {0, int(info.min), int(info.max)} <= values, name
        if info.min < 0:
            assert -1 in values, name
    assert 0 in set(BATCH.column("k").to_pylist()) and -1 in set(BATCH.column("k").to_pylist())
