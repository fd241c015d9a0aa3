"""Chapter 7 exercises: machine code. Check: pytest docs/exercises -k chapter7

Both functions receive a kernel's assembly listing (`Filter.ir("asm")`, AT&T
syntax) for a filter that compares float64 values.

1. vector_width_bits(asm): the width in bits of the vector registers the
   vector compares (vcmp...pd) use: 128 for %xmm, 256 for %ymm, 512 for
   %zmm. Use the widest register a compare names.

2. rows_per_iteration(asm): how many rows one pass through the block loop
   handles, read from the loop's counter: in the instructions from the label
   before the first vector compare up to the first jump after it, the
   smallest positive constant added to a register (`addq $N, %reg`).
"""


def vector_width_bits(asm: str) -> int:
    raise NotImplementedError("exercise: which registers do the vcmp instructions name?")


def rows_per_iteration(asm: str) -> int:
    raise NotImplementedError("exercise: find the loop counter's increment")
