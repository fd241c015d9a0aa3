"""What every compiled object shares: reading Arrow input, parameters, kernel variants, threads.

:class:`~arrowjit.filter.Filter` and :class:`~arrowjit.projection.Projection`
are both expressions compiled to a kernel for a set of column types. This
base class holds the parts they share: the typed IR the kernel computes (its
*shapes*), the parameters and hidden literals, the kernel variants by which
inputs hold nulls, the checks on the data handed to a call, and running a
kernel over every run of rows on the thread pool.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from . import highlight
from .cache import LRUCache
from .compiler import debuginfo, source_map
from .compiler import typed_ir as tir
from .compiler import types as T
from .compiler.codegen import Nulls
from .compiler.jit import Target
from .compiler.passes import PassReport, pass_report
from .errors import ArrowJitError, CompilerError, InputTypeError, ParameterError, SchemaMismatchError
from .inputs import Input, read
from .runtime import threads as parallel
from .runtime.buffers import column_buffers
from .runtime.kernel import Kernel, check_parameter, pack_parameters

Data = pa.RecordBatch | pa.Table
ParamValues = Mapping[str, Any] | None

# Compiled kernels, shared by every compiled object in the process: the key
# is the typed IR (which names the columns and their types), which inputs
# have nulls, and the target CPU.
KERNELS: LRUCache[Kernel] = LRUCache(capacity=512)


# This process's compile threads, by (name, process id): a forked child has
# the parent's executor objects but not their threads, so it starts its own.
_EXECUTORS: dict[tuple[str, int], ThreadPoolExecutor] = {}
_EXECUTORS_LOCK = threading.Lock()


def _executor(name: str) -> ThreadPoolExecutor:
    key = (name, os.getpid())
    found = _EXECUTORS.get(key)
    if found is None:
        with _EXECUTORS_LOCK:
            found = _EXECUTORS.get(key)
            if found is None:
                for other in [k for k in _EXECUTORS if k[1] != key[1]]:
                    del _EXECUTORS[other]  # a parent's threads do not exist here
                found = _EXECUTORS[key] = ThreadPoolExecutor(max_workers=1,
                                                             thread_name_prefix=f"arrowjit-{name}")
    return found


def _background() -> ThreadPoolExecutor:
    """One thread that compiles the exact kernel variants calls will want next."""
    return _executor("compile")


def _tier_up() -> ThreadPoolExecutor:
    """One thread that compiles at O3 the kernels that run quick code meanwhile.

    (Apart from :func:`_background`: a variant compiled there may wait for a
    kernel's O3 code, which must not be queued behind it.)
    """
    return _executor("optimize")


def tiered() -> bool:
    """Whether new kernels start as quick code (``ARROWJIT_TIERED=0``: compile O3 at once)."""
    return os.environ.get("ARROWJIT_TIERED", "1").strip().lower() not in ("0", "false", "no", "off")


def _optimize(kernel: Kernel, build: Callable[[], Kernel]) -> None:
    kernel.upgrade(build().compiled)
    kernel.pending_origin = None  # (``build`` holds the compiled object: let it go)


def _start_optimizing(kernel: Kernel, build: Callable[[], Kernel]) -> None:
    """Compile ``kernel``'s O3 code on the tier-up thread; it replaces the quick code when done."""
    kernel.pending_origin = (os.getpid(), build)
    kernel.pending = _tier_up().submit(_optimize, kernel, build)


def _optimized(kernel: Kernel) -> Kernel:
    """``kernel`` once it runs O3 code (waiting for it if need be)."""
    origin = kernel.pending_origin
    if origin is not None and origin[0] != os.getpid() and not kernel.pending.done():
        # Forked while the parent compiled it: that compile never finishes here.
        _start_optimizing(kernel, origin[1])
    return kernel.wait_optimized()


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
        # Each column's name, type and Arrow type, for the checks on every call.
        self._expected = tuple((name, dtype, dtype.arrow) for name, dtype in self.columns.items())
        self.parameters: dict[str, T.DType] = {
            name: dtype for name, dtype in self._all_parameters if name not in self._hidden}
        self.schema = pa.schema([schema.field(name) for name in self.columns])
        # The variant compiled up front and shown by .ir(): nullable fields
        # read with their validity bitmaps, parameters not null.
        self._default_nulls = Nulls(frozenset(f.name for f in self.schema if f.nullable))
        self._kernels: dict[Nulls, Kernel] = {}
        self._pending: set[Nulls] = set()  # variants being compiled in the background
        self._lock = threading.Lock()
        # Quick code at once when the expression is new; O3 code replaces it in the background.
        self._kernel(self._default_nulls, quick=tiered())

    def _kernel_stage(self, stage: str, annotate: bool = False) -> str:
        """The default kernel's LLVM IR (before or after optimization) or assembly.

        The unoptimized IR carries source comments (the span each named
        value computes); ``annotate`` puts the row loop first, grouped under
        the sub-expressions with their spans underlined.
        """
        kernel = self._kernel(self._default_nulls)
        if stage == "llvm":
            return self._source_view(kernel.compiled.llvm_ir, annotate)
        if stage == "optimized":
            return kernel.compiled.optimized_ir
        if stage == "asm":
            if annotate:
                sources, _, whole = self._source_info()
                return debuginfo.annotated_assembly(kernel.compiled.llvm_ir, sources, whole, self._target)
            return kernel.compiled.assembly()
        if stage == "passes":
            return self.passes().render()
        raise ValueError(f"unknown stage {stage!r}; choose one of ast, typed, llvm, passes, optimized, asm")

    def passes(self) -> PassReport:
        """The O3 pipeline on the default kernel pass by pass (``.ir("passes")`` renders it).

        ``report.changed`` lists the passes that changed the module, each
        with ``.diff()``; ``report.unchanged_counts()`` counts the others.
        """
        kernel = self._kernel(self._default_nulls)
        report = pass_report(kernel.compiled.llvm_ir, self._target)
        if report.final != kernel.compiled.optimized_ir:  # pragma: no cover - a bug if it happens
            raise CompilerError("the pass-by-pass run did not reproduce the kernel's optimized IR")
        return report

    def _source_roots(self) -> tuple[list[tir.TypedNode], list[tuple[str, str | None]]]:
        """The kernel's expressions with spans into their texts, and (text, output name) for each."""
        raise NotImplementedError  # pragma: no cover - every subclass has one

    def _record_sources(self, roots: list[tir.TypedNode], nulls: Nulls,
                        recorded: dict[str, tir.TypedNode]) -> None:
        """Generate the kernel's IR again (no LLVM) to learn which node each named value computes."""
        raise NotImplementedError  # pragma: no cover - every subclass has one

    def _source_info(self) -> tuple[dict[str, source_map.Source], dict[str, list[source_map.Source]],
                                    list[source_map.Source]]:
        """Where the kernel's values come from: by value name, by registry function, and whole."""
        roots, texts = self._source_roots()
        recorded: dict[str, tir.TypedNode] = {}
        self._record_sources(roots, self._default_nulls, recorded)
        sources = source_map.sources_of(recorded, texts, roots)
        functions: dict[str, list[source_map.Source]] = {}
        for root, (text, output) in zip(roots, texts):
            for node in tir.walk(root):
                if isinstance(node, tir.Call | tir.Cast):
                    found = source_map.Source(text, node.span, output)
                    callers = functions.setdefault(node.function.symbol, [])
                    if found not in callers:
                        callers.append(found)
        whole = [source_map.Source(text, root.span, output) for root, (text, output) in zip(roots, texts)]
        return sources, functions, whole

    def _source_view(self, llvm_ir: str, annotate: bool) -> str:
        sources, functions, whole = self._source_info()
        commented = source_map.annotate(llvm_ir, sources, functions, whole)
        if not annotate:
            return commented
        return (f"{source_map.listing(llvm_ir, sources)}\n"
                f"; the whole module, with the same source comments:\n\n{commented}")

    def _html_expressions(self) -> list[tuple[str | None, str]]:
        """(output name or None, expression text) for the HTML view."""
        raise NotImplementedError  # pragma: no cover - every subclass has one

    def _repr_html_(self) -> str:
        """Jupyter's view: the expression, the column types, and every stage in a collapsed block.

        (The pass-by-pass view is left out: it runs the pipeline again in a
        child process; ``.ir("passes")`` shows it.)
        """
        from .filter import STAGES

        stages = []
        for stage in STAGES:
            try:
                text = self.ir(stage)  # type: ignore[attr-defined]
            except ArrowJitError as e:  # pragma: no cover - shown rather than raised from a repr
                text = f"error: {e}"
            stages.append((stage, text))
        return highlight.html_view(type(self).__name__, self._html_expressions(), self.columns,
                                   self.parameters, stages)

    # -- compiling --------------------------------------------------------
    def _back_end(self, nulls: Nulls, quick: bool = False,
                  source: str | None = None) -> Kernel:  # pragma: no cover
        """The kernel for ``nulls``: O3 code, or (``quick``) quick code unless the disk has O3 code;
        ``source`` is its IR when generated before."""
        raise NotImplementedError  # every subclass has one

    def _kernel(self, nulls: Nulls, quick: bool = False) -> Kernel:
        """The kernel for inputs holding nulls as ``nulls`` says, compiled if need be.

        Unless ``quick``, it runs O3 code (waiting for its compile); a quick
        kernel is one that runs now, and runs O3 code as soon as it is ready.
        """
        kernel = self._kernels.get(nulls)
        if kernel is None:
            key = (type(self).__name__, tuple(tir.canonical(s) for s in self._shapes),
                   tuple(self.columns.items()), nulls, self._target)
            kernel = KERNELS.get_or_create(key, lambda: self._new_kernel(nulls, quick))
            with self._lock:
                kernel = self._kernels.setdefault(nulls, kernel)
        return kernel if quick else _optimized(kernel)

    def _new_kernel(self, nulls: Nulls, quick: bool) -> Kernel:
        kernel = self._back_end(nulls, quick)
        if not kernel.optimized:  # quick code: O3 in the background (two tiers, see jit.py)
            _start_optimizing(kernel, partial(self._back_end, nulls, source=kernel.compiled.source))
        return kernel

    def _kernel_for(self, wanted: Nulls) -> Kernel:
        """The kernel for a call whose inputs hold nulls as ``wanted`` says, without waiting if possible.

        A kernel that reads a column's validity also runs correctly on a chunk
        without nulls (it is handed a bitmap of ones). So when the variant
        compiled up front covers the call, it runs now, and the exact variant,
        a little faster, is compiled in the background for the calls after:
        the first result never waits for a second compile.
        """
        kernel = self._kernels.get(wanted)
        if kernel is not None:
            return kernel
        general = self._kernels.get(replace(self._default_nulls, parameters=wanted.parameters))
        if general is None or not wanted.columns <= self._default_nulls.columns:
            return self._kernel(wanted, quick=tiered())
        with self._lock:
            start = wanted not in self._pending
            self._pending.add(wanted)
        if start:
            _background().submit(self._kernel, wanted)
        return general

    # -- reading the input -------------------------------------------------
    def _arrays(self, columns: Mapping[str, pa.DataType], get, what: str) -> list:
        arrays = []
        for name, dtype, arrow in self._expected:
            actual = columns.get(name)
            if actual is None:
                available = ", ".join(columns) or "no columns"
                raise SchemaMismatchError(
                    f"column {name!r} ({dtype}) is missing from the {what} (it has: {available})")
            if actual != arrow and not (pa.types.is_dictionary(actual) and actual.value_type == arrow):
                raise SchemaMismatchError(
                    f"column {name!r}: it was compiled for {dtype}, "
                    f"but the {what} has {actual}")
            arrays.append(get(name))
        return arrays

    def _batch_arrays(self, batch: pa.RecordBatch) -> list[pa.Array] | None:
        """The referenced columns of a batch whose names and types are as compiled, else None.

        (The common case of every call on a small batch, in as few steps as possible.)
        """
        arrays = []
        for name, _, arrow in self._expected:
            try:
                array = batch.column(name)  # (a missing or repeated name raises KeyError)
            except KeyError:
                return None
            if array.type != arrow:
                return None
            arrays.append(array)
        return arrays

    def _segments(self, data: Data, every_column: bool = False) -> Iterator[Segment]:
        """Runs of rows whose referenced columns are each one contiguous array.

        A table's columns may be chunked at different rows; the runs are cut
        at every column's chunk boundaries (only the referenced columns', or
        with ``every_column`` all of them, for outputs that copy every column).
        """
        if isinstance(data, pa.RecordBatch):
            arrays = self._batch_arrays(data)
            if arrays is None:  # something is off: the checks below say what
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
            # (other inputs are read into these by inputs.py before they get here)
            raise InputTypeError(
                f"{type(self).__name__}'s kernels run on a pyarrow.RecordBatch or pyarrow.Table, not "
                f"{type(data).__name__}")

    def _input(self, data: Any, params: ParamValues, values: Mapping[str, Any],
               columns: Sequence[str] | None = None) -> Input:
        """What the caller handed over, read as Arrow (see inputs.py).

        Data read lazily (a RecordBatchReader) is checked now, against the
        columns and parameters, rather than at its first batch.
        """
        source = read(data, list(self.columns) if columns is None else columns)
        if source.stream_schema is not None:
            self._check_schema(source.stream_schema)
            self._pack(params, values)
        return source

    def _check_schema(self, schema: pa.Schema) -> None:
        names = schema.names
        if len(set(names)) != len(names):
            self._check_duplicates(names)
        self._arrays({f.name: f.type for f in schema}, lambda name: None, "data")

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
                       allocate: Callable[[Segment], Callable[[int], int]]) -> int | None:
        """A chance to evaluate a run with dictionary-encoded columns without decoding them.

        Returns None when it did not (the columns are then decoded first), else
        what the kernel would have returned (a filter: the rows kept).
        """
        return None

    def _run(self, data: Data, params: ParamValues, values: Mapping[str, Any], threads: int | None,
             every_column: bool, allocate: Callable[[Segment], Callable[[int], int]],
             keep: list | None = None) -> int:
        """Run the kernel on every run of rows of ``data``; for a filter, return the rows kept.

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
        kept = 0  # by runs evaluated on their dictionaries
        # Every run's arrays stay referenced until the kernels have run: a run of decoded
        # dictionaries exists only here, and the kernels read its buffers by address.
        live: list[Segment] = []
        for segment in self._segments(data, every_column):
            if any(pa.types.is_dictionary(array.type) for array in segment.arrays):
                done = self._on_dictionary(segment, params, values, allocate)
                if done is not None:
                    kept += done
                    continue
                segment = replace(segment, arrays=tuple(
                    _decode(array) if pa.types.is_dictionary(array.type) else array
                    for array in segment.arrays))
            # The kernel checks the order of string offsets itself, block by block.
            buffers = [column_buffers(array, name, dtype, check_order=False)
                       for array, (name, dtype) in zip(segment.arrays, self.columns.items())]
            nullable = frozenset(name for name, b in zip(self.columns, buffers)
                                 if b.validity_address is not None)
            kernel = self._kernel_for(Nulls(nullable, null_parameters))
            live.append(segment)
            out_for = allocate(segment)
            if segment.length:
                scratch = kernel.scratch(buffers, segment.length)
                if scratch is not None:
                    scratches.append(scratch)
                arguments = kernel.arguments(buffers, scratch)
                checks.append((kernel, arguments))
                tasks.extend(partial(kernel.run, arguments, packed, out_for(start), start, end)
                             for start, end in parallel.row_ranges(segment.length, threads))
        counts = parallel.run(tasks, threads)
        del live  # (the kernels are done with the runs' buffers)
        for kernel, arguments in checks:
            kernel.check_offsets(arguments)
        for scratch in scratches:
            Kernel.check_scratch(scratch)
        if keep is not None:  # string results may point into scratch memory: the caller keeps it
            keep.extend(scratches)
        return kept + sum(count or 0 for count in counts)  # (a projection kernel returns None)


def _decode(array: pa.DictionaryArray) -> pa.Array:
    """The values of a dictionary-encoded array (Arrow has no take for string_view: via large_string)."""
    if array.type.value_type == pa.string_view():
        import pyarrow.compute as pc  # (imported when needed: it takes ~50 ms to import)

        return pc.take(array.dictionary.cast(pa.large_string()), array.indices).cast(pa.string_view())
    return array.dictionary_decode()
