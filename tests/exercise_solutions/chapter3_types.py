"""Reference solution for docs/exercises/chapter3_types.py (predictions, reasoned from the rules)."""

PREDICTED_TYPES = {
    "i8 + i8": "int8",              # equal types stay
    "i8 + u16": "int32",            # signed and unsigned meet in a signed type wider than both
    "u16 - u16": "uint16",          # and wraps around below zero
    "i32 * 2": "int64",             # the literal 2 is an int64
    "i32 / 2": "float64",           # `/` is true division
    "f32 + 1": "float64",           # float32 with an int64: only float64 holds both
    "f32 + x": "float64",
    "abs(i8)": "int8",
    "-u16": "uint16",
    "cast(x as int16) + i8": "int16",
    "i8 < u16": "bool",
}

PREDICTED_MASKS = {
    "a": [True, False, False],
    "not a": [False, True, False],
    "a and null": [False, False, False],      # true and null is null; false and null is false
    "a or null": [True, False, False],        # true or null is true
    "a or not a": [True, True, False],        # null or null is null: the law of the excluded middle fails
    "not (a and false)": [True, True, True],  # null and false is false
    "coalesce(a, true)": [True, False, True],
    "a is null": [False, False, True],
}
