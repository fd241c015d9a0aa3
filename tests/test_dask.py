"""arrowjit.dask on a real distributed.LocalCluster with two worker processes.

The compiled filters travel to the workers pickled (expression and schema)
and compile again there; the results must equal the single-process ones
(the pandas accessor on the whole frame, and pandas' own query as the
oracle), also when a worker dies in the middle of a computation.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import arrowjit  # noqa: E402
import arrowjit.dask  # noqa: E402, F401  (registers ddf.arrowjit)

ROWS = 20_000
PARTITIONS = 6


def make_frame() -> pd.DataFrame:
    """x float64 in [0, 10) with NaN and missing values, i int64, n nullable Int64, s strings."""
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 10, ROWS)
    x[::97] = np.nan
    n = pd.array(rng.integers(0, 100, ROWS), dtype="Int64")
    n[::13] = pd.NA
    return pd.DataFrame({"x": x, "i": np.arange(ROWS), "n": n, "s": [f"k{k % 5}" for k in range(ROWS)]},
                        index=pd.RangeIndex(ROWS) * 3)  # labels that are not positions


# ---------------------------------------------------------------------------
# examples/06_parquet_and_dask.py
# ---------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "06_parquet_and_dask.py"
EXAMPLE_OUTPUT = """\
dataset: 60000 rows, 12 files (4 days x 3 stations)
workers: 2
read_parquet: 16 partitions, one per row group left (8 of 24 ruled out)
cold and windy, not west: 260 rows
day         station
2026-01-01  north       40
            south      107
2026-01-02  north       14
            south       54
2026-01-03  north        5
            south       25
2026-01-04  north        3
            south       12
 id        day station  temperature  wind
  2 2026-01-01   north         -1.4  26.3
 70 2026-01-01   north         -0.4  26.2
139 2026-01-01   north         -4.8  28.9
262 2026-01-01   north         -1.0  25.1
339 2026-01-01   north         -7.4  27.1
warm and calm: 696 rows
share with wind >= 15: 0.4988
   id  temperature  wind  chill
12020        -20.3  15.9 -23.48
14007        -16.9  27.3 -22.36
 5868        -14.4  28.9 -20.18
"""


def test_the_dask_example_prints_what_pyarrow_finds(tmp_path):
    # (first in the file: it starts its own cluster, before the module's cluster is up)
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXAMPLE_OUTPUT
    # The example's figures, found again with pyarrow.dataset on the same generated data.
    spec = importlib.util.spec_from_file_location("example06", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.write_dataset(tmp_path)
    data = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    t, w, station = data.column("temperature"), data.column("wind"), data.column("station")
    cold = pc.and_(pc.and_(pc.greater(w, 25), pc.less(t, 0)), pc.not_equal(station, "west"))
    assert pc.sum(cold).as_py() == 260
    calm = pc.and_(pc.greater(t, 20.0), pc.and_(pc.greater_equal(w, 5), pc.less_equal(w, 10)))
    assert pc.sum(calm).as_py() == 696
    assert f"{pc.mean(pc.greater_equal(w, 15)).as_py():.4f}" == "0.4988"


# ---------------------------------------------------------------------------
# The accessor and read_parquet on the module's cluster
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    # The test module's functions reach the workers by value (the workers need not import it).
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster) as client:
        yield client
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def frames(client):
    ddf = dd.from_pandas(make_frame(), npartitions=PARTITIONS)
    # The frame as Dask holds it (Dask stores strings as string[pyarrow]): the single-process input.
    return ddf.compute(scheduler="sync"), client.persist(ddf)


def test_query_on_the_cluster_equals_one_process(frames, client):
    pdf, ddf = frames
    lo = 2  # noqa: F841  (read by @lo)
    got = client.compute(ddf.arrowjit.query("x > @lo and x < 6 and n >= 10")).result()
    expected = pdf.arrowjit.query("x > @lo and x < 6 and n >= 10")
    pd.testing.assert_frame_equal(got, expected)
    oracle = pdf[((pdf.x > 2) & (pdf.x < 6) & (pdf.n >= 10)).fillna(False).astype(bool)]
    pd.testing.assert_frame_equal(got, oracle)  # pandas itself
    assert 4000 < len(got) < 8000  # about 40% of x times 90% of n, nulls not kept


def test_mask_and_eval_on_the_cluster(frames, client):
    pdf, ddf = frames
    mask = client.compute(ddf.arrowjit.mask("s = 'k3' or x < 1", params={})).result()
    pd.testing.assert_series_equal(mask, pdf.arrowjit.mask("s = 'k3' or x < 1"))
    assert mask.sum() == ((pdf.s == "k3") | (pdf.x < 1)).sum()
    added = client.compute(ddf.arrowjit.eval("z = i * 2 + 1")).result()
    pd.testing.assert_frame_equal(added, pdf.assign(z=pdf.i * 2 + 1))
    values = client.compute(ddf.arrowjit.eval("x * 2", params={})).result()
    np.testing.assert_array_equal(values.to_numpy(), (pdf.x * 2).to_numpy())
    assert values.index.equals(pdf.index)


def test_parameters_by_params(frames, client):
    pdf, ddf = frames
    got = client.compute(ddf.arrowjit.query("i % :k = 0", params={"k": 7})).result()
    assert got.i.tolist() == list(range(0, ROWS, 7))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[str, pa.Table]:
    """A Hive-partitioned Parquet dataset: 3 parts, row groups of 1,000 rows."""
    folder = tmp_path_factory.mktemp("dataset")
    data = pa.Table.from_pandas(make_frame().assign(part=lambda d: d.i % 3), preserve_index=False)
    pq.write_to_dataset(data, str(folder), partition_cols=["part"], row_group_size=1000)
    return str(folder), data


def test_read_parquet_on_the_cluster(dataset, client):
    folder, data = dataset
    where = "x > 2 and x < 6 and part != 1"
    frame = arrowjit.dask.read_parquet(folder, where=where, columns=["i", "s"])
    # 3 files of 6,667 rows, 7 row groups each; part != 1 rules out the file part=1/ by its path
    assert frame.npartitions == 14
    assert list(frame.columns) == ["i", "s"]
    got = client.compute(frame).result().sort_values("i").reset_index(drop=True)
    single = frame.compute(scheduler="sync").sort_values("i").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, single)
    _same(got, _by_i(_scanned(folder, where, ["i", "s"])))
    x, part = data.column("x"), data.column("part")
    keep = pc.and_(pc.and_(pc.greater(x, 2.0), pc.less(x, 6.0)), pc.not_equal(part, 1))
    oracle = data.filter(keep).select(["i", "s"]).to_pandas().sort_values("i").reset_index(drop=True)
    assert got.i.tolist() == oracle.i.tolist() and got.s.tolist() == oracle.s.tolist()


def _scanned(source, where: str, columns=None) -> pd.DataFrame:
    """arrowjit.scan's rows as pandas, with the dataset's pandas metadata (so the same dtypes)."""
    metadata = ds.dataset(source, format="parquet", partitioning="hive").schema.metadata
    table = arrowjit.scan(source, where, columns, threads=1).read_all()
    return table.replace_schema_metadata(metadata).to_pandas()


def _by_i(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("i").reset_index(drop=True)


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal frames; want's strings as Dask holds them (string[pyarrow]: its convert-string option)."""
    strings = {name: got[name].dtype for name, t in want.dtypes.items() if isinstance(t, pd.StringDtype)}
    pd.testing.assert_frame_equal(got, want.astype(strings))


def _pyarrow(source, expression, columns=None) -> pd.DataFrame:
    """pyarrow.dataset's own filter: the oracle that shares nothing with arrowjit."""
    data = ds.dataset(source, format="parquet", partitioning="hive")
    return data.to_table(columns=columns, filter=expression).to_pandas()


@pytest.fixture
def reads(monkeypatch):
    """Every ParquetFile.read_row_group call in this process: (row group, columns) (with the
    native page decoder off, as in test_scan.py's ``reads``)."""
    monkeypatch.setenv("ARROWJIT_PAGES", "0")
    calls: list[tuple[int, tuple[str, ...]]] = []
    original = pq.ParquetFile.read_row_group

    def recording(self, i, columns=None, use_threads=True, use_pandas_metadata=False):
        calls.append((i, tuple(columns)))
        return original(self, i, columns=columns, use_threads=use_threads,
                        use_pandas_metadata=use_pandas_metadata)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", recording)
    return calls


def test_statistics_leave_row_groups_out_of_the_graph(dataset, reads):
    folder, data = dataset
    where = "i >= 19000 and x > 1"
    frame = arrowjit.dask.read_parquet(folder, where=where, columns=["i", "n", "part"])
    # In each file (i = 3k + part, sorted), i >= 19000 is only in row group 6: 3 partitions of 21.
    assert frame.npartitions == 3
    assert arrowjit.dask.read_parquet(folder, where=where, split_row_groups=False).npartitions == 3
    reads.clear()  # planning reads footers only; the partitions read row groups
    got = _by_i(frame.compute(scheduler="sync"))
    assert {group for group, _ in reads} == {6}
    # The predicate's columns first, then n (part comes from the path, not from the file).
    assert [set(cols) for _, cols in reads] == [{"i", "x"}, {"n"}] * 3
    _same(got, _by_i(_scanned(folder, where, ["i", "n", "part"])))
    oracle = _pyarrow(folder, (pc.field("i") >= 19000) & (pc.field("x") > 1), ["i", "n", "part"])
    _same(got, _by_i(oracle))
    assert got.i.min() >= 19000 and 800 < len(got) < 1000 and got.n.isna().any()


def test_other_columns_are_decoded_only_where_a_row_matches(dataset, reads):
    folder, data = dataset
    where = "x > 9.995 and i < 12000"
    frame = arrowjit.dask.read_parquet(folder, where=where, columns=["i", "s", "n"])
    assert frame.npartitions == 3 * 4  # i < 12000: row groups 0 to 3 of each file
    got = frame.compute(scheduler="sync")
    predicate = [group for group, cols in reads if set(cols) == {"x", "i"}]
    later = [group for group, cols in reads if cols in (("s",), ("n",))]
    assert len(predicate) == 12 and set(predicate) == {0, 1, 2, 3}
    # s and n only in the row groups with a match (row k of file i % 3 holds i = 3k + i % 3)
    groups_with_match = len({(i % 3, i // 3000) for i in got.i})
    assert 0 < groups_with_match < 12 and len(later) == 2 * groups_with_match
    assert len(reads) == len(predicate) + len(later)
    _same(_by_i(got), _by_i(_scanned(folder, where, ["i", "s", "n"])))


def test_every_row_group_ruled_out_gives_one_empty_partition(dataset, reads):
    folder, data = dataset
    for split in (True, False):
        frame = arrowjit.dask.read_parquet(folder, where="i > 10000000 or part = 7", split_row_groups=split)
        assert frame.npartitions == 1
        got = frame.compute(scheduler="sync")
        assert len(got) == 0 and reads == []
        pd.testing.assert_series_equal(got.dtypes, frame._meta.dtypes)


def test_where_none_reads_everything(dataset, client):
    folder, data = dataset
    frame = arrowjit.dask.read_parquet(folder, columns=["part", "x", "n", "s"])
    assert frame.npartitions == 21
    got = client.compute(frame).result().reset_index(drop=True)
    _same(got, _pyarrow(folder, None, ["part", "x", "n", "s"]))
    assert got.x.isna().sum() == data.column("x").to_pandas().isna().sum() > 0


def test_nan_and_null_rows_are_never_pruned(tmp_path):
    # Row group 0 holds 3.0, NaN, null: its statistics say min = max = 3; row group 1 holds 7 and 8.
    folder = tmp_path / "nan"
    nan = float("nan")
    table = pa.table({"x": [3.0, nan, 3.0, None, 7.0, 8.0, 7.0, 8.0], "k": list(range(8)),
                      "g": ["a"] * 4 + ["b"] * 4})
    pq.write_to_dataset(table, str(folder), partition_cols=["g"], row_group_size=4)
    cases = [("x != 3", [1, 4, 5, 6, 7]), ("not (x = 3)", [1, 4, 5, 6, 7]), ("not (x > 1)", [1]),
             ("isnan(x)", [1]), ("x is null", [3]), ("not (x <= 3 or x > 7.5)", [1, 4, 6]),
             ("x > 1 and g = 'a'", [0, 2]), ("x < 5 or x is null", [0, 2, 3])]
    for where, keys in cases:
        frame = arrowjit.dask.read_parquet(str(folder), where=where, columns=["k", "x", "g"])
        got = frame.compute(scheduler="sync")
        assert got.k.tolist() == keys, where
        scanned = _scanned(str(folder), where, ["k", "x", "g"])
        _same(got.reset_index(drop=True), scanned)
    # Pruning still happens where it is safe: x > 7.5 leaves only the file of g=b.
    assert arrowjit.dask.read_parquet(str(folder), where="x > 7.5").npartitions == 1


def test_read_parquet_all_columns_and_a_parameter(dataset, client):
    folder, data = dataset
    frame = arrowjit.dask.read_parquet(folder, where="i < :top", params={"top": 50}, split_row_groups=False)
    assert frame.npartitions == 3
    got = client.compute(frame).result().sort_values("i")
    assert got.i.tolist() == list(range(50)) and set(got.columns) == set(data.column_names)
    # @name from this scope; whole files, two row groups at a time inside each partition
    lo = 3000  # noqa: F841  (read by @lo)
    where = "i >= @lo and i < 9000 and n is not null and s = 'k2'"
    frame = arrowjit.dask.read_parquet(folder, where=where, columns=["i", "n"], split_row_groups=False,
                                       threads=2)
    assert frame.npartitions == 3
    got = _by_i(client.compute(frame).result())
    assert got.i.min() >= 3000 and got.i.max() < 9000 and got.i.mod(5).eq(2).all() and got.n.notna().all()
    i = pc.field("i")
    oracle = (i >= 3000) & (i < 9000) & pc.field("n").is_valid() & (pc.field("s") == "k2")
    _same(got, _by_i(_pyarrow(folder, oracle, ["i", "n"])))


def test_read_parquet_errors_come_before_any_work(dataset):
    folder, _ = dataset
    with pytest.raises(arrowjit.UnknownColumnError):
        arrowjit.dask.read_parquet(folder, where="nope > 1")
    with pytest.raises(arrowjit.SchemaMismatchError, match="'nope'"):
        arrowjit.dask.read_parquet(folder, columns=["nope"])
    with pytest.raises(arrowjit.ParameterError, match="top"):
        arrowjit.dask.read_parquet(folder, where="i < :top", params={})
    with pytest.raises(arrowjit.ParameterError, match="nowhere"):
        arrowjit.dask.read_parquet(folder, where="i < @nowhere")
    with pytest.raises(arrowjit.ArgumentError, match="where"):
        arrowjit.dask.read_parquet(folder, where=pc.field("i") > 1)


def test_accessor_errors_come_before_any_work():
    ddf = dd.from_pandas(make_frame().head(100), npartitions=2)
    with pytest.raises(arrowjit.UnknownColumnError, match="nope"):
        ddf.arrowjit.query("nope > 1")
    with pytest.raises(arrowjit.ParameterError, match="undefined_here"):
        ddf.arrowjit.mask("x > @undefined_here")
    with pytest.raises(arrowjit.ExpressionTypeError):
        ddf.arrowjit.eval("z = s + 1")


def _die_once(part: pd.DataFrame, marker: str, at: int) -> pd.DataFrame:
    """Kill this worker process the first time it meets the partition holding row ``at``."""
    if at in part.i.values and not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os._exit(1)
    return part


def test_a_worker_dies_mid_computation_and_dask_retries(frames, client, tmp_path):
    pdf, ddf = frames
    marker = str(tmp_path / "killed")
    at = ROWS // 2  # in the middle partition
    query = ddf.map_partitions(_die_once, marker, at, meta=ddf._meta).arrowjit.query("x > 2 and x < 6")
    got = client.compute(query).result()
    assert os.path.exists(marker)  # a worker did die
    pd.testing.assert_frame_equal(got, pdf.arrowjit.query("x > 2 and x < 6"))
    client.wait_for_workers(2, timeout=60)

