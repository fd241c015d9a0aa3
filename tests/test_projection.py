"""Projections (compile_projection), queries (compile_query) and df.arrowjit.eval.

Expected columns come from pyarrow.compute (or plain Python) on the same
data, never from arrowjit.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit


def make_batch(rows: int = 517, seed: int = 3) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-10, 10, rows)
    x[::17] = np.nan
    return pa.record_batch({
        "x": pa.array(x, mask=rng.random(rows) < 0.15),
        "y": pa.array(rng.uniform(-10, 10, rows)),
        "i": pa.array(rng.integers(-1000, 1000, rows), mask=rng.random(rows) < 0.1),
        "i8": pa.array(rng.integers(-128, 128, rows).astype(np.int8)),
        "f32": pa.array(rng.uniform(0, 10, rows).astype(np.float32)),
        "flag": pa.array(rng.random(rows) < 0.5, mask=rng.random(rows) < 0.1),
    })


def f64(array):
    return pc.cast(array, pa.float64())


# (expression, pyarrow.compute oracle over the batch) — the output type is the oracle's.
CASES = [
    ("x * 2 + y", lambda b: pc.add(pc.multiply(b["x"], 2.0), b["y"])),
    ("x / y", lambda b: pc.divide(b["x"], b["y"])),
    ("i + 1", lambda b: pc.add(b["i"], 1)),
    ("i8 + i8", lambda b: pc.add(b["i8"], b["i8"])),  # int8 stays int8 and wraps
    ("-i", lambda b: pc.negate(b["i"])),
    ("abs(x)", lambda b: pc.abs(b["x"])),
    ("sqrt(f32)", lambda b: pc.sqrt(b["f32"])),
    ("f32 * 2", lambda b: pc.multiply(f64(b["f32"]), 2.0)),
    ("x > y", lambda b: pc.greater(b["x"], b["y"])),
    ("flag and x > 0", lambda b: pc.and_kleene(b["flag"], pc.greater(b["x"], 0.0))),
    ("flag or i > 0", lambda b: pc.or_kleene(b["flag"], pc.greater(b["i"], 0))),
    ("not flag", lambda b: pc.invert(b["flag"])),
    ("x is null", lambda b: pc.is_null(b["x"])),
    ("isnan(x)", lambda b: pc.is_nan(b["x"])),
    ("coalesce(x, y)", lambda b: pc.coalesce(b["x"], b["y"])),
    ("if(flag, x, y)", lambda b: pc.if_else(pc.fill_null(b["flag"], False), b["x"], b["y"])),
    ("cast(y as int32)", lambda b: pc.cast(pc.trunc(b["y"]), pa.int32())),
    ("i::float64", lambda b: pc.cast(b["i"], pa.float64())),
    ("greatest(x, y)", lambda b: pc.max_element_wise(b["x"], b["y"])),
    ("round(y, 1)", lambda b: pc.round(b["y"], 1)),
    ("flag", lambda b: b["flag"]),
    ("true", lambda b: pa.array([True] * len(b), pa.bool_())),
    ("3", lambda b: pa.array([3] * len(b), pa.int64())),
]


def check_equal(got: pa.Array, want: pa.Array) -> None:
    want = want.combine_chunks() if isinstance(want, pa.ChunkedArray) else want
    got = got.combine_chunks() if isinstance(got, pa.ChunkedArray) else got
    assert got.type == want.type, (got.type, want.type)
    assert got.null_count == want.null_count
    if pa.types.is_floating(want.type):
        np.testing.assert_allclose(got.to_numpy(zero_copy_only=False), want.to_numpy(zero_copy_only=False),
                                   rtol=1e-6, equal_nan=True)
    else:
        assert got.to_pylist() == want.to_pylist()


@pytest.mark.parametrize("expr, oracle", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("offset, length", [(0, 517), (13, 300), (5, 64), (1, 0)])
def test_each_expression_against_pyarrow(expr, oracle, offset, length):
    batch = make_batch().slice(offset, length)
    projection = arrowjit.compile_projection([expr], batch.schema)
    got = projection(batch)
    assert got.schema.names == [expr]
    with np.errstate(all="ignore"):
        check_equal(got.column(0), oracle(batch))
    got.validate(full=True)


def test_many_outputs_in_one_kernel_on_a_chunked_table():
    batch = make_batch(2000)
    table = pa.Table.from_batches([batch.slice(0, 700), batch.slice(700, 0), batch.slice(700)])
    exprs = {name: expr for name, (expr, _) in zip("abcdefghijklmnopqrstuvw", CASES)}
    projection = arrowjit.compile_projection(exprs, table.schema)
    got = projection(table)
    assert got.num_rows == 2000 and got.schema.names == list(exprs)
    for (name, _), (_, oracle) in zip(exprs.items(), CASES):
        check_equal(got.column(name), oracle(batch))


def test_threads_give_the_same_columns():
    batch = make_batch(1_000_003, seed=11)
    projection = arrowjit.compile_projection(["x * 2 + y", "flag or x > 0", "i // 7"], batch.schema)
    one = projection(batch, threads=1)
    two = projection(batch, threads=2)
    for column in range(one.num_columns):
        check_equal(two.column(column), one.column(column))


def test_parameters_in_projections():
    batch = make_batch()
    projection = arrowjit.compile_projection({"scaled": "x * :k", "above": "y > :k"}, batch.schema)
    got = projection(batch, k=3.0)
    check_equal(got.column("scaled"), pc.multiply(batch["x"], 3.0))
    check_equal(got.column("above"), pc.greater(batch["y"], 3.0))


def test_query_filters_then_projects():
    batch = make_batch()
    query = arrowjit.compile_query(batch.schema, select={"s": "x + y", "i": "i"}, where="y > 2 and i > 0")
    got = query(batch)
    mask = pc.fill_null(pc.and_kleene(pc.greater(batch["y"], 2.0), pc.greater(batch["i"], 0)), False)
    kept = batch.filter(mask)
    check_equal(got.column("s"), pc.add(kept["x"], kept["y"]))
    check_equal(got.column("i"), kept["i"])


def test_query_with_parameters():
    batch = make_batch()
    query = arrowjit.compile_query(batch.schema, select=["y * :k"], where="y > :lo")
    got = query(batch, k=2.0, lo=5.0)
    kept = batch.filter(pc.greater(batch["y"], 5.0))
    check_equal(got.column(0), pc.multiply(kept["y"], 2.0))


@pytest.mark.parametrize("expr", ["z = x * 2 + y", "x > y", "w = y * 3 - i", "x + i"])
def test_pandas_eval_equals_dataframe_eval(expr):
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.uniform(0, 1, 50), "y": rng.uniform(0, 1, 50), "i": rng.integers(0, 9, 50)},
                      index=[f"r{k}" for k in range(50)])
    df.loc["r3", "x"] = np.nan
    got, want = df.arrowjit.eval(expr), df.eval(expr)
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    else:
        pd.testing.assert_series_equal(got, want, check_names=False)


def test_ir_stages_and_repr():
    projection = arrowjit.compile_projection({"a": "x * 2", "b": "x > 1"}, {"x": "float64"})
    assert projection.ir("ast") == "a: (* x 2)\nb: (> x 1)"
    assert "multiply_float64_float64" in projection.ir("typed")
    assert "define void @projection_kernel" in projection.ir("llvm")
    assert "x double>" in projection.ir("optimized")
    assert projection.ir("asm")
    assert repr(projection) == "<arrowjit.Projection a: double, b: bool>"


@pytest.mark.parametrize("exprs, error, message", [
    ([], arrowjit.ArrowJitError, "at least one expression"),
    ("x + 1", arrowjit.ArrowJitError, "not one string"),
    ({"a": "x", "b": "x + zz"}, arrowjit.UnknownColumnError, "unknown column 'zz'"),
    (["x + flag"], arrowjit.ExpressionTypeError, r"\+ needs numbers"),
    ([":a + :b"], arrowjit.ExpressionTypeError, "cannot infer"),
])
def test_errors(exprs, error, message):
    with pytest.raises(error, match=message):
        arrowjit.compile_projection(exprs, {"x": "float64", "flag": "bool"})


# -- queries: the projection kernel reads the filter's selection bitmap ------------------------------

QUERY_SELECT = {
    "f64": "x * 2 - y",          # float64, null where x or y is
    "f32": "f::float32 + 1",     # 32-bit lanes
    "i16": "(i % 100)::int16",   # 16-bit lanes (widened around the compress)
    "i8": "(i % 7)::int8",       # 8-bit lanes
    "i64": "i * 3",
    "b": "x > y",                # a bool output: bits, like validity
    "never_null": "coalesce(x, 0.5)",
}


def _query_oracle(data, where_mask):
    keep = pc.fill_null(where_mask, False)
    rows = data.filter(keep)
    projection = arrowjit.compile_projection(QUERY_SELECT, data.schema)
    return projection(rows)  # the plain projection of the filtered rows


def _query_data(n: int, seed: int = 5) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "x": pa.array(rng.uniform(0, 10, n), mask=rng.random(n) < 0.1),
        "y": rng.uniform(0, 10, n),
        "f": pa.array(rng.uniform(0, 10, n).astype(np.float32), mask=rng.random(n) < 0.05),
        "i": rng.integers(-1000, 1000, n),
    })


@pytest.mark.parametrize("where, oracle", [
    ("x > 3 and i % 3 != 0", lambda t: pc.and_kleene(
        pc.greater(t["x"], 3), pa.array(np.asarray(t["i"]) % 3 != 0))),
    ("y < 0.01", lambda t: pc.less(t["y"], 0.01)),          # sparse: most blocks are skipped
    ("y >= 0", lambda t: pc.greater_equal(t["y"], 0)),       # everything
    ("y < 0", lambda t: pc.less(t["y"], 0)),                 # nothing
])
@pytest.mark.parametrize("offset, length", [(0, 0), (0, 1), (3, 64), (7, 1000), (61, 4097)])
def test_query_against_filter_then_project(where, oracle, offset, length):
    table = _query_data(5000).slice(offset, length)
    batch = table.combine_chunks().to_batches()[0] if length else pa.RecordBatch.from_pylist(
        [], schema=table.schema)
    query = arrowjit.compile_query(batch.schema, select=QUERY_SELECT, where=where)
    got = query(batch)
    expected = _query_oracle(batch, oracle(batch))
    assert got.schema == expected.schema
    for name in QUERY_SELECT:
        assert got[name].to_pylist() == expected[name].to_pylist(), name


def test_query_on_a_chunked_table_and_with_threads():
    # Enough rows for several morsels per chunk: their outputs meet at arbitrary bit positions.
    table = _query_data(700_000, seed=9)
    chunked = pa.concat_tables([table.slice(0, 300_001), table.slice(300_001)])
    where = "x > 2.5 and y < 8"
    expected = _query_oracle(table, pc.and_kleene(pc.greater(table["x"], 2.5), pc.less(table["y"], 8)))
    for threads in (1, 2, 3):
        query = arrowjit.compile_query(chunked.schema, select=QUERY_SELECT, where=where, threads=threads)
        got = query(chunked)
        assert isinstance(got, pa.Table)
        for name in QUERY_SELECT:
            assert got[name].to_pylist() == expected[name].to_pylist(), (name, threads)


def test_query_strings_fall_back_to_filter_then_project():
    batch = pa.record_batch({"s": ["a", "bb", None, "ccc"], "x": [1.0, 2.0, 3.0, 4.0]})
    query = arrowjit.compile_query(batch.schema, select={"x2": "x * 2", "same": "s == 'bb'"}, where="x > 1.5")
    assert query(batch).to_pydict() == {"x2": [4.0, 6.0, 8.0], "same": [True, None, False]}
