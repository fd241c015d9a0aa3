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

``read_parquet(path, where=..., columns=...)`` builds a Dask DataFrame whose
partitions are arrowjit scans with the same pushdown as ``arrowjit.scan``:
the row groups and Hive partitions the statistics rule out are no partition
at all, and each partition (a row group, or a file) reads the predicate's
columns first and decodes the others only where a row matches.

``@name`` takes the value of a variable of the caller's scope, as in
``DataFrame.query`` (or pass ``params={"name": value}``). ``threads`` is the
threads each partition's kernel uses, and for ``read_parquet`` the row
groups a partition reads at once (default 1: Dask's workers are the
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

from . import scanner
from .errors import ArgumentError, SchemaMismatchError
from .filter import Filter, compile_filter
from .pandas import ArrowJitAccessor, _resolve, split_assignment
from .projection import Projection
from .runtime import threads as parallel

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
class _Piece:
    """The row groups one partition reads (several: a whole file; none: an empty partition)."""

    tasks: tuple[scanner.Task, ...]


@dataclass(frozen=True)
class _Read:
    """What every partition of a read_parquet does to its row groups: what ``arrowjit.scan`` does."""

    reading: scanner.Reading
    schema: pa.Schema  # the output's, with the dataset's metadata (pandas dtypes)
    threads: int

    def __call__(self, piece: _Piece):
        outcomes = scanner.run_row_groups(self.reading, piece.tasks, self.threads, count_only=False)
        batches = [outcome.batch for outcome in outcomes if outcome.batch is not None]
        return _to_pandas(pa.Table.from_batches(batches, schema=self.schema))


def _to_pandas(table: pa.Table):
    return table.to_pandas()


def _pieces(tasks: Sequence[scanner.Task], split_row_groups: bool) -> list[_Piece]:
    """One piece per row group, or per file; one empty piece when statistics rule every row group out."""
    if split_row_groups:
        pieces = [_Piece((task,)) for task in tasks]
    else:
        files: dict[str, list[scanner.Task]] = {}
        for task in tasks:
            files.setdefault(task.fragment.path, []).append(task)
        pieces = [_Piece(tuple(group)) for group in files.values()]
    return pieces or [_Piece(())]


def read_parquet(path: str | Sequence[str], where: str | None = None, columns: Sequence[str] | None = None,
                 *, params: Mapping[str, Any] | None = None, local_dict: Mapping[str, Any] | None = None,
                 global_dict: Mapping[str, Any] | None = None, level: int = 0,
                 split_row_groups: bool = True, partitioning: str | None = "hive",
                 filesystem: Any = None, threads: int | None = 1):
    """A Dask DataFrame of the rows of a Parquet dataset where ``where`` is true.

    ``path`` is a file, a directory (Hive partitions such as ``year=2024/``
    become columns), or a list of files. The partitions are planned as
    ``arrowjit.scan`` plans its work (arrowjit/scanner.py), now, on the
    client: Hive partitions and row groups whose statistics show that no row
    can match are left out, so they are no partition at all. One partition
    per row group left (per file with ``split_row_groups=False``); each
    reads the predicate's columns first and decodes the other ``columns``
    (default all) only when one of its rows matches, taking only those rows.
    ``where=None`` keeps every row. The filter is compiled now, for the
    dataset's schema. The partitions' index is a RangeIndex per partition
    (as for ``dask.dataframe.read_parquet`` without an index column).
    """
    if where is not None and not isinstance(where, str):
        raise ArgumentError(f"where must be an expression string or None, not {type(where).__name__}")
    workers = parallel.resolve(threads)
    dataset = ds.dataset(path, format="parquet", partitioning=partitioning, filesystem=filesystem)
    schema = dataset.schema
    output = list(schema.names) if columns is None else list(columns)
    missing = [name for name in output if name not in schema.names]
    if missing:
        raise SchemaMismatchError(f"column {missing[0]!r} is not in the dataset (it has: "
                                  f"{', '.join(schema.names)})")
    predicate = "true" if where is None else where
    if params is None:  # @name: the variables of the caller's scope
        names = compile_filter(predicate, schema).parameters
        params = _resolve(names, sys._getframe(level + 1), local_dict, global_dict) if names else None
    # Pruning, parameters checked, row groups left: all as arrowjit.scan does it.
    plan = scanner.plan(dataset, predicate, output, params=params)
    meta = _to_pandas(schema.empty_table().select(output))
    task = _Read(plan.reading, plan.schema.with_metadata(schema.metadata), workers)
    return dd.from_map(task, _pieces(plan.tasks, split_row_groups), meta=meta,
                       label="arrowjit-read-parquet", enforce_metadata=False)
