"""User functions: ``arrowjit.register_function`` and ``arrowjit.Functions`` (compiler/userfunctions.py)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from llvmlite import ir

import arrowjit
from arrowjit import ArgumentError, ExpressionTypeError, Functions


def clamp(b: ir.IRBuilder, args):
    x, lo, hi = args
    below = b.fcmp_ordered("<", x, lo, name="below")
    above = b.fcmp_ordered(">", x, hi, name="above")
    return b.select(below, lo, b.select(above, hi, x, name="upper"), name="clamped")


def byte_length(b: ir.IRBuilder, args):
    (s,) = args
    return b.extract_value(s, 1, name="bytes")


def first_valid(b: ir.IRBuilder, args, valid):
    """null_never: x where x is not null, else y where y is not null, else 0."""
    x, y = args
    x_valid, y_valid = valid
    zero = ir.Constant(x.type, 0)
    return b.select(x_valid, x, b.select(y_valid, y, zero, name="from_y"), name="first_valid")


def safe_ratio(b: ir.IRBuilder, args, valid):
    """null_internal: x / y, null where y is 0 or either is null."""
    x, y = args
    nonzero = b.fcmp_ordered("!=", y, ir.Constant(y.type, 0.0), name="nonzero")
    both = b.and_(valid[0], valid[1], name="both_valid")
    return b.fdiv(x, y, name="ratio"), b.and_(both, nonzero, name="ratio_valid")


@pytest.fixture
def functions():
    mine = Functions()
    mine.register("clamp", ["float64", "float64", "float64"], "float64", clamp, doc="x limited to [lo, hi]")
    return mine


SCHEMA = {"x": "float64", "y": "float64", "i": "int32", "s": "string"}


def batch(n=131, offset=3):
    rng = np.random.default_rng(7)
    x = rng.uniform(-3, 3, n + offset)
    x[::17] = np.nan
    xs = pa.array(x, mask=np.arange(n + offset) % 11 == 0)
    ys = pa.array(rng.uniform(-1, 1, n + offset).round(1), mask=np.arange(n + offset) % 7 == 0)
    ints = pa.array(rng.integers(-5, 5, n + offset), pa.int32())
    strings = pa.array([None if k % 5 == 0 else "é" * (k % 4) + "ab" * (k % 3) for k in range(n + offset)])
    return pa.record_batch([xs, ys, ints, strings], names=list(SCHEMA)).slice(offset)  # odd offsets


def clamp_oracle(x: pa.Array, lo: float, hi: float) -> pa.Array:
    values = x.to_numpy(zero_copy_only=False)
    clamped = np.where(values < lo, lo, np.where(values > hi, hi, values))
    return pa.array(clamped, mask=x.is_null().to_numpy(zero_copy_only=False))


def test_a_user_function_computes_like_an_independent_oracle(functions):
    data = batch()
    p = arrowjit.compile_projection({"c": "clamp(x, -1.0, 1.5)"}, SCHEMA, registry=functions)
    got = p(data).column("c")
    expected = clamp_oracle(data.column("x"), -1.0, 1.5)
    assert got.is_null().equals(expected.is_null())
    np.testing.assert_array_equal(got.to_numpy(zero_copy_only=False), expected.to_numpy(zero_copy_only=False))
    f = arrowjit.compile_filter("clamp(x, -1.0, 1.5) >= 1.5", SCHEMA, registry=functions)
    assert f.count(data) == pc.sum(pc.greater_equal(data.column("x"), 1.5)).as_py()
    assert f.count(data.slice(0, 0)) == 0
    chunked = pa.Table.from_batches([data.slice(0, 50), data.slice(50)])
    assert f.count(chunked) == f.count(data)


def test_arguments_widen_to_the_signature_as_for_built_ins(functions):
    p = arrowjit.compile_projection(["clamp(i, 0, 2)"], SCHEMA, registry=functions)
    assert p.ir("typed") == ("clamp(i, 0, 2): (clamp_float64_float64_float64\n"
                             "  (cast_float64_int32 i:int32):float64\n  0.0:float64\n  2.0:float64):float64")
    data = pa.record_batch({"i": pa.array([-3, 1, 9, None], pa.int32())})
    assert p(data).column(0).to_pylist() == [0.0, 1.0, 2.0, None]


def test_the_row_is_an_inlined_function_in_the_ir_and_vectorizes(functions):
    f = arrowjit.compile_filter("clamp(x, 0.0, 1.0) > 0.5", SCHEMA, registry=functions)
    llvm_ir = f.ir("llvm")
    assert "define internal double @clamp_float64_float64_float64(double %x, double %y, double %z) #0" \
        in llvm_ir
    assert "%below = fcmp olt double %x, %y" in llvm_ir
    assert re.search(r"call double @clamp_float64_float64_float64\(double %x[.\w]*, double 0\.0+e\+00, "
                     r"double 1\.0+e\+00\)", llvm_ir)
    optimized = f.ir("optimized")
    assert "@clamp_float64_float64_float64" not in optimized  # inlined, then deleted
    assert re.search(r"select <\d+ x i1> %[\w.]+, <\d+ x double>", optimized)  # clamp's selects, vectorized


def test_wrong_argument_types_are_a_caret_error_listing_the_signatures(functions):
    functions.register("clamp", ["int64", "int64", "int64"], "int64",
                       lambda b, a: b.select(b.icmp_signed("<", a[0], a[1]), a[1],
                                             b.select(b.icmp_signed(">", a[0], a[2]), a[2], a[0])))
    with pytest.raises(ExpressionTypeError) as error:
        arrowjit.compile_filter("x > 1 and clamp(s, 0, 1) > 0", SCHEMA, registry=functions)
    assert str(error.value) == (
        "1:11: clamp() is not defined for (utf8, int64, int64); it takes "
        "clamp(float64, float64, float64) -> float64; clamp(int64, int64, int64) -> int64\n"
        "  x > 1 and clamp(s, 0, 1) > 0\n"
        "            " + "^" * len("clamp(s, 0, 1)"))
    with pytest.raises(ExpressionTypeError, match=r"clamp\(\) takes 3 arguments, not 2"):
        arrowjit.compile_filter("clamp(x, 1.0) > 0", SCHEMA, registry=functions)
    # the int64 overload is picked for integers, with integer results
    p = arrowjit.compile_projection(["clamp(i, -1, 1)"], SCHEMA, registry=functions)
    assert p.output_schema.field(0).type == pa.int64()
    assert p(pa.record_batch({"i": pa.array([-4, 0, 4], pa.int32())})).column(0).to_pylist() == [-1, 0, 1]


def test_a_string_argument_is_a_pointer_and_a_length():
    mine = Functions()
    mine.register("byte_length", ["string"], "int64", byte_length)
    data = batch()
    p = arrowjit.compile_projection(["byte_length(s)"], SCHEMA, registry=mine)
    assert p(data).column(0).equals(pc.binary_length(data.column("s")).cast(pa.int64()))


def test_null_never_sees_validities_and_is_never_null():
    mine = Functions()
    mine.register("first_valid", ["float64", "float64"], "float64", first_valid, nulls="null_never")
    data = batch()
    got = arrowjit.compile_projection(["first_valid(x, y)"], SCHEMA, registry=mine)(data).column(0)
    assert got.null_count == 0
    expected = pc.fill_null(pc.coalesce(data.column("x"), data.column("y")), 0.0)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


def test_null_internal_decides_its_validity():
    mine = Functions()
    mine.register("safe_ratio", [pa.float64(), pa.float64()], pa.float64(), safe_ratio, nulls="null_internal")
    data = batch()
    got = arrowjit.compile_projection(["safe_ratio(x, y)"], SCHEMA, registry=mine)(data).column(0)
    y = data.column("y")
    expected = pc.if_else(pc.equal(y, 0.0), pa.scalar(None, pa.float64()), pc.divide(data.column("x"), y))
    assert got.is_null().equals(expected.is_null())
    np.testing.assert_array_equal(got.to_numpy(zero_copy_only=False), expected.to_numpy(zero_copy_only=False))


def test_registering_again_is_refused_and_replacing_never_reuses_old_code(functions):
    with pytest.raises(ArgumentError, match=r"clamp\(float64, float64, float64\) -> float64 is registered "
                                            r"already; pass replace=True"):
        functions.register("clamp", ["float64"] * 3, "float64", clamp)
    data = pa.record_batch({"x": [-2.0, 0.5, 3.0]})
    f = arrowjit.compile_filter("clamp(x, 0.0, 1.0) > 0.9", {"x": "float64"}, registry=functions)
    assert f.count(data) == 1  # 3.0 -> 1.0
    projection = arrowjit.compile_projection(["clamp(x, 0.0, 1.0)"], {"x": "float64"}, registry=functions)
    assert projection(data).column(0).to_pylist() == [0.0, 0.5, 1.0]
    # Another body under the same signature: hi and lo swapped.
    functions.register("clamp", ["float64"] * 3, "float64",
                       lambda b, a: clamp(b, (a[0], a[2], a[1])), replace=True)
    g = arrowjit.compile_filter("clamp(x, 0.0, 1.0) > 0.9", {"x": "float64"}, registry=functions)
    assert g is not f
    assert g.count(data) == 2  # now x < 1.0 -> 1.0, x > 0.0 -> 0.0: [1.0, 1.0, 0.0]
    again = arrowjit.compile_projection(["clamp(x, 0.0, 1.0)"], {"x": "float64"}, registry=functions)
    assert again(data).column(0).to_pylist() == [1.0, 1.0, 0.0]
    assert projection(data).column(0).to_pylist() == [0.0, 0.5, 1.0]  # compiled code keeps its function


def test_the_body_hash_is_in_the_cache_keys(functions):
    f = arrowjit.compile_filter("clamp(x, 0.0, 1.0) > 0.5", SCHEMA, registry=functions)
    (call,) = [n for n in arrowjit.compiler.typed_ir.walk(f._shape)
               if isinstance(n, arrowjit.compiler.typed_ir.Call) and n.function.name == "clamp"]
    assert re.fullmatch(r"[0-9a-f]{32}", call.function.fingerprint)
    assert call.function.fingerprint in arrowjit.compiler.typed_ir.canonical(f._shape)
    plain = arrowjit.compile_filter("x > 0.5", SCHEMA, registry=functions)
    assert " ; " not in arrowjit.compiler.typed_ir.canonical(plain._shape)  # built-ins: unchanged keys


def test_registries_are_separate_values(functions):
    with pytest.raises(ExpressionTypeError, match=r"unknown function clamp\(\)"):
        arrowjit.compile_filter("clamp(x, 0.0, 1.0) > 0", SCHEMA)  # the default set does not have it
    assert "clamp" in functions and "clamp" not in arrowjit.functions
    assert [row.signature() for row in functions] == ["clamp(float64, float64, float64) -> float64"]
    functions.unregister("clamp")
    with pytest.raises(ExpressionTypeError, match=r"unknown function clamp\(\)"):
        arrowjit.compile_filter("clamp(x, 0.0, 1.0) > 0", SCHEMA, registry=functions)


def test_the_default_set_through_register_function():
    row = arrowjit.register_function("test_twice", ["float64"], "float64",
                                     lambda b, a: b.fadd(a[0], a[0], name="twice"))
    try:
        assert row.symbol == "test_twice_float64"
        f = arrowjit.compile_filter("test_twice(x) > 3", {"x": "float64"})
        assert f.count(pa.record_batch({"x": [1.0, 2.0, None]})) == 1
        assert f.registry.user_functions() == ("test_twice",)
    finally:
        arrowjit.functions.unregister("test_twice")
    with pytest.raises(ExpressionTypeError, match="unknown function"):
        arrowjit.compile_filter("test_twice(x) > 3", {"x": "float64"})


@pytest.mark.parametrize("name, args, returns, emit, message", [
    ("sqrt", ["float64"], "float64", clamp, "'sqrt' is a built-in function"),
    ("greater_than", ["float64"], "bool", clamp, "'greater_than' is a built-in function"),
    ("between", ["float64"], "bool", clamp, "'between' is a keyword"),
    ("if", ["float64"], "bool", clamp, "'if' is a keyword"),
    ("Clamp", ["float64"], "float64", clamp, "use lower case letters"),
    ("2x", ["float64"], "float64", clamp, "use lower case letters"),
    ("f", "float64", "float64", clamp, "arg_types must be a list of types"),
    ("f", [], "float64", clamp, "at least one argument"),
    ("f", ["list<item: int32>"], "float64", clamp, "f argument 1"),
    ("f", ["float64"], "list<item: int32>", clamp, "f return type"),
    ("f", ["float64"], "string", clamp, "cannot return a string"),
    ("f", ["float64"], "float64", clamp, "the emit callback failed: ValueError"),
    ("f", ["float64"], "float64", lambda b, a: b.fcmp_ordered("<", a[0], a[0]),
     "must return a value of LLVM type double, but it returned i1"),
    ("f", ["float64"], "float64", None, "emit must be a function"),
])
def test_bad_registrations_are_refused(name, args, returns, emit, message):
    with pytest.raises(ArgumentError, match=re.escape(message)):
        Functions().register(name, args, returns, emit)


def test_bad_null_handling_is_refused():
    with pytest.raises(ArgumentError, match="nulls must be one of 'null_if_null', 'null_never', "
                                            "'null_internal'"):
        Functions().register("f", ["float64"], "float64", lambda b, a: a[0], nulls="sometimes")
    with pytest.raises(ArgumentError, match=r"the emit callback failed: TypeError: Can only insert double"):
        Functions().register("f", ["float64"], "float64", lambda b, a, v: (v[0], a[0]),
                             nulls="null_internal")


def test_the_example_runs_and_prints_its_results(capsys):
    path = Path(__file__).parent.parent / "examples" / "04_user_function.py"
    runpy.run_path(str(path), run_name="__main__")
    out = capsys.readouterr().out
    assert "registered: clamp(float64, float64, float64) -> float64 as clamp_float64_float64_float64" in out
    assert "        clamped: [0.0, 0.25, 1.5, None, 2.0, 2.0]\n" in out
    assert " sensor_clamped: [2.0, 2.0, 3.0, 4.0, 4.0, 4.0]\n" in out
    assert "rows where clamp(reading, 0.0, 2.0) >= 2.0: [4, 5]\n" in out
    assert "  %clamped = select i1 %below, double %y, double %upper\n" in out
    assert "after O3, calls to it left in the kernel: 0\n" in out
    assert out.rstrip().endswith("  ^^^^^^^^^^^^^^^^^^^^^^^^^^")
