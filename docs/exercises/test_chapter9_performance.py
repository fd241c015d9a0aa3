"""Checks for chapter 9 (docs/exercises/chapter9_performance.py)."""

import pyarrow as pa
import pytest

import arrowjit


def test_chapter9_min_time(exercise):
    min_time_ms = exercise("chapter9_performance").min_time_ms
    nullable_x = pa.schema([pa.field("x", pa.float64())])
    # 80 MB of values + 1.25 MB validity + 1.25 MB output at 30 GB/s
    assert min_time_ms(nullable_x, 10_000_000, 30) == pytest.approx(82.5e6 / 30e9 * 1e3)
    plain = pa.schema([pa.field("x", pa.float64(), nullable=False), pa.field("i", pa.int32(), nullable=False),
                       pa.field("flag", pa.bool_(), nullable=False)])
    assert min_time_ms(plain, 1_000_000, 10) == pytest.approx((8e6 + 4e6 + 0.125e6 + 0.125e6) / 10e9 * 1e3)


@pytest.mark.parametrize("rows", [0, 1, 63, 64, 65, 1000, 4096])
def test_chapter9_bitmap_bytes(exercise, rows):
    batch = pa.record_batch({"x": pa.array([1.0] * rows, pa.float64())})
    mask = arrowjit.compile_filter("x > 0", batch.schema).mask(batch)
    assert exercise("chapter9_performance").bitmap_bytes(rows) == mask.buffers()[1].size
