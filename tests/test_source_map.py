"""Source mapping: values named after their sub-expression, spans beside them (compiler/source_map.py)."""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import pyarrow as pa
import pytest

import arrowjit
from arrowjit.compiler import debuginfo, jit, source_map
from arrowjit.compiler import typed_ir as tir

SCHEMA = {"x": "float64", "y": "float64", "i": "int32", "j": "int64", "a": "bool", "b": "bool", "c": "bool",
          "s": "string", "a b": "float64"}


def typed(expr: str) -> tir.TypedNode:
    return arrowjit.compile_filter(expr, SCHEMA, parameterize=False)._shape


def value(expr: str) -> tir.TypedNode:
    return arrowjit.compile_projection([expr], SCHEMA)._shapes[0]


@pytest.mark.parametrize("expr, expected", [
    ("x > 2.0", "x_gt_2.0"),
    ("x > 2.0 and x < 6.0", "x_gt_2.0_and_x_lt_6.0"),
    ("x <= -1.5 or not a", "x_le_-1.5_or_not_a"),
    ("i >= 3", "i_as_int64_ge_3"),
    ("sqrt(x) != y", "sqrt_x_ne_y"),
    ("-x == 1e-05", "neg_x_eq_1e-05"),
    ("`a b` > 0.0", "a_b_gt_0.0"),
    ("s == 'k042'", "s_eq__k042_"),
    ("i is null", "isnull_i"),
    ("if(a, x, y) > 0.0", "if_a_then_x_else_y_gt_0.0"),
])
def test_labels_spell_the_expression(expr, expected):
    assert source_map.label(typed(expr)) == expected


def test_arithmetic_and_long_labels():
    assert source_map.label(value("x * 2.0 + y")) == "x_times_2.0_plus_y"
    assert source_map.label(value("i // j")) == "i_as_int64_floordiv_j"
    long = typed("x + y * x - y / x > 2.0 and y * y > 3.0 and a")
    label = source_map.label(long)
    assert len(label) == source_map.MAX_LABEL
    assert re.fullmatch(r"[\w.-]{40}_[0-9a-f]{7}", label)
    assert source_map.label(typed("x + y * x - y / x > 2.0 and y * y > 3.0 and a")) == label  # deterministic


def test_the_llvm_stage_names_values_and_notes_their_spans():
    f = arrowjit.compile_filter("x > 2.0 and x < 6.0", {"x": "float64"}, parameterize=False)
    text = f.ir("llvm")
    assert re.search(r"^  %x_gt_2\.0 = call i1 @greater_than_float64_float64\(double %x\.1, "
                     r"double 2\.000000e\+00\)  ; x > 2\.0  \[0:7\]$", text, re.M)
    assert re.search(r"^  %x_lt_6\.0 = call i1 .*  ; x < 6\.0  \[12:19\]$", text, re.M)
    assert re.search(r"^  %x_valid = trunc i64 %x_valid_shifted to i1  ; x  \[0:1\]$", text, re.M)
    assert re.search(r"^  %x_gt_2\.0_and_x_lt_6\.0 = and i1 %is_true, %is_true\.1  "
                     r"; x > 2\.0 and x < 6\.0  \[0:19\]$", text, re.M)
    assert re.search(r"^  %x_gt_2\.0_and_x_lt_6\.0_valid = or i1 ", text, re.M)
    # Functions and the row loop are marked with the spans they come from.
    assert "; evaluate_block: one block of 64 rows of x > 2.0 and x < 6.0  [0:19]\n" \
           "define internal i64 @evaluate_block(" in text
    assert "; greater_than_float64_float64: called for x > 2.0  [0:7]\n" \
           "define internal i1 @greater_than_float64_float64(" in text
    assert "; the loop over the rows of the block: x > 2.0 and x < 6.0  [0:19]\nrows:" in text
    # Comments only: LLVM reads the text as the same module.
    kernel_ir = f._kernel(f._default_nulls).compiled.llvm_ir
    assert str(llvm.parse_assembly(text)) == str(llvm.parse_assembly(kernel_ir))


def test_a_shared_kernel_is_mapped_to_each_filters_own_text():
    first = arrowjit.compile_filter("x > 2.0 and x < 6.0", {"x": "float64"})
    second = arrowjit.compile_filter("x > 12.25 and  x < 6.0", {"x": "float64"})
    assert first._kernel(first._default_nulls) is second._kernel(second._default_nulls)
    text = second.ir("llvm")
    assert re.search(r"^  %x_gt__0 = call .*  ; x > 12\.25  \[0:9\]$", text, re.M)
    assert re.search(r"^  %x_lt__1 = call .*  ; x < 6\.0  \[15:22\]$", text, re.M)
    assert "; x > 2.0  [0:7]" in first.ir("llvm")


def test_source_text_never_reaches_the_compiled_kernel_or_its_keys():
    # (Empty caches: a filter cached by an earlier test may hold a kernel the LRU has since evicted.)
    from arrowjit import compiled, filter
    for cache in (compiled.KERNELS, filter._FILTERS, filter._SHAPES):
        cache.clear()
    f = arrowjit.compile_filter("x   >   2.0", {"x": "float64"}, parameterize=False)
    g = arrowjit.compile_filter("x > 2.0", {"x": "float64"}, parameterize=False)
    assert tir.canonical(f._shape) == tir.canonical(g._shape)
    kernel = f._kernel(f._default_nulls)
    assert kernel is g._kernel(g._default_nulls)
    assert "; x" not in kernel.compiled.llvm_ir and "%x_gt_2.0 = " in kernel.compiled.llvm_ir
    assert "; x > 2.0  [0:11]" in f.ir("llvm") and "; x > 2.0  [0:7]" in g.ir("llvm")  # spaces collapsed


def test_annotate_groups_the_row_loop_under_underlined_sub_expressions():
    f = arrowjit.compile_filter("x > 2.0 and x < 6.0", {"x": "float64"}, parameterize=False)
    text = f.ir("llvm", annotate=True)
    listing, _, whole = text.partition("; the whole module, with the same source comments:\n\n")
    assert whole == f.ir("llvm")
    assert listing.startswith("; j: the row within the block (0 to 63)\n  %j = phi i64 [ 0, %entry ], "
                              "[ %next_j, %rows ]\n\n; x > 2.0 and x < 6.0\n; ^  x  [0:1]\n"
                              "  %x_address = getelementptr double, ptr %x, i64 %j\n")
    assert ("; x > 2.0 and x < 6.0\n"
            "; ^~~~~~~  x > 2.0  [0:7]\n"
            "  %x_gt_2.0 = call i1 @greater_than_float64_float64(double %x.1, double 2.000000e+00)\n\n"
            "; x > 2.0 and x < 6.0\n"
            ";             ^~~~~~~  x < 6.0  [12:19]\n"
            "  %x_lt_6.0 = call i1 @less_than_float64_float64(double %x.1, double 6.000000e+00)\n\n"
            "; x > 2.0 and x < 6.0\n"
            "; ^~~~~~~~~~~~~~~~~~~  x > 2.0 and x < 6.0  [0:19]\n"
            "  %is_true = and i1 %x_gt_2.0, %x_valid\n") in listing
    assert "; storing the row's result, the next row\n  %is_true.2 = and i1" in listing


def test_kleene_and_of_three_names_its_steps():
    f = arrowjit.compile_filter("a and b and c", SCHEMA)
    text = f.ir("llvm")
    assert re.search(r"^  %a_and_b_and_c_part1 = and i1 ", text, re.M)
    assert re.search(r"^  %a_and_b_and_c = and i1 %a_and_b_and_c_part1, .*  ; a and b and c  \[0:13\]$",
                     text, re.M)


def test_null_internal_results_and_projections():
    p = arrowjit.compile_projection({"q": "i // j", "d": "x * 2.0"}, SCHEMA)
    text = p.ir("llvm")
    assert re.search(r"^  %i_as_int64_floordiv_j_result = call \{ i64, i1 \} @floor_divide_int64_int64\(",
                     text, re.M)
    assert re.search(r"^  %i_as_int64_floordiv_j = extractvalue .*  ; q: i // j  \[0:6\]$", text, re.M)
    assert re.search(r"^  %i_as_int64_floordiv_j_valid = extractvalue .*  ; q: i // j  \[0:6\]$", text, re.M)
    assert re.search(r"^  %x_times_2\.0 = call double .*  ; d: x \* 2\.0  \[0:7\]$", text, re.M)
    assert "; project_block: one block of 64 rows of q: i // j  [0:6]\n" \
           "; project_block: one block of 64 rows of d: x * 2.0  [0:7]\n" in text
    listing = p.ir("llvm", annotate=True)
    assert "; d: x * 2.0\n;    ^~~~~~~  x * 2.0  [0:7]\n" in listing


def test_multi_line_expressions_underline_on_their_line():
    f = arrowjit.compile_filter("x > 2.0\n  and y < 1.0", {"x": "float64", "y": "float64"},
                                parameterize=False)
    listing = f.ir("llvm", annotate=True)
    assert ";   and y < 1.0\n;       ^~~~~~~  y < 1.0  [14:21]\n  %y_lt_1.0 = call" in listing
    assert "; x > 2.0\n; ^~~~~~~  x > 2.0 and y < 1.0  [0:21]\n" in listing
    assert re.search(r"^  %y_lt_1\.0 = call .*  ; y < 1\.0  \[14:21\]$", f.ir("llvm"), re.M)


def test_results_are_unchanged_by_naming():
    data = pa.record_batch({"x": [1.0, 2.5, None, 7.0], "y": [0.0, 0.5, 1.0, None]})
    f = arrowjit.compile_filter("x > 2.0 and x < 6.0 or y >= 1.0", {"x": "float64", "y": "float64"})
    assert f.indices(data).to_pylist() == [1, 2]


def test_the_asm_stage_is_the_code_that_runs():
    # Optimized again from the unoptimized IR (a text round trip of the optimized IR can change
    # the instruction selector's choices): the same as the object code's compile.
    f = arrowjit.compile_filter("x * 3.0 > y or y is null", {"x": "float64", "y": "float64"})
    kernel = f._kernel(f._default_nulls).compiled
    machine = jit._target_machine(f.target)
    module = llvm.parse_assembly(kernel.llvm_ir)
    module.triple, module.data_layout = f.target.triple, str(machine.target_data)
    jit.optimize(module, f.target)
    assert f.ir("asm") == machine.emit_assembly(module)


@pytest.mark.parametrize("expr", ["x > 2.0 and x < 6.0", "x * 3.0 > y or y is null",
                                  "sqrt(x) < 2 and not (y between 1 and 2)"])
def test_annotated_assembly_marks_instructions_with_their_sub_expression(expr):
    f = arrowjit.compile_filter(expr, {"x": "float64", "y": "float64"})
    annotated, plain = f.ir("asm", annotate=True), f.ir("asm")
    # Line tables do not change the code: the same instructions, only marked.
    assert debuginfo.instructions(annotated) == debuginfo.instructions(plain)
    assert ".loc" not in annotated and ".debug_" not in annotated
    marks = re.findall(r"^\t# ---- (.*)$", annotated, re.M)
    assert "the loop over blocks (no sub-expression)" in marks
    spans = {mark for mark in marks if mark.endswith("]")}
    assert spans and all(re.fullmatch(r".+  \[\d+:\d+\]", mark) for mark in spans)
    # The vector compares sit under a mark of a comparison of this expression.
    lines = annotated.splitlines()
    compare = next(k for k, line in enumerate(lines) if re.search(r"\tv?cmp\w*p[sd]\t", line))
    owner = next(lines[k] for k in range(compare, -1, -1) if lines[k].startswith("\t# ---- "))
    text = owner.removeprefix("\t# ---- ").rsplit("  [", 1)[0]
    assert text in expr and any(op in text for op in ("<", ">", "between", "or", "and"))
