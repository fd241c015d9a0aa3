"""Calling a compiled kernel on one run of rows.

The kernel's signature (see :mod:`arrowjit.compiler.codegen`)::

    int64_t filter_kernel(uint8_t **buffers, int64_t *offsets, uint8_t *params,
                          int64_t start, int64_t end, uint64_t *out);  // returns the rows kept

It is called through ctypes, which releases the GIL for the duration of the
call, so kernels on different batches can run on several threads at once.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import decimal
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np
import pyarrow as pa

from ..compiler import temporal
from ..compiler.codegen import SCRATCH_HEADER, KernelLayout, parameter_slots
from ..compiler.decimals import EXACT
from ..compiler.jit import CompiledKernel
from ..compiler.types import BOOL, UNIT_TICKS, DType, Kind
from ..errors import CompilerError, InvalidDataError, ParameterError
from . import threads as parallel
from .buffers import ColumnBuffers
from .threads import row_ranges

_KERNEL_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
# A filter kernel returns how many rows it kept.
_COUNTING_KERNEL_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
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
    """The ``params`` struct for one call: an 8-byte value slot per parameter (two for a
    decimal128), then validity bytes.

    ``values`` must hold every parameter, already checked (see
    :func:`check_parameter`: temporal values as their storage integer,
    decimals as their unscaled integer); None is SQL null.
    """
    count = len(parameters)
    if count == 0:
        return None
    offsets, validity = parameter_slots(parameters)
    packed = np.zeros(validity + count, dtype=np.uint8)
    for index, (name, dtype) in enumerate(parameters):
        value = values[name]
        if value is None:
            continue
        start = offsets[index]
        if dtype.bits > 64:  # decimal128
            packed[start: start + 16] = np.frombuffer(value.to_bytes(16, "little", signed=True),
                                                      dtype=np.uint8)
        else:
            packed[start: start + dtype.numpy.itemsize] = np.array([value], dtype=dtype.numpy).view(np.uint8)
        packed[validity + index] = 1
    return packed


# Nanoseconds per numpy datetime64 / timedelta64 unit (years and months have no fixed length).
_NUMPY_UNIT_NANOS = {"W": 7 * 86_400 * 10**9, "D": 86_400 * 10**9, "h": 3_600 * 10**9, "m": 60 * 10**9,
                     "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_DAY_NANOS = 86_400 * 10**9


def _python_nanos(value: dt.datetime | dt.time | dt.timedelta) -> int:
    """Nanoseconds of a datetime (since the epoch, wall clock), time (since midnight) or timedelta."""
    extra = getattr(value, "nanosecond", 0)  # pandas' Timestamp and Timedelta
    if isinstance(value, dt.timedelta):
        return ((value.days * 86_400 + value.seconds) * 10**6 + value.microseconds) * 1000 + extra
    seconds = value.hour * 3_600 + value.minute * 60 + value.second
    if isinstance(value, dt.datetime):
        seconds += (value.toordinal() - temporal.EPOCH_ORDINAL) * 86_400
    return (seconds * 10**6 + value.microsecond) * 1000 + extra


def _temporal_nanos(name: str, value: Any) -> tuple[Kind, int, bool] | None:
    """(kind, nanoseconds, whether they count from the epoch in UTC) of a temporal Python,
    numpy or pyarrow value; None for a value that is not temporal."""
    if isinstance(value, pa.Scalar):
        arrow_type = value.type
        if pa.types.is_decimal(arrow_type) or not (
                pa.types.is_temporal(arrow_type) and not pa.types.is_interval(arrow_type)):
            return None
        storage = value.cast(pa.int32() if arrow_type.bit_width == 32 else pa.int64()).as_py()
        if pa.types.is_date32(arrow_type):
            return Kind.DATE, storage * _DAY_NANOS, False
        if pa.types.is_date64(arrow_type):
            return (Kind.DATE if storage % 86_400_000 == 0 else Kind.TIMESTAMP), storage * 10**6, False
        nanos = storage * (10**9 // UNIT_TICKS[arrow_type.unit])
        if pa.types.is_timestamp(arrow_type):
            return Kind.TIMESTAMP, nanos, arrow_type.tz is not None
        return (Kind.TIME if pa.types.is_time(arrow_type) else Kind.DURATION), nanos, False
    if isinstance(value, np.datetime64 | np.timedelta64):
        unit, count = np.datetime_data(value.dtype)
        if unit not in _NUMPY_UNIT_NANOS:
            raise ParameterError(f"parameter {name!r}: numpy {value.dtype} values are not supported "
                                 "(use a unit from weeks to nanoseconds)")
        nanos = int(value.astype(np.int64)) * count * _NUMPY_UNIT_NANOS[unit]
        if isinstance(value, np.timedelta64):
            return Kind.DURATION, nanos, False
        return (Kind.DATE if unit in ("W", "D") else Kind.TIMESTAMP), nanos, False
    if isinstance(value, dt.datetime):
        nanos = _python_nanos(value)
        offset = value.utcoffset()
        if offset is not None:
            return Kind.TIMESTAMP, nanos - _python_nanos(offset), True
        return Kind.TIMESTAMP, nanos, False
    if isinstance(value, dt.date):
        return Kind.DATE, (value.toordinal() - temporal.EPOCH_ORDINAL) * _DAY_NANOS, False
    if isinstance(value, dt.time):
        if value.utcoffset() is not None:
            raise ParameterError(f"parameter {name!r}: a time of day with a zone is not supported")
        return Kind.TIME, _python_nanos(value), False
    if isinstance(value, dt.timedelta):
        return Kind.DURATION, _python_nanos(value), False
    return None


_EXACT_KINDS = frozenset({Kind.DATE, Kind.TIMESTAMP, Kind.TIME, Kind.DURATION, Kind.DECIMAL})
_EXPECTED = {Kind.DATE: "a datetime.date", Kind.TIMESTAMP: "a datetime.datetime or datetime.date",
             Kind.TIME: "a datetime.time", Kind.DURATION: "a datetime.timedelta"}


def _check_temporal(name: str, dtype: DType, value: Any) -> int | None:
    """A date, time, timestamp or duration parameter as its storage integer."""
    converted = _temporal_nanos(name, value)
    kind = converted[0] if converted is not None else None
    accepted = (Kind.DATE, Kind.TIMESTAMP) if dtype.kind is Kind.TIMESTAMP else (dtype.kind,)
    if kind not in accepted:
        raise ParameterError(f"parameter {name!r} of type {dtype.arrow} must be {_EXPECTED[dtype.kind]}, "
                             f"not {type(value).__name__} {value!r}")
    _, nanos, is_utc = converted
    if dtype.kind is Kind.DATE:
        days = nanos // _DAY_NANOS
        ticks = days if dtype.bits == 32 else days * 86_400_000
    else:
        per_tick = 10**9 // dtype.ticks
        if nanos % per_tick:
            raise ParameterError(f"parameter {name!r} = {value!r} is not a whole number of "
                                 f"{dtype.unit} ({dtype.arrow} would lose its precision)")
        ticks = nanos // per_tick
    if dtype.kind is Kind.TIMESTAMP:
        if is_utc and dtype.tz is None:
            raise ParameterError(f"parameter {name!r} = {value!r} has a time zone but {dtype.arrow} "
                                 "has none (pass a naive datetime, as Arrow does not mix them)")
        if not is_utc and dtype.tz is not None and -(1 << 63) <= ticks < 1 << 63:
            ticks = temporal.local_to_utc(ticks, dtype.unit, dtype.tz)  # a wall-clock time in the zone
    if not -(1 << (dtype.bits - 1)) <= ticks < 1 << (dtype.bits - 1):
        raise ParameterError(f"parameter {name!r} = {value!r} is out of the range of {dtype.arrow}")
    return ticks


def _check_decimal(name: str, dtype: DType, value: Any) -> int:
    """A decimal128(p, s) parameter as its unscaled integer (exact, or a ParameterError)."""
    if isinstance(value, pa.Scalar):
        value = value.as_py()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isfinite(value):
        value = decimal.Decimal(repr(value))
    if isinstance(value, bool) or not isinstance(value, int | decimal.Decimal) or (
            isinstance(value, decimal.Decimal) and not value.is_finite()):
        raise ParameterError(f"parameter {name!r} of type {dtype.arrow} must be a decimal.Decimal "
                             f"or an int, not {type(value).__name__} {value!r}")
    unscaled = decimal.Decimal(value).scaleb(dtype.scale, EXACT)
    if unscaled != unscaled.to_integral_value():
        raise ParameterError(f"parameter {name!r} = {value!r} has more than {dtype.scale} decimal "
                             f"places, which {dtype.arrow} holds")
    if abs(int(unscaled)) >= 10**dtype.precision:  # (abs() of a Decimal rounds to 28 digits)
        raise ParameterError(f"parameter {name!r} = {value!r} does not fit {dtype.arrow} "
                             f"(more than {dtype.precision} digits)")
    return int(unscaled)


def check_parameter(name: str, dtype: DType, value: Any) -> Any:
    """``value`` as a Python value of ``dtype``, or a ParameterError naming the parameter."""
    if value is None:
        return None
    if dtype.kind in _EXACT_KINDS:  # (a set: faster than DType.is_temporal on this per-call path)
        if isinstance(value, pa.Scalar) and not value.is_valid or \
                isinstance(value, np.datetime64 | np.timedelta64) and np.isnat(value):
            return None
        if dtype.is_decimal:
            return _check_decimal(name, dtype, value)
        return _check_temporal(name, dtype, value)
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, pa.Scalar):
        value = value.as_py()
        if value is None:
            return None
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

    def __init__(self, compiled: CompiledKernel, layout: KernelLayout, counts: bool = False):
        self.compiled = compiled
        self.layout = layout
        self._type = _COUNTING_KERNEL_TYPE if counts else _KERNEL_TYPE  # (a filter kernel counts)
        self._function = self._type(compiled.address)
        # Every machine code this kernel has run, quick tier first: a morsel that started on
        # the quick code may still be running it when the O3 code replaces it.
        self.tiers: list[CompiledKernel] = [compiled]
        self.pending: Future | None = None  # the O3 compile, while the quick code runs
        # While the O3 compile runs: (the process that started it, how to build it again).
        self.pending_origin: tuple[int, Callable[[], Kernel]] | None = None

    @property
    def optimized(self) -> bool:
        return self.compiled.optimized

    def upgrade(self, compiled: CompiledKernel) -> None:
        """Run ``compiled``, the O3 code of the same IR (so the same layout), from the next morsel on."""
        self.tiers.append(compiled)
        self.compiled = compiled
        self._function = self._type(compiled.address)

    def wait_optimized(self) -> Kernel:
        """This kernel once it runs O3 code (waiting for the background compile if need be)."""
        pending = self.pending
        if pending is not None:
            pending.result()  # (raises what the compile raised)
        return self

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
            out: int, start: int, end: int) -> int | None:
        """Evaluate rows ``[start, end)`` (``start`` a multiple of 64); ``out`` is where row
        ``start``'s output goes (for a filter, its bitmap word). A filter kernel returns how
        many rows it kept."""
        params_address = None if params is None else params.ctypes.data
        return self._function(*arguments, params_address, start, end, out)

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
