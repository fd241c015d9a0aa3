"""The public API: schema forms, type names, unsupported types, ``Filter.ir``, the compile cache."""

from __future__ import annotations

import concurrent.futures
import math

import numpy as np
import pyarrow as pa
import pytest

import arrowjit

BATCH = pa.record_batch({
    "x": pa.array([1.0, 2.5, None, 4.0, float("nan"), -3.0]),
    "s": pa.array(["a", "b", "c", None, "e", "f"]),
})
# x > 2.0 keeps 2.5 and 4.0
KEPT = [1, 3]


def kept(f: arrowjit.Filter, data=BATCH) -> list[int]:
    return f.indices(data).to_pylist()


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("schema", [
    pa.schema([("x", pa.float64())]),
    pa.schema([pa.field("x", pa.float64(), nullable=False)]),
    pa.schema([("s", pa.string()), ("x", pa.float64()), ("t", pa.timestamp("ms"))]),
    {"x": "float64"},
    {"x": pa.float64()},
    {"x": "double"},
    {"x": "DOUBLE"},
    {"x": " float64 "},
    {"x": "f8"},
    {"s": "string", "x": "float64"},
], ids=["pa.Schema", "non-nullable", "with-extras", "name", "pa-type", "double", "upper", "spaces", "f8",
        "mapping-with-extras"])
def test_schema_forms(schema):
    f = arrowjit.compile_filter("x > 2.0", schema)
    assert kept(f) == KEPT
    assert f.schema.names == ["x"]
    assert f.schema.field("x").type == pa.float64()
    assert f.count(pa.Table.from_batches([BATCH, BATCH])) == 4


@pytest.mark.parametrize("name,arrow_type", [
    ("double", pa.float64()),
    ("float64", pa.float64()),
    ("float", pa.float32()),
    ("float32", pa.float32()),
    ("int32", pa.int32()),
    ("int8", pa.int8()),
    ("uint16", pa.uint16()),
    ("uint64", pa.uint64()),
    ("bool", pa.bool_()),
    ("boolean", pa.bool_()),
])
def test_type_names(name, arrow_type):
    expr = "x" if arrow_type == pa.bool_() else "x > 1"
    f = arrowjit.compile_filter(expr, {"x": name})
    assert f.schema.field("x").type == arrow_type
    values = [True, False, None, True] if arrow_type == pa.bool_() else [0, 2, None, 5]
    batch = pa.record_batch({"x": pa.array(values, type=arrow_type)})
    assert kept(f, batch) == ([0, 3] if arrow_type == pa.bool_() else [1, 3])
    # the name fixes the type: the data must have exactly that type
    other = pa.int16() if arrow_type != pa.int16() else pa.int32()
    if arrow_type != pa.bool_():
        with pytest.raises(arrowjit.SchemaMismatchError):
            f.mask(pa.record_batch({"x": pa.array([1, 2], type=other)}))


@pytest.mark.parametrize("schema", [
    {"x": "float65"},
    {"x": "int"},
    {"x": "no such type"},
    {"x": ""},
    {"x": "float64", "y": "nonsense"},  # even for a column the expression does not use
    {"x": 3},
    {"x": None},
    {"x": np.float64},
])
def test_bad_schema_types(schema):
    with pytest.raises(arrowjit.ArrowJitError) as info:
        arrowjit.compile_filter("x > 1", schema)
    bad_column = "y" if "y" in schema else "x"
    assert repr(bad_column) in str(info.value)


@pytest.mark.parametrize("schema", [[("x", "float64")], "x: float64", None, 42, pa.float64()])
def test_schema_that_is_not_a_schema(schema):
    with pytest.raises(arrowjit.ArrowJitError):
        arrowjit.compile_filter("x > 1", schema)


def test_schema_with_a_duplicated_name():
    schema = pa.schema([("x", pa.float64()), ("x", pa.int64())])
    with pytest.raises(arrowjit.SchemaMismatchError, match="'x'"):
        arrowjit.compile_filter("x > 1", schema)


@pytest.mark.parametrize("arrow_type", [
    pa.binary(), pa.month_day_nano_interval(), pa.float16(),
    pa.decimal256(40, 2), pa.list_(pa.int64()), pa.dictionary(pa.int32(), pa.binary()), pa.null(),
    pa.struct([("a", pa.int64())]),
], ids=str)
def test_unsupported_column_type(arrow_type):
    schema = pa.schema([("x", pa.float64()), ("c", arrow_type)])
    # not used: fine
    f = arrowjit.compile_filter("x > 2.0", schema)
    assert kept(f) == KEPT
    # used: an ExpressionTypeError naming the column and its type
    with pytest.raises(arrowjit.ExpressionTypeError) as info:
        arrowjit.compile_filter("c is null or x > 2.0", schema)
    message = str(info.value)
    assert "'c'" in message and str(arrow_type) in message


def test_unsupported_type_given_by_name():
    f = arrowjit.compile_filter("x > 2.0", {"x": "float64", "s": "binary"})
    assert kept(f) == KEPT
    with pytest.raises(arrowjit.ExpressionTypeError) as info:
        arrowjit.compile_filter("s == 1", {"x": "float64", "s": "binary"})
    assert "'s'" in str(info.value) and "binary" in str(info.value)


def test_error_classes():
    for cls in (arrowjit.SchemaMismatchError, arrowjit.InvalidDataError, arrowjit.InputTypeError,
                arrowjit.ParseError, arrowjit.ExpressionTypeError, arrowjit.UnknownColumnError):
        assert issubclass(cls, arrowjit.ArrowJitError)
    with pytest.raises(arrowjit.UnknownColumnError, match="'y'"):
        arrowjit.compile_filter("y > 1", {"x": "float64"})
    with pytest.raises(arrowjit.ParseError):
        arrowjit.compile_filter("x >", {"x": "float64"})
    with pytest.raises(arrowjit.ExpressionTypeError):
        arrowjit.compile_filter("x + 1", {"x": "float64"})


# ---------------------------------------------------------------------------
# Filter.ir
# ---------------------------------------------------------------------------

def test_ir_stages():
    f = arrowjit.compile_filter("x > 1.5 and b", {"x": "double", "b": "bool", "s": "string"})
    assert tuple(arrowjit.STAGES) == ("ast", "typed", "llvm", "optimized", "asm")
    texts = {stage: f.ir(stage) for stage in arrowjit.STAGES}
    for stage, text in texts.items():
        assert isinstance(text, str) and text.strip(), stage
    assert "x" in texts["ast"] and "1.5" in texts["ast"] and "b" in texts["ast"]
    assert "float64" in texts["typed"] and "bool" in texts["typed"] and "1.5" in texts["typed"]
    for stage in ("llvm", "optimized"):
        assert "define" in texts[stage] and "filter_kernel" in texts[stage]
    assert "filter_kernel" in texts["asm"]
    assert f.ir() == texts["optimized"]
    assert len({texts[s] for s in arrowjit.STAGES}) == len(arrowjit.STAGES)
    with pytest.raises(ValueError):
        f.ir("bogus")


def test_ir_of_a_filter_that_shares_a_kernel():
    first = arrowjit.compile_filter("x > 11.25", {"x": "float64"})
    second = arrowjit.compile_filter("x > 12.75", {"x": "float64"})
    assert "11.25" in first.ir("ast") and "12.75" in second.ir("ast")
    assert "11.25" in first.ir("typed") and "12.75" in second.ir("typed")
    assert "12.75" not in first.ir("typed")
    for stage in ("llvm", "optimized", "asm"):
        assert second.ir(stage)


# ---------------------------------------------------------------------------
# The compile cache
# ---------------------------------------------------------------------------

def test_compile_cache_returns_the_same_object():
    a = arrowjit.compile_filter("x > 2.0 and x < 100.0", {"x": "float64"})
    assert arrowjit.compile_filter("x > 2.0 and x < 100.0", {"x": "float64"}) is a
    # the same types written another way
    assert arrowjit.compile_filter("x > 2.0 and x < 100.0", {"x": pa.float64()}) is a
    assert arrowjit.compile_filter("x > 2.0 and x < 100.0", pa.schema([("x", pa.float64())])) is a
    assert arrowjit.compile_filter("x > 2.0 and x < 100.0", {"x": "double"}) is a
    # other types or another expression: another filter
    assert arrowjit.compile_filter("x > 2.0 and x < 100.0", {"x": "float32"}) is not a
    b = arrowjit.compile_filter("x > 2.0 and x < 50.0", {"x": "float64"})
    assert b is not a
    assert arrowjit.compile_filter("x > 2.0 and x < 50.0", {"x": "float64"}) is b
    assert kept(a) == KEPT and kept(b) == KEPT


I64_VALUES = [-(2**63), -(2**63) + 1, -1001, -6, -5, -4, -3, 0, 1, 2, 3, 4, 5, 6, 999, 1000, 1001,
              2**53, 2**53 + 1, 2**63 - 2, 2**63 - 1, None]
F64_VALUES = [float("nan"), float("-inf"), float("inf"), -0.0, 0.0, 2.5, 3.1, 3.0, -2.5, 1e308,
              9007199254740992.0, 5.0, None]


def _cmp(v, test):
    return v is not None and test(v)


# Expressions that share a template (same text up to number literals) come one after
# another, so every one after the first reuses the first one's compiled kernel.
INT64_CASES = [
    ("x > 5", lambda v: v > 5),
    ("x > -5", lambda v: v > -5),
    ("x > 9223372036854775807", lambda v: False),
    ("x > -9223372036854775808", lambda v: v > -(2**63)),
    ("x > 9223372036854775808", lambda v: False),  # a uint64 literal
    ("x > 1_000", lambda v: v > 1000),
    ("x > - 5", lambda v: v > -5),
    ("x > +5", lambda v: v > 5),
    ("x > --5", lambda v: v > 5),
    ("x == 9007199254740993", lambda v: v == 2**53 + 1),
    ("x == 9007199254740992", lambda v: v == 2**53),
    ("x == 18446744073709551615", lambda v: False),
    ("x >= 0x7ffffffffffffffe", lambda v: v >= 2**63 - 2),
    ("x >= 0x10", lambda v: v >= 16),
    ("x > 5.5", lambda v: v > 5.5),
    ("x > 5.0", lambda v: v > 5),
    ("x between -3 and 3", lambda v: -3 <= v <= 3),
    ("x between 3 and -3", lambda v: False),
    ("x between -9223372036854775808 and -1001", lambda v: v <= -1001),
    ("x in (1, 2, -9223372036854775808)", lambda v: v in (1, 2, -(2**63))),
    ("x in (5, 6, 9223372036854775807)", lambda v: v in (5, 6, 2**63 - 1)),
    ("x not in (5, 6, 7)", lambda v: v not in (5, 6, 7)),
    ("-5 < x and x < 5", lambda v: -5 < v < 5),
    ("-1 < x and x < 1", lambda v: v == 0),
    ("3 < 4 and x == 1", lambda v: v == 1),
    ("4 < 3 or x == 1", lambda v: v == 1),
]

FLOAT64_CASES = [
    ("y > 2.5", lambda v: v > 2.5),
    ("y > 3.1", lambda v: v > 3.1),
    ("y > -inf", lambda v: v > -math.inf),
    ("y < inf", lambda v: v < math.inf),
    ("y == nan", lambda v: False),
    ("y != nan", lambda v: True),
    ("y > 1e308", lambda v: v > 1e308),
    ("y > 1e307", lambda v: v > 1e307),
    ("y == 0.0", lambda v: v == 0.0),
    ("y == -0.0", lambda v: v == 0.0),
    ("y > 5", lambda v: v > 5),
    ("y > 2", lambda v: v > 2),
    ("y == 9007199254740993", lambda v: v == 9007199254740992.0),
    ("y between -2.5 and 3.0", lambda v: -2.5 <= v <= 3.0),
    ("y between 3.0 and -2.5", lambda v: False),
    ("y in (2.5, 3.1, inf)", lambda v: v in (2.5, 3.1, math.inf)),
]


@pytest.mark.parametrize("column,values,cases,type_name", [
    ("x", I64_VALUES, INT64_CASES, "int64"),
    ("y", F64_VALUES, FLOAT64_CASES, "float64"),
], ids=["int64", "float64"])
def test_filters_that_share_a_kernel_keep_their_own_literals(column, values, cases, type_name):
    batch = pa.record_batch({column: pa.array(values, type=pa.from_numpy_dtype(np.dtype(type_name)))})
    for expr, oracle in cases:
        want = [k for k, v in enumerate(values) if _cmp(v, oracle)]
        shared = arrowjit.compile_filter(expr, {column: type_name})
        assert kept(shared, batch) == want, expr
        assert arrowjit.compile_filter(expr, {column: type_name}) is shared
        alone = arrowjit.compile_filter(expr, {column: type_name}, parameterize=False)
        assert kept(alone, batch) == want, expr


def test_order_of_compilation_does_not_matter():
    """The same expressions compiled in reverse order (another schema, so nothing is cached yet)."""
    values = I64_VALUES
    batch = pa.record_batch({"x": pa.array(values, pa.int64()), "pad": pa.array([0] * len(values))})
    schema = {"x": "int64", "pad": "int8"}
    for expr, oracle in reversed(INT64_CASES):
        want = [k for k, v in enumerate(values) if _cmp(v, oracle)]
        assert kept(arrowjit.compile_filter(expr, schema), batch) == want, expr


def test_filters_sharing_a_kernel_from_many_threads():
    rng = np.random.default_rng(8)
    y = rng.normal(0, 10, 5000)
    batch = pa.record_batch({"y": pa.array(y, mask=rng.random(5000) < 0.1)})
    valid = ~np.asarray(batch.column(0).is_null())
    thresholds = [round(float(t), 3) for t in np.linspace(-20, 20, 40)]

    def work(t):
        f = arrowjit.compile_filter(f"y > {t} and y < {t + 7.5}", {"y": "float64", "other": "int8"})
        return t, f.count(batch)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for t, count in pool.map(work, thresholds * 3):
            assert count == int(((y > t) & (y < t + 7.5) & valid).sum()), t


# ---------------------------------------------------------------------------
# The Filter object
# ---------------------------------------------------------------------------

def test_filter_attributes():
    f = arrowjit.compile_filter("b or x > 2.0", {"s": "string", "x": "float64", "b": "bool"})
    assert f.expression == "b or x > 2.0"
    assert set(f.columns) == {"x", "b"}
    assert set(f.schema.names) == {"x", "b"}
    assert "b or x > 2.0" in repr(f)


def test_explicit_parameters():
    f = arrowjit.compile_filter("x > :lo and x < :hi", {"x": "float64"})
    assert set(f.parameters) == {"lo", "hi"}
    assert f.indices(BATCH, lo=0.0, hi=3.0).to_pylist() == [0, 1]
    assert f.indices(BATCH, params={"lo": -5, "hi": 5}).to_pylist() == [0, 1, 3, 5]
    assert f.count(BATCH, lo=None, hi=3.0) == 0  # null parameter: every comparison is null
    with pytest.raises(arrowjit.ParameterError):
        f.count(BATCH, lo=1.0)
    with pytest.raises(arrowjit.ParameterError):
        f.count(BATCH, lo=1.0, hi=2.0, other=3.0)
    with pytest.raises(arrowjit.ParameterError):
        f.count(BATCH, lo="a", hi=2.0)
