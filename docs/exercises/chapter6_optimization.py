"""Chapter 6 exercises: optimization. Check: pytest docs/exercises -k chapter6

1. Name the passes. Set each constant to the name of the LLVM pass, as
   `Filter.ir("passes")` prints it (e.g. "InstCombinePass"), that
   - inlines the registry functions into the kernel: INLINING_PASS
   - turns the scalar row loop into vector code: VECTORIZING_PASS
   - removes the (vectorized) row loop by copying its body: UNROLLING_PASS

2. What stops vectorization? vectorizes(expression, schema) compiles the
   filter and says, from its ir("passes") (or the same as data,
   `Filter.passes()`: `.changed` is the list of the passes that changed the
   kernel, each with a `.name`), whether the loop vectorizer changed it.
   Then fill in VECTORIZED: for each expression over x: float64, s: utf8,
   your answer (True or False), found with your function. (Why does
   `contains` differ from `s == 'ab'`?)
"""

INLINING_PASS: str | None = None
VECTORIZING_PASS: str | None = None
UNROLLING_PASS: str | None = None


def vectorizes(expression: str, schema: dict) -> bool:
    raise NotImplementedError("exercise: look for the vectorizer among the passes that changed the kernel")


VECTORIZED: dict[str, bool | None] = {
    "x > 2.0 and x < 6.0": None,
    "sqrt(x) > 1.5": None,
    "contains(s, 'needle')": None,
    "s == 'ab'": None,
}
