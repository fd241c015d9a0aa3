"""Checks for chapter 5 (docs/exercises/chapter5_codegen.py)."""

import numpy as np
import pyarrow as pa
import pytest

import arrowjit
from arrowjit.compiler.codegen import BLOCK_ROWS


@pytest.mark.parametrize("rows", [0, 1, 7, 63, 64, 65, 200])
def test_chapter5_pack_bitmap(exercise, rows):
    x = np.random.default_rng(rows).uniform(0, 10, rows)
    batch = pa.record_batch({"x": x})
    mask = arrowjit.compile_filter("x > 4", batch.schema).mask(batch)
    kernel_words = np.frombuffer(mask.buffers()[1], dtype=np.uint64).tolist()
    assert exercise("chapter5_codegen").pack_bitmap((x > 4).tolist()) == kernel_words


def test_chapter5_is_valid(exercise):
    is_valid = exercise("chapter5_codegen").is_valid
    values = pa.array([None if k % 3 == 0 or k % 7 == 5 else float(k) for k in range(40)])
    for offset in (0, 1, 3, 8, 13):
        sliced = values.slice(offset)
        assert [is_valid(sliced, i) for i in range(len(sliced))] == \
            [v is not None for v in sliced.to_pylist()], f"offset {offset}"
    no_nulls = pa.array([1.0, 2.0, 3.0]).slice(1)
    assert [is_valid(no_nulls, i) for i in range(2)] == [True, True]


def test_chapter5_rows_per_block(exercise):
    llvm_ir = arrowjit.compile_filter("x > 2.0 and x < 6.0", {"x": "float64"}).ir("llvm")
    assert exercise("chapter5_codegen").rows_per_block(llvm_ir) == BLOCK_ROWS
    changed = llvm_ir.replace("%next_j, 64", "%next_j, 32")
    assert exercise("chapter5_codegen").rows_per_block(changed) == 32
