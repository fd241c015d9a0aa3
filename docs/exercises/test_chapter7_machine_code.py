"""Checks for chapter 7 (docs/exercises/chapter7_machine_code.py)."""

import re

import llvmlite.binding as llvm
import pyarrow as pa
import pytest

import arrowjit
from arrowjit.compiler import jit
from arrowjit.compiler.codegen import BLOCK_ROWS

SCHEMA = pa.schema([pa.field("x", pa.float64(), nullable=False)])


def listings():
    """(optimized IR, assembly) on this machine and cross-compiled for an AVX2 and an AVX-512 CPU."""
    f = arrowjit.compile_filter("x > 2.0 and x < 6.0", SCHEMA)
    yield "host", f.ir("optimized"), f.ir("asm")
    for cpu in ("znver1", "znver4"):
        target = jit.Target(llvm.get_process_triple(), cpu, "")
        module = llvm.parse_assembly(f.ir("llvm"))
        jit.optimize(module, target)
        yield cpu, str(module), jit._target_machine(target).emit_assembly(module)


@pytest.mark.parametrize("which", ["host", "znver1", "znver4"])
def test_chapter7_vector_width(exercise, which):
    _, optimized, asm = next(item for item in listings() if item[0] == which)
    lanes = max(int(n) for n in re.findall(r"<(\d+) x double>", optimized))
    assert exercise("chapter7_machine_code").vector_width_bits(asm) == lanes * 64


@pytest.mark.parametrize("which", ["host", "znver1", "znver4"])
def test_chapter7_rows_per_iteration(exercise, which):
    _, _, asm = next(item for item in listings() if item[0] == which)
    assert exercise("chapter7_machine_code").rows_per_iteration(asm) == BLOCK_ROWS


def test_chapter7_rows_per_iteration_reads_the_listing(exercise):
    made_up = "\n".join([
        "filter_kernel:", "\tmovq\t%rdi, %rax", ".LBB0_3:", "\tvmovupd\t(%rax), %ymm0",
        "\tvcmpltpd\t%ymm0, %ymm1, %ymm2", "\taddq\t$256, %rax", "\taddq\t$32, %rcx",
        "\tcmpq\t%rdx, %rcx", "\tjl\t.LBB0_3", "\tretq"])
    assert exercise("chapter7_machine_code").rows_per_iteration(made_up) == 32
    assert exercise("chapter7_machine_code").vector_width_bits(made_up) == 256
