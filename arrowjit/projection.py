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
from typing import Any

import numpy as np
import pyarrow as pa

from .compiled import Compiled, Data, ParamValues, Segment
from .compiler import ast
from .compiler import typed_ir as tir
from .compiler import types as T
from .compiler.codegen import Nulls, value_bytes
from .compiler.jit import Target, host_target
from .compiler.pipeline import FrontEnd, back_end_projection, front_end_values
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
from .runtime.kernel import Kernel
from .runtime.native import native


class Projection(Compiled):
    """Expressions compiled to one kernel that computes a column for each.

    Call it on a ``pa.RecordBatch`` (or ``pa.Table``) to get a RecordBatch
    (or Table) with one column per expression, named as given.
    """

    def __init__(self, fronts: Sequence[FrontEnd], names: Sequence[str], schema: pa.Schema,
                 target: Target, threads: int | None = None):
        self.expressions = [front.text for front in fronts]
        self.names = list(names)
        self._fronts = list(fronts)
        super().__init__(schema, target, [front.typed for front in fronts], {}, threads)
        self.output_schema = pa.schema([pa.field(name, front.typed.dtype.arrow)
                                        for name, front in zip(self.names, fronts)])

    def _back_end(self, nulls: Nulls) -> Kernel:
        layout, compiled = back_end_projection(self._shapes, nulls, self._target)
        return Kernel(compiled, layout)

    def __call__(self, data: Data, /, params: ParamValues = None, *, threads: int | None = None,
                 **values: Any) -> Data:
        """One column per expression, for every row of ``data`` (a RecordBatch or a Table)."""
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

    def ir(self, stage: Stage = "optimized") -> str:
        """The projection at one stage of compilation: ast, typed, llvm, optimized or asm."""
        if stage == "ast":
            return "\n".join(f"{name}: {ast.dump(front.syntax)}"
                             for name, front in zip(self.names, self._fronts))
        if stage == "typed":
            return "\n".join(f"{name}: {tir.dump(shape)}" for name, shape in zip(self.names, self._shapes))
        return self._kernel_stage(stage)

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
                       params: Mapping[str, Any] | None = None, threads: int | None = None) -> Projection:
    """Compile expressions into one kernel that computes a column for each.

    ``exprs`` is a list of expression strings (each column is named by its
    text) or a dict of output name to expression.
    """
    names, texts = _named(exprs)
    if not texts:
        raise ArrowJitError("compile_projection needs at least one expression")
    if len(set(names)) != len(names):
        raise SchemaMismatchError("two outputs of the projection have the same name")
    arrow_schema = normalize_schema(schema)
    fronts = front_end_values(texts, _column_types(arrow_schema), _parameter_types(params))
    return Projection(fronts, names, arrow_schema, host_target(), threads)


class Query:
    """A filter and a projection: the projections of the rows where the predicate is true."""

    def __init__(self, where: Filter | None, select: Projection):
        self.where = where
        self.select = select

    def __call__(self, data: Data, /, params: ParamValues = None, *, threads: int | None = None,
                 **values: Any) -> Data:
        given = dict(params or {}) | values
        if self.where is not None:
            needed = list(dict.fromkeys([*self.where.columns, *self.select.columns]))
            own = {name: given[name] for name in self.where.parameters if name in given}
            data = self.where(data.select(needed), params=own, threads=threads)
        own = {name: given[name] for name in self.select.parameters if name in given}
        return self.select(data, params=own, threads=threads)

    def __repr__(self) -> str:
        where = f" where {self.where.expression!r}" if self.where is not None else ""
        return f"<arrowjit.Query select {self.select.names}{where}>"


def compile_query(schema: SchemaLike, select: Sequence[str] | Mapping[str, str],
                  where: str | None = None, params: Mapping[str, Any] | None = None,
                  threads: int | None = None) -> Query:
    """Compile ``select`` expressions evaluated only on the rows where ``where`` is true.

    The filter runs first; the projection kernel then reads just the
    selected rows of the columns it needs (compressed natively).
    """
    arrow_schema = normalize_schema(schema)
    projection = compile_projection(select, arrow_schema, params=params, threads=threads)
    condition = None
    if where is not None:
        own = {name: t for name, t in (params or {}).items()}
        condition = compile_filter(where, arrow_schema, params=own or None, threads=threads)
    return Query(condition, projection)
