"""Stages 4 and 5 on their own: typed IR -> LLVM IR -> O3 -> machine code, read as text.

Every case compiles an expression and inspects ``Filter.ir(stage)``: the
unoptimized IR (one small ``alwaysinline`` function per registry row), the
optimized IR (everything inlined and vectorized) and the host's assembly.
Vector widths are whatever the host CPU offers; only their presence is checked.
Data is filtered only once, to check that a kernel shared by two filters gets
each filter's own literal.
"""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import pyarrow as pa
import pytest

import arrowjit
from arrowjit import filter as filter_module

SCHEMA = {"x": "float64", "y": "float32", "z": "float32", "i": "int32", "j": "int64", "u": "uint64",
          "c": "int8", "flag": "bool"}


def compile_(expr, schema=SCHEMA):
    return arrowjit.compile_filter(expr, schema)


def clear_caches():
    filter_module._FILTERS.clear()
    filter_module._KERNELS.clear()
    filter_module._SHAPES.clear()


def _host_features():
    return llvm.get_host_cpu_features()


HAS_AVX2 = bool(_host_features().get("avx2"))
needs_avx2 = pytest.mark.skipif(not HAS_AVX2, reason="the host CPU has no AVX2")


def defined_functions(ir_text):
    """{name: (return type, attribute group)} of every internal function the module defines."""
    found = {}
    for m in re.finditer(r"^define internal (.+?) @(\w+)\((.*)\) (#\d+) \{$", ir_text, re.M):
        found[m.group(2)] = (m.group(1), m.group(4))
    return found


def attributes(ir_text, group):
    m = re.search(rf"^attributes {group} = \{{ (.*) \}}$", ir_text, re.M)
    assert m, f"no attribute group {group}"
    return m.group(1).split()



def case(expr, *expected, id=None, marks=()):
    return pytest.param(expr, expected, id=id or expr, marks=marks)


# ---------------------------------------------------------------------------
# Unoptimized IR: one specialized alwaysinline function per registry row
# ---------------------------------------------------------------------------

SPECIALIZED = [
    # (expression over SCHEMA, "return-type @function" the unoptimized IR must define)
    case("x > 2.0", "i1 @greater_than_float64_float64"),
    case("x > 2.0 and x < 6.0", "i1 @greater_than_float64_float64", "i1 @less_than_float64_float64"),
    case("y > z", "i1 @greater_than_float32_float32"),
    case("j // 3 > 1", "{ i64, i1 } @floor_divide_int64_int64", "i1 @greater_than_int64_int64"),
    case("j % 3 == 0", "{ i64, i1 } @modulo_int64_int64", "i1 @equal_int64_int64"),
    case("j ** 2 > 4", "{ i64, i1 } @power_int64_int64"),
    case("i // i > 1", "{ i32, i1 } @floor_divide_int32_int32", "i64 @cast_int64_int32"),
    case("i > x", "double @cast_float64_int32", "i1 @greater_than_float64_float64"),
    case("c > 1", "i64 @cast_int64_int8", "i1 @greater_than_int64_int64"),
    case("y > 1.5", "double @cast_float64_float32"),
    case("x // 2 > 1", "double @floor_divide_float64_float64"),
    case("x % 2 > 1", "double @modulo_float64_float64"),
    case("x ** 2 > 1", "double @power_float64_float64"),
    case("i / 2 > 1", "double @divide_float64_float64"),
    case("-i > 3", "i32 @negate_int32"),
    case("abs(x) > 1", "double @abs_float64"),
    case("sqrt(x) > 1", "double @sqrt_float64"),
    case("floor(y) > 1", "float @floor_float32"),
    case("isnan(x)", "i1 @isnan_float64"),
    case("isfinite(y)", "i1 @isfinite_float32"),
    case("x is null", "i1 @isnull_float64"),
    case("isnull(x)", "i1 @isnull_float64"),
    case("flag is not null", "i1 @isnotnull_bool"),
    case("u > -1", "i1 @greater_than_uint64_int64"),
    case("c in (1, 2, 3)", "i1 @equal_int64_int64"),
    case("x between 1 and 2", "i1 @greater_than_or_equal_to_float64_float64",
         "i1 @less_than_or_equal_to_float64_float64"),
]


@pytest.mark.parametrize("expr, expected", SPECIALIZED)
def test_unoptimized_ir_defines_specialized_functions(expr, expected):
    text = compile_(expr).ir("llvm")
    functions = defined_functions(text)
    for signature in expected:
        return_type, name = signature.split(" @")
        assert name in functions, f"{name} is not defined"
        assert functions[name][0] == return_type
        assert f"define internal {return_type} @{name}(" in text
        assert "alwaysinline" in attributes(text, functions[name][1])
        assert re.search(rf"call {re.escape(return_type)} @{name}\(", text), f"{name} is never called"


def test_unoptimized_ir_reads_like_the_typed_ir():
    text = arrowjit.compile_filter("x > 2.0 and x < 6.0", SCHEMA, parameterize=False).ir("llvm")
    assert "define internal i1 @greater_than_float64_float64(double %x, double %y)" in text
    assert "%cmp = fcmp ogt double %x, %y" in text
    assert "define internal i1 @less_than_float64_float64(double %x, double %y)" in text
    assert "%cmp = fcmp olt double %x, %y" in text
    # Values are named after the sub-expression they compute, with its span beside them.
    assert re.search(r"%x_gt_2\.0 = call i1 @greater_than_float64_float64\(double %x[.\w]*, "
                     r"double 2\.000000e\+00\)  ; x > 2\.0  \[0:7\]\n", text)
    assert re.search(r"%x_lt_6\.0 = call i1 @less_than_float64_float64\(double %x[.\w]*, "
                     r"double 6\.000000e\+00\)  ; x < 6\.0  \[12:19\]\n", text)


def test_unoptimized_ir_defines_the_kernel():
    text = compile_("x > 2.0").ir("llvm")
    assert re.search(r"^define i64 @filter_kernel\(ptr noalias %buffers, ptr noalias %offsets, ptr %params, "
                     r"i64 %start, i64 %end, ptr noalias %out\)", text, re.M)
    assert "define internal i64 @evaluate_block(" in text


def test_null_never_functions_take_validity_arguments():
    text = compile_("x is null").ir("llvm")
    assert "define internal i1 @isnull_float64(double %x, i1 %x_valid)" in text


def test_null_internal_functions_return_value_and_validity():
    text = compile_("j // 3 > 1").ir("llvm")
    assert ("define internal { i64, i1 } @floor_divide_int64_int64(i64 %x, i64 %y, i1 %x_valid, i1 %y_valid)"
            in text)


def test_nullable_columns_read_a_validity_bitmap_and_others_do_not():
    nullable = arrowjit.compile_filter("x > 1.0", pa.schema([pa.field("x", pa.float64(), nullable=True)]))
    required = arrowjit.compile_filter("x > 1.0", pa.schema([pa.field("x", pa.float64(), nullable=False)]))
    assert "%x_validity_buffer" in nullable.ir("llvm")
    assert "x_valid" not in required.ir("llvm")
    assert "load_bitmap_word(ptr" not in required.ir("llvm").split("define i64 @filter_kernel")[1]


# ---------------------------------------------------------------------------
# Optimized IR: everything inlined, vector compares
# ---------------------------------------------------------------------------

INLINED = [
    "x > 2.0 and x < 6.0", "j // 3 > 1", "i % 3 == 0", "x // 2 > 1", "x % 2 > 1", "j ** 2 > 4", "x ** 2 > 4",
    "i > x", "x is null", "flag and x > 1", "not flag or x < 1", "abs(x) > 1", "sqrt(x) > 1", "floor(y) > 1",
    "u > -1", "c in (1, 2, 3)", "x between 1 and 2", "isnan(x)", "isfinite(y)", "-i > 3", "i / 2 > 1",
    "exp(x) > 1 or log(x) < 0 or log10(x) > 1 or ceil(x) > 1", "null", "true", "x > null", "u // u > 1",
]


@pytest.mark.parametrize("expr", INLINED)
def test_optimized_ir_calls_no_registry_function(expr):
    text = compile_(expr).ir("optimized")
    callees = set(re.findall(r"\bcall\b[^@\n]*@([\w.]+)\(", text))
    assert all(name.startswith("llvm.") for name in callees), callees
    assert not re.search(r"^define internal", text, re.M)
    assert re.findall(r"^define .*@(\w+)\(", text, re.M) == ["filter_kernel"]


VECTORIZED = [
    # (expression, a regex the optimized IR must match; any vector width)
    case("x > 2.0 and x < 6.0", r"fcmp ogt <\d+ x double>", r"fcmp olt <\d+ x double>"),
    case("x >= 2.0", r"fcmp oge <\d+ x double>"),
    case("x != 2.0", r"fcmp une <\d+ x double>"),
    case("y > z", r"fcmp ogt <\d+ x float>"),
    case("x between 1 and 2", r"fcmp o?[a-z]+ <\d+ x double>"),
    case("i > 3", r"icmp sgt <\d+ x i32>"),
    case("c == 3", r"icmp eq <\d+ x i8>"),
]


@pytest.mark.parametrize("expr, patterns", VECTORIZED)
def test_optimized_ir_has_vector_compares(expr, patterns):
    text = compile_(expr).ir("optimized")
    for pattern in patterns:
        assert re.search(pattern, text), pattern
    assert re.search(r"fcmp o?[a-z]+ <\d+ x (double|float)>|icmp [a-z]+ <\d+ x i\d+>", text)


def test_the_documented_example_vectorizes():
    text = compile_("x > 2.0 and x < 6.0", {"x": "float64"}).ir("optimized")
    assert re.search(r"fcmp o?[a-z]+ <\d+ x double>", text)
    assert re.search(r"load <\d+ x double>", text)


@needs_avx2
@pytest.mark.parametrize("expr", ["x > 2.0 and x < 6.0", "x >= 1.5", "x between 1 and 2"])
def test_assembly_compares_packed_doubles_on_wide_registers(expr):
    asm = compile_(expr, {"x": "float64"}).ir("asm")
    compares = [line for line in asm.splitlines() if re.search(r"\bvcmp\w*pd\b", line)]
    assert compares, "no vcmp*pd instruction"
    assert any(re.search(r"%[yz]mm\d+", line) for line in compares), compares[:5]


@needs_avx2
def test_assembly_on_avx512_uses_zmm_and_mask_registers():
    if not _host_features().get("avx512f"):
        pytest.skip("the host CPU has no AVX-512")
    asm = compile_("x > 2.0 and x < 6.0", {"x": "float64"}).ir("asm")
    assert re.search(r"\bvcmp\w*pd\s+.*%zmm\d+.*%k\d", asm)


# ---------------------------------------------------------------------------
# Filter.ir, repr, caches
# ---------------------------------------------------------------------------

def test_every_stage_is_non_empty_text():
    f = compile_("x > 2.0 and x < 6.0")
    assert arrowjit.STAGES == ("ast", "typed", "llvm", "optimized", "asm")
    for stage in arrowjit.STAGES:
        text = f.ir(stage)
        assert isinstance(text, str) and text.strip(), stage
    assert f.ir() == f.ir("optimized")
    assert f.ir("ast") == "(and (> x 2.0) (< x 6.0))"
    assert f.ir("typed").startswith("(and")


@pytest.mark.parametrize("stage", ["", "LLVM", "ir", "machine", "optimised", None])
def test_unknown_stage_is_a_value_error(stage):
    f = compile_("x > 2.0")
    with pytest.raises(ValueError, match="unknown stage"):
        f.ir(stage)


def test_repr_shows_the_expression_and_column_types():
    f = compile_("x > 1 and i < 2")
    text = repr(f)
    assert "'x > 1 and i < 2'" in text
    assert "x: float64" in text
    assert "i: int32" in text
    assert "flag" not in text  # only the columns the expression reads


def test_same_expression_and_schema_return_the_same_filter():
    a = compile_("x > 2.0 and i < 3")
    b = compile_("x > 2.0 and i < 3")
    assert a is b


def test_equivalent_schemas_share_the_filter_or_its_kernel():
    expr = "x > 3.5 and i < 7"
    base = arrowjit.compile_filter(expr, {"x": "float64", "i": "int32"})
    # The same fields spelled differently: the same Filter.
    assert arrowjit.compile_filter(expr, {"x": "double", "i": "int32"}) is base
    assert arrowjit.compile_filter(expr, {"x": pa.float64(), "i": pa.int32()}) is base
    assert arrowjit.compile_filter(expr, pa.schema([("x", pa.float64()), ("i", pa.int32())])) is base
    # Other schemas with the same types for the columns read: another Filter, the same kernel.
    kernels = len(filter_module._KERNELS)
    for schema in ({"i": "int32", "x": "float64"},
                   {"x": "float64", "i": "int32", "unused": "string"},
                   {"unused": "int8", "x": "float64", "i": "int32"}):
        other = arrowjit.compile_filter(expr, schema)
        assert other is not base
        assert other._kernel(other._default_nulls) is base._kernel(base._default_nulls)
        assert other.ir("llvm") == base.ir("llvm")  # (the source comments are made per call)
        assert other.ir("optimized") is base.ir("optimized")
    assert len(filter_module._KERNELS) == kernels


def test_a_different_column_type_gets_another_kernel():
    a = arrowjit.compile_filter("v > 1.5", {"v": "float64"})
    b = arrowjit.compile_filter("v > 1.5", {"v": "float32"})
    assert a is not b
    assert "@cast_float64_float32" in b.ir("llvm")
    assert "@cast_float64_float32" not in a.ir("llvm")


def test_cache_is_keyed_by_expression_text():
    a = compile_("x > 1.0")
    b = compile_("x > 1.0 ")
    assert a is not b
    assert a.expression == "x > 1.0" and b.expression == "x > 1.0 "


def test_literals_that_do_not_shape_the_code_share_a_kernel():
    batch = pa.record_batch({"x": [2.0, 3.0, 4.0]})
    a = arrowjit.compile_filter("x > 2.5", {"x": "float64"})
    b = arrowjit.compile_filter("x > 3.5", {"x": "float64"})
    assert a is not b
    assert b._kernel(b._default_nulls).compiled.llvm_ir is a._kernel(a._default_nulls).compiled.llvm_ir
    assert "2.5" in a.ir("typed") and "3.5" in b.ir("typed")
    assert b.ir("ast") == "(> x 3.5)"
    # The shared kernel is called with each filter's own literal.
    assert (a.count(batch), b.count(batch)) == (2, 1)


def test_literals_that_shape_the_code_get_their_own_kernel():
    a = arrowjit.compile_filter("j // 3 > 1", SCHEMA)
    b = arrowjit.compile_filter("j // 4 > 1", SCHEMA)
    assert a.ir("llvm") != b.ir("llvm")


def test_without_parameterization_the_literal_is_in_the_code():
    f = arrowjit.compile_filter("x > 2.5", {"x": "float64"}, parameterize=False)
    assert "double 2.500000e+00" in f.ir("llvm")
    assert re.search(r"fcmp ogt <\d+ x double> %[\w.]+, splat \(double 2\.500000e\+00\)", f.ir("optimized"))


def test_the_template_cache_does_not_change_what_is_an_error():
    expr = "x > -18446744073709551615"
    clear_caches()
    with pytest.raises(arrowjit.ExpressionTypeError, match="does not fit in int64 or uint64"):
        arrowjit.compile_filter(expr, {"x": "float64"})
    clear_caches()
    arrowjit.compile_filter("x > -2", {"x": "float64"})  # same template, compiled first
    with pytest.raises(arrowjit.ExpressionTypeError, match="does not fit in int64 or uint64"):
        arrowjit.compile_filter(expr, {"x": "float64"})


# ---------------------------------------------------------------------------
# Stable, readable IR text
# ---------------------------------------------------------------------------

STABLE = ["x > 2.0 and x < 6.0", "j // 3 > 1 or i % 3 == 0", "x is null or flag", "`a b` > 1 and u > j",
          "c in (1, 2, 3) and not flag", "sqrt(y) > 1 and x ** 2 < 4", "j ** 2 > 4 and -i > 3"]
STABLE_SCHEMA = {**SCHEMA, "a b": "float64"}


@pytest.mark.parametrize("expr", STABLE)
def test_ir_has_only_named_values_and_no_addresses(expr):
    f = compile_(expr, STABLE_SCHEMA)
    llvm_ir, optimized = f.ir("llvm"), f.ir("optimized")
    for text in (llvm_ir, optimized):
        assert not re.findall(r'%"?\.\d+\b', text)  # llvmlite's unnamed values
        assert not re.findall(r"0x[0-9a-f]{8,}", text)  # a Python-formatted address
        assert "inttoptr" not in text
    # Before optimization every value carries the name codegen gave it.
    assert not re.findall(r"%\d+\b", llvm_ir)


@pytest.mark.parametrize("expr", STABLE)
def test_ir_text_is_the_same_after_recompiling(expr):
    clear_caches()
    first = compile_(expr, STABLE_SCHEMA)
    first_llvm, first_optimized = first.ir("llvm"), first.ir("optimized")
    clear_caches()
    second = compile_(expr, STABLE_SCHEMA)
    assert second is not first
    assert second.ir("llvm") == first_llvm
    assert second.ir("optimized") == first_optimized
    assert second.ir("typed") == first.ir("typed")


def test_deepest_allowed_expression_compiles():
    """An expression just under the nesting limit goes through every stage without RecursionError."""
    expr = "(" * 250 + "-" * 250 + "x > 1" + ")" * 250
    f = compile_(expr)
    for stage in ("ast", "typed", "llvm", "optimized"):
        assert f.ir(stage)
