"""Calling a compiled kernel on one run of rows.

The kernel's signature (see :mod:`arrowjit.compiler.codegen`)::

    void filter_kernel(uint8_t **buffers, int64_t *offsets, uint8_t *params,
                       int64_t start, int64_t end, uint64_t *out);

It is called through ctypes, which releases the GIL for the duration of the
call, so kernels on different batches can run on several threads at once.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..compiler.codegen import KernelLayout
from ..compiler.jit import CompiledKernel
from ..compiler.types import BOOL, DType
from ..errors import ParameterError
from .buffers import ColumnBuffers

_KERNEL_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)


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
        return float(value)
    raise ParameterError(f"parameter {name!r} must be a {dtype} value, not {type(value).__name__} "
                         f"{value!r}")


class Kernel:
    """A compiled filter kernel with the layout of the buffers it expects."""

    def __init__(self, compiled: CompiledKernel, layout: KernelLayout):
        self.compiled = compiled
        self.layout = layout
        self._function = _KERNEL_TYPE(compiled.address)

    def bitmap(self, columns: Sequence[ColumnBuffers], length: int, params: np.ndarray | None,
               words: np.ndarray) -> None:
        """Evaluate on ``length`` rows into ``words``, a bitmap of uint64 words (bit i = row i).

        ``words`` must hold ``ceil(length / 64)`` words; bits past ``length``
        in the last one are written as zero.
        """
        if length == 0:
            return
        if len(words) < (length + 63) // 64:  # pragma: no cover - the runtime sizes it
            raise AssertionError("output bitmap too small")
        count = self.layout.buffer_count
        addresses = (ctypes.c_void_p * max(count, 1))()
        offsets = (ctypes.c_int64 * max(count, 1))()
        for column, buffers in zip(self.layout.columns, columns):
            if buffers.length != length:  # pragma: no cover - the runtime aligns chunks
                raise AssertionError("column chunks of different lengths")
            addresses[column.data_slot] = buffers.data_address
            offsets[column.data_slot] = buffers.offset
            if column.validity_slot is not None:
                addresses[column.validity_slot] = buffers.validity_address
                offsets[column.validity_slot] = buffers.offset
        params_address = None if params is None else params.ctypes.data
        self._function(addresses, offsets, params_address, 0, length, words.ctypes.data)
