"""Bitmaps (uint64 words, bit i = row i) -> what the user asked for.

* a mask is the bitmap itself, wrapped as a BooleanArray (no copy);
* a count is the sum of the words' popcounts;
* a selection vector comes from the native ``indices`` helper (a table
  lookup per byte of the bitmap, see :mod:`.native`);
* a filtered batch gathers every fixed-width column (values and validity,
  bool columns bit by bit) with the native ``take`` helpers; other column
  types go through Arrow's own ``take``.

Output memory comes from Arrow's memory pool (``pa.allocate_buffer``), which
reuses freed memory instead of faulting in fresh pages on every call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from ..errors import InputTypeError, InvalidDataError
from .native import native


def new_words(length: int) -> tuple[pa.Buffer, np.ndarray]:
    """A bitmap buffer for ``length`` rows and a uint64 view of it (contents undefined)."""
    buffer = pa.allocate_buffer(max(1, (length + 63) // 64) * 8)
    return buffer, np.frombuffer(buffer, dtype=np.uint64)[: (length + 63) // 64]


def zeroed_buffer(size: int) -> pa.Buffer:
    """A buffer of ``size`` zero bytes from Arrow's memory pool."""
    buffer = pa.allocate_buffer(max(size, 8))
    np.frombuffer(buffer, dtype=np.uint8)[:] = 0
    return buffer


def mask_array(buffer: pa.Buffer, length: int) -> pa.BooleanArray:
    """A BooleanArray without nulls over the bitmap's memory."""
    return pa.Array.from_buffers(pa.bool_(), length, [None, buffer], null_count=0)


def mask_numpy(mask: pa.BooleanArray) -> np.ndarray:
    """A BooleanArray without nulls as a numpy bool array (a byte per row), unpacked with numpy.

    Arrow's own conversion is many times slower for a bitmap; an array with
    nulls is converted by Arrow.
    """
    if mask.null_count:
        return mask.to_numpy(zero_copy_only=False)
    bits = np.frombuffer(mask.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, count=mask.offset + len(mask), bitorder="little")[mask.offset:].view(np.bool_)


def count(words: np.ndarray) -> int:
    if len(words) <= 64:  # (a small batch: numpy's per-call overhead is most of the time)
        return sum(map(int.bit_count, words.tolist()))
    return int(np.bitwise_count(words).sum())


def index_bits(total_rows: int) -> int:
    return 32 if total_rows < 2**32 else 64


def indices(chunks: Sequence[tuple[int, np.ndarray]], total_rows: int) -> tuple[pa.Array, int]:
    """The selection vector over all chunks (``(first row, words)`` each) and its length."""
    bits = index_bits(total_rows)
    counts = [count(words) for _, words in chunks]
    total = sum(counts)
    # The helper stores 8 positions at a time: leave room for the last store.
    buffer = pa.allocate_buffer((total + 8) * bits // 8)
    extract = native().indices(bits)
    written = 0
    for (first, words), expected in zip(chunks, counts):
        if expected:
            extract(words.ctypes.data, len(words), first, buffer.address + written * bits // 8)
            written += expected
    index_type = pa.uint32() if bits == 32 else pa.uint64()
    return pa.Array.from_buffers(index_type, total, [None, buffer], null_count=0), bits


def _fixed_width(array: pa.Array) -> int | None:
    """The bit width of a column the native compress can copy, or None."""
    t = array.type
    if pa.types.is_boolean(t):
        return 1
    if pa.types.is_dictionary(t) or isinstance(t, pa.ExtensionType):
        return None
    try:
        width = t.bit_width
    except ValueError:
        return None
    return width if width in (8, 16, 32, 64) and len(array.buffers()) == 2 else None


def _checked(array: pa.Array, width: int) -> tuple[pa.Buffer | None, pa.Buffer]:
    validity, data = array.buffers()
    end = array.offset + len(array)
    needed = (end + 7) // 8 if width == 1 else end * width // 8
    if data is None or data.size < needed:
        raise InvalidDataError(f"a {array.type} column's data buffer is shorter than its length")
    if validity is not None and validity.size < (end + 7) // 8:
        raise InvalidDataError(f"a {array.type} column's validity bitmap is shorter than its length")
    return validity, data


_VIEW_STORAGE = {pa.string_view(): pa.large_string(), pa.binary_view(): pa.large_binary()}


def _arrow_select(array: pa.Array, how: pa.Array, function) -> pa.Array:
    """Arrow's own filter or take, for the column types the native compress does not copy.

    Arrow trusts the buffers it is handed, so the column is validated first:
    a corrupt column raises InvalidDataError instead of being read past its end.
    """
    import pyarrow.compute as pc  # (imported when needed: it takes ~50 ms to import)
    width = _fixed_width(array)
    if width is not None:
        _checked(array, width)
    else:
        try:
            array.validate(full=True)
        except (pa.ArrowInvalid, pa.ArrowException) as e:
            raise InvalidDataError(f"a {array.type} column is not valid Arrow data: {e}") from None
    storage = _VIEW_STORAGE.get(array.type)
    if storage is not None:  # Arrow has no filter or take kernel for view types (yet)
        return pc.cast(function(pc.cast(array, storage), how), array.type)
    try:
        return function(array, how)
    except pa.ArrowNotImplementedError:
        raise InputTypeError(f"cannot copy a {array.type} column into the filtered output; "
                             "select the columns you need first") from None


def take(array: pa.Array, selection: pa.Array) -> pa.Array:
    """The rows of ``array`` at the positions ``selection`` (for few selected rows)."""
    import pyarrow.compute as pc  # (imported when needed: it takes ~50 ms to import)
    return _arrow_select(array, selection, pc.take)


def compress(array: pa.Array, mask: pa.Buffer, words: np.ndarray, count_: int) -> pa.Array:
    """The rows of ``array`` whose bit is set in the selection bitmap ``words`` (``count_`` of them).

    Fixed-width columns (numbers, dates, times, bools) are compressed
    natively, values and validity; other types use Arrow's ``filter``.
    """
    import pyarrow.compute as pc  # (imported when needed: it takes ~50 ms to import)
    width = _fixed_width(array)
    length = len(array)
    if width is None or length == 0:
        return _arrow_select(array, mask_array(mask, length), pc.filter)
    validity, data = _checked(array, width)
    selection = words.ctypes.data
    helpers = native()
    if width == 1:
        values = pa.allocate_buffer(max(1, (count_ + 63) // 64) * 8)
        helpers.compress_bits()(data.address, array.offset, selection, length, values.address)
    else:
        # The helper stores 8 values at a time: leave room for the last store.
        values = pa.allocate_buffer((count_ + 8) * width // 8)
        source = data.address + array.offset * width // 8
        helpers.compress(width)(source, selection, length, values.address)
    out_validity = None
    null_count = 0
    if validity is not None and array.null_count > 0:
        out_validity = pa.allocate_buffer(max(1, (count_ + 63) // 64) * 8)
        helpers.compress_bits()(validity.address, array.offset, selection, length, out_validity.address)
        null_count = -1  # Arrow counts them when asked
    return pa.Array.from_buffers(array.type, count_, [out_validity, values], null_count=null_count)
