"""A user-defined function, end to end: clamp(x, lo, hi) written with llvmlite's IRBuilder.

The function is a registry row like the built-ins: the type checker finds it
by name and argument types, the code generator emits it as an always-inline
LLVM function, and O3 inlines and vectorizes it into the kernel.

    python examples/04_user_function.py
"""

from __future__ import annotations

import re

import pyarrow as pa
from llvmlite import ir

import arrowjit


def clamp(builder: ir.IRBuilder, args: tuple[ir.Value, ...]) -> ir.Value:
    """x limited to [lo, hi]: two compares and two selects (no branch, so the loop vectorizes)."""
    x, lo, hi = args
    below = builder.fcmp_ordered("<", x, lo, name="below")
    above = builder.fcmp_ordered(">", x, hi, name="above")
    upper = builder.select(above, hi, x, name="upper")
    return builder.select(below, lo, upper, name="clamped")


def main() -> None:
    # A set of functions of our own (arrowjit.register_function fills the process's default set).
    functions = arrowjit.Functions()
    row = functions.register("clamp", ["float64", "float64", "float64"], "float64", clamp,
                             doc="x limited to [lo, hi]")
    print("registered:", row.signature(), "as", row.symbol)

    schema = {"reading": "float64", "sensor": "int32"}
    data = pa.record_batch({
        "reading": pa.array([-4.5, 0.25, 1.5, None, 7.0, 2.0]),
        "sensor": pa.array([1, 2, 3, 4, 5, 6], pa.int32()),
    })

    # In a projection: int32 arguments widen to float64, as for built-in functions.
    projection = arrowjit.compile_projection({"clamped": "clamp(reading, 0.0, 2.0)",
                                              "sensor_clamped": "clamp(sensor, 2, 4)"},
                                             schema, registry=functions)
    result = projection(data)
    for name in result.schema.names:
        print(f"{name:>15}: {result.column(name).to_pylist()}")

    # In a filter.
    f = arrowjit.compile_filter("clamp(reading, 0.0, 2.0) >= 2.0", schema, registry=functions)
    print("rows where clamp(reading, 0.0, 2.0) >= 2.0:", f.indices(data).to_pylist())

    # The typed IR names the row; the unoptimized LLVM IR defines it and calls it.
    print("\ntyped IR:\n" + f.ir("typed"))
    llvm_ir = f.ir("llvm")
    definition = re.search(r"define internal double @clamp_float64_float64_float64.*?\n}", llvm_ir, re.S)
    print("\nthe row as an LLVM function:\n" + definition.group(0))
    print("\nafter O3, calls to it left in the kernel:",
          len(re.findall(r"call [^\n]*@clamp_", f.ir("optimized"))))

    # A wrong argument type is a caret error listing the signatures.
    try:
        arrowjit.compile_filter("clamp(reading, 'low', 2.0) > 0", {"reading": "float64"},
                                registry=functions)
    except arrowjit.ExpressionTypeError as error:
        print("\n" + str(error))


if __name__ == "__main__":
    main()
