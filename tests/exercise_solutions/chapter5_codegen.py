"""Reference solution for docs/exercises/chapter5_codegen.py."""

import re


def pack_bitmap(bools: list[bool]) -> list[int]:
    words = [0] * max(1, (len(bools) + 63) // 64)
    for row, kept in enumerate(bools):
        if kept:
            words[row // 64] |= 1 << (row % 64)
    return words


def is_valid(array, i: int) -> bool:
    bitmap = array.buffers()[0]
    if bitmap is None:
        return True
    bit = array.offset + i
    return bool(bitmap.to_pybytes()[bit // 8] >> (bit % 8) & 1)


def rows_per_block(llvm_ir: str) -> int:
    return int(re.search(r"icmp slt i64 %next_j, (\d+)", llvm_ir).group(1))
