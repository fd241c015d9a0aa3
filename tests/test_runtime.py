"""Running compiled filters on data: every column type, odd lengths and offsets, nulls, chunking.

Every expected result is computed here with numpy, pyarrow.compute or plain
Python, never with arrowjit.
"""

from __future__ import annotations

import concurrent.futures
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit

# ---------------------------------------------------------------------------
# Column types, a predicate on each, and its numpy oracle
# ---------------------------------------------------------------------------

SIGNED = ["int8", "int16", "int32", "int64"]
UNSIGNED = ["uint8", "uint16", "uint32", "uint64"]
FLOATS = ["float32", "float64"]
TYPES = ["bool", *SIGNED, *UNSIGNED, *FLOATS]

# (expression, oracle on the numpy values; null rows are removed separately)
PREDICATES = {
    "bool": ("x", lambda v: v),
    **{t: ("x >= -10 and x != 3", lambda v: (v >= -10) & (v != 3)) for t in SIGNED},
    **{t: ("x < 120 or x == 199", lambda v: (v < 120) | (v == 199)) for t in UNSIGNED},
    **{t: ("x > -10.5", lambda v: v > -10.5) for t in FLOATS},
}

LENGTHS = [0, 1, 63, 64, 65, 127, 128, 129, 1000]
OFFSETS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 64, 65]


def values_for(type_name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Random values of a column type, with the type's extremes (and NaN for floats) mixed in."""
    if type_name == "bool":
        return rng.random(n) < 0.5
    dtype = np.dtype(type_name)
    if type_name in FLOATS:
        values = rng.normal(0, 40, n).astype(dtype)
        special = np.array([np.nan, np.inf, -np.inf, -10.5, 0.0, -0.0], dtype=dtype)
    elif type_name in SIGNED:
        values = rng.integers(-100, 100, n).astype(dtype)
        info = np.iinfo(dtype)
        special = np.array([info.min, info.max, 3, -10, -11], dtype=dtype)
    else:
        values = rng.integers(0, 200, n).astype(dtype)
        info = np.iinfo(dtype)
        special = np.array([info.max, info.max - 1, 119, 120, 199, 0], dtype=dtype)
    if n:
        where = rng.random(n) < 0.08
        values[where] = rng.choice(special, where.sum())
    return values


def make_array(type_name: str, values: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """An Arrow array of ``values``; ``valid`` (True = not null) or None for no validity bitmap."""
    mask = None if valid is None else ~valid
    array = pa.array(values, type=pa.bool_() if type_name == "bool" else pa.from_numpy_dtype(values.dtype),
                     mask=mask)
    if valid is None or valid.all():
        assert array.buffers()[0] is None or array.null_count == 0
    return array


def expected_mask(type_name: str, values: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    _, oracle = PREDICATES[type_name]
    with np.errstate(invalid="ignore"):
        keep = np.asarray(oracle(values), dtype=bool)
    return keep if valid is None else keep & valid


def filter_for(type_name: str) -> arrowjit.Filter:
    expr, _ = PREDICATES[type_name]
    return arrowjit.compile_filter(expr, {"x": type_name})


def check_all(f: arrowjit.Filter, data, expected: np.ndarray) -> None:
    """mask, count, indices and the filtered data all agree with ``expected``."""
    expected = np.asarray(expected, dtype=bool)
    mask = f.mask(data)
    assert mask.type == pa.bool_()
    assert mask.null_count == 0
    assert len(mask) == len(expected)
    got = mask.to_numpy(zero_copy_only=False) if len(mask) else np.zeros(0, bool)
    np.testing.assert_array_equal(np.asarray(got, dtype=bool), expected)
    assert f.count(data) == int(expected.sum())
    indices = f.indices(data)
    assert indices.type == pa.uint32()
    np.testing.assert_array_equal(indices.to_numpy(), np.flatnonzero(expected).astype(np.uint32))
    result = f(data)
    assert type(result) is type(data)
    want = data.filter(pa.array(expected, type=pa.bool_()))
    assert result.schema == data.schema
    assert result.num_rows == int(expected.sum())
    assert_same_data(result, want)


def _nan_free(column):
    """A float column with NaN replaced by 0 and a column saying where the NaNs were (Arrow's
    ``equals`` finds NaN unequal to itself)."""
    if pa.types.is_floating(column.type):
        nan = pc.is_nan(column)
        return [nan, pc.if_else(nan, pa.scalar(0, column.type), column)]
    return [column]


def assert_same_data(got, want) -> None:
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows
    for a, b in zip(got.columns, want.columns):
        for x, y in zip(_nan_free(a), _nan_free(b)):
            assert x.equals(y)


# ---------------------------------------------------------------------------
# Lengths around the 64-row block size
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("type_name", TYPES)
@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("nulls", [False, True], ids=["no_nulls", "nulls"])
def test_lengths_around_blocks(type_name, length, nulls):
    rng = np.random.default_rng(length * 7 + TYPES.index(type_name))
    values = values_for(type_name, length, rng)
    valid = rng.random(length) > 0.3 if nulls else None
    batch = pa.record_batch({"x": make_array(type_name, values, valid)})
    check_all(filter_for(type_name), batch, expected_mask(type_name, values, valid))


@pytest.mark.parametrize("type_name", TYPES)
def test_empty_batch_from_schema(type_name):
    arrow_type = pa.bool_() if type_name == "bool" else pa.from_numpy_dtype(np.dtype(type_name))
    schema = pa.schema([("x", arrow_type), ("s", pa.string())])
    batch = pa.RecordBatch.from_pylist([], schema=schema)
    check_all(filter_for(type_name), batch, np.zeros(0, bool))


# ---------------------------------------------------------------------------
# Sliced arrays: data at an offset, bitmaps at offsets that are not byte aligned
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("type_name", TYPES)
@pytest.mark.parametrize("offset", OFFSETS)
def test_sliced_arrays(type_name, offset):
    rng = np.random.default_rng(1000 + offset * 13 + TYPES.index(type_name))
    total = offset + 200
    values = values_for(type_name, total, rng)
    valid = rng.random(total) > 0.25
    for with_nulls in (False, True):
        base = make_array(type_name, values, valid if with_nulls else None)
        for length in (0, 1, 7, 63, 64, 65, 128, 129, total - offset):
            sliced = base.slice(offset, length)
            assert sliced.offset == offset
            batch = pa.record_batch({"x": sliced})
            part_values = values[offset:offset + length]
            part_valid = valid[offset:offset + length] if with_nulls else None
            check_all(filter_for(type_name), batch, expected_mask(type_name, part_values, part_valid))


@pytest.mark.parametrize("offset", OFFSETS)
def test_sliced_bool_data_and_validity_together(offset):
    """A bool column whose data bitmap and validity bitmap both start mid-byte, next to a number column."""
    rng = np.random.default_rng(offset)
    total = offset + 300
    flags = rng.random(total) < 0.5
    flags_valid = rng.random(total) > 0.3
    numbers = rng.integers(-50, 50, total)
    b = pa.array(flags, mask=~flags_valid).slice(offset, 257)
    n = pa.array(numbers).slice(offset + 0, 257)
    batch = pa.record_batch({"b": b, "n": n})
    f = arrowjit.compile_filter("b and n > 0", {"b": "bool", "n": "int64"})
    sl = slice(offset, offset + 257)
    expected = flags[sl] & flags_valid[sl] & (numbers[sl] > 0)
    check_all(f, batch, expected)
    g = arrowjit.compile_filter("not b or n > 40", {"b": "bool", "n": "int64"})
    expected = ((~flags[sl]) & flags_valid[sl]) | (numbers[sl] > 40)
    check_all(g, batch, expected)


# ---------------------------------------------------------------------------
# Validity bitmaps: absent, all null, present without nulls, garbage under nulls
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("type_name", TYPES)
def test_no_validity_bitmap(type_name):
    rng = np.random.default_rng(5)
    values = values_for(type_name, 300, rng)
    array = make_array(type_name, values, None)
    assert array.buffers()[0] is None
    check_all(filter_for(type_name), pa.record_batch({"x": array}), expected_mask(type_name, values, None))


@pytest.mark.parametrize("type_name", TYPES)
@pytest.mark.parametrize("length", [1, 64, 65, 200])
def test_all_null(type_name, length):
    arrow_type = pa.bool_() if type_name == "bool" else pa.from_numpy_dtype(np.dtype(type_name))
    array = pa.nulls(length, type=arrow_type)
    assert array.null_count == length
    check_all(filter_for(type_name), pa.record_batch({"x": array}), np.zeros(length, bool))
    sliced = pa.array([None] * (length + 5), type=arrow_type).slice(5)
    check_all(filter_for(type_name), pa.record_batch({"x": sliced}), np.zeros(length, bool))


def _raw_bytes(type_name: str, values: np.ndarray) -> bytes:
    if type_name == "bool":
        return np.packbits(values, bitorder="little").tobytes()
    return values.tobytes()


@pytest.mark.parametrize("type_name", TYPES)
def test_bitmap_present_but_no_nulls(type_name):
    rng = np.random.default_rng(6)
    n = 200
    values = values_for(type_name, n, rng)
    arrow_type = pa.bool_() if type_name == "bool" else pa.from_numpy_dtype(values.dtype)
    ones = pa.py_buffer(b"\xff" * ((n + 7) // 8))
    array = pa.Array.from_buffers(arrow_type, n, [ones, pa.py_buffer(_raw_bytes(type_name, values))])
    assert array.buffers()[0] is not None and array.null_count == 0
    check_all(filter_for(type_name), pa.record_batch({"x": array}), expected_mask(type_name, values, None))
    # A slice of an array with nulls that has none itself keeps the bitmap too.
    with_nulls = make_array(type_name, values, np.arange(n) >= 100)
    part = with_nulls.slice(103, 90)
    assert part.buffers()[0] is not None and part.null_count == 0
    check_all(filter_for(type_name), pa.record_batch({"x": part}),
              expected_mask(type_name, values[103:193], None))


@pytest.mark.parametrize("type_name", TYPES)
def test_values_under_nulls_are_ignored(type_name):
    """Null slots hold values that satisfy the predicate; bitmap bits past the end are set."""
    n = 133
    rng = np.random.default_rng(7)
    values = values_for(type_name, n, rng)
    keep_all = {"bool": True, "float32": 50.0, "float64": 50.0}.get(type_name, 5)
    values[::2] = keep_all  # satisfies the predicate, but these rows are null
    valid = np.arange(n) % 2 == 1
    bits = np.packbits(valid, bitorder="little")
    bits[-1] |= 0xFF << (n % 8) & 0xFF  # garbage past the last row
    arrow_type = pa.bool_() if type_name == "bool" else pa.from_numpy_dtype(values.dtype)
    array = pa.Array.from_buffers(arrow_type, n, [pa.py_buffer(bits.tobytes()),
                                                  pa.py_buffer(_raw_bytes(type_name, values))])
    assert array.null_count == (n + 1) // 2
    check_all(filter_for(type_name), pa.record_batch({"x": array}), expected_mask(type_name, values, valid))


# ---------------------------------------------------------------------------
# IEEE NaN and SQL nulls
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("type_name", FLOATS)
def test_nan_semantics(type_name):
    values = np.array([np.nan, 1.0, 2.0, np.nan, -np.inf, np.inf, 0.0, 1.0, 7.0], dtype=type_name)
    valid = np.array([True, True, True, False, True, True, True, False, True])
    batch = pa.record_batch({"x": pa.array(values, mask=~valid)})
    schema = {"x": type_name}
    cases = {
        "x != 1.0": lambda v: v != 1.0,
        "x == x": lambda v: v == v,
        "not (x > 0.5)": lambda v: ~(v > 0.5),
        "x is null": None,
        "x is not null": lambda v: np.ones(len(v), bool),
        "isnan(x)": np.isnan,
        "x > 0.5 or x != x": lambda v: (v > 0.5) | (v != v),
    }
    for expr, oracle in cases.items():
        if oracle is None:
            expected = ~valid
        else:
            with np.errstate(invalid="ignore"):
                expected = oracle(values) & valid
        check_all(arrowjit.compile_filter(expr, schema), batch, expected)


@pytest.mark.parametrize("expr,expected", [
    # x = [0.0, 2.0, null, 3.0, NaN]; results worked out by hand with SQL's three-valued logic
    ("x > 1 or null", [1, 3]),
    ("x > 1 and null", []),
    ("(x > 1 or null) is null", [0, 2, 4]),
    ("(x > 1 and null) is null", [1, 2, 3]),
    ("not (x > 1 and null)", [0, 4]),
    ("null is null", [0, 1, 2, 3, 4]),
    ("(x > 1) is not null", [0, 1, 3, 4]),
    ("not not (x > 1)", [1, 3]),
    ("(x > 1) = true", [1, 3]),
    ("(x > 1) != (x > 2.5)", [1]),
    ("x in (null, 2.0)", [1]),
    ("x not in (null, 2.0)", []),
    ("x not in (0.0, 2.0)", [3, 4]),
    ("x between null and 5", []),
    ("x not between 2.5 and null", [0, 1, 4]),
    ("x between 1 and 3", [1, 3]),
    ("x not between 1 and 3", [0, 4]),
])
def test_three_valued_logic_with_null_constants(expr, expected):
    batch = pa.record_batch({"x": pa.array([0.0, 2.0, None, 3.0, float("nan")])})
    f = arrowjit.compile_filter(expr, {"x": "float64"})
    mask = np.zeros(5, bool)
    mask[expected] = True
    check_all(f, batch, mask)


def test_integer_extremes_and_mixed_sign_comparisons():
    u = np.array([0, 1, 2**63 - 1, 2**63, 2**64 - 1, 5], dtype=np.uint64)
    s = np.array([-(2**63), -1, 2**63 - 1, 0, -5, 5], dtype=np.int64)
    batch = pa.record_batch({"u": u, "s": s})
    schema = {"u": "uint64", "s": "int64"}
    py_u, py_s = [int(v) for v in u], [int(v) for v in s]
    for expr, oracle in {
        "u > s": lambda a, b: a > b,
        "u == s": lambda a, b: a == b,
        "s < u": lambda a, b: b < a,
        "u >= 9223372036854775808": lambda a, b: a >= 2**63,
        "s < -1": lambda a, b: b < -1,
    }.items():
        expected = np.array([oracle(a, b) for a, b in zip(py_u, py_s)])
        check_all(arrowjit.compile_filter(expr, schema), batch, expected)


# ---------------------------------------------------------------------------
# Several columns: Kleene logic, and kernel variants for different null layouts
# ---------------------------------------------------------------------------

def _kleene(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is true, is false) of a three-valued boolean."""
    return values & valid, ~values & valid


def test_two_columns_one_with_nulls_kleene():
    rng = np.random.default_rng(11)
    n = 517
    a = rng.normal(0, 1, n)
    a_valid = rng.random(n) > 0.3
    b = rng.random(n) < 0.5
    b_valid = rng.random(n) > 0.3
    schema = {"a": "float64", "b": "bool"}
    everything = np.ones(n, bool)
    # (is true, is false, validity of a) -> expected mask
    cases = {
        "a > 0 and b": lambda at, af, bt, bf, av: at & bt,
        "a > 0 or b": lambda at, af, bt, bf, av: at | bt,
        "not (a > 0 and b)": lambda at, af, bt, bf, av: af | bf,
        "not (a > 0 or b)": lambda at, af, bt, bf, av: af & bf,
        "(a > 0) is null or b": lambda at, af, bt, bf, av: ~av | bt,
    }
    layouts = [(a_valid, None), (None, b_valid), (a_valid, b_valid), (None, None)]
    for expr, oracle in cases.items():
        f = arrowjit.compile_filter(expr, schema)
        for av, bv in layouts:
            batch = pa.record_batch({"a": pa.array(a, mask=None if av is None else ~av),
                                     "b": pa.array(b, mask=None if bv is None else ~bv)})
            a_ok = everything if av is None else av
            b_ok = everything if bv is None else bv
            at, af = _kleene(a > 0, a_ok)
            bt, bf = _kleene(b, b_ok)
            check_all(f, batch, oracle(at, af, bt, bf, a_ok))


def test_every_type_in_one_filter():
    """Eleven columns, some with nulls, sliced at an odd offset: one kernel reads them all."""
    rng = np.random.default_rng(13)
    n, offset = 400, 5
    columns, oks, keeps = {}, [], []
    for i, type_name in enumerate(TYPES):
        name = f"c_{type_name}"
        values = values_for(type_name, n, rng)
        valid = rng.random(n) > 0.05 if i % 2 else None
        columns[name] = make_array(type_name, values, valid).slice(offset)
        _, oracle = PREDICATES[type_name]
        with np.errstate(invalid="ignore"):
            keeps.append(np.asarray(oracle(values), bool)[offset:])
        oks.append((np.ones(n, bool) if valid is None else valid)[offset:])
    exprs = [PREDICATES[t][0].replace("x", f"c_{t}") for t in TYPES]
    schema = {f"c_{t}": t for t in TYPES}
    batch = pa.record_batch(columns)
    conjunction = arrowjit.compile_filter(" and ".join(f"({e})" for e in exprs), schema)
    check_all(conjunction, batch, np.logical_and.reduce([k & v for k, v in zip(keeps, oks)]))
    disjunction = arrowjit.compile_filter(" or ".join(f"({e})" for e in exprs), schema)
    check_all(disjunction, batch, np.logical_or.reduce([k & v for k, v in zip(keeps, oks)]))


NAMES = ["row0", "count", "j", "keep", "x", "x_valid", "a b", "a_b", "word", "bits", "start", "end",
         "out", "buffers", "offsets", "params", "valid", "ü", "1x", "and"]


def test_column_names_that_look_like_kernel_internals():
    """Column names equal to the kernel's own value names, or that clean up to the same identifier."""
    n = 130
    arrays, values, valids = {}, {}, {}
    for i, name in enumerate(NAMES):
        values[name] = (np.arange(n) * (i + 3)) % 11 - 2
        valids[name] = np.arange(n) % (i + 2) != 0 if i % 2 else np.ones(n, bool)
        arrays[name] = pa.array(values[name], pa.int64(), mask=~valids[name] if i % 2 else None)
    batch = pa.record_batch(arrays)
    schema = {name: "int64" for name in NAMES}
    everything = arrowjit.compile_filter(" and ".join(f"`{name}` >= 0" for name in NAMES), schema)
    check_all(everything, batch, np.logical_and.reduce([(values[m] >= 0) & valids[m] for m in NAMES]))
    for name in NAMES:
        f = arrowjit.compile_filter(f"`{name}` > 3 or `x` < -1", schema)
        expected = ((values[name] > 3) & valids[name]) | ((values["x"] < -1) & valids["x"])
        check_all(f, batch, expected)


def test_same_filter_alternating_nulls_and_no_nulls():
    f = arrowjit.compile_filter("x > 0 and y < 10", {"x": "int32", "y": "float32"})
    rng = np.random.default_rng(12)
    for round_ in range(6):
        n = 150 + round_
        x = rng.integers(-5, 5, n).astype(np.int32)
        y = rng.normal(10, 5, n).astype(np.float32)
        x_valid = rng.random(n) > 0.2 if round_ % 2 else np.ones(n, bool)
        y_valid = rng.random(n) > 0.2 if round_ % 3 == 1 else np.ones(n, bool)
        batch = pa.record_batch({
            "x": pa.array(x, mask=~x_valid if round_ % 2 else None),
            "y": pa.array(y, mask=~y_valid if round_ % 3 == 1 else None),
        })
        check_all(f, batch, (x > 0) & (y < 10) & x_valid & y_valid)


def test_schema_nullability_does_not_decide_the_kernel():
    """A filter compiled for a non-nullable field still drops nulls that the data has."""
    schema = pa.schema([pa.field("x", pa.float64(), nullable=False)])
    f = arrowjit.compile_filter("x > 0.0", schema)
    batch = pa.record_batch({"x": pa.array([1.0, None, 2.0, -1.0, None])})
    check_all(f, batch, np.array([True, False, True, False, False]))


# ---------------------------------------------------------------------------
# Tables and chunks
# ---------------------------------------------------------------------------

def _chunked(values: np.ndarray, valid: np.ndarray, bounds: list[int], arrow_type=None) -> pa.ChunkedArray:
    chunks = [pa.array(values[lo:hi], mask=~valid[lo:hi], type=arrow_type)
              for lo, hi in zip(bounds[:-1], bounds[1:])]
    return pa.chunked_array(chunks, type=arrow_type or chunks[0].type)


@pytest.mark.parametrize("type_name", TYPES)
def test_table_many_chunks_with_empty_chunks(type_name):
    rng = np.random.default_rng(21 + TYPES.index(type_name))
    n = 700
    values = values_for(type_name, n, rng)
    valid = rng.random(n) > 0.2
    bounds = [0, 0, 1, 1, 64, 65, 65, 200, 263, 264, 500, 699, 700, 700]
    arrow_type = pa.bool_() if type_name == "bool" else pa.from_numpy_dtype(values.dtype)
    column = _chunked(values, valid, bounds, arrow_type)
    assert column.num_chunks == len(bounds) - 1
    table = pa.table({"x": column})
    check_all(filter_for(type_name), table, expected_mask(type_name, values, valid))
    mask = filter_for(type_name).mask(table)
    assert isinstance(mask, pa.ChunkedArray)


@pytest.mark.parametrize("type_name", TYPES)
def test_table_chunks_that_are_slices_of_one_array(type_name):
    """Chunks share one buffer and start at offsets that are not multiples of 8 (or of 64)."""
    rng = np.random.default_rng(24 + TYPES.index(type_name))
    n = 600
    values = values_for(type_name, n, rng)
    valid = rng.random(n) > 0.3
    whole = make_array(type_name, values, valid)
    bounds = [3, 3, 4, 67, 131, 132, 200, 329, 330, 597]
    chunks = [whole.slice(lo, hi - lo) for lo, hi in zip(bounds[:-1], bounds[1:])]
    assert [c.offset for c in chunks] == bounds[:-1]
    table = pa.table({"x": pa.chunked_array(chunks, type=whole.type)})
    part = slice(bounds[0], bounds[-1])
    check_all(filter_for(type_name), table, expected_mask(type_name, values[part], valid[part]))


def test_table_whose_columns_are_all_empty_chunks():
    table = pa.table({"x": pa.chunked_array([pa.array([], pa.int64())] * 3),
                      "s": pa.chunked_array([], pa.string())})
    f = arrowjit.compile_filter("x > 0", {"x": "int64"})
    check_all(f, table, np.zeros(0, bool))


@pytest.mark.parametrize("type_name", ["bool", "int16", "float64"])
def test_table_with_zero_chunks(type_name):
    arrow_type = pa.bool_() if type_name == "bool" else pa.from_numpy_dtype(np.dtype(type_name))
    schema = pa.schema([("x", arrow_type), ("s", pa.string())])
    table = pa.Table.from_batches([], schema=schema)
    assert table.column("x").num_chunks == 0
    f = filter_for(type_name)
    mask = f.mask(table)
    assert isinstance(mask, pa.ChunkedArray) and len(mask) == 0 and mask.type == pa.bool_()
    assert f.count(table) == 0
    assert f.indices(table).type == pa.uint32() and len(f.indices(table)) == 0
    result = f(table)
    assert isinstance(result, pa.Table) and result.num_rows == 0 and result.schema == schema


def test_table_chunk_boundaries_differ_between_columns():
    rng = np.random.default_rng(22)
    n = 1000
    a = rng.integers(-100, 100, n).astype(np.int16)
    a_valid = rng.random(n) > 0.1
    b = rng.random(n) < 0.6
    b_valid = rng.random(n) > 0.1
    c = rng.normal(0, 1, n)
    c_valid = np.ones(n, bool)
    s = np.array([f"row{i}" for i in range(n)], dtype=object)
    table = pa.table({
        "a": _chunked(a, a_valid, [0, 3, 3, 70, 130, 131, 640, 1000]),
        "s": pa.chunked_array([pa.array(s[:500]), pa.array(s[500:900]), pa.array(s[900:])]),
        "b": _chunked(b, b_valid, [0, 64, 128, 129, 999, 1000, 1000]),
        "c": _chunked(c, c_valid, [0, 1000]),
    })
    f = arrowjit.compile_filter("a > 0 and b or c > 1.5", {"a": "int16", "b": "bool", "c": "float64"})
    a_true = (a > 0) & a_valid
    b_true = b & b_valid
    expected = (a_true & b_true) | (c > 1.5)
    check_all(f, table, expected)
    result = f(table)
    assert result.column("s").to_pylist() == [s[i] for i in np.flatnonzero(expected)]


def test_table_non_referenced_columns_chunked_differently():
    n = 300
    x = np.arange(n, dtype=np.int64)
    table = pa.table({
        "x": pa.chunked_array([x[:100], x[100:300]]),
        "name": pa.chunked_array([pa.array([str(i) for i in range(7)]),
                                  pa.array([str(i) for i in range(7, 250)]),
                                  pa.array([], pa.string()),
                                  pa.array([str(i) for i in range(250, 300)])]),
        "other": pa.chunked_array([np.arange(n, dtype=np.float32)]),
    })
    f = arrowjit.compile_filter("x % 7 == 3", {"x": "int64"})
    expected = x % 7 == 3
    check_all(f, table, expected)
    assert f(table).column("name").to_pylist() == [str(i) for i in np.flatnonzero(expected)]


def test_sliced_table():
    rng = np.random.default_rng(23)
    n = 900
    x = rng.integers(0, 100, n).astype(np.uint8)
    valid = rng.random(n) > 0.2
    table = pa.table({"x": _chunked(x, valid, [0, 100, 301, 302, 700, 900], pa.uint8()),
                      "i": pa.array(np.arange(n))})
    f = filter_for("uint8")
    for start, length in ((0, 900), (37, 500), (101, 1), (299, 7), (650, 250), (450, 0)):
        part = table.slice(start, length)
        expected = expected_mask("uint8", x[start:start + length], valid[start:start + length])
        check_all(f, part, expected)
        assert f(part).column("i").to_pylist() == (np.flatnonzero(expected) + start).tolist()


def test_duplicate_column_names():
    f = arrowjit.compile_filter("x > 0", {"x": "int64"})
    duplicated = pa.RecordBatch.from_arrays([pa.array([1, 2]), pa.array([3, 4])], names=["x", "x"])
    for data in (duplicated, pa.Table.from_batches([duplicated])):
        with pytest.raises(arrowjit.SchemaMismatchError, match="'x'"):
            f.mask(data)
    # a duplicated column the filter does not read is fine
    other = pa.RecordBatch.from_arrays([pa.array([1, -2]), pa.array(["a", "b"]), pa.array(["c", "d"])],
                                       names=["x", "s", "s"])
    check_all(f, other, np.array([True, False]))
    check_all(f, pa.Table.from_batches([other, other]), np.array([True, False, True, False]))


def test_chunked_indices_are_positions_in_the_whole_table():
    table = pa.table({"x": pa.chunked_array([
        pa.array([], pa.int32()), pa.array([5, 0, 5], pa.int32()), pa.array([], pa.int32()),
        pa.array([0] * 70 + [5], pa.int32()), pa.array([5], pa.int32())])})
    f = arrowjit.compile_filter("x == 5", {"x": "int32"})
    assert f.indices(table).to_pylist() == [0, 2, 73, 74]
    assert f.indices(table).type == pa.uint32()
    assert pc.take(table, f.indices(table)).column("x").to_pylist() == [5, 5, 5, 5]


# ---------------------------------------------------------------------------
# Schema mismatches and extra columns
# ---------------------------------------------------------------------------

def test_missing_column():
    f = arrowjit.compile_filter("x > 1.0", {"x": "float64"})
    batch = pa.record_batch({"y": pa.array([1.0, 2.0])})
    with pytest.raises(arrowjit.SchemaMismatchError, match="'x'"):
        f.mask(batch)
    with pytest.raises(arrowjit.SchemaMismatchError, match="'x'"):
        f(pa.Table.from_batches([batch]))


@pytest.mark.parametrize("kind", ["batch", "table"])
def test_wrong_type_names_column_and_both_types(kind):
    f = arrowjit.compile_filter("x > 1.0", {"x": "float64"})
    batch = pa.record_batch({"x": pa.array([1, 2, 3], pa.int32())})
    data = batch if kind == "batch" else pa.Table.from_batches([batch, batch])
    for call in (f, f.mask, f.count, f.indices):
        with pytest.raises(arrowjit.SchemaMismatchError) as info:
            call(data)
        message = str(info.value)
        assert "'x'" in message and "float64" in message and "int32" in message


def test_dictionary_encoded_column_of_the_compiled_value_type_is_read():
    f = arrowjit.compile_filter("x > 1.0", {"x": "float64"})
    encoded = pa.array([1.0, 2.0, None, 3.0]).dictionary_encode()
    assert f.mask(pa.record_batch({"x": encoded})).to_pylist() == [False, True, False, True]
    table = pa.table({"x": pa.chunked_array([encoded, encoded])})
    assert f.count(table) == 4


def test_dictionary_encoded_column_of_another_value_type_is_a_type_mismatch():
    f = arrowjit.compile_filter("x > 1.0", {"x": "float64"})
    encoded = pa.array([1, 2, 1, 3]).dictionary_encode()
    with pytest.raises(arrowjit.SchemaMismatchError) as info:
        f.mask(pa.record_batch({"x": encoded}))
    message = str(info.value)
    assert "'x'" in message and "float64" in message and "dictionary" in message


def test_chunked_column_of_wrong_type():
    f = arrowjit.compile_filter("x > 1", {"x": "int64"})
    table = pa.table({"x": pa.chunked_array([pa.array([1, 2], pa.uint64()), pa.array([3], pa.uint64())])})
    with pytest.raises(arrowjit.SchemaMismatchError) as info:
        f.count(table)
    message = str(info.value)
    assert "'x'" in message and "int64" in message and "uint64" in message


def test_extra_columns_and_other_order_are_fine():
    f = arrowjit.compile_filter("a > 1 and b", {"a": "int8", "b": "bool"})
    batch = pa.record_batch({
        "z": pa.array(["p", "q", "r", "s"]),
        "b": pa.array([True, True, False, None]),
        "extra": pa.array([1.5, 2.5, 3.5, 4.5]),
        "a": pa.array([2, 1, 5, 9], pa.int8()),
    })
    check_all(f, batch, np.array([True, False, False, False]))
    check_all(f, pa.Table.from_batches([batch, batch]), np.array([True, False, False, False] * 2))


# ---------------------------------------------------------------------------
# Corrupt input: buffers shorter than the array declares
# ---------------------------------------------------------------------------
# pyarrow >= 17 validates arrays made with Array.from_buffers, so a lying array
# is made the way one arrives in practice: an Arrow IPC stream whose metadata
# (batch length, or a buffer's length) was altered. The IPC reader does not
# validate buffer sizes.

def _ipc_bytes(batch: pa.RecordBatch) -> bytearray:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytearray(sink.getvalue().to_pybytes())


def _read_ipc(raw: bytes) -> pa.RecordBatch:
    return pa.ipc.open_stream(pa.py_buffer(bytes(raw))).read_next_batch()


def _metadata_span(raw: bytearray) -> tuple[int, int]:
    """Where the record batch message's flatbuffer metadata lies in the stream."""
    reader = pa.ipc.MessageReader.open_stream(pa.py_buffer(bytes(raw)))
    reader.read_next_message()  # the schema
    metadata = reader.read_next_message().metadata.to_pybytes()
    assert raw.count(metadata) == 1
    start = raw.find(metadata)
    return start, start + len(metadata)


def _patch(raw: bytearray, old: bytes, new: bytes, count: int) -> None:
    """Replace the ``count`` occurrences of ``old`` in the batch metadata (and nowhere else)."""
    start, end = _metadata_span(raw)
    metadata = raw[start:end]
    assert metadata.count(old) == count, (metadata.count(old), count)
    raw[start:end] = metadata.replace(old, new)


def corrupt_batch(batch: pa.RecordBatch, length: int | None = None,
                  sizes: dict[int, int] | None = None) -> pa.RecordBatch:
    """``batch`` (one column) read back from IPC with a false row count or false buffer sizes."""
    raw = _ipc_bytes(batch)
    if sizes:
        buffers = _read_ipc(raw).column(0).buffers()
        base = min(b.address for b in buffers if b is not None)
        for index, size in sizes.items():
            buf = buffers[index]
            _patch(raw, struct.pack("<qq", buf.address - base, buf.size),
                   struct.pack("<qq", buf.address - base, size), 1)
    if length is not None:
        # the batch's length and the column's FieldNode (choose types whose buffer sizes differ)
        _patch(raw, struct.pack("<q", batch.num_rows), struct.pack("<q", length), 2)
    return _read_ipc(raw)


def _nullable_batch(type_name: str, n: int = 777) -> pa.RecordBatch:
    rng = np.random.default_rng(31)
    values = values_for(type_name, n, rng)
    return pa.record_batch({"x": make_array(type_name, values, rng.random(n) > 0.1)})


@pytest.mark.parametrize("type_name", ["bool", "int16", "uint32", "float64"])
def test_corrupt_data_buffer_shorter_than_length(type_name):
    f = filter_for(type_name)
    bad = corrupt_batch(_nullable_batch(type_name), length=100_000)
    assert bad.num_rows == 100_000
    for data in (bad, bad.slice(5), pa.Table.from_batches([_nullable_batch(type_name), bad])):
        for call in (f, f.mask, f.count, f.indices):
            with pytest.raises(arrowjit.InvalidDataError, match="'x'"):
                call(data)


@pytest.mark.parametrize("type_name", ["bool", "int16", "float32"])
def test_corrupt_data_buffer_size(type_name):
    f = filter_for(type_name)
    for size in (0, 1, 7):
        bad = corrupt_batch(_nullable_batch(type_name), sizes={1: size})
        assert bad.column(0).buffers()[1] is None or bad.column(0).buffers()[1].size == size
        with pytest.raises(arrowjit.InvalidDataError, match="'x'"):
            f.mask(bad)


@pytest.mark.parametrize("type_name", ["bool", "int64", "float64"])
def test_corrupt_validity_bitmap_too_short(type_name):
    f = filter_for(type_name)
    for size in (0, 1, 3, 97):
        bad = corrupt_batch(_nullable_batch(type_name), sizes={0: size})
        assert bad.column(0).buffers()[0].size == size
        with pytest.raises(arrowjit.InvalidDataError, match="validity"):
            f.mask(bad)
        with pytest.raises(arrowjit.InvalidDataError):
            f.count(bad.slice(3))


@pytest.mark.parametrize("type_name", ["bool", "int32", "float64"])
def test_corrupt_offset_plus_length_beyond_buffer(type_name):
    """length * width fits in the buffer, offset + length does not."""
    f = filter_for(type_name)
    # 777 real rows (a bool bitmap rounds up to 98 bytes = 784 bits); claim 800, then slice 30 off.
    bad = corrupt_batch(_nullable_batch(type_name), length=800).slice(30)
    assert bad.column(0).offset == 30 and bad.num_rows == 770
    with pytest.raises(arrowjit.InvalidDataError, match="'x'"):
        f.mask(bad)


def test_exact_buffer_sizes_are_accepted():
    """Buffers exactly as long as needed are valid (the checks are not off by one)."""
    for type_name in TYPES:
        for offset, length in ((0, 1), (3, 61), (1, 64), (7, 65)):
            rng = np.random.default_rng(offset + length)
            values = values_for(type_name, offset + length, rng)
            valid = rng.random(offset + length) > 0.3
            arrow_type = pa.bool_() if type_name == "bool" else pa.from_numpy_dtype(values.dtype)
            bits = np.packbits(valid, bitorder="little").tobytes()
            array = pa.Array.from_buffers(arrow_type, length, [pa.py_buffer(bits),
                                          pa.py_buffer(_raw_bytes(type_name, values))], offset=offset)
            assert array.buffers()[1].size == (
                (offset + length + 7) // 8 if type_name == "bool" else (offset + length) * values.itemsize)
            expected = expected_mask(type_name, values, valid)[offset:]
            check_all(filter_for(type_name), pa.record_batch({"x": array}), expected)


GUARD_PAGE_SCRIPT = textwrap.dedent("""
    import ctypes, mmap, sys
    import numpy as np, pyarrow as pa, arrowjit

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    PAGE = mmap.PAGESIZE
    maps = []

    def guarded(data):
        # `data` copied so that it ends exactly where an unreadable page begins
        pages = (len(data) + PAGE - 1) // PAGE + 1
        base = libc.mmap(None, pages * PAGE, 3, 0x22, -1, 0)  # PROT_READ|WRITE, PRIVATE|ANONYMOUS
        assert base not in (None, ctypes.c_void_p(-1).value)
        guard = base + (pages - 1) * PAGE
        assert libc.mprotect(guard, PAGE, 0) == 0
        start = guard - len(data)
        ctypes.memmove(start, data, len(data))
        maps.append((base, pages * PAGE))
        return pa.foreign_buffer(start, len(data))

    types = sys.argv[1].split(",")
    exprs = {"bool": "x", "float32": "x > 0.5", "float64": "x > 0.5"}
    rng = np.random.default_rng(0)
    checked = 0
    for type_name in types:
        f = arrowjit.compile_filter(exprs.get(type_name, "x > 3"), {"x": type_name})
        for offset in (0, 1, 2, 5, 7, 8, 9, 13, 64, 65):
            for length in (1, 2, 7, 8, 9, 63, 64, 65, 127, 128, 129, 200):
                n = offset + length
                valid = rng.random(n) > 0.3
                if type_name == "bool":
                    values = rng.random(n) < 0.5
                    raw = np.packbits(values, bitorder="little").tobytes()
                    arrow_type = pa.bool_()
                    keep = values.copy()
                else:
                    values = rng.integers(0, 10, n).astype(type_name)
                    raw = values.tobytes()
                    arrow_type = pa.from_numpy_dtype(values.dtype)
                    keep = values > (0.5 if type_name.startswith("float") else 3)
                for with_nulls in (False, True):
                    bits = np.packbits(valid, bitorder="little").tobytes()
                    validity = guarded(bits) if with_nulls else None
                    array = pa.Array.from_buffers(arrow_type, length, [validity, guarded(raw)], offset=offset)
                    expected = (keep & valid if with_nulls else keep)[offset:]
                    got = f.mask(pa.record_batch({"x": array})).to_numpy(zero_copy_only=False)
                    assert (np.asarray(got, bool) == expected).all(), (type_name, offset, length, with_nulls)
                    assert f.count(pa.record_batch({"x": array})) == expected.sum()
                    checked += 1
                while maps:
                    libc.munmap(*maps.pop())
    print("checked", checked)

    # Data buffers at addresses that are not a multiple of the value width (Arrow only
    # recommends alignment; IPC data from an arbitrary byte position has none).
    unaligned = 0
    for type_name in types:
        if type_name == "bool":
            continue
        f = arrowjit.compile_filter(exprs.get(type_name, "x > 3"), {"x": type_name})
        for length in (1, 63, 64, 65, 1000, 4099):
            values = rng.integers(0, 10, length).astype(type_name)
            keep = values > (0.5 if type_name.startswith("float") else 3)
            for shift in (1, 2, 3, 5, 7, 9, 33):
                padded = pa.py_buffer(bytes(shift) + values.tobytes() + bytes(64))
                data = padded.slice(shift, values.nbytes)
                array = pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), length, [None, data])
                assert f.count(pa.record_batch({"x": array})) == keep.sum(), (type_name, length, shift)
                unaligned += 1
    print("unaligned", unaligned)
""")


def test_no_read_past_exact_size_buffers_guard_page():
    """Buffers that end right before an unreadable page, and unaligned data buffers.

    Run in a subprocess: any over-read (or a fault on unaligned data) kills it, not pytest.
    """
    if not sys.platform.startswith("linux"):
        pytest.skip("uses mmap/mprotect through libc")
    result = subprocess.run([sys.executable, "-c", GUARD_PAGE_SCRIPT, ",".join(TYPES)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        f"subprocess died with {result.returncode} (negative = signal; -11 = SIGSEGV)\n"
        f"{result.stdout}\n{result.stderr}")
    assert f"checked {len(TYPES) * 10 * 12 * 2}" in result.stdout
    assert f"unaligned {(len(TYPES) - 1) * 6 * 7}" in result.stdout


# ---------------------------------------------------------------------------
# Things that are not Arrow data
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("data", [[1.0, 2.0], {"x": [1.0, 2.0]}, None, pa.array([1.0, 2.0]),
                                  pa.chunked_array([[1.0, 2.0]]), np.array([1.0, 2.0])],
                         ids=["list", "dict", "None", "Array", "ChunkedArray", "ndarray"])
def test_non_arrow_input(data):
    f = arrowjit.compile_filter("x > 1.0", {"x": "float64"})
    for call in (f, f.mask, f.count, f.indices):
        with pytest.raises(arrowjit.ArrowJitError):
            call(data)
    with pytest.raises(arrowjit.InputTypeError):
        f.mask(data)


# ---------------------------------------------------------------------------
# Output kinds
# ---------------------------------------------------------------------------

def test_batch_output_keeps_every_column():
    batch = pa.record_batch({
        "name": pa.array(["a", None, "ccc", "dd", "e"]),
        "x": pa.array([1.5, 2.5, None, 4.5, float("nan")]),
        "tags": pa.array([[1], [], None, [2, 3], [4]], pa.list_(pa.int64())),
        "n": pa.array([1, 2, 3, 4, 5], pa.int64()),
    })
    f = arrowjit.compile_filter("x > 2.0", {"x": "float64"})
    result = f(batch)
    assert isinstance(result, pa.RecordBatch)
    assert result.schema == batch.schema
    expected = np.array([False, True, False, True, False])
    assert result.equals(batch.filter(pa.array(expected)))
    assert result.column("name").to_pylist() == [None, "dd"]
    assert result.column("tags").to_pylist() == [[], [2, 3]]
    assert result.to_pylist() == [row for row, keep in zip(batch.to_pylist(), expected) if keep]


def test_table_output_is_a_table():
    table = pa.table({"s": ["a", "b", "c", "d"], "x": pa.array([1, 5, 7, None], pa.int32())})
    f = arrowjit.compile_filter("x >= 5", {"x": "int32"})
    result = f(table)
    assert isinstance(result, pa.Table)
    assert result.schema == table.schema
    assert result.to_pydict() == {"s": ["b", "c"], "x": [5, 7]}
    mask = f.mask(table)
    assert isinstance(mask, pa.ChunkedArray) and mask.null_count == 0
    assert mask.to_pylist() == [False, True, True, False]


@pytest.mark.parametrize("expr,keep", [("true", True), ("false", False), ("null", False),
                                       ("not null", False), ("null or true", True),
                                       ("null and false", False), ("TRUE and not FALSE", True)])
def test_constant_predicates(expr, keep):
    f = arrowjit.compile_filter(expr, {"x": "float64"})
    for n in (0, 1, 64, 65, 130):
        batch = pa.record_batch({"x": pa.array(np.arange(n, dtype=np.float64)),
                                 "s": pa.array([str(i) for i in range(n)])})
        expected = np.full(n, keep)
        check_all(f, batch, expected)
        table = pa.Table.from_batches([batch, batch.slice(3), batch])
        check_all(f, table, np.full(table.num_rows, keep))
    empty = pa.Table.from_batches([], schema=pa.schema([("x", pa.float64())]))
    assert f.count(empty) == 0 and len(f.mask(empty)) == 0 and f(empty).num_rows == 0
    assert f.indices(empty).type == pa.uint32()


def test_constant_predicate_needs_no_columns():
    f = arrowjit.compile_filter("true", {})
    batch = pa.record_batch({"anything": pa.array(["a", "b", "c"])})
    check_all(f, batch, np.array([True, True, True]))


def test_mask_is_a_plain_boolean_array_without_nulls():
    f = arrowjit.compile_filter("x > 0", {"x": "int8"})
    batch = pa.record_batch({"x": pa.array([1, None, -1, 5] * 40, pa.int8()).slice(3)})
    mask = f.mask(batch)
    assert isinstance(mask, pa.BooleanArray)
    assert mask.null_count == 0 and mask.offset == 0
    assert mask.buffers()[0] is None
    expected = pc.fill_null(pc.greater(batch.column(0), 0), False)
    assert mask.equals(expected)
    mask.validate(full=True)


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------

def test_one_filter_from_eight_threads():
    f = arrowjit.compile_filter("(a > 0.1 or b) and c != 3", {"a": "float64", "b": "bool", "c": "uint16"})
    rng = np.random.default_rng(41)
    batches, expected = [], []
    for i in range(48):
        n = int(rng.integers(0, 3000))
        a = rng.normal(0, 1, n)
        b = rng.random(n) < 0.3
        c = rng.integers(0, 6, n).astype(np.uint16)
        # a mix of null layouts, so threads may need new kernel variants at the same time
        a_valid = rng.random(n) > 0.2 if i % 2 else np.ones(n, bool)
        b_valid = rng.random(n) > 0.2 if i % 3 else np.ones(n, bool)
        c_valid = rng.random(n) > 0.2 if i % 5 == 0 else np.ones(n, bool)
        batches.append(pa.record_batch({
            "a": pa.array(a, mask=~a_valid if i % 2 else None),
            "b": pa.array(b, mask=~b_valid if i % 3 else None),
            "c": pa.array(c, mask=~c_valid if i % 5 == 0 else None),
        }).slice(i % 9))
        a_true, a_false = _kleene(a > 0.1, a_valid)
        b_true, b_false = _kleene(b, b_valid)
        c_true = (c != 3) & c_valid
        expected.append(((a_true | b_true) & c_true)[i % 9:])

    def work(batch):
        return (f.mask(batch).to_numpy(zero_copy_only=False), f.count(batch), f.indices(batch).to_numpy())

    serial = [work(batch) for batch in batches]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            parallel = list(pool.map(work, batches))
            for (m1, c1, i1), (m2, c2, i2), want in zip(serial, parallel, expected):
                np.testing.assert_array_equal(np.asarray(m2, bool), want)
                np.testing.assert_array_equal(np.asarray(m1, bool), np.asarray(m2, bool))
                assert c1 == c2 == int(want.sum())
                np.testing.assert_array_equal(i1, i2)


def test_fresh_filters_compiled_from_many_threads():
    """Kernel variants compiled concurrently (compile lock, caches) give right answers."""
    rng = np.random.default_rng(42)
    n = 1000
    x = rng.integers(-1000, 1000, n).astype(np.int32)
    valid = rng.random(n) > 0.5
    with_nulls = pa.record_batch({"x": pa.array(x, mask=~valid)})
    without = pa.record_batch({"x": pa.array(x)})

    def work(k):
        f = arrowjit.compile_filter(f"x > {k * 37 - 500} and x < 977", {"x": "int32"})
        return k, f.count(with_nulls if k % 2 else without)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for k, count in pool.map(work, range(24)):
            keep = (x > k * 37 - 500) & (x < 977)
            assert count == int((keep & valid).sum() if k % 2 else keep.sum()), k


# ---------------------------------------------------------------------------
# A million rows
# ---------------------------------------------------------------------------

def test_million_rows_float64_with_nulls():
    n = 1_000_003
    rng = np.random.default_rng(51)
    x = rng.normal(0, 1, n)
    valid = rng.random(n) >= 0.1
    batch = pa.record_batch({"x": pa.array(x, mask=~valid)})
    f = arrowjit.compile_filter("x > 0.5 or x between -2.0 and -1.0", {"x": "float64"})
    expected = ((x > 0.5) | ((x >= -2.0) & (x <= -1.0))) & valid
    mask = f.mask(batch)
    assert mask.null_count == 0
    np.testing.assert_array_equal(mask.to_numpy(zero_copy_only=False), expected)
    assert f.count(batch) == int(expected.sum())
    indices = f.indices(batch)
    assert indices.type == pa.uint32()
    np.testing.assert_array_equal(indices.to_numpy(), np.flatnonzero(expected))
    table = pa.Table.from_batches([batch.slice(0, 333_333), batch.slice(333_333, 1), batch.slice(333_334)])
    assert f.count(table) == int(expected.sum())
    np.testing.assert_array_equal(f.indices(table).to_numpy(), np.flatnonzero(expected))
    assert f(batch).column(0).to_numpy().tolist() == x[expected].tolist()


def test_nullable_schema_on_data_without_nulls_answers_without_a_second_compile():
    """The kernel compiled up front reads validity; data without nulls gets a bitmap of ones
    at once, and the exact variant is compiled in the background for later calls."""
    import time

    f = arrowjit.compile_filter("x > 2.5 and y < 7.5", {"x": "float64", "y": "float64"},
                                parameterize=False)
    n = 1000 + 37  # a partial last block
    x, y = np.arange(n) % 10 * 1.0, np.arange(n) % 9 * 1.0
    batch = pa.record_batch({"x": x, "y": y})  # no validity bitmaps
    expected = (x > 2.5) & (y < 7.5)
    compiled_up_front = set(f._kernels)
    check_all(f, batch, expected)  # answered by the general kernel (or the exact one, if ready)
    deadline = time.monotonic() + 60
    while len(f._kernels) == len(compiled_up_front) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(f._kernels) == len(compiled_up_front) + 1  # the exact variant arrived
    check_all(f, batch, expected)
    with_nulls = pa.record_batch({"x": pa.array(x, mask=np.arange(n) % 5 == 0), "y": y})
    check_all(f, with_nulls, expected & (np.arange(n) % 5 != 0))
