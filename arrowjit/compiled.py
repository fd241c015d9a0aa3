"""What every compiled object shares: reading Arrow input, parameters, kernel variants, threads.

:class:`~arrowjit.filter.Filter` and :class:`~arrowjit.projection.Projection`
are both expressions compiled to a kernel for a set of column types. This
base class holds the parts they share: the typed IR the kernel computes (its
*shapes*), the parameters and hidden literals, the kernel variants by which
inputs hold nulls, the checks on the data handed to a call, and running a
kernel over every run of rows on the thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .cache import LRUCache
from .compiler import typed_ir as tir
from .compiler import types as T
from .compiler.codegen import Nulls
from .compiler.jit import Target
from .errors import InputTypeError, ParameterError, SchemaMismatchError
from .runtime import threads as parallel
from .runtime.buffers import column_buffers
from .runtime.kernel import Kernel, check_parameter, pack_parameters

Data = pa.RecordBatch | pa.Table
ParamValues = Mapping[str, Any] | None

# Compiled kernels, shared by every compiled object in the process: the key
# is the typed IR (which names the columns and their types), which inputs
# have nulls, and the target CPU.
KERNELS: LRUCache[Kernel] = LRUCache(capacity=512)


@dataclass(frozen=True)
class Segment:
    """Rows ``first .. first+length`` of the input with the referenced columns' chunks."""

    first: int
    length: int
    arrays: tuple[pa.Array, ...]
    batch: pa.RecordBatch | None  # all the columns of these rows, where known


class Compiled:
    """Expressions compiled to one kernel (per nulls variant) for a set of column types.

    Subclasses say how a kernel is built (:meth:`_back_end`) and what a call
    returns.
    """

    def __init__(self, schema: pa.Schema, target: Target, shapes: Sequence[tir.TypedNode],
                 hidden: Mapping[str, int | float], threads: int | None):
        self.threads = threads  # default for calls; None: every core
        self._target = target
        # The kernel computes `shapes`: the typed IR with the literals that do
        # not shape the code turned into hidden parameters, whose values are
        # `hidden` (see compiler/parameterize.py).
        self._shapes = tuple(shapes)
        self._hidden = dict(hidden)
        self._packed_literals: np.ndarray | None = None
        self._all_parameters = tuple(tir.parameters(self._shapes).items())
        self.columns: dict[str, T.DType] = tir.columns(self._shapes)
        self.parameters: dict[str, T.DType] = {
            name: dtype for name, dtype in self._all_parameters if name not in self._hidden}
        self.schema = pa.schema([schema.field(name) for name in self.columns])
        # The variant compiled up front and shown by .ir(): nullable fields
        # read with their validity bitmaps, parameters not null.
        self._default_nulls = Nulls(frozenset(f.name for f in self.schema if f.nullable))
        self._kernels: dict[Nulls, Kernel] = {}
        self._lock = threading.Lock()
        self._kernel(self._default_nulls)

    def _kernel_stage(self, stage: str) -> str:
        """The default kernel's LLVM IR (before or after optimization) or assembly."""
        kernel = self._kernel(self._default_nulls)
        if stage == "llvm":
            return kernel.compiled.llvm_ir
        if stage == "optimized":
            return kernel.compiled.optimized_ir
        if stage == "asm":
            return kernel.compiled.assembly()
        raise ValueError(f"unknown stage {stage!r}; choose one of ast, typed, llvm, optimized, asm")

    # -- compiling --------------------------------------------------------
    def _back_end(self, nulls: Nulls) -> Kernel:  # pragma: no cover - every subclass has one
        raise NotImplementedError

    def _kernel(self, nulls: Nulls) -> Kernel:
        kernel = self._kernels.get(nulls)
        if kernel is None:
            key = (type(self).__name__, tuple(tir.canonical(s) for s in self._shapes),
                   tuple(self.columns.items()), nulls, self._target)
            kernel = KERNELS.get_or_create(key, lambda: self._back_end(nulls))
            with self._lock:
                self._kernels.setdefault(nulls, kernel)
        return kernel

    # -- reading the input -------------------------------------------------
    def _arrays(self, columns: Mapping[str, pa.DataType], get, what: str) -> list:
        arrays = []
        for name, dtype in self.columns.items():
            actual = columns.get(name)
            if actual is None:
                available = ", ".join(columns) or "no columns"
                raise SchemaMismatchError(
                    f"column {name!r} ({dtype}) is missing from the {what} (it has: {available})")
            if actual != dtype.arrow and not (pa.types.is_dictionary(actual)
                                              and actual.value_type == dtype.arrow):
                raise SchemaMismatchError(
                    f"column {name!r}: it was compiled for {dtype}, "
                    f"but the {what} has {actual}")
            arrays.append(get(name))
        return arrays

    def _segments(self, data: Data, every_column: bool = False) -> Iterator[Segment]:
        """Runs of rows whose referenced columns are each one contiguous array.

        A table's columns may be chunked at different rows; the runs are cut
        at every column's chunk boundaries (only the referenced columns', or
        with ``every_column`` all of them, for outputs that copy every column).
        """
        if isinstance(data, pa.RecordBatch):
            names = data.schema.names
            if len(set(names)) != len(names):
                self._check_duplicates(names)
            types = {f.name: f.type for f in data.schema}
            arrays = self._arrays(types, data.column, "batch")
            yield Segment(0, data.num_rows, tuple(arrays), data)
        elif isinstance(data, pa.Table):
            names = data.schema.names
            if len(set(names)) != len(names):
                self._check_duplicates(names)
            types = {f.name: f.type for f in data.schema}
            self._arrays(types, lambda name: None, "table")
            if not self.columns and not every_column:
                yield Segment(0, data.num_rows, (), None)
                return
            first = 0
            for batch in (data if every_column else data.select(list(self.columns))).to_batches():
                arrays = tuple(batch.column(name) for name in self.columns)
                yield Segment(first, batch.num_rows, arrays, batch)
                first += batch.num_rows
        else:
            raise InputTypeError(
                f"{type(self).__name__} reads a pyarrow.RecordBatch or pyarrow.Table, not "
                f"{type(data).__name__} (for pandas DataFrames use df.arrowjit.query, .mask or .eval)")

    def _check_duplicates(self, names: list[str]) -> None:
        for name in self.columns:
            if names.count(name) > 1:
                raise SchemaMismatchError(f"column {name!r} appears {names.count(name)} times in the data")

    def _pack(self, params: ParamValues, values: Mapping[str, Any]) -> tuple[np.ndarray | None, frozenset]:
        """Check the call's parameter values; the kernel's params struct and the null parameters."""
        if not params and not values and not self.parameters:
            # Only literals: their struct never changes.
            if self._packed_literals is None:
                self._packed_literals = pack_parameters(self._all_parameters, self._hidden)
            return self._packed_literals, frozenset()
        if params is not None and not isinstance(params, Mapping):
            raise ParameterError(f"params must map parameter names to values, not {type(params).__name__}")
        given = dict(params or {})
        for name in values:
            if name in given:
                raise ParameterError(f"parameter {name!r} is given twice")
        given.update(values)
        unknown = sorted(set(given) - set(self.parameters))
        if unknown:
            expected = ", ".join(f":{n}" for n in self.parameters) or "no parameters"
            raise ParameterError(f"unknown parameter {unknown[0]!r}; the expression has {expected}")
        missing = [name for name in self.parameters if name not in given]
        if missing:
            raise ParameterError(f"missing a value for parameter {missing[0]!r} "
                                 f"({self.parameters[missing[0]]})")
        checked = {name: check_parameter(name, dtype, given[name])
                   for name, dtype in self.parameters.items()}
        null = frozenset(name for name, value in checked.items() if value is None)
        return pack_parameters(self._all_parameters, checked | self._hidden), null

    def _on_dictionary(self, segment: Segment, params: ParamValues, values: Mapping[str, Any],
                       allocate: Callable[[Segment], Callable[[int], int]]) -> bool:
        """A chance to evaluate a run with dictionary-encoded columns without decoding them.

        Returns whether it did; otherwise the columns are decoded first.
        """
        return False

    def _run(self, data: Data, params: ParamValues, values: Mapping[str, Any], threads: int | None,
             every_column: bool, allocate: Callable[[Segment], Callable[[int], int]],
             keep: list | None = None) -> None:
        """Run the kernel on every run of rows of ``data``.

        ``allocate(segment)`` makes the run's outputs and returns the address
        the kernel writes to for a morsel starting at a given row. All runs,
        cut into morsels of whole 64-row blocks, go to the thread pool
        together, so both one long batch and a table of many chunks use
        every thread.
        """
        threads = parallel.resolve(self.threads if threads is None else threads)
        packed, null_parameters = self._pack(params, values)
        tasks = []
        scratches: list[np.ndarray] = []
        checks: list = []
        for segment in self._segments(data, every_column):
            if any(pa.types.is_dictionary(array.type) for array in segment.arrays):
                if self._on_dictionary(segment, params, values, allocate):
                    continue
                segment = replace(segment, arrays=tuple(
                    _decode(array) if pa.types.is_dictionary(array.type) else array
                    for array in segment.arrays))
            # The kernel checks the order of string offsets itself, block by block.
            buffers = [column_buffers(array, name, dtype, check_order=False)
                       for array, (name, dtype) in zip(segment.arrays, self.columns.items())]
            nullable = frozenset(name for name, b in zip(self.columns, buffers)
                                 if b.validity_address is not None)
            kernel = self._kernel(Nulls(nullable, null_parameters))
            out_for = allocate(segment)
            if segment.length:
                scratch = kernel.scratch(buffers, segment.length)
                if scratch is not None:
                    scratches.append(scratch)
                arguments = kernel.arguments(buffers, scratch)
                checks.append((kernel, arguments))
                tasks.extend(partial(kernel.run, arguments, packed, out_for(start), start, end)
                             for start, end in parallel.row_ranges(segment.length, threads))
        parallel.run(tasks, threads)
        for kernel, arguments in checks:
            kernel.check_offsets(arguments)
        for scratch in scratches:
            Kernel.check_scratch(scratch)
        if keep is not None:  # string results may point into scratch memory: the caller keeps it
            keep.extend(scratches)


def _decode(array: pa.DictionaryArray) -> pa.Array:
    """The values of a dictionary-encoded array (Arrow has no take for string_view: via large_string)."""
    if array.type.value_type == pa.string_view():
        return pc.take(array.dictionary.cast(pa.large_string()), array.indices).cast(pa.string_view())
    return array.dictionary_decode()
