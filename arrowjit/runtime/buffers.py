"""Arrow arrays -> the raw buffer addresses a kernel reads, checked first.

A kernel trusts its pointers: it reads ``length`` values from each data
buffer and ``length`` bits from each bitmap, starting at the array's offset.
So before any kernel runs, every buffer is checked to be at least as long as
the array declares; an array that lies about its size raises
:class:`~arrowjit.errors.InvalidDataError` instead of letting the kernel read
past the end of its memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ..compiler.types import BOOL, DType
from ..errors import InvalidDataError


@dataclass(frozen=True)
class ColumnBuffers:
    """One column chunk as the kernel sees it."""

    data_address: int
    validity_address: int | None  # None when the chunk has no nulls
    offset: int
    length: int


def _bitmap_bytes(offset: int, length: int) -> int:
    return (offset + length + 7) // 8


def column_buffers(array: pa.Array, name: str, dtype: DType) -> ColumnBuffers:
    """Check ``array``'s buffers against its length and offset and return their addresses."""
    offset, length = array.offset, len(array)
    if offset < 0 or length < 0:
        raise InvalidDataError(f"column {name!r}: negative offset or length")
    buffers = array.buffers()
    if len(buffers) != 2:
        raise InvalidDataError(f"column {name!r}: expected 2 buffers for {dtype}, found {len(buffers)}")
    validity, data = buffers
    needed = _bitmap_bytes(offset, length) if dtype == BOOL else (offset + length) * dtype.byte_width
    if length == 0:
        return ColumnBuffers(0, None, offset, 0)
    if data is None or data.size < needed:
        have = 0 if data is None else data.size
        raise InvalidDataError(
            f"column {name!r}: its data buffer has {have} bytes, but {length} {dtype} values "
            f"at offset {offset} need {needed}")
    validity_address = None
    if validity is not None:
        needed_bits = _bitmap_bytes(offset, length)
        if validity.size < needed_bits:
            raise InvalidDataError(
                f"column {name!r}: its validity bitmap has {validity.size} bytes, but {length} "
                f"rows at offset {offset} need {needed_bits}")
        # Only now is it safe to let Arrow count the nulls (it reads the bitmap).
        if array.null_count > 0:
            validity_address = validity.address
    elif array.null_count > 0:
        raise InvalidDataError(f"column {name!r}: {array.null_count} nulls but no validity bitmap")
    return ColumnBuffers(data.address, validity_address, offset, length)
