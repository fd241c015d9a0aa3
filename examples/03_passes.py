"""03: LLVM's O3 pipeline pass by pass, as Compiler Explorer shows it.

    python examples/03_passes.py

Filter.ir("passes") (or `arrowjit --dump-ir EXPR --schema ... --stage passes`)
prints, and Filter.passes() returns as data, every pass that changed the
kernel, with a unified diff of what it changed, and counts those that
changed nothing. This example prints the
summary and the diffs of the two passes that matter most here, and checks
what each did. The passes' output depends on the CPU (the vectorizer's
choices do); see docs/tour/06_optimization.md.
"""

from __future__ import annotations

import re

import pyarrow as pa

import arrowjit


def main() -> None:
    schema = pa.schema([pa.field("x", pa.float64(), nullable=False)])
    f = arrowjit.compile_filter("x > 2.0 and x < 6.0", schema)
    summary, _, _ = f.ir("passes").partition("\n\n")   # the printed report starts with a summary
    print(summary)
    report = f.passes()                                  # the same report as data
    diffs = {}
    for run in report.changed:                           # the passes that changed the kernel, in order
        diffs.setdefault(run.name, run.diff())
    for name in ("AlwaysInlinerPass", "LoopVectorizePass"):
        print(f"\n{' ' + name + ' ':=^100}")
        print(diffs[name])

    inlined = diffs["AlwaysInlinerPass"]
    vectorized = diffs["LoopVectorizePass"]
    print("\nwhat the passes did:")
    print("  AlwaysInlinerPass removed the calls to the registry functions:",
          bool(re.search(r"^-.*call .*@greater_than_float64_float64", inlined, re.M)))
    print("  LoopVectorizePass added vector compares:",
          bool(re.search(r"^\+.*fcmp ogt <\d+ x double>", vectorized, re.M)))
    print("  no calls are left in the optimized kernel:", "call i1 @" not in f.ir("optimized"))


if __name__ == "__main__":
    main()
