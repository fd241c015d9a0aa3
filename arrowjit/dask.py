"""Dask: compiled filters on every partition of a Dask DataFrame, and Parquet read through them.

``import arrowjit.dask`` adds the accessor ``ddf.arrowjit`` to Dask DataFrames:

* ``ddf.arrowjit.query(expr)``: the rows where ``expr`` is true (a Dask DataFrame);
* ``ddf.arrowjit.mask(expr)``: the boolean Dask Series;
* ``ddf.arrowjit.eval("z = x * 2 + y")``: a copy with column z added (without
  ``name =``, the values as a Dask Series).

The expression is compiled once, here, for the columns of ``ddf._meta`` (so
a wrong column or type is an error now, with its caret, not on a worker);
the compiled object is shipped to the workers inside the task graph, where
it pickles as its expression and schema and compiles again on arrival (from
the on-disk cache when the worker has compiled it before). Each partition is
a pandas DataFrame handled as ``df.arrowjit`` handles one (see
arrowjit/pandas.py). Nothing is planned here: ``map_partitions`` hands the
work to Dask's scheduler, local or distributed.

``read_parquet(path, where=..., columns=...)`` builds a Dask DataFrame with
one partition per Parquet row group: each reads only the columns the
expression and ``columns`` need and keeps the matching rows.

``@name`` takes the value of a variable of the caller's scope, as in
``DataFrame.query`` (or pass ``params={"name": value}``). ``threads`` is the
threads each partition's kernel uses (default 1: Dask's workers are the
parallelism).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import pyarrow as pa
import pyarrow.dataset as ds
from dask.dataframe.extensions import register_dataframe_accessor

from .errors import SchemaMismatchError
from .filter import Filter, compile_filter
from .pandas import ArrowJitAccessor, _resolve, split_assignment
from .projection import Projection

__all__ = ["DaskAccessor", "read_parquet"]


# -- work done on each partition (module functions: pickled by name) -----------

def _query_partition(part, compiled: Filter, values: Mapping[str, Any], threads: int | None):
    return compiled(part, params=values, threads=threads)


def _mask_partition(part, compiled: Filter, values: Mapping[str, Any], threads: int | None):
    return compiled.mask(part, params=values, threads=threads)


def _eval_partition(part, projection: Projection, values: Mapping[str, Any], threads: int | None,
                    target: str | None):
    series = projection(part, params=values, threads=threads).iloc[:, 0].rename(target)
    if target is None:
        return series
    return part.assign(**{target: series})


@register_dataframe_accessor("arrowjit")
class DaskAccessor:
    """``ddf.arrowjit``: compiled filters and projections on every partition of a Dask DataFrame."""

    def __init__(self, ddf):
        self._ddf = ddf

    def _pandas(self) -> ArrowJitAccessor:
        return ArrowJitAccessor(self._ddf._meta)

    def query(self, expr: str, *, params: Mapping[str, Any] | None = None,
              local_dict: Mapping[str, Any] | None = None, global_dict: Mapping[str, Any] | None = None,
              level: int = 0, threads: int | None = 1):
        """The rows where ``expr`` is true, partition by partition (index labels kept)."""
        compiled, values = self._pandas().compiled_filter(
            expr, sys._getframe(level + 1), local_dict, global_dict, given=params)
        return self._ddf.map_partitions(_query_partition, compiled, values, threads, meta=self._ddf._meta)

    def mask(self, expr: str, *, params: Mapping[str, Any] | None = None,
             local_dict: Mapping[str, Any] | None = None, global_dict: Mapping[str, Any] | None = None,
             level: int = 0, threads: int | None = 1):
        """A boolean Dask Series: True where ``expr`` is true (false and null rows are False)."""
        compiled, values = self._pandas().compiled_filter(
            expr, sys._getframe(level + 1), local_dict, global_dict, given=params)
        meta = _mask_partition(self._ddf._meta, compiled, values, threads)
        return self._ddf.map_partitions(_mask_partition, compiled, values, threads, meta=meta)

    def eval(self, expr: str, *, params: Mapping[str, Any] | None = None,
             local_dict: Mapping[str, Any] | None = None, global_dict: Mapping[str, Any] | None = None,
             level: int = 0, threads: int | None = 1):
        """Like ``DataFrame.eval``: ``"z = x * 2 + y"`` adds column z; without ``name =``, a Series."""
        target, body = split_assignment(expr)
        projection, values = self._pandas().compiled_projection(
            body, sys._getframe(level + 1), local_dict, global_dict, given=params)
        meta = _eval_partition(self._ddf._meta, projection, values, threads, target)
        return self._ddf.map_partitions(_eval_partition, projection, values, threads, target, meta=meta)


# -- read_parquet ---------------------------------------------------------------

@dataclass(frozen=True)
class _Read:
    """What every partition of a read_parquet does to its piece of the dataset."""

    schema: pa.Schema  # the dataset's (partition columns included)
    read: tuple[str, ...]  # the columns decoded: the output's and the filter's
    output: tuple[str, ...]
    where: Filter | None
    values: Mapping[str, Any]
    threads: int | None

    def __call__(self, piece: ds.Fragment):
        # The one place to switch to arrowjit.scan once it is merged (late
        # materialization and statistics for free): return
        #   scan(ds.FileSystemDataset([piece], self.schema, piece.format), where_text,
        #        list(self.output), threads=self.threads, progress=False,
        #        params=self.values).read_all().to_pandas()
        # and prune the pieces in _pieces with split_by_row_group(filter=<pushdown expression>).
        table = piece.to_table(schema=self.schema, columns=list(self.read))
        if self.where is not None:
            table = self.where(table, params=self.values, threads=self.threads)
        return _to_pandas(table.select(list(self.output)))


def _to_pandas(table: pa.Table):
    return table.to_pandas()


def _pieces(dataset: ds.Dataset, split_row_groups: bool) -> list[ds.Fragment]:
    fragments = list(dataset.get_fragments())
    if not split_row_groups:
        return fragments
    return [piece for fragment in fragments for piece in fragment.split_by_row_group()]


def read_parquet(path: str | Sequence[str], where: str | None = None, columns: Sequence[str] | None = None,
                 *, params: Mapping[str, Any] | None = None, local_dict: Mapping[str, Any] | None = None,
                 global_dict: Mapping[str, Any] | None = None, level: int = 0,
                 split_row_groups: bool = True, partitioning: str | None = "hive",
                 filesystem: Any = None, threads: int | None = 1):
    """A Dask DataFrame of the rows of a Parquet dataset where ``where`` is true.

    ``path`` is a file, a directory (Hive partitions such as ``year=2024/``
    become columns), or a list of files. One partition per row group (per
    file with ``split_row_groups=False``); each reads only the ``columns``
    asked for (default all) and those ``where`` names, and keeps the rows
    where it is true. The filter is compiled now, for the dataset's schema.
    The partitions' index is a RangeIndex per partition (as for
    ``dask.dataframe.read_parquet`` without an index column).
    """
    dataset = ds.dataset(path, format="parquet", partitioning=partitioning, filesystem=filesystem)
    schema = dataset.schema
    output = list(schema.names) if columns is None else list(columns)
    missing = [name for name in output if name not in schema.names]
    if missing:
        raise SchemaMismatchError(f"column {missing[0]!r} is not in the dataset (it has: "
                                  f"{', '.join(schema.names)})")
    compiled = None
    values: dict[str, Any] = {}
    if where is not None:
        compiled = compile_filter(where, schema, threads=threads)
        if compiled.parameters:
            values = dict(params) if params is not None else _resolve(
                compiled.parameters, sys._getframe(level + 1), local_dict, global_dict)
            compiled._pack(values, {})  # a missing or wrong value is an error now, not on a worker
    read = list(dict.fromkeys([*output, *(compiled.columns if compiled else ())]))
    meta = _to_pandas(schema.empty_table().select(output))
    task = _Read(schema, tuple(read), tuple(output), compiled, values, threads)
    return dd.from_map(task, _pieces(dataset, split_row_groups), meta=meta, label="arrowjit-read-parquet",
                       enforce_metadata=False)
