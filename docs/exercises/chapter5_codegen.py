"""Chapter 5 exercises: code generation. Check: pytest docs/exercises -k chapter5

1. pack_bitmap(bools): the 64-bit words a filter kernel writes for these
   row results: row k is bit k % 64 (the least significant bit first) of
   word k // 64; bits past the last row are 0; always at least one word.
   Return a list of Python ints.

2. is_valid(array, i): whether row i of a (possibly sliced) Arrow array is
   valid, read the way the kernel's load_bitmap_word reads it: from the
   validity bitmap `array.buffers()[0]` (None when the array has no nulls)
   at bit `array.offset + i`. Do not call array.is_valid or to_pylist.

3. rows_per_block(llvm_ir): the number of rows evaluate_block handles, read
   from the unoptimized IR (`Filter.ir("llvm")`): the bound N of its row
   loop, `%more = icmp slt i64 %next_j, N`.
"""


def pack_bitmap(bools: list[bool]) -> list[int]:
    raise NotImplementedError("exercise: pack 64 rows per word, row 0 in the lowest bit")


def is_valid(array, i: int) -> bool:
    raise NotImplementedError("exercise: read bit offset + i of the validity bitmap")


def rows_per_block(llvm_ir: str) -> int:
    raise NotImplementedError("exercise: find the bound of the rows loop in the IR")
