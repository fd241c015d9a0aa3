"""Optimizing in a helper process (arrowjit/compiler/isolation.py) gives the same kernels."""

from __future__ import annotations

import pyarrow as pa
import pytest

import arrowjit
from arrowjit.compiler import isolation, jit
from arrowjit.errors import CompilerError

IR = """
define double @twice(double %x) {
  %y = fmul double %x, 2.0
  ret double %y
}
"""


@pytest.fixture
def helper_only():
    """An optimizer whose budget for this process is spent: every module goes to a helper."""
    opt = isolation.Optimizer(in_process_budget=0, worker_budget=3)
    yield opt
    opt.stop()


def test_helper_process_gives_the_same_code_as_this_process(helper_only):
    target = jit.host_target()
    here, _ = jit.machine_code(IR, target)
    there, timings = helper_only.machine_code(IR, target)
    assert there.optimized_ir == here.optimized_ir
    assert there.llvm_ir == here.llvm_ir
    assert there.object_code  # loadable: the same path as an on-disk cache hit
    assert {"parse_ir", "optimize", "machine_code", "helper_process"} <= set(timings)
    assert (helper_only.in_process, helper_only.in_workers) == (0, 1)


def test_the_helper_is_replaced_after_its_budget(helper_only):
    target = jit.host_target()
    for _ in range(7):
        helper_only.machine_code(IR, target)
    assert helper_only.in_workers == 7
    assert helper_only.workers_started == 3  # 3 + 3 + 1


def test_invalid_ir_is_a_compiler_error_and_the_helper_lives_on(helper_only):
    with pytest.raises(CompilerError, match="LLVM rejected"):
        helper_only.machine_code("define i32 @f() { ret double 1.0 }", jit.host_target())
    helper_only.machine_code(IR, jit.host_target())
    assert helper_only.workers_started == 1


def test_a_dead_helper_is_an_error_then_a_new_one_starts(helper_only):
    target = jit.host_target()
    helper_only.machine_code(IR, target)
    helper_only._worker.process.kill()
    with pytest.raises(CompilerError, match="compiler process died"):
        helper_only.machine_code(IR, target)
    entry, _ = helper_only.machine_code(IR, target)
    assert entry.object_code and helper_only.workers_started == 2


def test_filters_compiled_through_the_helper_give_the_right_rows(monkeypatch, helper_only):
    monkeypatch.setattr(isolation, "optimizer", lambda: helper_only)
    f = arrowjit.compile_filter("x * 3 > :k and x < 100.25", {"x": "float64"}, parameterize=False)
    batch = pa.record_batch({"x": [1.0, 5.0, None, 50.0, 200.0]})
    assert f.mask(batch, k=10).to_pylist() == [False, True, False, True, False]  # null: not kept
    assert helper_only.in_workers >= 1
