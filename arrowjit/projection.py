"""Projections: compute columns from expressions (Gandiva's Projector), and queries that filter too.

``compile_projection(["x * 2 + y", "x > y"], schema)`` compiles every
expression into one kernel that writes each result column (values and
validity) for a block of 64 rows at a time, vectorized like the filter
kernels. ``compile_query(schema, select=..., where=...)`` filters first and
computes the projections for the selected rows only.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from .compiled import Compiled, Data, ParamValues, Segment
from .compiler import ast
from .compiler import typed_ir as tir
from .compiler import types as T
from .compiler.codegen import KernelLayout, Nulls, generate_projection, value_bytes
from .compiler.jit import Target, host_target
from .compiler.pipeline import (
    FrontEnd,
    back_end_projection,
    back_end_selected_projection,
    front_end_values,
)
from .compiler.registry import BUILTINS, Registry
from .compiler.selection import supports
from .compiler.userfunctions import DEFAULT as DEFAULT_FUNCTIONS
from .compiler.userfunctions import Functions, as_registry
from .errors import ArrowJitError, SchemaMismatchError
from .filter import (
    Filter,
    SchemaLike,
    Stage,
    _column_types,
    _parameter_types,
    compile_filter,
    normalize_schema,
)
from .runtime import outputs
from .runtime import threads as parallel
from .runtime.kernel import Kernel
from .runtime.native import native


class Projection(Compiled):
    """Expressions compiled to one kernel that computes a column for each.

    Call it on a ``pa.RecordBatch`` (or ``pa.Table``) to get a RecordBatch
    (or Table) with one column per expression, named as given.
    """

    def __init__(self, fronts: Sequence[FrontEnd], names: Sequence[str], schema: pa.Schema,
                 target: Target, threads: int | None = None, registry: Registry = BUILTINS, *,
                 param_types: Mapping[str, Any] | None = None):
        self.expressions = [front.text for front in fronts]
        self.registry = registry  # the functions it was compiled with (a snapshot)
        self.names = list(names)
        self._fronts = list(fronts)
        self._param_types = dict(param_types or {})  # for pickling
        super().__init__(schema, target, [front.typed for front in fronts], {}, threads)
        self.output_schema = pa.schema([pa.field(name, front.typed.dtype.arrow)
                                        for name, front in zip(self.names, fronts)])

    def _back_end(self, nulls: Nulls, quick: bool = False, source: str | None = None) -> Kernel:
        layout, compiled = back_end_projection(self._shapes, nulls, self._target, quick, source)
        return Kernel(compiled, layout)

    def __reduce__(self):
        """Pickled as the expressions, the referenced columns' schema and the options; compiled
        again when unpickled (machine code from the on-disk cache when it is there)."""
        return (compile_projection, (dict(zip(self.names, self.expressions)), self.schema,
                                     self._param_types or None, self.threads))

    def __call__(self, data: Any, /, params: ParamValues = None, *, threads: int | None = None,
                 **values: Any) -> Any:
        """One column per expression, for every row of ``data``.

        A RecordBatch gives a RecordBatch and a Table a Table, a
        RecordBatchReader a lazy reader, a pandas DataFrame a DataFrame on
        the same index, a polars DataFrame a polars DataFrame, another Arrow
        producer a Table (see inputs.py).
        """
        source = self._input(data, params, values)
        return source.computed(partial(self._compute, params=params, values=values, threads=threads),
                               self.output_schema)

    def _compute(self, data: Data, params: ParamValues, values: Mapping[str, Any],
                 threads: int | None) -> Data:
        batches = []
        keep_alive = []

        def allocate(segment: Segment):
            length = segment.length
            buffers = []
            for shape in self._shapes:
                size = (length + 63) // 64 * 8 if shape.dtype == T.BOOL else length * value_bytes(shape.dtype)
                buffers.append((pa.allocate_buffer(max(size, 8)),
                                pa.allocate_buffer(max((length + 63) // 64 * 8, 8))))
            batches.append((segment, buffers))

            def out_for(start: int) -> int:
                outs = (ctypes.c_void_p * (2 * len(buffers)))()
                for k, (shape, (data_buffer, validity)) in enumerate(zip(self._shapes, buffers)):
                    step = start // 8 if shape.dtype == T.BOOL else start * value_bytes(shape.dtype)
                    outs[2 * k] = data_buffer.address + step
                    outs[2 * k + 1] = validity.address + start // 8
                keep_alive.append(outs)
                return ctypes.addressof(outs)
            return out_for

        scratch: list = []  # string results point into it until they are copied out
        self._run(data, params, values, threads, False, allocate, keep=scratch)
        results = []
        for segment, buffers in batches:
            columns = [_string_column(field.type, segment.length, data_buffer, validity)
                       if field.type in (pa.utf8(), pa.large_utf8())
                       else pa.Array.from_buffers(field.type, segment.length, [validity, data_buffer],
                                                  null_count=-1)
                       for field, (data_buffer, validity) in zip(self.output_schema, buffers)]
            results.append(pa.RecordBatch.from_arrays(columns, schema=self.output_schema))
        if isinstance(data, pa.RecordBatch):
            return results[0]
        return pa.Table.from_batches(results, schema=self.output_schema)

    def ir(self, stage: Stage = "optimized", annotate: bool = False) -> str:
        """The projection at one stage of compilation: ast, typed, llvm, optimized or asm.

        ``passes`` and ``annotate`` as for :meth:`Filter.ir`.
        """
        if stage == "ast":
            return "\n".join(f"{name}: {ast.dump(front.syntax)}"
                             for name, front in zip(self.names, self._fronts))
        if stage == "typed":
            return "\n".join(f"{name}: {tir.dump(shape)}" for name, shape in zip(self.names, self._shapes))
        return self._kernel_stage(stage, annotate)

    def _html_expressions(self) -> list[tuple[str | None, str]]:
        return [(name, text) for name, text in zip(self.names, self.expressions)]

    def _source_roots(self) -> tuple[list[tir.TypedNode], list[tuple[str, str | None]]]:
        texts = [(front.text, name if name != front.text else None)
                 for name, front in zip(self.names, self._fronts)]
        return list(self._shapes), texts

    def _record_sources(self, roots: list[tir.TypedNode], nulls: Nulls,
                        recorded: dict[str, tir.TypedNode]) -> None:
        generate_projection(roots, KernelLayout.plan(roots, nulls), sources=recorded)

    def __repr__(self) -> str:
        outputs = ", ".join(f"{name}: {field.type}" for name, field in zip(self.names, self.output_schema))
        return f"<arrowjit.Projection {outputs}>"


def _string_column(arrow_type: pa.DataType, length: int, views: pa.Buffer, validity: pa.Buffer) -> pa.Array:
    """A utf8 (or large_utf8) column from the kernel's {pointer, length} views (null rows: empty)."""
    pairs = np.frombuffer(views, dtype=np.int64, count=2 * length).reshape(length, 2)
    valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=length, bitorder="little")
    lengths = np.where(valid.astype(bool), pairs[:, 1], 0)
    offsets = np.zeros(length + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    large = arrow_type == pa.large_utf8()
    if not large:
        if total > np.iinfo(np.int32).max:
            raise ArrowJitError(f"a string output of {total} bytes is too long for a utf8 column "
                                "(2 GiB); split the input into smaller batches")
        offsets = offsets.astype(np.int32)
    data = pa.allocate_buffer(max(total, 1))
    if length:
        native().copy_views(64 if large else 32)(pairs.ctypes.data, offsets.ctypes.data, length, data.address)
    kind = pa.LargeStringArray if large else pa.StringArray
    return kind.from_buffers(length, pa.py_buffer(offsets), data, validity, null_count=-1)


def _named(exprs: Sequence[str] | Mapping[str, str]) -> tuple[list[str], list[str]]:
    if isinstance(exprs, str):
        raise ArrowJitError("compile_projection takes a list of expressions or a dict of name to "
                            "expression, not one string")
    if isinstance(exprs, Mapping):
        return list(exprs), list(exprs.values())
    texts = list(exprs)
    return texts, texts


def compile_projection(exprs: Sequence[str] | Mapping[str, str], schema: SchemaLike,
                       params: Mapping[str, Any] | None = None, threads: int | None = None,
                       registry: Functions | Registry | None = None) -> Projection:
    """Compile expressions into one kernel that computes a column for each.

    ``exprs`` is a list of expression strings (each column is named by its
    text) or a dict of output name to expression. ``registry``: the user
    functions the expressions may call (None: ``arrowjit.functions``).
    """
    names, texts = _named(exprs)
    if not texts:
        raise ArrowJitError("compile_projection needs at least one expression")
    if len(set(names)) != len(names):
        raise SchemaMismatchError("two outputs of the projection have the same name")
    arrow_schema = normalize_schema(schema)
    functions = as_registry(registry, DEFAULT_FUNCTIONS)
    fronts = front_end_values(texts, _column_types(arrow_schema), _parameter_types(params), functions)
    return Projection(fronts, names, arrow_schema, host_target(), threads, functions,
                      param_types=params)


class _SelectedProjection(Projection):
    """A query's projection: its kernel computes and writes only the rows a selection bitmap keeps.

    See :mod:`arrowjit.compiler.selection`. The output positions of each
    morsel are known before the kernel runs: the popcount of the bitmap
    words before it.
    """

    @classmethod
    def of(cls, projection: Projection) -> _SelectedProjection:
        return cls(projection._fronts, projection.names, projection.schema, projection._target,
                   projection.threads, projection.registry, param_types=projection._param_types)

    def __reduce__(self):
        return (_selected_projection, super().__reduce__())

    def _back_end(self, nulls: Nulls, quick: bool = False, source: str | None = None) -> Kernel:
        layout, compiled = back_end_selected_projection(self._shapes, nulls, self._target, quick, source)
        return Kernel(compiled, layout)

    def _compute(self, *args: Any, **kwargs: Any) -> Data:
        # Its kernel reads a selection bitmap: running it as a plain projection would not do.
        raise TypeError("a query's selected projection runs only through Query")

    def selected(self, batch: pa.RecordBatch, words: np.ndarray, params: ParamValues,
                 threads: int | None) -> pa.RecordBatch:
        """The outputs for the rows of ``batch`` whose bit is set in ``words``."""
        workers = parallel.resolve(self.threads if threads is None else threads)
        firsts, total = {}, 0
        for start, end in parallel.row_ranges(batch.num_rows, workers):  # the morsels _run makes
            firsts[start] = total
            total += outputs.count(words[start // 64:(end + 63) // 64])
        bitmap_bytes = ((total + 63) // 64 + 1) * 8  # a word more: bits are OR-ed in past the end
        buffers = []
        for shape in self._shapes:
            if shape.dtype == T.BOOL:
                values = outputs.zeroed_buffer(bitmap_bytes)
            else:
                values = pa.allocate_buffer(max(total * shape.dtype.bits // 8, 8))
            buffers.append((values, outputs.zeroed_buffer(bitmap_bytes)))
        keep_alive = []

        def allocate(segment: Segment):
            def out_for(start: int) -> int:
                outs = (ctypes.c_void_p * (2 * len(buffers) + 2))()
                for k, (shape, (values, validity)) in enumerate(zip(self._shapes, buffers)):
                    step = 0 if shape.dtype == T.BOOL else firsts[start] * shape.dtype.bits // 8
                    outs[2 * k] = values.address + step
                    outs[2 * k + 1] = validity.address
                outs[2 * len(buffers)] = words.ctypes.data
                outs[2 * len(buffers) + 1] = firsts[start]
                keep_alive.append(outs)
                return ctypes.addressof(outs)
            return out_for

        self._run(batch, params, {}, threads, False, allocate)
        columns = [pa.Array.from_buffers(field.type, total, [validity, values], null_count=-1)
                   for field, (values, validity) in zip(self.output_schema, buffers)]
        return pa.RecordBatch.from_arrays(columns, schema=self.output_schema)


def _selected_projection(compile, args) -> _SelectedProjection:
    """Unpickle a query's projection: compile it again, as a projection over a selection."""
    return _SelectedProjection.of(compile(*args))


class Query:
    """A filter and a projection: the projections of the rows where the predicate is true.

    Per run of rows, the filter kernel makes the selection bitmap, and the
    projection kernel computes the outputs of the selected rows only, reading
    the columns in place (Gandiva's projector with a selection vector).
    Outputs of other types (strings) are computed on the filtered rows instead.
    """

    def __init__(self, where: Filter | None, select: Projection,
                 selected: _SelectedProjection | None = None):
        self.where = where
        self.select = select
        # The same projections compiled to read the filter's selection bitmap (None: the
        # outputs' types need the filtered rows). Some inputs (pandas) take the plain path.
        self._selected_projection = selected

    def __reduce__(self):
        return (Query, (self.where, self.select, self._selected_projection))

    def __call__(self, data: Any, /, params: ParamValues = None, *, threads: int | None = None,
                 **values: Any) -> Any:
        """The projections of the rows where the predicate is true, in the input's kind
        (as :meth:`Projection.__call__`; a pandas result keeps the kept rows' index labels)."""
        given = dict(params or {}) | values
        select_params = {name: given[name] for name in self.select.parameters if name in given}
        compute = partial(self.select._compute, params=select_params, values={}, threads=threads)
        if self.where is None:
            return self.select._input(data, select_params, {}).computed(compute, self.select.output_schema)
        where_params = {name: given[name] for name in self.where.parameters if name in given}
        needed = list(dict.fromkeys([*self.where.columns, *self.select.columns]))
        source = self.where._input(data, where_params, {}, columns=needed)
        if source.stream_schema is not None:
            self.select._check_schema(source.stream_schema)
            self.select._pack(select_params, {})
        mask = partial(self.where._mask, params=where_params, values={}, threads=threads)

        def query(arrow: Data) -> Data:
            if self._selected_projection is not None:
                return self._selected(arrow.select(needed), where_params, select_params, threads)
            rows = self.where._select(arrow.select(needed), where_params, {}, threads)
            return compute(rows)

        return source.queried(query, mask, compute, self.select.output_schema)

    def _selected(self, data: Data, where_params: dict, select_params: dict,
                  threads: int | None) -> Data:
        """Per run of rows: the filter's bitmap, then the projection of the selected rows only."""
        results = []
        selected = self._selected_projection
        for segment in selected._segments(data, every_column=True):
            ((_, _, words),) = self.where._bitmaps(segment.batch, where_params, {}, threads)
            results.append(selected.selected(segment.batch, words, select_params, threads))
        if isinstance(data, pa.RecordBatch):
            return results[0]
        return pa.Table.from_batches(results, schema=self.select.output_schema)

    def __repr__(self) -> str:
        where = f" where {self.where.expression!r}" if self.where is not None else ""
        return f"<arrowjit.Query select {self.select.names}{where}>"


def compile_query(schema: SchemaLike, select: Sequence[str] | Mapping[str, str],
                  where: str | None = None, params: Mapping[str, Any] | None = None,
                  threads: int | None = None, registry: Functions | Registry | None = None) -> Query:
    """Compile ``select`` expressions evaluated only on the rows where ``where`` is true.

    Per run of rows, the filter's bitmap selects the rows, and the projection
    kernel computes just those, reading the columns in place.
    """
    arrow_schema = normalize_schema(schema)
    projection = compile_projection(select, arrow_schema, params=params, threads=threads,
                                    registry=registry)
    if where is None:
        return Query(None, projection)
    own = {name: t for name, t in (params or {}).items()}
    condition = compile_filter(where, arrow_schema, params=own or None, threads=threads,
                               registry=registry)
    selected = _SelectedProjection.of(projection) if supports(projection._shapes) else None
    return Query(condition, projection, selected)
