"""How each contender computes count / mask / indices / filtered table.

Each contender is a function ``(expr, data, threads) -> {kind: callable}``
(or None when it cannot run at that thread count); each callable returns
the contender's natural answer (an int, a mask, positions, a table) and is
what gets timed. Thread counts of the peers are set process-wide by
:func:`configure_threads` before anything is measured.

Import this module only after POLARS_MAX_THREADS is set (see worker.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import duckdb
import numexpr as ne
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

import arrowjit

from .data import OUTPUT_COLUMNS, Dataset
from .expressions import Expr

Jobs = dict[str, Callable[[], object]]

# The hook for an all-core arrowjit row: once compile_filter takes threads=, the
# all-core worker times arrowjit too; until then its row says "n/a".
ARROWJIT_THREADS = "threads" in inspect.signature(arrowjit.compile_filter).parameters


def configure_threads(threads: int) -> dict[str, object]:
    """Set every peer's thread count; return what each one reports it will use."""
    ne.set_num_threads(threads)
    pa.set_cpu_count(threads)  # Acero (pa.Table.filter with an expression) and pyarrow's pool
    return {"numexpr": ne.get_num_threads(), "pyarrow": pa.cpu_count(),
            "polars": pl.thread_pool_size(), "duckdb": threads,
            "arrowjit": threads if ARROWJIT_THREADS else 1}


def _take(columns: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {name: columns[name][keep] for name in OUTPUT_COLUMNS}


def _prepared(data: Dataset, key: str, make: Callable[[], object]):
    if key not in data.prepared:
        data.prepared[key] = make()
    return data.prepared[key]


def arrowjit_jobs(expr: Expr, data: Dataset, threads: int) -> Jobs | None:
    if threads > 1 and not ARROWJIT_THREADS:
        return None
    kwargs = {"threads": threads} if ARROWJIT_THREADS else {}
    f = arrowjit.compile_filter(expr.text, data.batch.schema, **kwargs)
    batch = data.batch
    return {"count": lambda: f.count(batch), "mask": lambda: f.mask(batch),
            "indices": lambda: f.indices(batch), "table": lambda: f(batch)}


def numpy_jobs(expr: Expr, data: Dataset, threads: int) -> Jobs | None:
    cols = data.numpy
    mask = lambda: expr.numpy(cols)
    return {"count": lambda: np.count_nonzero(mask()), "mask": mask,
            "indices": lambda: np.flatnonzero(mask()), "table": lambda: _take(cols, mask())}


def numexpr_jobs(expr: Expr, data: Dataset, threads: int) -> Jobs | None:
    cols = data.numpy
    mask = lambda: ne.evaluate(expr.numexpr, local_dict=cols)
    return {"count": lambda: np.count_nonzero(mask()), "mask": mask,
            "indices": lambda: np.flatnonzero(mask()), "table": lambda: _take(cols, mask())}


def pandas_jobs(expr: Expr, data: Dataset, threads: int) -> Jobs | None:
    df = _prepared(data, "pandas", lambda: data.table.select(list(OUTPUT_COLUMNS)).to_pandas())
    text = expr.pandas_text
    return {"mask": lambda: df.eval(text), "table": lambda: df.query(text)}


def pyarrow_jobs(expr: Expr, data: Dataset, threads: int) -> Jobs | None:
    batch, table = data.batch, data.table.select(list(OUTPUT_COLUMNS))
    mask = lambda: expr.pyarrow(batch.column)
    where = expr.pyarrow(pc.field)
    return {"count": lambda: mask().true_count, "mask": mask,
            "indices": lambda: pc.indices_nonzero(mask()), "table": lambda: table.filter(where)}


def polars_jobs(expr: Expr, data: Dataset, threads: int) -> Jobs | None:
    df = _prepared(data, "polars", lambda: pl.from_arrow(data.table.select(list(OUTPUT_COLUMNS))))
    e = expr.polars(pl.col)
    return {"count": lambda: df.select(e.sum()).item(), "mask": lambda: df.select(e).to_series(),
            "indices": lambda: df.select(e.arg_true()).to_series(), "table": lambda: df.filter(e)}


def _duckdb(data: Dataset, threads: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    con.register("t", data.table.select(list(OUTPUT_COLUMNS)))
    return con


def _arrow_table(result) -> pa.Table:
    """``.arrow()`` is a Table in DuckDB 1.x and a RecordBatchReader in 2.x."""
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result


def duckdb_jobs(expr: Expr, data: Dataset, threads: int) -> Jobs | None:
    con = _prepared(data, f"duckdb{threads}", lambda: _duckdb(data, threads))
    count_sql = f"SELECT count(*) FROM t WHERE {expr.sql}"
    table_sql = f"SELECT * FROM t WHERE {expr.sql}"
    # fetchall drains the result: DuckDB 2.x refuses a new query while one is open.
    return {"count": lambda: con.execute(count_sql).fetchall()[0][0],
            "table": lambda: _arrow_table(con.sql(table_sql).arrow())}


CONTENDERS: dict[str, Callable[[Expr, Dataset, int], Jobs | None]] = {
    "arrowjit": arrowjit_jobs,
    "numpy": numpy_jobs,
    "numexpr": numexpr_jobs,
    "pandas": pandas_jobs,
    "pyarrow": pyarrow_jobs,
    "polars": polars_jobs,
    "duckdb": duckdb_jobs,
}
# Timed again in the all-core process: the contenders that use more than one core.
MULTI_THREADED = ("arrowjit", "numexpr", "polars", "duckdb")


# -- checking answers ------------------------------------------------------------
def to_numpy(values) -> np.ndarray:
    """A mask or positions as numpy (null -> False), whatever library produced them."""
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, pa.Array | pa.ChunkedArray):
        if pa.types.is_boolean(values.type):
            values = pc.fill_null(values, False)
        return values.to_numpy(zero_copy_only=False)
    if isinstance(values, pl.Series):
        return (values.fill_null(False) if values.dtype == pl.Boolean else values).to_numpy()
    if isinstance(values, pd.Series):
        return values.to_numpy()
    raise TypeError(f"cannot read {type(values).__name__} as numpy")


def size(kind: str, result) -> int:
    """Rows selected, read from any contender's answer (cheap: checked after every timed call)."""
    if kind == "count":
        return int(result)
    if kind == "mask":
        if isinstance(result, pa.BooleanArray):
            return result.true_count
        return int(np.count_nonzero(to_numpy(result)))
    if kind == "table" and isinstance(result, dict):
        return len(next(iter(result.values())))
    return len(result)


def compare(kind: str, result, truth) -> tuple[bool, str]:
    """Full comparison with arrowjit's answer (once per job, after the warm-up call): (same, note).

    Filtered tables are compared on column y (distinct floats, never null) as
    a multiset, so a contender may return the rows in another order (DuckDB
    with several threads does); that is reported in the note.
    """
    if kind == "count":
        return int(result) == truth, ""
    if kind == "table":
        y = to_numpy(result["y"])
        if np.array_equal(y, truth):
            return True, ""
        return np.array_equal(np.sort(y), np.sort(truth)), "rows not in input order"
    return np.array_equal(to_numpy(result).astype(truth.dtype, copy=False), truth), ""


def truth_of(kind: str, result):
    """arrowjit's answer in the form ``compare`` reads."""
    if kind == "count":
        return int(result)
    if kind == "table":
        return to_numpy(result["y"])
    return to_numpy(result).astype(np.int64 if kind == "indices" else bool)
