"""02: one filter at every stage of the compiler, from the text to machine code.

    python examples/02_every_stage.py ["x > 2.0 and x < 6.0"]

The same as `arrowjit --dump-ir EXPR --schema x:float64,i:int64 --stage all`,
from Python: Filter.ir(stage) for each of arrowjit.STAGES. The AST, the
typed IR and the unoptimized LLVM IR are the same on every machine; the
optimized IR and the assembly are for this machine's CPU (printed first),
so yours may show <4 x double> and ymm registers where an AVX-512 machine
shows <8 x double> and zmm. docs/tour/ explains each stage.
"""

from __future__ import annotations

import sys

import llvmlite.binding as llvm
import pyarrow as pa

import arrowjit

TITLES = {
    "ast": "1. the AST: the parse, sugar expanded (docs/tour/02_parsing.md)",
    "typed": "2. the typed IR: types, casts and registry functions (docs/tour/03_types.md)",
    "llvm": "3. LLVM IR as generated: the 64-row block loop (docs/tour/05_codegen.md)",
    "optimized": "4. LLVM IR after O3: inlined and vectorized (docs/tour/06_optimization.md)",
    "asm": "5. machine code (docs/tour/07_machine_code.md)",
}


def main(argv: list[str]) -> None:
    expression = argv[1] if len(argv) > 1 else "x > 2.0 and x < 6.0"
    schema = pa.schema([pa.field("x", pa.float64()), pa.field("i", pa.int64())])
    f = arrowjit.compile_filter(expression, schema)
    print(f"{f!r}, compiled for {llvm.get_host_cpu_name()}")
    for stage in arrowjit.STAGES:
        print(f"\n{' ' + TITLES[stage] + ' ':=^100}")
        print(f.ir(stage).rstrip("\n"))
    batch = pa.record_batch({"x": [1.0, 3.0, None, 5.0, 7.0], "i": [1, 2, 3, 4, 5]})
    print(f"\nand run: {f.mask(batch).to_pylist()}")


if __name__ == "__main__":
    main(sys.argv)
