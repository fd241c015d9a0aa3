"""Reference solution for docs/exercises/chapter9_performance.py."""

import pyarrow as pa


def min_time_ms(schema, rows: int, gb_per_s: float) -> float:
    moved = rows / 8  # the output bitmap
    for field in schema:
        moved += rows / 8 if pa.types.is_boolean(field.type) else rows * field.type.bit_width / 8
        if field.nullable:
            moved += rows / 8
    return moved / (gb_per_s * 1e9) * 1e3


def bitmap_bytes(rows: int) -> int:
    return max(1, (rows + 63) // 64) * 8
