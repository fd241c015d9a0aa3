"""Chapter 9 exercises: performance. Check: pytest docs/exercises -k chapter9

1. min_time_ms(schema, rows, gb_per_s): the least time, in milliseconds, a
   filter reading every column of `schema` (a pyarrow.Schema of fixed-width
   columns) over `rows` rows can take when memory moves `gb_per_s` GB/s
   (1 GB = 1e9 bytes). Count: each column's values (bit-packed for bool:
   rows / 8 bytes), a validity bitmap (rows / 8 bytes) for each *nullable*
   field, and the output bitmap written (rows / 8 bytes). Ignore rounding
   to whole bytes.

2. bitmap_bytes(rows): the size in bytes of the buffer a filter's mask
   (the kernel's output) has for `rows` rows: whole 64-bit words, and
   never fewer than one.
"""


def min_time_ms(schema, rows: int, gb_per_s: float) -> float:
    raise NotImplementedError("exercise: bytes moved / bandwidth")


def bitmap_bytes(rows: int) -> int:
    raise NotImplementedError("exercise: whole 64-bit words")
