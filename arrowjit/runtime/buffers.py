"""Arrow arrays -> the raw buffer addresses a kernel reads, checked first.

A kernel trusts its pointers: it reads ``length`` values from each data
buffer and ``length`` bits from each bitmap, starting at the array's offset.
So before any kernel runs, every buffer is checked to be at least as long as
the array declares; an array that lies about its size raises
:class:`~arrowjit.errors.InvalidDataError` instead of letting the kernel read
past the end of its memory.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa

from ..compiler.types import DType, Kind
from ..errors import InvalidDataError


class ColumnBuffers(NamedTuple):
    """One column chunk as the kernel sees it (a tuple: one is made per column per call)."""

    data_address: int
    validity_address: int | None  # None when the chunk has no nulls
    offset: int
    length: int
    bytes_address: int | None = None  # strings: the buffer their offsets point into
    byte_span: int = 0  # strings: the bytes from the first string's start to the last one's end
    longest: int = 0  # string_view: the longest string's bytes; utf8: the last offset
    keep: object = None  # string_view: the array of data buffer addresses bytes_address points to


def _bitmap_bytes(offset: int, length: int) -> int:
    return (offset + length + 7) // 8


def _string_buffers(array: pa.Array, name: str, dtype: DType, check_order: bool = True) -> ColumnBuffers:
    """A string column: offsets in range and never decreasing, so every view lies in the data.

    With ``check_order`` False only the first and the last offset are checked here: the
    kernel checks that each block's offsets never decrease before it reads any string of the
    block (see codegen._offsets_in_order), which together puts every string inside the data.
    """
    offset, length = array.offset, len(array)
    buffers = array.buffers()
    if len(buffers) != 3:
        raise InvalidDataError(f"column {name!r}: expected 3 buffers for {dtype}, found {len(buffers)}")
    validity, offsets, data = buffers
    if length == 0:
        return ColumnBuffers(0, None, offset, 0, 0)
    width = dtype.offset_bits // 8
    needed = (offset + length + 1) * width
    if offsets is None or offsets.size < needed:
        have = 0 if offsets is None else offsets.size
        raise InvalidDataError(f"column {name!r}: its offsets buffer has {have} bytes, but {length} "
                               f"strings at offset {offset} need {needed}")
    view = np.frombuffer(offsets, dtype=np.int32 if width == 4 else np.int64,
                         count=offset + length + 1)[offset:]
    data_size = 0 if data is None else data.size
    if view[0] < 0 or view[-1] > data_size or view[0] > view[-1] or \
            (check_order and not bool((view[1:] >= view[:-1]).all())):
        raise InvalidDataError(f"column {name!r}: its string offsets are decreasing or point past "
                               f"its {data_size}-byte data buffer")
    validity_address = _validity(array, validity, name)
    data_address = data.address if data is not None else offsets.address  # all strings empty
    return ColumnBuffers(offsets.address, validity_address, offset, length, data_address,
                         int(view[-1] - view[0]), int(view[-1]))


def _view_buffers(array: pa.Array, name: str) -> ColumnBuffers:
    """A string_view column: every view's length, and for strings longer than 12 bytes its data
    buffer index and offset, checked to lie inside the data buffers (null rows' views too)."""
    offset, length = array.offset, len(array)
    buffers = array.buffers()
    if len(buffers) < 2:
        raise InvalidDataError(f"column {name!r}: expected a views buffer for string_view")
    validity, views, data = buffers[0], buffers[1], buffers[2:]
    addresses = np.array([b.address if b is not None else 0 for b in data] or [0], dtype=np.uint64)
    if length == 0:
        return ColumnBuffers(0, None, offset, 0, addresses.ctypes.data, keep=addresses)
    needed = (offset + length) * 16
    if views is None or views.size < needed:
        have = 0 if views is None else views.size
        raise InvalidDataError(f"column {name!r}: its views buffer has {have} bytes, but {length} "
                               f"strings at offset {offset} need {needed}")
    fields = np.frombuffer(views, dtype=np.int32, count=4 * (offset + length)).reshape(-1, 4)[offset:]
    lengths = fields[:, 0].astype(np.int64)
    outside = lengths > 12
    index, start = fields[outside, 2].astype(np.int64), fields[outside, 3].astype(np.int64)
    sizes = np.array([b.size if b is not None else 0 for b in data] or [0], dtype=np.int64)
    bad = bool((lengths < 0).any()) or bool((index < 0).any()) or bool((index >= len(data)).any())
    if not bad and index.size:
        bad = bool((start < 0).any()) or bool((start + lengths[outside] > sizes[index]).any())
    if bad:
        raise InvalidDataError(f"column {name!r}: a string view has a negative length or points "
                               "outside its data buffers")
    longest = int(lengths.max())
    # The last block's padding rows re-read the last row (see codegen._load_view): count them too.
    padded = (length + 63) // 64 * 64
    return ColumnBuffers(views.address, _validity(array, validity, name), offset, length,
                         addresses.ctypes.data, longest * padded, longest, addresses)


def _validity(array: pa.Array, validity: pa.Buffer | None, name: str) -> int | None:
    offset, length = array.offset, len(array)
    if validity is not None:
        needed_bits = _bitmap_bytes(offset, length)
        if validity.size < needed_bits:
            raise InvalidDataError(
                f"column {name!r}: its validity bitmap has {validity.size} bytes, but {length} "
                f"rows at offset {offset} need {needed_bits}")
        # Only now is it safe to let Arrow count the nulls (it reads the bitmap).
        return validity.address if array.null_count > 0 else None
    if array.null_count > 0:
        raise InvalidDataError(f"column {name!r}: {array.null_count} nulls but no validity bitmap")
    return None


def column_buffers(array: pa.Array, name: str, dtype: DType, check_order: bool = True) -> ColumnBuffers:
    """Check ``array``'s buffers against its length and offset and return their addresses.

    ``check_order=False``: for a kernel that checks the order of string offsets itself.
    """
    try:
        offset, length = array.offset, len(array)
    except (SystemError, OverflowError, ValueError):  # a negative length from corrupt metadata
        raise InvalidDataError(f"column {name!r}: its length or offset is invalid") from None
    if offset < 0 or length < 0:
        raise InvalidDataError(f"column {name!r}: negative offset or length")
    if dtype.is_view:
        return _view_buffers(array, name)
    if dtype.is_string:
        return _string_buffers(array, name, dtype, check_order)
    buffers = array.buffers()
    if len(buffers) != 2:
        raise InvalidDataError(f"column {name!r}: expected 2 buffers for {dtype}, found {len(buffers)}")
    validity, data = buffers
    bits = dtype.kind is Kind.BOOL
    needed = _bitmap_bytes(offset, length) if bits else (offset + length) * dtype.byte_width
    if length == 0:
        return ColumnBuffers(0, None, offset, 0)
    if data is None or data.size < needed:
        have = 0 if data is None else data.size
        raise InvalidDataError(
            f"column {name!r}: its data buffer has {have} bytes, but {length} {dtype} values "
            f"at offset {offset} need {needed}")
    return ColumnBuffers(data.address, _validity(array, validity, name), offset, length)
