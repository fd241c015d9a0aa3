"""Reference solution for docs/exercises/chapter6_optimization.py."""

import pyarrow as pa

import arrowjit

INLINING_PASS = "AlwaysInlinerPass"
VECTORIZING_PASS = "LoopVectorizePass"
UNROLLING_PASS = "LoopUnrollPass"


def vectorizes(expression: str, schema: dict) -> bool:
    fields = [pa.field(name, type_, nullable=False) for name, type_ in schema.items()]
    report = arrowjit.compile_filter(expression, pa.schema(fields)).ir("passes")
    summary = report.split("\n\n")[0]          # the numbered list of the passes that changed something
    return "LoopVectorizePass on" in summary


VECTORIZED = {
    "x > 2.0 and x < 6.0": True,
    "sqrt(x) > 1.5": True,               # llvm.sqrt has a vector form
    "contains(s, 'needle')": False,      # a call to the C library's memmem per row
    "s == 'ab'": True,                   # blocks of 2-byte strings: read at a fixed stride, vectorized
}
