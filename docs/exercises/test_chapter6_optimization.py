"""Checks for chapter 6 (docs/exercises/chapter6_optimization.py)."""

import re
from functools import cache

import pyarrow as pa
import pytest

import arrowjit

SCHEMA = pa.schema([pa.field("x", pa.float64(), nullable=False), pa.field("s", pa.string(), nullable=False)])


@cache
def passes(expression: str):
    return arrowjit.compile_filter(expression, SCHEMA).passes()


def diff_of(report, name: str) -> str:
    for run in report.changed:
        if run.name == name:
            return run.diff()
    raise AssertionError(f"{name} did not change the kernel")


def test_chapter6_inlining_pass(exercise):
    name = exercise("chapter6_optimization").INLINING_PASS
    assert name, "INLINING_PASS is not set"
    diff = diff_of(passes("x > 2.0 and x < 6.0"), name)
    assert re.search(r"^-.*call .*@greater_than_float64_float64", diff, re.M), \
        f"{name} does not remove the calls to the registry functions"


def test_chapter6_vectorizing_pass(exercise):
    name = exercise("chapter6_optimization").VECTORIZING_PASS
    assert name, "VECTORIZING_PASS is not set"
    diff = diff_of(passes("x > 2.0 and x < 6.0"), name)
    assert re.search(r"^\+.*fcmp o[gl]t <\d+ x double>", diff, re.M), f"{name} does not add vector compares"


def test_chapter6_unrolling_pass(exercise):
    name = exercise("chapter6_optimization").UNROLLING_PASS
    assert name, "UNROLLING_PASS is not set"
    diff = diff_of(passes("x > 2.0 and x < 6.0"), name)
    assert re.search(r"^-vector\.body:", diff, re.M), f"{name} does not remove the vector loop"


@pytest.mark.parametrize("expression", ["x > 2.0 and x < 6.0", "sqrt(x) > 1.5", "contains(s, 'needle')",
                                        "s == 'ab'"])
def test_chapter6_vectorizes(exercise, expression):
    module = exercise("chapter6_optimization")
    answer = module.VECTORIZED[expression]
    assert answer is not None, f"no answer yet for {expression!r}"
    truth = any(run.name == "LoopVectorizePass" for run in passes(expression).changed)
    assert module.vectorizes(expression, {f.name: f.type for f in SCHEMA}) == truth
    assert answer == truth
