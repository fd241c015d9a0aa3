"""Calling a compiled kernel on one run of rows.

The kernel's signature (see :mod:`arrowjit.compiler.codegen`)::

    void filter_kernel(uint8_t **buffers, int64_t *offsets, uint8_t *params,
                       int64_t start, int64_t end, uint64_t *out);

It is called through ctypes, which releases the GIL for the duration of the
call, so kernels on different batches can run on several threads at once.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np

from ..compiler.codegen import KernelLayout
from ..compiler.jit import CompiledKernel
from .buffers import ColumnBuffers

_KERNEL_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)


class Kernel:
    """A compiled filter kernel with the layout of the buffers it expects."""

    def __init__(self, compiled: CompiledKernel, layout: KernelLayout):
        self.compiled = compiled
        self.layout = layout
        self._function = _KERNEL_TYPE(compiled.address)

    def bitmap(self, columns: Sequence[ColumnBuffers], length: int) -> np.ndarray:
        """Evaluate on ``length`` rows; the result is a bitmap as uint64 words (bit i = row i).

        Bits past ``length`` in the last word are zero.
        """
        words = np.empty((length + 63) // 64, dtype=np.uint64)
        if length == 0:
            return words
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
        self._function(addresses, offsets, None, 0, length, words.ctypes.data)
        return words
