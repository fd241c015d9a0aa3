"""03: LLVM's O3 pipeline pass by pass, as Compiler Explorer shows it.

    python examples/03_passes.py

Filter.ir("passes") (or `arrowjit --dump-ir EXPR --schema ... --stage passes`)
lists every pass that changed the kernel, with a unified diff of what it
changed, and counts those that changed nothing. This example prints the
summary and the diffs of the two passes that matter most here, and checks
what each did. The passes' output depends on the CPU (the vectorizer's
choices do); see docs/tour/06_optimization.md.
"""

from __future__ import annotations

import re

import pyarrow as pa

import arrowjit


def sections(report: str) -> dict[str, str]:
    """The first diff of each pass that changed the kernel, by pass name."""
    found: dict[str, str] = {}
    for section in re.split(r"\n\n(?==+ \d+\. )", report)[1:]:
        name = re.match(r"=+ \d+\. (\S+) ", section).group(1)
        found.setdefault(name, section)
    return found


def main() -> None:
    schema = pa.schema([pa.field("x", pa.float64(), nullable=False)])
    f = arrowjit.compile_filter("x > 2.0 and x < 6.0", schema)
    report = f.ir("passes")
    summary, _, _ = report.partition("\n\n")
    print(summary)
    diffs = sections(report)
    for name in ("AlwaysInlinerPass", "LoopVectorizePass"):
        print()
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
