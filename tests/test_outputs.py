"""Filtered outputs carry every column type through, equal to Arrow's own filter.

Fixed-width columns go through the native compress (vector compress for
values, pext for bitmaps); the others through Arrow. Expected results come
from ``pyarrow``'s ``filter`` with an independently computed mask.
"""

import datetime
import decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit

ROWS = 1_237


def _columns(rows: int, rng: np.random.Generator) -> dict[str, pa.Array]:
    nulls = rng.random(rows) < 0.2
    ints = rng.integers(-1000, 1000, rows)
    return {
        "key": pa.array(rng.uniform(0, 10, rows)),
        "i8": pa.array(ints.astype(np.int8), mask=nulls),
        "u16": pa.array(np.abs(ints).astype(np.uint16)),
        "i32": pa.array(ints.astype(np.int32), mask=nulls),
        "f32": pa.array(ints.astype(np.float32)),
        "i64": pa.array(ints, mask=nulls),
        "flag": pa.array(ints % 3 == 0, mask=nulls),
        "flag_dense": pa.array(ints % 2 == 0),
        "date": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=int(v)) for v in ints],
                         pa.date32()),
        "ts": pa.array(ints * 1_000_000, pa.timestamp("us", tz="UTC"), mask=nulls),
        "dur": pa.array(ints, pa.duration("ms")),
        "t64": pa.array(np.abs(ints) * 1000, pa.time64("us")),
        "dec": pa.array([decimal.Decimal(int(v)) / 100 for v in ints], pa.decimal128(10, 2)),
        "s": pa.array([f"s{v}" for v in ints], mask=nulls),
        "ls": pa.array([[int(v)] * (int(v) % 3) for v in ints]),
        "dict": pa.array([f"d{v % 5}" for v in ints]).dictionary_encode(),
        "nul": pa.nulls(rows),
    }


@pytest.fixture(scope="module")
def batch() -> pa.RecordBatch:
    return pa.record_batch(_columns(ROWS, np.random.default_rng(7)))


def _expected(data, threshold: float):
    mask = pc.fill_null(pc.greater(data.column("key"), threshold), False)
    return data.filter(mask)


# Thresholds from dense (most rows kept) to sparse (a handful: the gather path).
@pytest.mark.parametrize("threshold", [-1.0, 0.5, 5.0, 9.9, 9.99, 20.0])
@pytest.mark.parametrize("offset, length", [(0, ROWS), (13, 700), (64, 64), (3, 61), (1, 0)])
def test_filtered_batch_equals_arrow_filter(batch, threshold, offset, length):
    data = batch.slice(offset, length)
    f = arrowjit.compile_filter("key > :t", data.schema)
    got = f(data, t=threshold)
    want = _expected(data, threshold)
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows
    for name in data.schema.names:
        assert got.column(name).equals(want.column(name)), name
        assert got.column(name).null_count == want.column(name).null_count, name
    got.validate(full=True)


def test_filtered_table_with_chunks_cut_differently(batch):
    columns = {}
    for position, name in enumerate(batch.schema.names):
        column = batch.column(name)
        cut = (37 * position + 11) % ROWS
        columns[name] = pa.chunked_array([column.slice(0, cut), column.slice(cut, 0), column.slice(cut)])
    table = pa.table(columns)
    f = arrowjit.compile_filter("key > 3.0", table.schema)
    got = f(table)
    want = _expected(table, 3.0)
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows
    for name in table.schema.names:
        assert got.column(name).equals(want.column(name)), name
    got.validate(full=True)
