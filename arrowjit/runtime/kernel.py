"""Calling a compiled kernel on one run of rows.

The kernel's signature (see :mod:`arrowjit.compiler.codegen`)::

    void filter_kernel(uint8_t **buffers, int64_t *offsets, uint8_t *params,
                       int64_t start, int64_t end, uint64_t *out);

It is called through ctypes, which releases the GIL for the duration of the
call, so kernels on different batches can run on several threads at once.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..compiler.codegen import SCRATCH_HEADER, KernelLayout
from ..compiler.jit import CompiledKernel
from ..compiler.types import BOOL, DType
from ..errors import CompilerError, InvalidDataError, ParameterError
from . import threads as parallel
from .buffers import ColumnBuffers
from .threads import row_ranges

_KERNEL_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)


class _AllValid:
    """A read-only bitmap of ones, grown as needed, shared by every call (never shrinks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = np.full(0, 0xFF, dtype=np.uint8)
        self._retired: list[np.ndarray] = []  # kernels on other threads may still read these

    def address(self, rows: int) -> int:
        # The kernel reads whole 64-bit words (and 9 bytes at a bit offset): 16 bytes of slack.
        needed = (rows + 7) // 8 + 16
        buffer = self._buffer
        if len(buffer) < needed:
            with self._lock:
                if len(self._buffer) < needed:
                    self._retired.append(self._buffer)
                    self._buffer = np.full(max(needed, 2 * len(self._buffer)), 0xFF, dtype=np.uint8)
                buffer = self._buffer
        return buffer.ctypes.data


all_valid_bitmap = _AllValid().address


def pack_parameters(parameters: Sequence[tuple[str, DType]],
                    values: Mapping[str, Any]) -> np.ndarray | None:
    # (see KernelLayout in arrowjit/compiler/codegen.py for the layout)
    """The ``params`` struct for one call: an 8-byte value slot per parameter, then validity bytes.

    ``values`` must hold every parameter, already checked (see
    :func:`check_parameter`); None is SQL null.
    """
    count = len(parameters)
    if count == 0:
        return None
    packed = np.zeros(9 * count, dtype=np.uint8)
    for index, (name, dtype) in enumerate(parameters):
        value = values[name]
        if value is None:
            continue
        slot = packed[8 * index: 8 * index + dtype.numpy.itemsize]
        slot[:] = np.array([value], dtype=dtype.numpy).view(np.uint8)
        packed[8 * count + index] = 1
    return packed


def check_parameter(name: str, dtype: DType, value: Any) -> Any:
    """``value`` as a Python value of ``dtype``, or a ParameterError naming the parameter."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if dtype == BOOL:
        if isinstance(value, bool):
            return value
    elif isinstance(value, bool):
        pass
    elif dtype.is_integer:
        if isinstance(value, int):
            if not dtype.min_value() <= value <= dtype.max_value():
                raise ParameterError(f"parameter {name!r} = {value} does not fit {dtype} "
                                     f"({dtype.min_value()} to {dtype.max_value()})")
            return value
        if isinstance(value, float) and value.is_integer():
            return check_parameter(name, dtype, int(value))
    elif dtype.is_float and isinstance(value, int | float):
        try:
            converted = float(value)
        except OverflowError:
            converted = float("inf")
        limit = float(np.finfo(dtype.numpy).max)
        if abs(converted) > limit and not (isinstance(value, float) and not np.isfinite(value)):
            raise ParameterError(f"parameter {name!r} = {value!r} does not fit {dtype}")
        return converted
    raise ParameterError(f"parameter {name!r} must be a {dtype} value, not {type(value).__name__} "
                         f"{value!r}")


class Kernel:
    """A compiled filter kernel with the layout of the buffers it expects."""

    def __init__(self, compiled: CompiledKernel, layout: KernelLayout):
        self.compiled = compiled
        self.layout = layout
        self._function = _KERNEL_TYPE(compiled.address)

    def scratch(self, columns: Sequence[ColumnBuffers], rows: int) -> np.ndarray | None:
        """The scratch memory the kernel needs for these columns (None when it makes no strings).

        Its first byte is the overflow flag (see :meth:`check_scratch`).
        """
        plan = self.layout.scratch
        if plan is None:
            return None
        spans = {column.name: buffers.byte_span for column, buffers in zip(self.layout.columns, columns)}
        padded_rows = (rows + 63) // 64 * 64  # the last block's padding rows run too
        # From Arrow's memory pool, which keeps freed pages (a fresh mapping pays a page fault per
        # 4 KB written), and not zeroed: only the overflow flag needs a value.
        size = SCRATCH_HEADER + plan.size(spans, padded_rows) + 64
        scratch = np.frombuffer(pa.allocate_buffer(size), dtype=np.uint8)
        scratch[:SCRATCH_HEADER] = 0
        return scratch

    def check_offsets(self, arguments: tuple[ctypes.Array, ctypes.Array]) -> None:
        """Raise if the kernel found a block of string offsets that decrease (it then skipped it)."""
        offsets = arguments[1]
        for column in self.layout.columns:
            if column.dtype.is_string and not column.dtype.is_view and offsets[column.bytes_slot] < 0:
                raise InvalidDataError(f"column {column.name!r}: its string offsets are decreasing "
                                       "or point outside its data")

    @staticmethod
    def check_scratch(scratch: np.ndarray | None) -> None:
        if scratch is not None and scratch[0]:  # pragma: no cover - the plan bounds every result
            raise CompilerError("a string result did not fit the kernel's scratch memory (a bug in "
                                "arrowjit's scratch plan; the result was not used)")

    def arguments(self, columns: Sequence[ColumnBuffers],
                  scratch: np.ndarray | None = None) -> tuple[ctypes.Array, ctypes.Array]:
        """The ``buffers`` and ``offsets`` arrays the kernel reads, for one run of rows."""
        count = max(self.layout.buffer_count, 1)
        addresses = (ctypes.c_void_p * count)()
        offsets = (ctypes.c_int64 * count)()
        for column, buffers in zip(self.layout.columns, columns):
            addresses[column.data_slot] = buffers.data_address
            offsets[column.data_slot] = buffers.offset
            if column.validity_slot is not None:
                if buffers.validity_address is None:
                    # A kernel that reads validity, on a chunk without nulls: all ones.
                    addresses[column.validity_slot] = all_valid_bitmap(buffers.length)
                    offsets[column.validity_slot] = 0
                else:
                    addresses[column.validity_slot] = buffers.validity_address
                    offsets[column.validity_slot] = buffers.offset
            if column.bytes_slot is not None:
                addresses[column.bytes_slot] = buffers.bytes_address
                # views: the longest string; utf8: the last offset (set to -1 by the kernel when
                # a block's offsets decrease or leave [first, last])
                offsets[column.bytes_slot] = buffers.longest
        if self.layout.scratch_slot is not None:
            if scratch is None:
                raise CompilerError("this kernel needs scratch memory")
            addresses[self.layout.scratch_slot] = scratch.ctypes.data
            offsets[self.layout.scratch_slot] = len(scratch) - SCRATCH_HEADER - 64
        return addresses, offsets

    def run(self, arguments: tuple[ctypes.Array, ctypes.Array], params: np.ndarray | None,
            out: int, start: int, end: int) -> None:
        """Evaluate rows ``[start, end)`` (``start`` a multiple of 64); ``out`` is where row
        ``start``'s output goes (for a filter, its bitmap word)."""
        params_address = None if params is None else params.ctypes.data
        self._function(*arguments, params_address, start, end, out)

    def bitmap(self, columns: Sequence[ColumnBuffers], length: int, params: np.ndarray | None,
               words: np.ndarray, threads: int = 1) -> None:
        """Evaluate on ``length`` rows into ``words``, a bitmap of uint64 words (bit i = row i).

        ``words`` must hold ``ceil(length / 64)`` words; bits past ``length``
        in the last one are written as zero. With ``threads`` > 1 a long run
        is cut into ranges of whole 64-row blocks evaluated in parallel.
        """
        scratch = self.scratch(columns, length)
        arguments = self.arguments(columns, scratch)
        parallel.run([lambda start=start, end=end: self.run(arguments, params,
                                                            words.ctypes.data + start // 8, start, end)
                      for start, end in row_ranges(length, threads)], threads)
        self.check_offsets(arguments)
        self.check_scratch(scratch)
