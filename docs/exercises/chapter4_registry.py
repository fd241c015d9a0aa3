"""Chapter 4 exercises: the function registry. Check: pytest docs/exercises -k chapter4

register(functions) receives an `arrowjit.Functions()` set (the check makes a
fresh one and compiles with `registry=functions`); add your rows to it with

    functions.register(name, arg_types, return_type, emit, nulls="null_if_null")

which is what `arrowjit.register_function(...)` does for the process's default
set. `emit(builder, args)` gets an llvmlite IRBuilder positioned in the new
function's entry block and the argument values, and returns the result; with
nulls="null_never" or "null_internal" it is `emit(builder, args, valid)`
(see arrowjit/compiler/userfunctions.py and examples/04_user_function.py).

1. clamp(x, lo, hi) for float64 -> float64: x limited to [lo, hi].
   Use compares and `builder.select`, not branches, so that the loop still
   vectorizes.
2. byte_length(s) for utf8 -> int64: the number of bytes of the string
   (not characters). A string value is the struct {ptr, i64}:
   `builder.extract_value(s, 1)` is its length in bytes.
3. nvl(x, y) for float64, float64 -> float64: x, or y where x is null, and
   null only where both are. Which null handling kind does it need?
"""


def register(functions) -> None:
    raise NotImplementedError("exercise: functions.register(...) clamp, byte_length and nvl")
