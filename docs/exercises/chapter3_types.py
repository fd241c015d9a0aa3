"""Chapter 3 exercises: types. Check: pytest docs/exercises -k chapter3

1. Predict the types. For each expression, over the columns
       i8: int8, u16: uint16, i32: int32, f32: float32, x: float64
   write the type of its value as arrowjit names it (int8, uint16, int64,
   float64, bool, ...). Work it out from the promotion rules before you try
   it: literals like 2 are int64 and 2.5 is float64; arithmetic on two equal
   types stays in that type (and wraps around on overflow).

2. Predict three-valued logic. For each predicate, the rows it keeps of
       a: [true, false, null]
   as a list of three booleans (a filter keeps a row only where the
   predicate is true).
"""

PREDICTED_TYPES: dict[str, str | None] = {
    "i8 + i8": None,
    "i8 + u16": None,
    "u16 - u16": None,
    "i32 * 2": None,
    "i32 / 2": None,
    "f32 + 1": None,
    "f32 + x": None,
    "abs(i8)": None,
    "-u16": None,
    "cast(x as int16) + i8": None,
    "i8 < u16": None,
}

PREDICTED_MASKS: dict[str, list[bool] | None] = {
    "a": None,
    "not a": None,
    "a and null": None,
    "a or null": None,
    "a or not a": None,
    "not (a and false)": None,
    "coalesce(a, true)": None,
    "a is null": None,
}
