"""Checks for chapter 3 (docs/exercises/chapter3_types.py)."""

import pyarrow as pa
import pytest

import arrowjit
from arrowjit.compiler import types as T

SCHEMA = {"i8": "int8", "u16": "uint16", "i32": "int32", "f32": "float32", "x": "float64"}
EXPRESSIONS = ["i8 + i8", "i8 + u16", "u16 - u16", "i32 * 2", "i32 / 2", "f32 + 1", "f32 + x", "abs(i8)",
               "-u16", "cast(x as int16) + i8", "i8 < u16"]
PREDICATES = ["a", "not a", "a and null", "a or null", "a or not a", "not (a and false)",
              "coalesce(a, true)", "a is null"]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_chapter3_predicted_types(exercise, expression):
    predicted = exercise("chapter3_types").PREDICTED_TYPES[expression]
    assert predicted is not None, f"no prediction yet for {expression!r}"
    projection = arrowjit.compile_projection({"value": expression}, SCHEMA)
    actual = T.from_arrow(projection.output_schema.field("value").type).name
    assert predicted == actual


@pytest.mark.parametrize("predicate", PREDICATES)
def test_chapter3_predicted_masks(exercise, predicate):
    predicted = exercise("chapter3_types").PREDICTED_MASKS[predicate]
    assert predicted is not None, f"no prediction yet for {predicate!r}"
    batch = pa.record_batch({"a": pa.array([True, False, None])})
    assert predicted == arrowjit.compile_filter(predicate, batch.schema).mask(batch).to_pylist()
