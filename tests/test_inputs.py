"""Any Arrow data in, the same kind out (arrowjit/inputs.py), and pickling compiled objects.

Each kind of input goes through Filter (call, mask, indices, count),
Projection and Query, and is compared with an independent oracle
(pyarrow.compute on the same rows, polars' own filter, DuckDB's WHERE).
"""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
import textwrap

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit.pandas import frame_batch

EXPR = "x > 2 and x < 6"
SCHEMA = {"x": "float64", "i": "int64", "s": "utf8"}


def table(rows: int = 1000, seed: int = 0, chunk: int | None = 256) -> pa.Table:
    """x float64 in [0, 10) with nulls and a NaN, i int64, s utf8; chunked every ``chunk`` rows."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, rows)
    x[rows // 3] = np.nan
    data = pa.table({"x": pa.array(x, mask=rng.random(rows) < 0.1), "i": np.arange(rows),
                     "s": [f"s{k % 7}" for k in range(rows)]})
    if chunk is None:
        return data
    return pa.Table.from_batches(data.to_batches(max_chunksize=chunk))


def oracle_mask(data: pa.Table | pa.RecordBatch) -> np.ndarray:
    """pyarrow.compute's answer to EXPR, with null rows not kept."""
    x = data.column("x")
    return pc.fill_null(pc.and_(pc.greater(x, 2.0), pc.less(x, 6.0)), False).to_numpy(zero_copy_only=False)


def counting_reader(data: pa.Table, pulled: list[int]) -> pa.RecordBatchReader:
    """A reader over ``data``'s batches that records, in ``pulled``, each batch handed out."""
    def batches():
        for k, batch in enumerate(data.to_batches()):
            pulled.append(k)
            yield batch
    return pa.RecordBatchReader.from_batches(data.schema, batches())


class StreamProducer:
    """Exports an Arrow C stream and nothing else (what a DuckDB relation or nanoarrow offers)."""

    def __init__(self, data: pa.Table):
        self._data = data

    def __arrow_c_stream__(self, requested_schema=None):
        return self._data.__arrow_c_stream__(requested_schema)


class ArrayProducer:
    """Exports one Arrow C struct array (one record batch)."""

    def __init__(self, batch: pa.RecordBatch):
        self._batch = batch

    def __arrow_c_array__(self, requested_schema=None):
        return self._batch.__arrow_c_array__(requested_schema)


@pytest.fixture(scope="module")
def f() -> arrowjit.Filter:
    return arrowjit.compile_filter(EXPR, SCHEMA)


# ---------------------------------------------------------------------------
# pyarrow: batches and tables as before; readers lazily
# ---------------------------------------------------------------------------

def test_batch_and_table_keep_their_kind(f):
    data = table()
    assert isinstance(f(data), pa.Table) and isinstance(f(data.to_batches()[0]), pa.RecordBatch)
    assert f(data).equals(data.filter(pa.array(oracle_mask(data))))


def test_a_reader_gives_a_lazy_reader_filtering_batch_by_batch(f):
    data = table(rows=4000, chunk=100)  # 40 batches
    pulled: list[int] = []
    out = f(counting_reader(data, pulled))
    assert isinstance(out, pa.RecordBatchReader)
    assert pulled == []  # nothing read yet
    assert out.schema == data.schema
    first = out.read_next_batch()
    assert pulled == [0]
    assert first.equals(data.slice(0, 100).to_batches()[0].filter(pa.array(oracle_mask(data)[:100])))
    out.read_next_batch()
    assert pulled == [0, 1]
    rest = out.read_all()
    assert pulled == list(range(40))
    expected = data.slice(200).filter(pa.array(oracle_mask(data)[200:]))
    assert rest.equals(expected)


def test_reader_count_mask_indices_read_the_stream(f):
    data = table(rows=1000, chunk=64)
    expected = oracle_mask(data)
    assert f.count(counting_reader(data, [])) == int(expected.sum())
    mask = f.mask(counting_reader(data, []))
    assert isinstance(mask, pa.ChunkedArray) and mask.num_chunks == data.column(0).num_chunks
    assert mask.to_numpy().tolist() == expected.tolist()
    indices = f.indices(counting_reader(data, []))
    assert isinstance(indices, pa.ChunkedArray) and indices.type == pa.uint32()
    assert indices.to_numpy().tolist() == np.flatnonzero(expected).tolist()  # positions in the stream


def test_an_empty_reader(f):
    data = table(rows=3, chunk=None).slice(0, 0)
    reader = pa.RecordBatchReader.from_batches(data.schema, [])
    assert f(reader).read_all().num_rows == 0
    assert f.count(pa.RecordBatchReader.from_batches(data.schema, [])) == 0
    assert len(f.indices(pa.RecordBatchReader.from_batches(data.schema, []))) == 0


def test_a_reader_is_checked_before_its_first_batch(f):
    pulled: list[int] = []
    wrong = table().rename_columns(["y", "i", "s"])
    with pytest.raises(arrowjit.SchemaMismatchError, match="'x'"):
        f(counting_reader(wrong, pulled))
    g = arrowjit.compile_filter("x > :lo", SCHEMA)
    with pytest.raises(arrowjit.ParameterError, match="lo"):
        g(counting_reader(table(), pulled))
    assert pulled == []


def test_reader_with_parameters_and_sliced_batches():
    g = arrowjit.compile_filter("x > :lo and x < :hi", SCHEMA)
    data = table(rows=999, chunk=None).slice(3, 901)  # odd offset
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches(max_chunksize=77))
    assert g(reader, lo=2.0, hi=6.0).read_all().equals(data.filter(pa.array(oracle_mask(data))))


def test_projection_and_query_on_a_reader():
    data = table(rows=500, chunk=50)
    p = arrowjit.compile_projection({"z": "x * 2 + i"}, SCHEMA)
    out = p(counting_reader(data, []))
    assert isinstance(out, pa.RecordBatchReader) and out.schema == p.output_schema
    expected = pc.add(pc.multiply(data.column("x"), 2.0), pc.cast(data.column("i"), pa.float64()))
    got = out.read_all().column("z")
    assert got.is_null().to_pylist() == expected.is_null().to_pylist()
    np.testing.assert_array_equal(pc.fill_null(got, 0.0).to_numpy(), pc.fill_null(expected, 0.0).to_numpy())
    q = arrowjit.compile_query(SCHEMA, select={"z": "i * 10"}, where=EXPR)
    out = q(counting_reader(data, []))
    assert isinstance(out, pa.RecordBatchReader)
    assert out.read_all().column("z").to_pylist() == [10 * k for k in np.flatnonzero(oracle_mask(data))]


# ---------------------------------------------------------------------------
# pandas
# ---------------------------------------------------------------------------

def frame() -> pd.DataFrame:
    data = table(rows=300, chunk=None)
    df = data.to_pandas()
    df.index = pd.Index([f"r{k}" for k in range(len(df))])
    return df


def test_pandas_in_pandas_out_index_kept(f):
    df = frame()
    expected = (df.x > 2) & (df.x < 6)  # NaN and missing compare False, as in arrowjit
    out = f(df)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, df[expected])
    mask = f.mask(df)
    pd.testing.assert_series_equal(mask, expected.rename(None))
    positions = f.indices(df)
    assert isinstance(positions, np.ndarray)
    assert positions.tolist() == np.flatnonzero(expected).tolist()
    assert f.count(df) == int(expected.sum())


def test_pandas_nullable_columns_and_a_parameter():
    df = pd.DataFrame({"n": pd.array([1, None, 5, 7], dtype="Int64")}, index=[10, 20, 30, 40])
    g = arrowjit.compile_filter("n >= :lo", {"n": "int64"})
    assert g(df, lo=5).index.tolist() == [30, 40]
    assert g.mask(df, lo=0).tolist() == [True, False, True, True]  # null is not kept


def test_pandas_projection_and_query_keep_the_index():
    df = frame()
    p = arrowjit.compile_projection({"z": "i * 2", "big": "x > 5"}, SCHEMA)
    out = p(df)
    assert isinstance(out, pd.DataFrame) and out.index.equals(df.index)
    assert out.z.tolist() == (df.i * 2).tolist()
    q = arrowjit.compile_query(SCHEMA, select={"z": "i * 2"}, where=EXPR)
    out = q(df)
    kept = df[(df.x > 2) & (df.x < 6)]
    assert out.index.equals(kept.index) and out.z.tolist() == (kept.i * 2).tolist()


def test_pandas_numeric_columns_are_not_copied():
    df = frame()
    batch = frame_batch(df, ["i"])
    assert batch.column(0).buffers()[1].address == df["i"].to_numpy().ctypes.data


def test_pandas_missing_column(f):
    with pytest.raises(arrowjit.SchemaMismatchError, match="'x'"):
        f(pd.DataFrame({"y": [1.0]}))


# ---------------------------------------------------------------------------
# polars
# ---------------------------------------------------------------------------

def test_polars_in_polars_out(f):
    pl = pytest.importorskip("polars")
    df = pl.from_arrow(table(rows=300, chunk=None))
    x = pl.col("x")
    expected = df.filter((x > 2) & (x < 6) & x.is_not_nan())  # polars: NaN > 2 is true
    out = f(df)
    assert isinstance(out, pl.DataFrame) and out.equals(expected)
    mask = f.mask(df)
    assert isinstance(mask, pl.Series) and mask.to_list() == oracle_mask(df.to_arrow()).tolist()
    indices = f.indices(df)
    assert isinstance(indices, pl.Series)
    assert indices.to_list() == np.flatnonzero(oracle_mask(df.to_arrow())).tolist()
    assert f.count(df) == expected.height
    p = arrowjit.compile_projection({"z": "i + 1"}, SCHEMA)
    assert p(df).equals(pl.DataFrame({"z": (df["i"] + 1)}))
    q = arrowjit.compile_query(SCHEMA, select={"z": "i + 1"}, where=EXPR)
    assert q(df)["z"].to_list() == (expected["i"] + 1).to_list()


def test_polars_columns_are_read_without_a_copy():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"x": np.arange(100, dtype=np.float64), "s": ["a"] * 100})
    source = arrowjit.inputs.read(df, ["x"])
    assert source.table.column_names == ["x"]  # only what the expression reads
    address = source.table.column(0).chunk(0).buffers()[1].address
    assert address == df["x"].to_numpy(allow_copy=False).ctypes.data


# ---------------------------------------------------------------------------
# Arrow PyCapsule producers
# ---------------------------------------------------------------------------

def test_a_stream_producer_gives_a_table(f):
    data = table(rows=500, chunk=100)
    out = f(StreamProducer(data))
    assert isinstance(out, pa.Table) and out.equals(data.filter(pa.array(oracle_mask(data))))
    mask = f.mask(StreamProducer(data))
    assert isinstance(mask, pa.ChunkedArray) and mask.to_numpy().tolist() == oracle_mask(data).tolist()
    indices = f.indices(StreamProducer(data))
    assert isinstance(indices, pa.UInt32Array)
    assert indices.to_pylist() == np.flatnonzero(oracle_mask(data)).tolist()
    assert f.count(StreamProducer(data)) == int(oracle_mask(data).sum())


def test_an_array_producer_gives_a_table(f):
    batch = table(rows=301, chunk=None).combine_chunks().to_batches()[0].slice(1)  # odd offset
    out = f(ArrayProducer(batch))
    assert isinstance(out, pa.Table)
    assert out.equals(pa.Table.from_batches([batch.filter(pa.array(oracle_mask(batch)))]))


def test_a_duckdb_relation():
    connection = duckdb.connect()
    relation = connection.sql("SELECT range::DOUBLE / 10 AS x, range AS i, 'a' AS s FROM range(1000)")
    g = arrowjit.compile_filter("x > 2 and x < 6 and i % 3 = 0", SCHEMA)
    out = g(relation)
    expected = connection.sql("SELECT * FROM relation WHERE x > 2 AND x < 6 AND i % 3 = 0").arrow()
    if isinstance(expected, pa.RecordBatchReader):
        expected = expected.read_all()
    assert isinstance(out, pa.Table)
    assert out.column("i").to_pylist() == expected.column("i").to_pylist()
    assert len(out.column("i")) == 13  # i in 21..59, multiples of 3


# ---------------------------------------------------------------------------
# What is not data
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("data, words", [
    (object(), "not builtins.object"),
    ([1, 2], "not builtins.list"),
    (pa.array([1.0]), "not a table of columns"),
    (pa.chunked_array([[1.0]]), "not a table of columns"),
    (pd.Series([1.0]), "series.to_frame()"),
])
def test_unsupported_objects_are_input_type_errors(f, data, words):
    for call in (f, f.mask, f.indices, f.count):
        with pytest.raises(arrowjit.InputTypeError, match=words.replace("(", r"\(").replace(")", r"\)")):
            call(data)


def test_a_polars_lazy_frame_says_collect(f):
    pl = pytest.importorskip("polars")
    with pytest.raises(arrowjit.InputTypeError, match="collect"):
        f(pl.LazyFrame({"x": [1.0]}))


def test_importing_arrowjit_imports_no_peer():
    code = textwrap.dedent("""
        import sys, arrowjit, pyarrow as pa
        f = arrowjit.compile_filter("x > 1", {"x": "int64"})
        f(pa.RecordBatchReader.from_batches(pa.schema([("x", pa.int64())]), []))
        print(sorted(m for m in ("polars", "duckdb", "dask", "distributed") if m in sys.modules))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------
# Pickling
# ---------------------------------------------------------------------------

def compiled_objects() -> dict:
    return {
        "filter": arrowjit.compile_filter("x > 2.5 and s = 's3'", SCHEMA, threads=1),
        "typed parameter": arrowjit.compile_filter("i > :lo", SCHEMA, params={"lo": "int32"}),
        "not parameterized": arrowjit.compile_filter("x < 7.5", SCHEMA, parameterize=False),
        "projection": arrowjit.compile_projection({"z": "x * 2", "w": "i + :k"}, SCHEMA),
        "query": arrowjit.compile_query(SCHEMA, select=["i * 3"], where="x > 1"),
    }


def answers(obj, data: pa.Table) -> str:
    """The object's answers on ``data`` as text (NaN equals NaN there)."""
    if isinstance(obj, arrowjit.Filter):
        values = {name: 3 for name in obj.parameters}
        return repr([obj(data, **values).to_pylist(), obj.count(data, **values)])
    values = {"k": 1} if isinstance(obj, arrowjit.Projection) else {}
    return repr(obj(data, **values).to_pylist())


def test_pickle_round_trip_in_process():
    data = table(rows=200)
    for name, obj in compiled_objects().items():
        copy = pickle.loads(pickle.dumps(obj))
        assert type(copy) is type(obj) and repr(copy) == repr(obj), name
        assert answers(copy, data) == answers(obj, data), name
    f = compiled_objects()["filter"]
    assert pickle.loads(pickle.dumps(f)).threads == 1
    typed = pickle.loads(pickle.dumps(compiled_objects()["typed parameter"]))
    assert str(typed.parameters["lo"]) == "int32"
    plain = pickle.loads(pickle.dumps(compiled_objects()["not parameterized"]))
    assert plain.ir("typed") == compiled_objects()["not parameterized"].ir("typed")
    assert "7.5" in plain.ir("typed") and "parameters" not in plain.ir("typed")


def _child_answers(payload: bytes) -> tuple[list[str], bool]:
    """In a spawned process: unpickle the compiled objects, run them, say if the kernel was on disk."""
    objects, data = pickle.loads(payload)
    results = [answers(obj, data) for obj in objects.values()]
    f = objects["filter"]
    hit = "disk_cache_hit" in f._kernel(f._default_nulls).compiled.timings
    return results, hit


def test_pickle_round_trip_in_a_spawned_process():
    objects = compiled_objects()
    data = table(rows=200)
    expected = [answers(obj, data) for obj in objects.values()]
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        results, hit = pool.apply(_child_answers, (pickle.dumps((objects, data)),))
    assert results == expected
    assert hit  # compiled here first: the new process loads the machine code from the disk cache


# ---------------------------------------------------------------------------
# pandas rows: numeric columns compressed natively, everything else by pandas
# ---------------------------------------------------------------------------

def mixed_frame(rows: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "x": rng.uniform(0, 10, rows),
        "i8": rng.integers(-100, 100, rows).astype(np.int8),
        "u16": rng.integers(0, 60000, rows).astype(np.uint16),
        "f32": rng.uniform(0, 1, rows).astype(np.float32),
        "flag": rng.random(rows) < 0.5,
        "when": pd.date_range("2026-01-01", periods=rows, freq="min"),
        "zoned": pd.date_range("2026-01-01", periods=rows, freq="h", tz="Europe/Paris"),
        "cat": pd.Categorical(rng.choice(["a", "b", "c"], rows)),
        "obj": np.array([f"o{k}" for k in range(rows)], dtype=object),
        "nullable": pd.array(np.where(rng.random(rows) < 0.2, None, rng.integers(0, 9, rows)), dtype="Int64"),
        "arrow": pd.array([f"s{k}" for k in range(rows)], dtype="string[pyarrow]"),
    }, index=pd.Index(rng.permutation(rows) * 2, name="key"))


@pytest.mark.parametrize("expr", ["x > 2 and x < 6", "x >= 0", "x < 0", "x < 0.05"],
                         ids=["40%", "all", "none", "sparse"])
def test_pandas_rows_equal_boolean_indexing_for_every_dtype(expr):
    df = mixed_frame()
    df.attrs["source"] = "test"
    g = arrowjit.compile_filter(expr, {"x": "float64"})
    expected = df[g.mask(df).to_numpy()]
    out = g(df)
    pd.testing.assert_frame_equal(out, expected)
    assert out.attrs == {"source": "test"}
    if len(out):
        out.iloc[0, 0] = -1.0  # the compressed columns are ordinary writable arrays
        assert out.iloc[0, 0] == -1.0 and df.x.min() >= 0


def test_pandas_rows_of_sliced_frames_and_repeated_labels():
    df = mixed_frame(999)
    g = arrowjit.compile_filter("x > 2 and x < 6", {"x": "float64"}, threads=2)
    for frame in (df.iloc[1::2], df.iloc[3:700], df.T.T):  # strided columns, offsets, object block
        pd.testing.assert_frame_equal(g(frame), frame[g.mask(frame).to_numpy()])
    twice = df[["x", "i8", "x"]]  # a repeated label (not read by the filter)
    twice.columns = ["x", "a", "a"]
    pd.testing.assert_frame_equal(g(twice), twice[g.mask(twice).to_numpy()])
    repeated_labels = df.set_index(df.index // 4)
    pd.testing.assert_frame_equal(g(repeated_labels), repeated_labels[g.mask(repeated_labels).to_numpy()])
    empty = df.iloc[:0]
    pd.testing.assert_frame_equal(g(empty), empty)
