"""Any Arrow data in, the same kind out: what a compiled expression reads and how it answers.

A :class:`~arrowjit.filter.Filter`, :class:`~arrowjit.projection.Projection`
or :class:`~arrowjit.projection.Query` computes on Arrow record batches and
tables. :func:`read` turns what the caller handed over into an :class:`Input`
that runs those Arrow-level computations and gives the answer back in the
caller's kind:

==============================  ==================================  =======================
given                           read as                             rows / columns come back as
==============================  ==================================  =======================
``pa.RecordBatch``/``pa.Table``  itself                              the same kind
``pa.RecordBatchReader``         batch by batch, lazily              a lazy ``pa.RecordBatchReader``
pandas ``DataFrame``             the referenced columns (see         pandas, index kept
                                 :mod:`arrowjit.pandas`)
polars ``DataFrame``             ``to_arrow()`` (no copy for         polars
                                 numbers and bools)
``__arrow_c_stream__`` object    a reader over the stream            ``pa.Table``
``__arrow_c_array__`` object     ``pa.record_batch(obj)``            ``pa.Table``
==============================  ==================================  =======================

``mask`` gives a pandas Series (the frame's index) for pandas, a polars Series
for polars and a ``pa.ChunkedArray`` for readers and producers; ``indices``
gives a numpy array for pandas and a polars Series for polars; ``count`` is
always an int. On a reader, ``count``, ``mask`` and ``indices`` consume it.

Nothing here imports pandas or polars: an object is recognized as theirs only
when the module that defines its type is already loaded.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import InputTypeError
from .runtime.outputs import mask_numpy

Arrow = pa.RecordBatch | pa.Table
ArrowFn = Callable[[Arrow], Arrow]
MaskFn = Callable[[Arrow], "pa.BooleanArray | pa.ChunkedArray"]
IndicesFn = Callable[[Arrow], pa.Array]
CountFn = Callable[[Arrow], int]


class Input(ABC):
    """Data handed to a compiled expression: read as Arrow, answered in the caller's kind.

    Every method takes the Arrow-level computation (a function of a
    RecordBatch or Table) and returns its result in the caller's kind.
    ``stream_schema`` is the schema of data that is read lazily (checked by
    the caller before the first batch is read), else None.
    """

    stream_schema: pa.Schema | None = None

    @abstractmethod
    def rows(self, select: ArrowFn, mask: MaskFn, threads: int | None) -> Any:
        """The rows ``select`` keeps (``mask`` is the same predicate as a boolean array;
        ``threads`` the threads a copy of the rows may use)."""

    @abstractmethod
    def mask(self, mask: MaskFn) -> Any:
        """The predicate as a boolean column."""

    @abstractmethod
    def indices(self, indices: IndicesFn) -> Any:
        """The positions of the selected rows."""

    @abstractmethod
    def count(self, count: CountFn) -> int:
        """How many rows are selected."""

    @abstractmethod
    def computed(self, compute: ArrowFn, schema: pa.Schema) -> Any:
        """New columns, one value per row (``schema`` is the result's)."""

    @abstractmethod
    def queried(self, query: ArrowFn, mask: MaskFn, compute: ArrowFn, schema: pa.Schema) -> Any:
        """New columns for the selected rows: ``query`` does both steps on Arrow data;
        ``mask`` and ``compute`` are the two steps apart."""


class ArrowInput(Input):
    """A ``pa.RecordBatch`` or ``pa.Table``: every answer in Arrow's own kind."""

    def __init__(self, data: Arrow):
        self.data = data

    def rows(self, select: ArrowFn, mask: MaskFn, threads: int | None) -> Any:
        return select(self.data)

    def mask(self, mask: MaskFn) -> Any:
        return mask(self.data)

    def indices(self, indices: IndicesFn) -> Any:
        return indices(self.data)

    def count(self, count: CountFn) -> int:
        return count(self.data)

    def computed(self, compute: ArrowFn, schema: pa.Schema) -> Any:
        return compute(self.data)

    def queried(self, query: ArrowFn, mask: MaskFn, compute: ArrowFn, schema: pa.Schema) -> Any:
        return query(self.data)


class ReaderInput(Input):
    """A ``pa.RecordBatchReader``: rows and columns come back as a lazy reader.

    Each batch is read, computed on and handed on when the consumer asks for
    it, so memory holds about one batch at a time. ``mask``, ``indices`` and
    ``count`` read the whole stream (a reader can be read once).
    """

    def __init__(self, reader: pa.RecordBatchReader):
        self.reader = reader
        self.stream_schema = reader.schema

    def _lazy(self, function: ArrowFn, schema: pa.Schema) -> pa.RecordBatchReader:
        batches = (function(batch) for batch in self.reader)
        return pa.RecordBatchReader.from_batches(schema, batches)

    def rows(self, select: ArrowFn, mask: MaskFn, threads: int | None) -> Any:
        return self._lazy(select, self.reader.schema)

    def mask(self, mask: MaskFn) -> Any:
        return pa.chunked_array([mask(batch) for batch in self.reader], type=pa.bool_())

    def indices(self, indices: IndicesFn) -> Any:
        return _stream_indices(self.reader, indices)

    def count(self, count: CountFn) -> int:
        return sum(count(batch) for batch in self.reader)

    def computed(self, compute: ArrowFn, schema: pa.Schema) -> Any:
        return self._lazy(compute, schema)

    def queried(self, query: ArrowFn, mask: MaskFn, compute: ArrowFn, schema: pa.Schema) -> Any:
        return self._lazy(query, schema)


class ProducerInput(ReaderInput):
    """An object exporting an Arrow C stream (a DuckDB relation, ...): answers as a ``pa.Table``.

    The stream is still read batch by batch, so only the result is held.
    """

    def rows(self, select: ArrowFn, mask: MaskFn, threads: int | None) -> Any:
        return super().rows(select, mask, threads).read_all()

    def indices(self, indices: IndicesFn) -> Any:
        return _stream_indices(self.reader, indices).combine_chunks()

    def computed(self, compute: ArrowFn, schema: pa.Schema) -> Any:
        return super().computed(compute, schema).read_all()

    def queried(self, query: ArrowFn, mask: MaskFn, compute: ArrowFn, schema: pa.Schema) -> Any:
        return super().queried(query, mask, compute, schema).read_all()


def _stream_indices(batches: Iterable[pa.RecordBatch], indices: IndicesFn) -> pa.ChunkedArray:
    """Positions in the whole stream: UInt32 below 2**32 rows, else UInt64 (as for a Table)."""
    import pyarrow.compute as pc  # (imported when needed: it takes ~50 ms to import)
    chunks = []
    offset = 0
    for batch in batches:
        positions = indices(batch).cast(pa.uint64())
        chunks.append(pc.add(positions, pa.scalar(offset, pa.uint64())) if offset else positions)
        offset += batch.num_rows
    chunked = pa.chunked_array(chunks, type=pa.uint64())
    return chunked.cast(pa.uint32()) if offset < 2**32 else chunked


class PandasInput(Input):
    """A pandas DataFrame: the referenced columns go to Arrow (as ``df.arrowjit`` does).

    Rows come back as ``df[mask]`` (every column, index labels kept; numeric
    columns compressed natively, see ``frame_rows``), a mask
    as a boolean Series on the frame's index, positions as a numpy array, and
    computed columns as a DataFrame on the index of their rows.
    """

    def __init__(self, frame, columns: Sequence[str]):
        from .pandas import frame_batch

        self.frame = frame
        self.batch = frame_batch(frame, columns)

    def _mask(self, mask: MaskFn) -> np.ndarray:
        return mask_numpy(mask(self.batch))

    def rows(self, select: ArrowFn, mask: MaskFn, threads: int | None) -> Any:
        from .pandas import frame_rows
        return frame_rows(self.frame, mask(self.batch), threads)

    def mask(self, mask: MaskFn) -> Any:
        import pandas as pd
        return pd.Series(self._mask(mask), index=self.frame.index, name=None)

    def indices(self, indices: IndicesFn) -> Any:
        return indices(self.batch).to_numpy()

    def count(self, count: CountFn) -> int:
        return count(self.batch)

    def computed(self, compute: ArrowFn, schema: pa.Schema) -> Any:
        from .pandas import frame_from_arrow
        return frame_from_arrow(compute(self.batch), self.frame.index)

    def queried(self, query: ArrowFn, mask: MaskFn, compute: ArrowFn, schema: pa.Schema) -> Any:
        from .pandas import frame_from_arrow
        kept = self._mask(mask)
        rows = self.batch.filter(pa.array(kept, type=pa.bool_()))
        return frame_from_arrow(compute(rows), self.frame.index[kept])


class PolarsInput(Input):
    """A polars DataFrame, read through ``to_arrow()`` (no copy for numbers and bools).

    Only the referenced columns are exported. Rows come back as
    ``df.filter(mask)`` (polars gathers its own columns, every dtype kept), a
    mask and positions as polars Series, computed columns through
    ``polars.from_arrow`` (no copy).
    """

    def __init__(self, frame, columns: Sequence[str]):
        self.frame = frame
        present = [name for name in columns if name in frame.columns]
        self.table = frame.select(present).to_arrow() if present else _empty_columns(frame.height)

    @property
    def _polars(self):
        return sys.modules["polars"]

    def rows(self, select: ArrowFn, mask: MaskFn, threads: int | None) -> Any:
        return self.frame.filter(self._polars.from_arrow(mask(self.table)))

    def mask(self, mask: MaskFn) -> Any:
        return self._polars.from_arrow(mask(self.table))

    def indices(self, indices: IndicesFn) -> Any:
        return self._polars.from_arrow(indices(self.table))

    def count(self, count: CountFn) -> int:
        return count(self.table)

    def computed(self, compute: ArrowFn, schema: pa.Schema) -> Any:
        return self._polars.from_arrow(compute(self.table))

    def queried(self, query: ArrowFn, mask: MaskFn, compute: ArrowFn, schema: pa.Schema) -> Any:
        return self._polars.from_arrow(query(self.table))


def _empty_columns(rows: int) -> pa.Table:
    """A table with ``rows`` rows and one all-null column: a row count for expressions without columns."""
    return pa.table({"__rows__": pa.nulls(rows)})


def _loaded_instance(data: Any, module: str, name: str) -> bool:
    """Whether ``data`` is a ``module.name``, without importing ``module``."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(cls, type) and isinstance(data, cls)


def _record_batch(data: Any) -> ArrowInput:
    try:
        batch = pa.record_batch(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
        raise _not_data(data, f"it exports an Arrow array that is not a table of columns "
                              f"(a struct array): {e}") from None
    return ArrowInput(pa.Table.from_batches([batch]))


def _stream(data: Any) -> ProducerInput:
    try:
        reader = pa.RecordBatchReader.from_stream(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
        raise _not_data(data, f"it exports an Arrow stream that is not a table of columns "
                              f"(of struct arrays): {e}") from None
    return ProducerInput(reader)


# What to do instead, for (root module, class name or None for any class).
_HINTS: tuple[tuple[str, str | None, str], ...] = (
    ("dask", None, "for a Dask DataFrame, `import arrowjit.dask` and use ddf.arrowjit.query / .mask / .eval"),
    ("polars", "LazyFrame", "collect() the LazyFrame first"),
    ("pandas", "Series", "pass a DataFrame: series.to_frame()"),
    ("polars", "Series", "pass a DataFrame: series.to_frame()"),
)


def _not_data(data: Any, reason: str = "") -> InputTypeError:
    cls = type(data)
    name = f"{cls.__module__}.{cls.__qualname__}"
    root = cls.__module__.split(".")[0]
    hints = [text for module, qualname, text in _HINTS
             if module == root and qualname in (None, cls.__qualname__)]
    return InputTypeError(
        "arrowjit reads a pyarrow RecordBatch, Table or RecordBatchReader, a pandas or polars "
        "DataFrame, or an object with __arrow_c_stream__ / __arrow_c_array__; "
        f"not {name}{': ' + reason if reason else ''}{' (' + hints[0] + ')' if hints else ''}")


# How each kind of input is recognized and read, in order: pandas and polars
# frames also export Arrow streams, and must be met before the generic case.
_KINDS: tuple[tuple[Callable[[Any], bool], Callable[[Any, Sequence[str]], Input]], ...] = (
    (lambda d: isinstance(d, pa.RecordBatch | pa.Table), lambda d, _: ArrowInput(d)),
    (lambda d: isinstance(d, pa.RecordBatchReader), lambda d, _: ReaderInput(d)),
    (lambda d: _loaded_instance(d, "pandas", "DataFrame"), PandasInput),
    (lambda d: _loaded_instance(d, "polars", "DataFrame"), PolarsInput),
    (lambda d: hasattr(type(d), "__arrow_c_stream__"),
     lambda d, _: _stream(d)),
    (lambda d: hasattr(type(d), "__arrow_c_array__"), lambda d, _: _record_batch(d)),
)

def read(data: Any, columns: Sequence[str]) -> Input:
    """``data`` as an :class:`Input`; ``columns`` are the ones the expression reads.

    Raises :class:`~arrowjit.InputTypeError` for anything that is not Arrow
    data, a pandas or polars DataFrame, or an Arrow PyCapsule producer.
    """
    for accepts, make in _KINDS:
        if accepts(data):
            return make(data, columns)
    raise _not_data(data)

