"""Bitmaps (uint64 words, bit i = row i) -> what the user asked for.

For now the filtered rows are selected with Arrow's own ``filter``; the speed
issue replaces that with compiled gathers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def mask_array(words: np.ndarray, length: int) -> pa.BooleanArray:
    """A BooleanArray without nulls that shares the bitmap's memory."""
    return pa.Array.from_buffers(pa.bool_(), length, [None, pa.py_buffer(words)])


def count(words: np.ndarray) -> int:
    return int(np.bitwise_count(words).sum()) if len(words) else 0


def positions(words: np.ndarray, length: int) -> np.ndarray:
    """Row numbers of the set bits, as int64."""
    bits = np.unpackbits(words.view(np.uint8), bitorder="little", count=length)
    return np.flatnonzero(bits)


def indices_array(chunks: list[tuple[int, np.ndarray, int]], total_rows: int) -> pa.Array:
    """Selection vector over all chunks: ``chunks`` holds (first row, words, length) each."""
    index_type = np.uint32 if total_rows < 2**32 else np.uint64
    parts = [positions(words, length) + first for first, words, length in chunks]
    values = np.concatenate(parts).astype(index_type, copy=False) if parts else np.empty(0, index_type)
    return pa.array(values)
