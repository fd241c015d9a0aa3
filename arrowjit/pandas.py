"""``df.arrowjit``: the pandas accessor.

``df.arrowjit.query(expr)`` returns the rows of ``df`` where ``expr`` is true,
as ``DataFrame.query`` does (index labels kept); ``df.arrowjit.mask(expr)``
returns the boolean Series. Only the columns the expression names are handed
to Arrow: numpy-backed columns without copying where their memory is
contiguous. A float NaN stays NaN (IEEE: ``x != 1`` is true for it, as in
``DataFrame.query``); the missing values of pandas' nullable and Arrow-backed
dtypes become SQL nulls.

Importing arrowjit does not import pandas (it takes about half a second):
the accessor is registered as soon as pandas is imported, before or after
arrowjit.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import re
import sys
import threading
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import ParameterError, SchemaMismatchError
from .filter import Filter, compile_filter
from .projection import Projection, compile_projection
from .runtime.outputs import mask_numpy

_registered = threading.Event()


def _arrow_type(dtype, column) -> pa.DataType:
    """The Arrow type a column converts to, found without converting its data."""
    if isinstance(dtype, np.dtype):
        try:
            return pa.from_numpy_dtype(dtype)
        except (pa.ArrowNotImplementedError, TypeError):
            return pa.string() if dtype.kind == "O" else pa.null()
    pyarrow_dtype = getattr(dtype, "pyarrow_dtype", None)
    if pyarrow_dtype is not None:
        return pyarrow_dtype
    try:  # categoricals, time zones, nullable dtypes: convert an empty slice
        return pa.Array.from_pandas(column.iloc[:0]).type
    except (pa.ArrowException, TypeError, ValueError):
        return pa.null()


def _to_arrow(series) -> pa.Array:
    if isinstance(series.dtype, np.dtype):
        return pa.array(series.to_numpy(copy=False))
    array = pa.array(series.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


class ArrowJitAccessor:
    """``df.arrowjit``: compiled filters on a pandas DataFrame."""

    def __init__(self, df):
        self._df = df

    def _schema(self) -> tuple[pa.Schema, set[str]]:
        """The frame's columns as an Arrow schema (first of each label), and the repeated labels."""
        fields = []
        seen: set[str] = set()
        repeated: set[str] = set()
        for position, (name, dtype) in enumerate(self._df.dtypes.items()):
            if not isinstance(name, str):
                continue
            if name in seen:
                repeated.add(name)
                continue
            seen.add(name)
            fields.append(pa.field(name, _arrow_type(dtype, self._df.iloc[:, position])))
        return pa.schema(fields), repeated

    def compiled_filter(self, expr: str, frame, local_dict: Mapping[str, Any] | None = None,
                        global_dict: Mapping[str, Any] | None = None,
                        given: Mapping[str, Any] | None = None) -> tuple[Filter, dict[str, Any]]:
        """``expr`` compiled for this frame's columns, and the values of its ``@name`` parameters.

        The values are ``given``, or looked up from the Python ``frame`` (or
        ``local_dict`` / ``global_dict``) as ``DataFrame.query`` does, and
        compare as pandas compares them (see ``_pandas_types``).
        """
        return self._compiled(lambda schema, params=None: compile_filter(expr, schema, params=params),
                              frame, local_dict, global_dict, given)

    def compiled_projection(self, body: str, frame, local_dict: Mapping[str, Any] | None = None,
                            global_dict: Mapping[str, Any] | None = None,
                            given: Mapping[str, Any] | None = None) -> tuple[Projection, dict[str, Any]]:
        """As :meth:`compiled_filter`, for the value expression ``body``."""
        return self._compiled(lambda schema, params=None: compile_projection([body], schema, params=params),
                              frame, local_dict, global_dict, given)

    def _compiled(self, compile, frame, local_dict, global_dict, given):
        """``compile(schema, params=None)`` for the frame's columns, and its parameters' values
        (given, or taken from the caller's scope), compiled again with pandas' wider types
        where the values need them."""
        schema, repeated = self._schema()
        compiled = compile(schema)
        _check_repeated(compiled.columns, repeated)
        values: dict[str, Any] = {}
        if compiled.parameters:
            values = dict(given) if given is not None else _resolve(
                compiled.parameters, frame, local_dict, global_dict)
            widened = _pandas_types(compiled.parameters, values)
            if widened:
                compiled = compile(schema, params=widened)
        return compiled, values

    def _bitmap_mask(self, expr: str, frame, local_dict: Mapping[str, Any] | None,
                     global_dict: Mapping[str, Any] | None) -> np.ndarray:
        compiled, values = self.compiled_filter(expr, frame, local_dict, global_dict)
        batch = self._batch(compiled.columns)
        return mask_numpy(compiled.mask(batch, params=values))

    def mask(self, expr: str, *, local_dict: Mapping[str, Any] | None = None,
             global_dict: Mapping[str, Any] | None = None, level: int = 0):
        """A boolean Series: True where ``expr`` is true (false and null rows are False).

        ``@name`` (or ``:name``) takes the value of the variable ``name`` from
        the caller's scope (``level`` frames further up), or from
        ``local_dict`` / ``global_dict``, as ``DataFrame.query`` does.
        """
        import pandas as pd
        mask = self._bitmap_mask(expr, sys._getframe(level + 1), local_dict, global_dict)
        return pd.Series(mask, index=self._df.index, name=None)

    def query(self, expr: str, *, local_dict: Mapping[str, Any] | None = None,
              global_dict: Mapping[str, Any] | None = None, level: int = 0):
        """The rows where ``expr`` is true, like ``DataFrame.query`` (index labels kept)."""
        compiled, values = self.compiled_filter(expr, sys._getframe(level + 1), local_dict, global_dict)
        return compiled(self._df, params=values)  # the rows through frame_rows (see inputs.py)

    def eval(self, expr: str, *, local_dict: Mapping[str, Any] | None = None,
             global_dict: Mapping[str, Any] | None = None, level: int = 0):
        """Like ``DataFrame.eval``: ``"z = x * 2 + y"`` returns a copy with column z added;
        an expression without an assignment returns its values as a Series."""
        target, body = split_assignment(expr)
        projection, values = self.compiled_projection(body, sys._getframe(level + 1), local_dict,
                                                      global_dict)
        batch = self._batch(projection.columns)
        column = projection(batch, params=values).column(0)
        series = _series(column, self._df.index, target)
        if target is None:
            return series
        return self._df.assign(**{target: series})

    def _batch(self, names) -> pa.RecordBatch:
        return frame_batch(self._df, names)


def frame_batch(df, names) -> pa.RecordBatch:
    """The columns ``names`` of a DataFrame as a RecordBatch, for a compiled expression to read.

    numpy-backed columns are not copied where their memory is contiguous. A
    name missing from the frame is left out (the compiled expression says
    which column is missing); a label that appears twice is an error. With
    no names, one all-null column carries the row count.
    """
    arrays = {}
    for name in names:
        if name not in df.columns:
            continue
        if (df.columns == name).sum() > 1:
            raise SchemaMismatchError(f"column {name!r} appears more than once in the DataFrame")
        arrays[name] = _to_arrow(df[name])
    if arrays or names:
        return pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))
    return pa.RecordBatch.from_arrays([pa.nulls(len(df))], names=["__rows__"])


def frame_rows(df, mask: pa.BooleanArray, threads: int | None = None):
    """``df[mask]`` (every column, index labels and column labels kept), for a mask without nulls.

    numpy-backed columns of numbers, bools and datetimes are compressed by
    arrowjit's native compress (vector compress instructions) straight from
    their memory, and the result's columns wrap the compressed buffers
    without another copy; other columns (strings, categoricals, nullable
    dtypes, ...) use their own array's boolean indexing. A selective mask
    (under one row in SPARSE_RATIO) is left to pandas, which then gathers
    just those rows.
    """
    import pandas as pd

    from .filter import SPARSE_RATIO
    from .runtime import outputs
    from .runtime import threads as parallel

    bits = mask_numpy(mask)
    buffer = mask.buffers()[1]
    length = len(df)
    kept = int(bits.sum()) if length else 0
    if (mask.null_count or mask.offset or length != len(mask) or df.shape[1] == 0
            or kept * SPARSE_RATIO < length or buffer.size < (length + 63) // 64 * 8):
        return df[bits]
    words = np.frombuffer(buffer, dtype=np.uint64, count=(length + 63) // 64)

    def select(position: int):
        column = df.iloc[:, position]
        if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufMm":
            numbers = column.to_numpy(copy=False)
            if numbers.ndim == 1 and numbers.flags.c_contiguous:
                width = numbers.dtype.itemsize
                unsigned = pa.Array.from_buffers(pa.from_numpy_dtype(np.dtype(f"u{width}")), length,
                                                 [None, pa.py_buffer(numbers.view(f"u{width}"))])
                compressed = outputs.compress(unsigned, buffer, words, kept)
                return np.frombuffer(compressed.buffers()[1], dtype=numbers.dtype, count=kept)
        return column.array[bits]

    workers = parallel.resolve(threads)
    columns = parallel.run([partial(select, position) for position in range(df.shape[1])], workers)
    index = df.index.take(np.flatnonzero(bits))  # (as df[bits] does: a regular step keeps a freq)
    # Each column keeps its dtype (a DataFrame built from object arrays would infer new ones).
    out = pd.DataFrame({position: pd.Series(values, index=index, dtype=dtype, copy=False)
                        for position, (values, dtype) in enumerate(zip(columns, df.dtypes))}, copy=False)
    out.columns = df.columns
    out.attrs = dict(df.attrs)
    return out


def _series(column: pa.Array | pa.ChunkedArray, index, name):
    """A computed Arrow column as a numpy-backed Series on ``index`` (null ints become NaN floats)."""
    import pandas as pd
    return pd.Series(column.to_pandas().to_numpy(), index=index, name=name)


def frame_from_arrow(data: pa.RecordBatch | pa.Table, index):
    """Computed Arrow columns as a DataFrame on ``index`` (one label per row)."""
    import pandas as pd
    return pd.DataFrame({name: _series(column, index, name)
                         for name, column in zip(data.schema.names, data.columns)}, index=index)


# `name = expression` (a single `=`: `==` is a comparison).
_ASSIGNMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")


def split_assignment(expr: str) -> tuple[str | None, str]:
    """``"z = x * 2"`` -> ``("z", " x * 2")``; an expression without an assignment -> ``(None, expr)``."""
    match = _ASSIGNMENT.match(expr)
    return (match.group(1), expr[match.end():]) if match else (None, expr)


def _check_repeated(columns, repeated: set[str]) -> None:
    for name in columns:
        if name in repeated:
            raise SchemaMismatchError(f"column {name!r} appears more than once in the DataFrame")


def _pandas_types(parameters: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, str]:
    """Parameter types that make ``@name`` compare as DataFrame.query does.

    A float compared with an integer column compares as floats; an integer
    that the column's type cannot hold (300 against int8) compares as int64
    (uint64 beyond it), instead of being rejected.
    """
    types = {}
    for name, value in values.items():
        dtype = parameters.get(name)
        if dtype is None:
            continue  # not a parameter of the expression: the compiled object says so
        if isinstance(value, float | np.floating) and not dtype.is_float:
            types[name] = "float64"
        elif isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_) \
                and dtype.is_integer and not dtype.min_value() <= int(value) <= dtype.max_value():
            types[name] = "int64" if int(value) < 2**63 else "uint64"
    return types


def _resolve(parameters: Mapping[str, Any], frame, local_dict: Mapping[str, Any] | None,
             global_dict: Mapping[str, Any] | None) -> dict[str, Any]:
    """The value of each parameter, looked up as pandas looks up ``@name``."""
    local_scope = frame.f_locals if local_dict is None else local_dict
    global_scope = frame.f_globals if global_dict is None else global_dict
    values = {}
    for name in parameters:
        if name in local_scope:
            values[name] = local_scope[name]
        elif name in global_scope:
            values[name] = global_scope[name]
        else:
            raise ParameterError(f"@{name}: no variable {name!r} in the calling scope "
                                 "(pass local_dict= or global_dict=)")
    return values


def register() -> None:
    """Register ``df.arrowjit`` with pandas (once)."""
    if _registered.is_set():
        return
    import pandas as pd
    pd.api.extensions.register_dataframe_accessor("arrowjit")(ArrowJitAccessor)
    _registered.set()


class _PandasLoader(importlib.abc.Loader):
    """Wraps pandas' own loader: runs it, then registers the accessor."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        register()


class _RegisterOnPandasImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "pandas":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("pandas")
        if spec is not None and spec.loader is not None:
            spec.loader = _PandasLoader(spec.loader)
        return spec


def install() -> None:
    """Register now if pandas is loaded, else as soon as it is imported."""
    if "pandas" in sys.modules and hasattr(sys.modules["pandas"], "api"):
        register()
    elif not any(isinstance(f, _RegisterOnPandasImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterOnPandasImport())
