"""The public face: ``compile_filter`` and the :class:`Filter` it returns."""

from __future__ import annotations

import copy
import ctypes
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from .cache import LRUCache
from .compiled import KERNELS, Compiled, Data, InputTypeError, ParamValues, Segment
from .compiler import ast
from .compiler import typed_ir as tir
from .compiler import types as T
from .compiler.ast import quote_name
from .compiler.codegen import KernelLayout, Nulls, generate
from .compiler.jit import Target, host_target
from .compiler.parameterize import LiteralToken, hide_literals, literal_template, restore_literals
from .compiler.pipeline import FrontEnd, back_end, front_end
from .compiler.registry import BUILTINS, Registry
from .compiler.userfunctions import DEFAULT as DEFAULT_FUNCTIONS
from .compiler.userfunctions import Functions, as_registry
from .errors import ParameterError, SchemaMismatchError
from .runtime import outputs
from .runtime import threads as parallel
from .runtime.kernel import Kernel

Stage = Literal["ast", "typed", "llvm", "optimized", "asm", "passes"]
STAGES: tuple[str, ...] = ("ast", "typed", "llvm", "optimized", "asm")
# Views beside the stages: "passes" is the O3 pipeline pass by pass (compiler/passes.py).
VIEWS: tuple[str, ...] = (*STAGES, "passes")

SchemaLike = pa.Schema | Mapping[str, "str | pa.DataType"]

# Below one selected row in this many, a filtered batch is gathered by
# position rather than compressed from the selection bitmap.
SPARSE_RATIO = 64

_KERNELS = KERNELS  # the process's compiled kernels (see compiled.py)

# Filters by expression text and schema, so compile_filter on a seen pair is a lookup.
_FILTERS: LRUCache[Filter] = LRUCache(capacity=512)


def normalize_schema(schema: SchemaLike) -> pa.Schema:
    """A ``pa.Schema`` from a schema or a mapping of names to types or type names."""
    if isinstance(schema, pa.Schema):
        return schema
    if not isinstance(schema, Mapping):
        raise InputTypeError(f"schema must be a pyarrow.Schema or a mapping, not {type(schema).__name__}")
    fields = []
    for name, type_ in schema.items():
        if not isinstance(name, str):
            raise SchemaMismatchError(f"column names must be strings, not {type(name).__name__} {name!r}")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise SchemaMismatchError(f"column name {name!r} is not valid Unicode") from None
        if isinstance(type_, str):
            try:
                type_ = T.arrow_type_from_name(type_)
            except ValueError as e:
                raise SchemaMismatchError(f"column {name!r}: {e}") from None
        elif not isinstance(type_, pa.DataType):
            raise SchemaMismatchError(f"column {name!r}: {type_!r} is not an Arrow type or type name")
        fields.append(pa.field(name, type_))
    return pa.schema(fields)


def _column_types(schema: pa.Schema) -> dict[str, T.DType | str]:
    return {field.name: T.from_arrow(field.type) or str(field.type) for field in schema}


class Filter(Compiled):
    """A predicate compiled to machine code for a set of column types.

    Call it on a ``pa.RecordBatch`` or ``pa.Table`` (or a reader, a pandas or
    polars DataFrame, any Arrow PyCapsule producer: see inputs.py) to get
    the rows where the predicate is true; ``mask``, ``indices`` and ``count``
    give the other forms of the answer. A Filter is safe to call from
    several threads, and pickles as its expression, schema and options (it
    compiles again where it is unpickled, from the on-disk cache if warm).

    Parameters (``x > :lo``) get their values at each call, as keywords
    (``f(batch, lo=2.0)``) or as a mapping (``params={"lo": 2.0}``); None is
    SQL null. A new value needs no new compilation.
    """

    def __init__(self, front: FrontEnd, schema: pa.Schema, target: Target, shape: tir.TypedNode,
                 hidden: Mapping[str, int | float], threads: int | None = None,
                 registry: Registry = BUILTINS, *,
                 param_types: Mapping[str, Any] | None = None, parameterize: bool = True):
        self.expression = front.text
        self.registry = registry  # the functions it was compiled with (a snapshot)
        self._front: FrontEnd | None = front
        self._shape = shape
        # What compile_filter was given besides the expression and schema (for pickling).
        self._param_types = dict(param_types or {})
        self._parameterize = parameterize
        super().__init__(schema, target, (shape,), hidden, threads)

    def __copy__(self) -> Filter:
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        return twin

    def __reduce__(self):
        """Pickled as the expression, the referenced columns' schema and the options; compiled
        again when unpickled (machine code from the on-disk cache when it is there)."""
        return (compile_filter, (self.expression, self.schema, self._param_types or None,
                                 self._parameterize, self.threads))

    def _back_end(self, nulls: Nulls, quick: bool = False, source: str | None = None) -> Kernel:
        layout, compiled = back_end(self._shape, nulls, self._target, quick, source)
        return Kernel(compiled, layout, counts=True)

    def _on_dictionary(self, segment: Segment, params: ParamValues, values: Mapping[str, Any],
                       allocate) -> int | None:
        """A predicate on one dictionary-encoded column is evaluated once per dictionary value.

        Each row then takes its value's result through its index (a null
        index is a null row: not kept). Returns the rows kept.
        """
        import pyarrow.compute as pc  # (imported when needed: it takes ~50 ms to import)
        if len(self.columns) != 1:
            return None
        array = segment.arrays[0]
        name = next(iter(self.columns))
        # Every dictionary value, and a null last: what a null row gives (`s is null` keeps it).
        dictionary = array.dictionary
        entries = pa.concat_arrays([dictionary, pa.nulls(1, dictionary.type)])
        batch = pa.RecordBatch.from_arrays([entries], names=[name])
        ((_, buffer, _),) = self._bitmaps(batch, params, values, threads=1)
        kept_entries = outputs.mask_array(buffer, len(entries))
        indices = pc.fill_null(array.indices, len(dictionary))
        rows = pc.take(kept_entries, indices)
        words = np.zeros((segment.length + 63) // 64 * 8, dtype=np.uint8)  # whole words, zero past the end
        kept = rows.to_numpy(zero_copy_only=False)
        packed = np.packbits(kept, bitorder="little")
        words[:len(packed)] = packed
        ctypes.memmove(allocate(segment)(0), words.ctypes.data, len(words))
        return int(np.count_nonzero(kept))

    def _with_literals(self, expression: str, hidden: Mapping[str, int | float],
                       threads: int | None) -> Filter:
        """The same compiled shape for another expression that differs only in hidden literals."""
        twin = copy.copy(self)
        twin.threads = threads
        twin.expression = expression
        twin._front = None  # parsed again only if someone asks for its AST
        twin._hidden = dict(hidden)
        twin._packed_literals = None
        return twin

    def _run(self, data: Data, params: ParamValues, values: Mapping[str, Any], threads: int | None,
             every_column: bool, allocate, keep: list | None = None) -> int:
        try:
            return super()._run(data, params, values, threads, every_column, allocate, keep)
        except SchemaMismatchError:  # (raised before any output is allocated)
            twin = self._for_string_layouts(data.schema)
            if twin is None:
                raise
        return twin._run(data, params, values, threads, every_column, allocate, keep)

    def _for_string_layouts(self, schema: pa.Schema) -> Filter | None:
        """This filter compiled for ``schema`` where its string columns differ from the compiled
        ones only in how the strings are laid out (string, large_string, string_view), else None.

        pandas 3 and polars hand out large_string where a schema said string: a string is a
        string, and the kernel for the other layout is one compile (then a cache hit) away.
        """
        fields, changed = [], False
        for field in self.schema:
            index = schema.get_field_index(field.name)
            if index < 0:
                return None
            actual = schema.field(index).type
            actual = actual.value_type if pa.types.is_dictionary(actual) else actual
            if actual != field.type:
                if not (_is_text(actual) and _is_text(field.type)):
                    return None
                field, changed = field.with_type(actual), True
            fields.append(field)
        if not changed:
            return None
        return compile_filter(self.expression, pa.schema(fields), self._param_types or None,
                              self._parameterize, self.threads, self.registry)

    def _bitmaps(self, data: Data, params: ParamValues, values: Mapping[str, Any], threads: int | None,
                 every_column: bool = False) -> list[tuple[Segment, pa.Buffer, np.ndarray]]:
        """Evaluate the predicate on every run of rows: each run's bitmap buffer and words."""
        return self._counted_bitmaps(data, params, values, threads, every_column)[0]

    def _counted_bitmaps(self, data: Data, params: ParamValues, values: Mapping[str, Any],
                         threads: int | None, every_column: bool = False
                         ) -> tuple[list[tuple[Segment, pa.Buffer, np.ndarray]], int]:
        """:meth:`_bitmaps` and the rows kept (the kernels count them as they store each word)."""
        results = []

        def allocate(segment: Segment):
            buffer, words = outputs.new_words(segment.length)
            results.append((segment, buffer, words))
            address = words.ctypes.data  # (a ctypes attribute: slow enough to look up once)
            return lambda start: address + start // 8

        kept = self._run(data, params, values, threads, every_column, allocate)
        return results, kept

    # -- the answers -------------------------------------------------------
    # Each answer reads any kind of input through inputs.py and gives it back
    # in the caller's kind; the Arrow-level work is in the _select, _mask,
    # _indices and _count methods below, on one RecordBatch or Table.
    def __call__(self, data: Any, /, params: ParamValues = None, *, threads: int | None = None,
                 **values: Any) -> Any:
        """The rows of ``data`` where the predicate is true: all columns, the same kind as the input.

        A RecordBatch gives a RecordBatch, a Table a Table, a RecordBatchReader
        a lazy RecordBatchReader (each batch filtered as it is read), a pandas
        DataFrame a DataFrame (index labels kept), a polars DataFrame a polars
        DataFrame; another Arrow producer (``__arrow_c_stream__`` or
        ``__arrow_c_array__``) gives a Table.
        """
        source = self._input(data, params, values)
        return source.rows(partial(self._select, params=params, values=values, threads=threads),
                           partial(self._mask, params=params, values=values, threads=threads),
                           self.threads if threads is None else threads)

    def mask(self, data: Any, /, params: ParamValues = None, *, threads: int | None = None,
             **values: Any) -> Any:
        """True where the predicate is true; false where it is false or null.

        A BooleanArray for a RecordBatch; a ChunkedArray for a Table, a reader
        (which it reads to the end) or another Arrow producer; a boolean
        Series on the frame's index for pandas; a polars Series for polars.
        """
        source = self._input(data, params, values)
        return source.mask(partial(self._mask, params=params, values=values, threads=threads))

    def indices(self, data: Any, /, params: ParamValues = None, *, threads: int | None = None,
                **values: Any) -> Any:
        """The positions of the selected rows (UInt64 when the input has 2**32 rows or more).

        A UInt32Array (or UInt64Array) for a RecordBatch, a Table or another
        Arrow producer; a ChunkedArray of positions in the whole stream for a
        reader (which it reads to the end); a numpy array for pandas (for
        ``df.iloc``); a polars Series for polars.
        """
        source = self._input(data, params, values)
        return source.indices(partial(self._indices, params=params, values=values, threads=threads))

    def count(self, data: Any, /, params: ParamValues = None, *, threads: int | None = None,
              **values: Any) -> int:
        """How many rows the predicate keeps (a reader is read to the end)."""
        source = self._input(data, params, values)
        return source.count(partial(self._count, params=params, values=values, threads=threads))

    def _select(self, data: Data, params: ParamValues, values: Mapping[str, Any],
                threads: int | None) -> Data:
        if data.num_columns == 0:
            # Nothing to copy: the answer is just how many rows there are.
            return data.slice(0, self._count(data, params, values, threads))
        batches = []
        workers = parallel.resolve(self.threads if threads is None else threads)
        for segment, buffer, words in self._bitmaps(data, params, values, threads, every_column=True):
            count = outputs.count(words)
            if count * SPARSE_RATIO < segment.length:
                # Few rows: fetch just those (a compress would read every row of every column).
                selection, _ = outputs.indices([(0, words)], segment.length)
                columns = [outputs.take(column, selection) for column in segment.batch.columns]
            else:
                # Hand columns to the pool only when there is enough to copy to pay for the hand-off.
                big = segment.length * segment.batch.num_columns >= parallel.MIN_MORSEL_ROWS
                columns = parallel.run([partial(outputs.compress, column, buffer, words, count)
                                        for column in segment.batch.columns], workers if big else 1)
            batches.append(pa.RecordBatch.from_arrays(columns, schema=data.schema))
        if isinstance(data, pa.RecordBatch):
            return batches[0]
        return pa.Table.from_batches(batches, schema=data.schema)

    def _mask(self, data: Data, params: ParamValues, values: Mapping[str, Any],
              threads: int | None) -> pa.BooleanArray | pa.ChunkedArray:
        masks = [outputs.mask_array(buffer, segment.length)
                 for segment, buffer, _ in self._bitmaps(data, params, values, threads)]
        if isinstance(data, pa.RecordBatch):
            return masks[0]
        return pa.chunked_array(masks, type=pa.bool_())

    def _indices(self, data: Data, params: ParamValues, values: Mapping[str, Any],
                 threads: int | None) -> pa.UInt32Array | pa.UInt64Array:
        bitmaps = self._bitmaps(data, params, values, threads)
        chunks = [(segment.first, words) for segment, _, words in bitmaps]
        return outputs.indices(chunks, data.num_rows)[0]

    def _count(self, data: Data, params: ParamValues, values: Mapping[str, Any],
               threads: int | None) -> int:
        return self._counted_bitmaps(data, params, values, threads)[1]

    # -- looking inside ------------------------------------------------------
    def ir(self, stage: Stage = "optimized", annotate: bool = False) -> str:
        """The expression at one stage of compilation: ast, typed, llvm, optimized or asm.

        ``passes`` shows the O3 pipeline between llvm and optimized pass by
        pass: each pass that changed the kernel, with a unified diff.
        The llvm stage names values after the sub-expressions they compute
        and notes their spans; with ``annotate`` it starts with the row loop
        grouped under the expression, each sub-expression underlined, and
        the asm stage marks each run of instructions with the sub-expression
        it computes (from DWARF line tables, see compiler/debuginfo.py).
        The LLVM stages show the kernel for the schema's nullability (a
        nullable field is read with its validity bitmap).
        """
        if stage == "ast":
            return ast.dump(self._parsed().syntax)
        if stage == "typed":
            typed = tir.dump(restore_literals(self._shape, self._hidden))
            if not self._hidden:
                return typed
            values = ", ".join(f"{name} = {value!r}" for name, value in self._hidden.items())
            return (f"{typed}\n; the kernel is shared by every filter of this shape; "
                    f"it reads these literals as parameters: {values}")
        return self._kernel_stage(stage, annotate)

    def _html_expressions(self) -> list[tuple[str | None, str]]:
        return [(None, self.expression)]

    def _source_roots(self) -> tuple[list[tir.TypedNode], list[tuple[str, str | None]]]:
        # The kernel's shape may come from another text of the same shape
        # (`x > 3.5` reuses the code of `x > 2.0`): its spans are redone for this text.
        front = self._parsed()
        shape = front.typed
        if self._hidden:
            _, tokens = literal_template(self.expression)
            shape, _, _ = _hide(self.expression, front.typed, tokens)
        if tir.canonical(shape) != tir.canonical(self._shape):  # pragma: no cover - defensive
            shape = self._shape
        return [shape], [(self.expression, None)]

    def _record_sources(self, roots: list[tir.TypedNode], nulls: Nulls,
                        recorded: dict[str, tir.TypedNode]) -> None:
        generate(roots[0], KernelLayout.plan(roots[0], nulls), sources=recorded)

    def _parsed(self) -> FrontEnd:
        if self._front is None:
            self._front = front_end(self.expression, {n: t for n, t in self.columns.items()},
                                    dict(self.parameters), self.registry)
        return self._front

    @property
    def target(self) -> Target:
        return self._target

    def __repr__(self) -> str:
        columns = ", ".join(f"{quote_name(name)}: {dtype}" for name, dtype in self.columns.items())
        params = "".join(f", :{name}: {dtype}" for name, dtype in self.parameters.items())
        return f"<arrowjit.Filter {self.expression!r} on ({columns}{params})>"


def _parameter_types(params: Mapping[str, Any] | None) -> dict[str, T.DType]:
    if params is not None and not isinstance(params, Mapping):
        raise ParameterError(f"params must map parameter names to types, not {type(params).__name__}")
    types = {}
    for name, type_ in (params or {}).items():
        try:
            arrow_type = T.arrow_type_from_name(type_) if isinstance(type_, str) else type_
        except ValueError as e:
            raise ParameterError(f"parameter {name!r}: {e}") from None
        dtype = T.from_arrow(arrow_type) if isinstance(arrow_type, pa.DataType) else None
        if dtype is None or dtype.is_string or dtype.kind is T.Kind.INTERVAL:
            raise ParameterError(f"parameter {name!r}: {type_!r} is not a type arrowjit can use "
                                 "(bool, integers, floats, dates, times, timestamps, durations, "
                                 "decimal128)")
        types[name] = dtype
    return types


@dataclass(frozen=True)
class _Shape:
    """A compiled filter reachable from its literal template (see compiler/parameterize.py).

    ``roles`` says, for each number literal of the template in order, either
    ``("hidden", ((name, negated), ...))``: its value is passed as these
    hidden parameters (one literal can meet operands of two types, as in
    ``x < 5 < i``); or ``("baked", text)``: it is compiled into the code, so
    another expression matches only with the same text there.
    """

    prototype: Filter
    roles: tuple[tuple, ...]

    def bind(self, expr: str, tokens: tuple[LiteralToken, ...], threads: int | None) -> Filter | None:
        """The prototype with ``expr``'s literal values, or None if ``expr`` needs its own code."""
        hidden = dict(self.prototype._hidden)
        dtypes = dict(self.prototype._all_parameters)
        for token, role in zip(tokens, self.roles):
            if role[0] == "baked":
                if token.text != role[1]:
                    return None
                continue
            for name, negated in role[1]:
                value = -token.value() if negated else token.value()
                dtype = dtypes[name]
                if isinstance(value, int) and not (-(2**63) <= value < 2**64):
                    return None  # the literal itself is out of range: let the compiler say so
                if dtype.is_integer and not (isinstance(value, int)
                                             and dtype.min_value() <= value <= dtype.max_value()):
                    return None
                hidden[name] = float(value) if dtype.is_float else value
        return self.prototype._with_literals(expr, hidden, threads)


_SHAPES: LRUCache[_Shape] = LRUCache(capacity=512)


def _hide(expr: str, typed: tir.TypedNode, tokens: tuple[LiteralToken, ...]
          ) -> tuple[tir.TypedNode, dict[str, int | float], tuple[tuple, ...] | None]:
    """Hide the literals the template can find again; their roles, or None if one is lost."""
    by_end = {token.end: token for token in tokens}

    def hideable(const: tir.Const) -> bool:
        token = by_end.get(const.span.end)
        return token is not None and expr[const.span.start:token.start].replace(" ", "") in ("", "-")

    shape, hidden = hide_literals(typed, hideable)
    uses: dict[int, list[tuple[str, bool]]] = {}
    for name, const in hidden.items():
        token = by_end[const.span.end]
        negated = expr[const.span.start:token.start].strip() == "-"
        uses.setdefault(token.end, []).append((name, negated))
    # A literal that is also compiled in somewhere (`i8 < 5 < i`: baked for the
    # narrow column, hidden for i) only matches the same text.
    baked_ends = {node.span.end for node in tir.walk(shape) if isinstance(node, tir.Const)}
    all_roles = tuple(("hidden", tuple(uses[token.end]))
                      if token.end in uses and token.end not in baked_ends else ("baked", token.text)
                      for token in tokens)
    return shape, {name: const.value for name, const in hidden.items()}, all_roles


def _is_text(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) \
        or pa.types.is_string_view(arrow_type)


def compile_filter(expr: str, schema: SchemaLike, params: Mapping[str, Any] | None = None,
                   parameterize: bool = True, threads: int | None = None,
                   registry: Functions | Registry | None = None) -> Filter:
    """Compile a filter expression for the column types in ``schema``.

    ``schema`` is a ``pyarrow.Schema`` or a mapping such as
    ``{"x": "float64"}`` or ``{"x": pa.float64()}``. Only the columns the
    expression names matter; others may have any type. ``params`` optionally
    gives the types of parameters (``{"lo": "int32"}``); otherwise a
    parameter takes the type of what it is compared with.

    Compiling the same expression for the same types again returns the
    cached Filter. With ``parameterize`` (the default), literals that do not
    shape the code (``2.5`` in ``x > 2.5``) are passed to the kernel as
    hidden parameters, so ``x > 3.1`` reuses the kernel of ``x > 2.5``
    without parsing or compiling anything.

    ``threads`` is how many threads each call uses by default (None: every
    core); each call can override it with ``threads=``.

    ``registry`` is the set of user functions the expression may call (an
    :class:`arrowjit.Functions`); None: ``arrowjit.functions``, the set
    ``arrowjit.register_function`` fills.
    """
    if threads is not None:
        parallel.resolve(threads)  # reject a bad value now
    if params is not None and not isinstance(params, Mapping):
        raise ParameterError(f"params must map parameter names to types, not {type(params).__name__}")
    arrow_schema = normalize_schema(schema)
    target = host_target()
    functions = as_registry(registry, DEFAULT_FUNCTIONS)
    param_key = tuple(sorted((name, str(t)) for name, t in (params or {}).items()))
    schema_key = tuple((f.name, str(f.type), f.nullable) for f in arrow_schema)
    key = (expr, schema_key, param_key, parameterize, threads, target, functions.fingerprint)
    cached = _FILTERS.get(key) if isinstance(expr, str) else None
    if cached is not None:
        return cached
    if parameterize and isinstance(expr, str):
        template, tokens = literal_template(expr)
        # threads do not shape the code
        shape_key = (template, schema_key, param_key, target, functions.fingerprint)
        known = _SHAPES.get(shape_key)
        bound = known.bind(expr, tokens, threads) if known is not None else None
        if bound is not None:
            return _FILTERS.put(key, bound)
    names = arrow_schema.names
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise SchemaMismatchError(f"the schema names column {duplicated[0]!r} more than once")
    try:
        parameter_types = _parameter_types(params)
    except ValueError as e:
        raise ParameterError(str(e)) from None
    front = front_end(expr, _column_types(arrow_schema), parameter_types, functions)
    unused = sorted(set(parameter_types) - set(tir.parameters(front.typed)))
    if unused:
        raise ParameterError(f"params gives a type for {unused[0]!r}, which the expression does not use")
    if not parameterize:
        return _FILTERS.put(key, Filter(front, arrow_schema, target, front.typed, {}, threads, functions,
                                        param_types=params, parameterize=False))
    shape, hidden, roles = _hide(expr, front.typed, tokens)
    compiled = Filter(front, arrow_schema, target, shape, hidden, threads, functions, param_types=params)
    _SHAPES.put(shape_key, _Shape(compiled, roles))
    return _FILTERS.put(key, compiled)
