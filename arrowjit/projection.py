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

import pyarrow as pa

from .compiled import Compiled, Data, ParamValues, Segment
from .compiler import ast
from .compiler import typed_ir as tir
from .compiler import types as T
from .compiler.codegen import Nulls
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


class Projection(Compiled):
    """Expressions compiled to one kernel that computes a column for each.

    Call it on a ``pa.RecordBatch`` (or ``pa.Table``) to get a RecordBatch
    (or Table) with one column per expression, named as given.
    """

    def __init__(self, fronts: Sequence[FrontEnd], names: Sequence[str], schema: pa.Schema,
                 target: Target, threads: int | None = None, *,
                 param_types: Mapping[str, Any] | None = None):
        self.expressions = [front.text for front in fronts]
        self.names = list(names)
        self._fronts = list(fronts)
        self._param_types = dict(param_types or {})  # for pickling
        super().__init__(schema, target, [front.typed for front in fronts], {}, threads)
        self.output_schema = pa.schema([pa.field(name, front.typed.dtype.arrow)
                                        for name, front in zip(self.names, fronts)])

    def _back_end(self, nulls: Nulls) -> Kernel:
        layout, compiled = back_end_projection(self._shapes, nulls, self._target)
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
                width = shape.dtype.bits
                size = (length + 63) // 64 * 8 if shape.dtype == T.BOOL else length * width // 8
                buffers.append((pa.allocate_buffer(max(size, 8)),
                                pa.allocate_buffer(max((length + 63) // 64 * 8, 8))))
            batches.append((segment, buffers))

            def out_for(start: int) -> int:
                outs = (ctypes.c_void_p * (2 * len(buffers)))()
                for k, (shape, (data_buffer, validity)) in enumerate(zip(self._shapes, buffers)):
                    step = start // 8 if shape.dtype == T.BOOL else start * shape.dtype.bits // 8
                    outs[2 * k] = data_buffer.address + step
                    outs[2 * k + 1] = validity.address + start // 8
                keep_alive.append(outs)
                return ctypes.addressof(outs)
            return out_for

        self._run(data, params, values, threads, False, allocate)
        results = []
        for segment, buffers in batches:
            columns = [pa.Array.from_buffers(field.type, segment.length, [validity, data_buffer],
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
    return Projection(fronts, names, arrow_schema, host_target(), threads, param_types=params)


class Query:
    """A filter and a projection: the projections of the rows where the predicate is true."""

    def __init__(self, where: Filter | None, select: Projection):
        self.where = where
        self.select = select

    def __reduce__(self):
        return (Query, (self.where, self.select))

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
            rows = self.where._select(arrow.select(needed), where_params, {}, threads)
            return compute(rows)

        return source.queried(query, mask, compute, self.select.output_schema)

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
