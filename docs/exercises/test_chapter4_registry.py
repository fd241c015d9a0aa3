"""Checks for chapter 4 (docs/exercises/chapter4_registry.py)."""

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit


@pytest.fixture(scope="module")
def functions(exercise):
    functions = arrowjit.Functions()
    exercise("chapter4_registry").register(functions)
    return functions


def test_chapter4_clamp(functions):
    x = np.array([-3.0, 0.0, 0.2, 0.5, 0.75, 1.0, 9.0, np.nan])
    batch = pa.record_batch({"x": pa.array(x, mask=np.isnan(x))})
    projection = arrowjit.compile_projection({"c": "clamp(x, 0.0, 1.0)"}, batch.schema, registry=functions)
    assert projection(batch)["c"].to_pylist() == [0.0, 0.0, 0.2, 0.5, 0.75, 1.0, 1.0, None]
    f = arrowjit.compile_filter("clamp(x, 0.0, 1.0) > 0.5", batch.schema, registry=functions)
    assert f.indices(batch).to_pylist() == [4, 5, 6]
    # Inlined and vectorized like the built-ins: no call left after O3.
    assert not re.search(r"call [^\n]*@clamp_", f.ir("optimized"))


def test_chapter4_byte_length(functions):
    strings = pa.array(["", "a", "héllo", None, "日本語", "x" * 100])
    batch = pa.record_batch({"s": strings})
    projection = arrowjit.compile_projection({"n": "byte_length(s)"}, batch.schema, registry=functions)
    assert projection(batch)["n"].to_pylist() == pc.binary_length(strings).cast(pa.int64()).to_pylist()
    sliced = batch.slice(2)
    assert projection(sliced)["n"].to_pylist() == [6, None, 9, 100]


def test_chapter4_nvl(functions):
    batch = pa.record_batch({"x": pa.array([1.0, None, None, 2.0]), "y": pa.array([5.0, 5.0, None, None])})
    projection = arrowjit.compile_projection({"v": "nvl(x, y)"}, batch.schema, registry=functions)
    assert projection(batch)["v"].to_pylist() == [1.0, 5.0, None, 2.0]
    f = arrowjit.compile_filter("nvl(x, y) > 1.5", batch.schema, registry=functions)
    assert f.indices(batch).to_pylist() == [1, 3]
