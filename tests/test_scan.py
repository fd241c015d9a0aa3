"""arrowjit.scan over Parquet, Feather and CSV files: results, pruning, late materialization, memory.

Every scan is checked against oracles that do not use the scan: the compiled
Filter on the whole table read with pyarrow, pyarrow.dataset's own filter,
and DuckDB's ``read_parquet ... WHERE`` (where SQL and arrowjit agree: no NaN).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import arrowjit
from arrowjit.compiler.parameterize import restore_literals
from arrowjit.errors import ArgumentError
from arrowjit.pushdown import pushdown

ROWS = 6_000
GROUP = 500  # 12 row groups


def _table(rows: int = ROWS, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, rows)
    x[rng.random(rows) < 0.02] = np.nan
    x_nulls = rng.random(rows) < 0.05
    i = rng.integers(-50, 50, rows).astype(np.int32)
    words = np.array(["apple", "banana", "cherry", "date", "", "ápple", "bandana"])
    s = words[rng.integers(0, len(words), rows)]
    s_nulls = rng.random(rows) < 0.1
    flag = rng.random(rows) < 0.5
    return pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "x": pa.array(x, mask=x_nulls),
        "i": pa.array(i),
        "s": pa.array(s.tolist(), mask=s_nulls),
        "flag": pa.array(flag, mask=rng.random(rows) < 0.05),
        "p": pa.array(rng.normal(size=rows)),
    })


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return _table()


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory, table) -> str:
    path = tmp_path_factory.mktemp("scan") / "data.parquet"
    pq.write_table(table, path, row_group_size=GROUP)
    return str(path)


def _expected(table: pa.Table, where: str, columns=None, params=None) -> pa.Table:
    """The compiled Filter on the whole table: what a scan must return."""
    kept = arrowjit.compile_filter(where, table.schema)(table, params)
    return kept.select(columns) if columns is not None else kept


def _same(got: pa.Table, want: pa.Table) -> None:
    """Equal tables, NaN equal to NaN (Arrow's equals says NaN != NaN)."""
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows
    for name in got.schema.names:
        a, b = got.column(name).combine_chunks(), want.column(name).combine_chunks()
        if pa.types.is_floating(a.type):
            assert a.is_null().equals(b.is_null()), name
            np.testing.assert_array_equal(a.fill_null(0).to_numpy(), b.fill_null(0).to_numpy(), err_msg=name)
        else:
            assert a.equals(b), name


# Predicates with nulls, NaN, strings, casts, not, or, functions Arrow lacks.
PREDICATES = [
    "x > 2.0 and x < 6.0",
    "x < 0.5",
    "id >= 5300",
    "id < 700 or id > 5800",
    "id between 1000 and 1499",
    "i in (1, 2, 3) and x > 5",
    "not (x > 3)",
    "x != 3.5",
    "not (id < 5500)",
    "isnan(x) or id = 17",
    "s = 'apple'",
    "s != 'banana' and id < 3000",
    "starts_with(s, 'ban')",
    "s is null",
    "x is not null and not flag",
    "flag",
    "not (flag or i > 0)",
    "i + 1 > 40",
    "cast(x as int32) = 3",
    "id > 1e9",
    "false",
    "true",
    "x > 2 or isnan(x)",
    "not (id >= 100 and x > 1)",
]


@pytest.mark.parametrize("where", PREDICATES)
@pytest.mark.parametrize("threads", [1, 2])
def test_parquet_scan_equals_filter_on_the_whole_table(parquet_file, table, where, threads):
    got = arrowjit.scan(parquet_file, where, threads=threads).read_all()
    _same(got, _expected(table, where))


@pytest.mark.parametrize("where", PREDICATES)
def test_count_equals_filter_count(parquet_file, table, where):
    assert arrowjit.scan(parquet_file, where).count() == \
        arrowjit.compile_filter(where, table.schema).count(table)


# (arrowjit predicate, the same rows as a pyarrow.dataset expression, as DuckDB SQL or None)
ORACLE_CASES = [
    ("x > 2.0 and x < 6.0", (pc.field("x") > 2.0) & (pc.field("x") < 6.0),
     "x > 2.0 AND x < 6.0 AND NOT isnan(x)"),
    ("id >= 5300", pc.field("id") >= 5300, "id >= 5300"),
    ("s = 'apple' or s = 'date'", pc.field("s").isin(["apple", "date"]), "s IN ('apple', 'date')"),
    ("i < -45 and flag", (pc.field("i") < -45) & (pc.field("flag") == True), "i < -45 AND flag"),  # noqa: E712
    ("s is null and id < 2000", pc.field("s").is_null() & (pc.field("id") < 2000), "s IS NULL AND id < 2000"),
]


@pytest.mark.parametrize(("where", "expression", "sql"), ORACLE_CASES)
def test_parquet_scan_equals_pyarrow_dataset_and_duckdb(parquet_file, where, expression, sql):
    columns = ["id", "i", "s"]
    got = arrowjit.scan(parquet_file, where, columns).read_all()
    want = ds.dataset(parquet_file).to_table(columns=columns, filter=expression)
    _same(got, want.sort_by("id"))
    duckdb = pytest.importorskip("duckdb")
    rows = duckdb.sql(f"SELECT id FROM read_parquet('{parquet_file}') WHERE {sql} ORDER BY id").fetchall()
    assert got.column("id").to_pylist() == [r[0] for r in rows]


def test_columns_are_the_requested_ones_in_order(parquet_file, table):
    got = arrowjit.scan(parquet_file, "x > 8", ["p", "id"]).read_all()
    assert got.schema.names == ["p", "id"]
    _same(got, _expected(table, "x > 8", ["p", "id"]))


def test_no_columns_still_counts_rows(parquet_file, table):
    got = arrowjit.scan(parquet_file, "x > 5", []).read_all()
    assert got.num_columns == 0 and got.num_rows == _expected(table, "x > 5").num_rows


def test_empty_file(tmp_path, table):
    pq.write_table(table.slice(0, 0), tmp_path / "empty.parquet")
    assert arrowjit.scan(tmp_path / "empty.parquet", "x > 1").read_all().schema == table.schema
    assert arrowjit.scan(tmp_path / "empty.parquet", "x > 1").count() == 0


def test_dictionary_columns(tmp_path):
    table = pa.table({"c": pa.array(["a", "b", "a", "c"] * 100).dictionary_encode(), "v": range(400),
                      "w": ["p", "q"] * 200})
    pq.write_table(table, tmp_path / "cat.parquet", row_group_size=100)
    for where in ["c = 'a' and v > 150", "v > 350", "w = 'q' and v < 10"]:
        _same(arrowjit.scan(tmp_path / "cat.parquet", where).read_all(), _expected(table, where))


def test_empty_result_keeps_the_schema(parquet_file, table):
    got = arrowjit.scan(parquet_file, "id < 0", ["s", "x"]).read_all()
    assert got.num_rows == 0
    assert got.schema == pa.schema([table.schema.field("s"), table.schema.field("x")])


def test_parameters(parquet_file, table):
    got = arrowjit.scan(parquet_file, "id >= :lo and x < :hi", params={"lo": 5000, "hi": 4.0}).read_all()
    want = table.filter((pc.field("id") >= 5000) & (pc.field("x") < 4.0))
    _same(got, want)
    with pytest.raises(arrowjit.ParameterError):
        arrowjit.scan(parquet_file, "id >= :lo")


# ---------------------------------------------------------------------------
# The scan object as an Arrow stream.
# ---------------------------------------------------------------------------

def test_scan_is_an_arrow_stream(parquet_file, table):
    want = _expected(table, "x < 1")
    _same(pa.table(arrowjit.scan(parquet_file, "x < 1")), want)
    reader = pa.RecordBatchReader.from_stream(arrowjit.scan(parquet_file, "x < 1"))
    _same(reader.read_all(), want)
    scan = arrowjit.scan(parquet_file, "x < 1")
    assert isinstance(scan.to_reader(), pa.RecordBatchReader)
    batches = list(scan)
    assert sum(len(b) for b in batches) == want.num_rows
    assert all(len(b) > 0 for b in batches)
    assert arrowjit.scan(parquet_file, "x < 1").read_pandas()["id"].tolist() == want["id"].to_pylist()


def test_batches_come_in_file_order(parquet_file):
    ids = [batch.column("id")[0].as_py() for batch in arrowjit.scan(parquet_file, "x >= 0", threads=2)]
    assert ids == sorted(ids) and len(ids) == ROWS // GROUP


# ---------------------------------------------------------------------------
# Pruning and late materialization, observed on the Parquet reader itself.
# ---------------------------------------------------------------------------

@pytest.fixture
def reads(monkeypatch):
    """Every ParquetFile.read_row_group call: (row group, columns). The native page decoder is off: it
    reads eligible chunks without that call (test_pages.py observes it doing the same)."""
    monkeypatch.setenv("ARROWJIT_PAGES", "0")
    calls: list[tuple[int, tuple[str, ...]]] = []
    lock = threading.Lock()
    original = pq.ParquetFile.read_row_group

    def recording(self, i, columns=None, use_threads=True, use_pandas_metadata=False):
        with lock:
            calls.append((i, tuple(columns)))
        return original(self, i, columns=columns, use_threads=use_threads,
                        use_pandas_metadata=use_pandas_metadata)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", recording)
    return calls


def test_statistics_skip_row_groups(parquet_file, table, reads):
    scan = arrowjit.scan(parquet_file, "id >= 5300", ["id", "p"])
    got = scan.read_all()
    _same(got, _expected(table, "id >= 5300", ["id", "p"]))
    # ids 5300.. live in row groups 10 and 11 only
    assert sorted({group for group, _ in reads}) == [10, 11]
    assert scan.stats.row_groups_read == 2 and scan.stats.rows_read == 2 * GROUP
    assert "row groups: 2 of 12 read" in scan.explain()


def test_other_columns_are_read_only_where_a_row_matches(parquet_file, reads):
    scan = arrowjit.scan(parquet_file, "x > 9.99 and id < 3000", ["id", "s", "p"])
    got = scan.read_all()
    groups_with_match = {int(i) // GROUP for i in got.column("id").to_pylist()}
    predicate_reads = {g for g, cols in reads if set(cols) == {"x", "id"}}
    # The other columns are decoded one at a time, only in row groups with a match.
    s_reads = [g for g, cols in reads if cols == ("s",)]
    p_reads = [g for g, cols in reads if cols == ("p",)]
    assert predicate_reads == set(range(6))  # id < 3000: the first six row groups
    assert sorted(s_reads) == sorted(p_reads) == sorted(groups_with_match) and len(s_reads) < 6
    assert len(reads) == len(predicate_reads) + 2 * len(s_reads)


def test_count_reads_only_the_predicate_columns(parquet_file, reads):
    arrowjit.scan(parquet_file, "x > 2 and x < 6").count()
    assert {cols for _, cols in reads} == {("x",)}


def test_nan_rows_are_never_pruned(tmp_path):
    # A row group whose only non-NaN value is 3.0: statistics say min = max = 3.
    path = tmp_path / "nan.parquet"
    nan = float("nan")
    pq.write_table(pa.table({"x": [3.0, nan, 3.0, 3.0, 7.0, 8.0, nan, None]}), path, row_group_size=4)
    for where, want in [("x != 3", 4), ("not (x = 3)", 4), ("not (x > 1)", 2), ("not (x < 5)", 4),
                        ("isnan(x)", 2), ("not (x <= 3 or x > 9)", 4), ("x > 1", 5)]:
        assert arrowjit.scan(path, where).count() == want, where
        assert arrowjit.scan(path, where).read_all().num_rows == want, where


# ---------------------------------------------------------------------------
# The pruning expression (typed IR in, pyarrow expression out).
# ---------------------------------------------------------------------------

SCHEMA = pa.schema([("x", pa.float64()), ("i", pa.int32()), ("id", pa.int64()), ("s", pa.string()),
                    ("b", pa.bool_()), ("u", pa.uint64())])
f, i, s = pc.field("x"), pc.field("i"), pc.field("s")
i32 = lambda v: pa.scalar(v, pa.int32())  # noqa: E731

PUSHDOWN_CASES = [
    ("x > 2 and x < 6", (f > 2.0) & (f < 6.0), []),
    ("i in (1, 2)", (i == i32(1)) | (i == i32(2)), []),
    ("i between 1 and 5 and x != 1", (i >= i32(1)) & (i <= i32(5)), ["x != 1"]),
    ("x != 1", None, ["x != 1"]),
    ("not (x > 1)", None, ["not (x > 1)"]),
    ("not (i > 1)", i <= i32(1), []),
    ("not (i > 1 or s is null)", (i <= i32(1)) & s.is_valid(), []),
    ("not (i > 1 and sqrt(x) > 2)", None, ["not (i > 1 and sqrt(x) > 2)"]),
    ("i > 1 or sqrt(x) > 2", None, ["i > 1 or sqrt(x) > 2"]),
    ("sqrt(x) > 2 and i < 0", i < i32(0), ["sqrt(x) > 2"]),
    ("s = 'a' and b", (s == "a") & (pc.field("b") == True), []),  # noqa: E712
    ("starts_with(s, 'ab')", (s >= "ab") & (s < "ac"), []),
    ("isnan(x)", None, ["isnan(x)"]),
    ("u > -1", None, ["u > -1"]),
    ("cast(x as int32) = 3", None, ["cast(x as int32) = 3"]),
    ("i + 1 > 3", None, ["i + 1 > 3"]),
    ("x = nan", None, ["x = nan"]),
    ("s is not null", s.is_valid(), []),
    ("not b", pc.field("b") == False, []),  # noqa: E712
]


@pytest.mark.parametrize(("where", "expression", "dropped"), PUSHDOWN_CASES)
def test_pushdown_translation(where, expression, dropped):
    compiled = arrowjit.compile_filter(where, SCHEMA)
    result = pushdown(restore_literals(compiled._shape, compiled._hidden))
    if expression is None:
        assert result.expression is None
    else:
        assert result.expression is not None and result.expression.equals(expression), \
            f"{result.expression} != {expression}"
    assert [where[n.span.start:n.span.end] for n in result.dropped] == dropped


def test_pushdown_parameters():
    compiled = arrowjit.compile_filter("id > :lo and x < :hi", SCHEMA)
    typed = restore_literals(compiled._shape, compiled._hidden)
    assert pushdown(typed, {"lo": 5, "hi": 2.0}).expression.equals(
        (pc.field("id") > 5) & (f < 2.0))
    assert pushdown(typed, {"lo": 5}).expression.equals(pc.field("id") > 5)  # no value: not used


def test_explain_shows_the_plan(parquet_file):
    text = arrowjit.scan(parquet_file, "id < 600 and sqrt(x) > 1", ["id", "p"]).explain()
    assert "(less_than_int64_int64 id:int64 600:int64):bool" in text
    assert "columns read: id, x (predicate, read first)" in text
    assert "then: p (only for row groups with a match)" in text
    assert "pruning expression: (id < 600)" in text
    assert "left out of pruning: sqrt(x) > 1" in text
    assert "row groups: 2 of 12 read" in text
    assert f"{parquet_file}: 2 of 12" in text


# ---------------------------------------------------------------------------
# Other sources: Hive partitions, Feather, CSV, globs, lists of files.
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hive_dir(tmp_path_factory, table) -> str:
    root = tmp_path_factory.mktemp("hive")
    with_key = table.append_column("k", pa.array(np.arange(table.num_rows) % 4, pa.int32()))
    pq.write_to_dataset(with_key, root, partition_cols=["k"], row_group_size=GROUP)
    return str(root)


def test_hive_partitions_are_columns_and_are_pruned(hive_dir, table, reads):
    where = "k = 2 and x > 5"
    scan = arrowjit.scan(hive_dir, where, ["id", "k", "x"])
    got = scan.read_all().sort_by("id")
    want = ds.dataset(hive_dir, partitioning="hive").to_table(
        columns=["id", "k", "x"], filter=(pc.field("k") == 2) & (pc.field("x") > 5)).sort_by("id")
    _same(got, want)
    assert set(got.column("k").to_pylist()) == {2}
    assert "k=2" in scan.explain() and "row groups: 3 of 12 read" in scan.explain()
    assert len({g for g, _ in reads}) <= 3


def test_partition_column_only_predicate(hive_dir):
    assert arrowjit.scan(hive_dir, "k >= 3").count() == ROWS // 4


def test_feather(tmp_path, table):
    path = tmp_path / "data.feather"
    feather.write_feather(table, path, chunksize=700)
    for where in ["x > 2.0 and x < 6.0", "not (x > 3)", "s = 'apple'"]:
        _same(arrowjit.scan(path, where).read_all(), _expected(table, where))
        assert arrowjit.scan(str(path), where, threads=1).count() == _expected(table, where).num_rows


def test_csv(tmp_path):
    table = pa.table({"id": pa.array(range(1000), pa.int64()), "x": pa.array(np.linspace(0, 10, 1000)),
                      "s": pa.array([["a", "b", "c"][k % 3] for k in range(1000)])})
    path = tmp_path / "data.csv"
    pacsv.write_csv(table, path)
    got = arrowjit.scan(path, "x > 2.5 and s = 'b'", ["id", "x"]).read_all()
    _same(got, _expected(table, "x > 2.5 and s = 'b'", ["id", "x"]))


def test_glob_and_list_of_paths(tmp_path, table):
    parts = [table.slice(k * 1500, 1500) for k in range(4)]
    paths = []
    for k, part in enumerate(parts):
        paths.append(str(tmp_path / f"part-{k}.parquet"))
        pq.write_table(part, paths[-1], row_group_size=GROUP)
    where = "x < 1 or id = 4000"
    want = _expected(table, where)
    _same(arrowjit.scan(str(tmp_path / "part-*.parquet"), where).read_all(), want)
    _same(arrowjit.scan(paths, where).read_all(), want)
    _same(arrowjit.scan(ds.dataset(paths), where).read_all(), want)
    scan = arrowjit.scan(paths, "id >= 4400")
    assert scan.read_all().num_rows == ROWS - 4400
    assert "row groups: 4 of 12 read" in scan.explain()


def test_in_memory_dataset(table):
    got = arrowjit.scan(ds.dataset(table), "x > 9").read_all()
    _same(got, _expected(table, "x > 9"))


# ---------------------------------------------------------------------------
# Memory: a file many row groups long is scanned a few row groups at a time.
# ---------------------------------------------------------------------------

def test_memory_stays_bounded(tmp_path):
    rows_per_group, groups = 50_000, 24
    rng = np.random.default_rng(1)
    path = tmp_path / "big.parquet"
    columns = {f"c{k}": rng.uniform(0, 10, rows_per_group * groups) for k in range(4)}
    pq.write_table(pa.table(columns), path, row_group_size=rows_per_group, compression="snappy")
    del columns
    group_bytes = rows_per_group * 8 * 4
    decoded = group_bytes * groups

    baseline = pa.total_allocated_bytes()
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], pa.total_allocated_bytes() - baseline)
            time.sleep(0.0005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    kept = 0
    try:
        for batch in arrowjit.scan(path, "c0 > 2.0 and c0 < 6.0", threads=2):
            kept += batch.num_rows
            del batch
    finally:
        done.set()
        sampler.join()
    assert 0.38 * rows_per_group * groups < kept < 0.42 * rows_per_group * groups
    # threads + 1 row groups in flight, each with its output and the one being consumed
    print(f"peak {peak[0] / group_bytes:.2f} row groups")
    assert peak[0] < 4.5 * group_bytes, (peak[0], group_bytes, decoded)
    assert peak[0] < decoded / 5


# ---------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(arrowjit.SourceError, match="no such file"):
        arrowjit.scan(tmp_path / "nope.parquet", "x > 1")
    with pytest.raises(arrowjit.SourceError, match="no file matches"):
        arrowjit.scan(str(tmp_path / "*.parquet"), "x > 1")


def test_unknown_columns(parquet_file):
    with pytest.raises(arrowjit.UnknownColumnError) as error:
        arrowjit.scan(parquet_file, "x > 1 and nope < 2")
    assert "^^^^" in str(error.value)
    with pytest.raises(arrowjit.UnknownColumnError, match="unknown column 'nope' in columns"):
        arrowjit.scan(parquet_file, "x > 1", ["id", "nope"])


def test_bad_sources_and_options(tmp_path, parquet_file):
    not_parquet = tmp_path / "fake.parquet"
    not_parquet.write_text("hello")
    with pytest.raises(arrowjit.SourceError, match="cannot read"):
        arrowjit.scan(not_parquet, "x > 1")
    odd = tmp_path / "data.xyz"
    odd.write_text("x\n1\n")
    with pytest.raises(arrowjit.SourceError, match="cannot tell the format"):
        arrowjit.scan(odd, "x > 1")
    assert arrowjit.scan(odd, "x > 0", format="csv").count() == 1
    with pytest.raises(ArgumentError):
        arrowjit.scan(parquet_file, "x > 1", threads=0)
    with pytest.raises(ArgumentError):
        arrowjit.scan(parquet_file, "x > 1", progress="yes")
    with pytest.raises(ArgumentError):
        arrowjit.scan(12, "x > 1")


# ---------------------------------------------------------------------------
# Progress.
# ---------------------------------------------------------------------------

def test_progress_bar_only_when_asked_or_on_a_terminal(parquet_file, capfd):
    arrowjit.scan(parquet_file, "x > 5").read_all()  # stderr is not a terminal here
    assert capfd.readouterr().err == ""
    arrowjit.scan(parquet_file, "x > 5", progress=True).read_all()
    err = capfd.readouterr().err
    assert "scan" in err and "row groups" in err and "12/12" in err
    arrowjit.scan(parquet_file, "x > 5", progress=False).count()
    assert capfd.readouterr().err == ""


# ---------------------------------------------------------------------------
# Pruning never loses a row: random predicates over row groups with edge statistics.
# ---------------------------------------------------------------------------

def _edge_table() -> pa.Table:
    """Row groups of 8 rows: constant, all null, all NaN, NaN mixed with one value, infinities, ..."""
    nan, inf = float("nan"), float("inf")
    groups_x = [[3.0] * 8, [None] * 8, [nan] * 8, [3.0, nan] * 4, [-inf, inf, 0.0, -0.0] * 2,
                [1.0, 2.0, None, nan, 5.0, 6.0, 7.0, 8.0], [-1.0] * 7 + [None], [10.0, 20.0] * 4]
    groups_i = [[5] * 8, [None] * 8, [-3, 7] * 4, [0] * 8, [None, 1] * 4, list(range(8)), [100] * 8,
                [-100, 0] * 4]
    groups_s = [["b"] * 8, [None] * 8, ["a", "c"] * 4, ["", "ab"] * 4, ["ba", None] * 4, ["b"] * 8,
                ["zz"] * 8, ["abc", "abd"] * 4]
    flat = lambda groups: [v for g in groups for v in g]  # noqa: E731
    return pa.table({"x": pa.array(flat(groups_x), pa.float64()), "i": pa.array(flat(groups_i), pa.int32()),
                     "s": pa.array(flat(groups_s), pa.string()),
                     "b": pa.array([k % 3 == 0 if k % 5 else None for k in range(64)], pa.bool_())})


def _random_predicate(rng: np.random.Generator, depth: int = 0) -> str:
    if depth < 2 and rng.random() < 0.45:
        kind = rng.choice(["and", "or", "not"])
        if kind == "not":
            return f"not ({_random_predicate(rng, depth + 1)})"
        return f"({_random_predicate(rng, depth + 1)}) {kind} ({_random_predicate(rng, depth + 1)})"
    op = rng.choice(["=", "!=", "<", "<=", ">", ">="])
    atom = rng.integers(0, 8)
    if atom == 0:
        return f"x {op} {rng.choice(['3.0', '-0.0', '0.0', '2.5', '10', 'inf', '-inf', 'nan'])}"
    if atom == 1:
        return f"i {op} {rng.choice([-100, -3, 0, 5, 7, 100, 3000000000])}"
    if atom == 2:
        return f"s {op} '{rng.choice(['b', 'a', '', 'ab', 'zz', 'abd'])}'"
    if atom == 3:
        return f"{rng.choice(['x', 'i', 's', 'b'])} is {rng.choice(['', 'not '])}null"
    if atom == 4:
        return rng.choice(["isnan(x)", "b", "not b", "starts_with(s, 'ab')", "x = i", "i::float64 > x"])
    if atom == 5:
        return f"i in ({rng.choice([-3, 5])}, {rng.choice([0, 7, 100])})"
    if atom == 6:
        return f"x between {rng.choice(['-1', '0', '3'])} and {rng.choice(['3', '8', 'inf'])}"
    return f"abs(x) {op} 2.0"


def test_random_predicates_never_lose_a_row(tmp_path):
    table = _edge_table()
    path = tmp_path / "edges.parquet"
    pq.write_table(table, path, row_group_size=8)
    rng = np.random.default_rng(20240601)
    checked = pruned = 0
    for _ in range(300):
        where = _random_predicate(rng)
        want = _expected(table, where)
        scan = arrowjit.scan(path, where, threads=1)
        _same(scan.read_all(), want)
        checked += 1
        pruned += scan.stats.row_groups_read < 8
    assert checked == 300 and pruned > 50  # the pruning expression did skip row groups


def test_importing_arrowjit_imports_no_scan_machinery():
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, arrowjit; print(sorted(m for m in ('pyarrow.dataset', 'pyarrow.parquet', 'tqdm', "
            "'pyarrow.csv') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_pruning_expression_pyarrow_rejects_prunes_nothing(parquet_file, table, monkeypatch):
    from arrowjit import scanner
    from arrowjit.pushdown import Pushdown

    rejected = Pushdown(pc.field("s") > 5, ())  # string against int: pyarrow raises
    monkeypatch.setattr(scanner, "pushdown", lambda typed, params: rejected)
    scan = arrowjit.scan(parquet_file, "x > 9")
    assert scan.plan.pruning.expression is None and "pruning expression: none" in scan.explain()
    _same(scan.read_all(), _expected(table, "x > 9"))


def test_default_bar_on_a_terminal_after_the_delay(parquet_file, capfd, monkeypatch):
    from arrowjit import progress

    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: True)
    arrowjit.scan(parquet_file, "x > 5").read_all()  # shorter than the delay: no bar
    assert capfd.readouterr().err == ""
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    arrowjit.scan(parquet_file, "x > 5").read_all()
    assert "12/12 row groups" in capfd.readouterr().err


def test_polars_and_duckdb_read_a_scan(parquet_file, table):
    want = _expected(table, "x < 0.5", ["id", "x"]).num_rows
    polars = pytest.importorskip("polars")
    assert polars.DataFrame(arrowjit.scan(parquet_file, "x < 0.5", ["id", "x"])).shape == (want, 2)
    duckdb = pytest.importorskip("duckdb")
    scan = arrowjit.scan(parquet_file, "x < 0.5", ["id", "x"])  # noqa: F841 - DuckDB finds it by name
    assert duckdb.sql("SELECT count(*) FROM scan").fetchall() == [(want,)]


def _encrypted(path, plaintext_footer: bool) -> None:
    """A Parquet file with column x encrypted (keys "wrapped" as themselves) and y in the clear."""
    import base64

    encryption = pytest.importorskip("pyarrow.parquet.encryption")

    class Keys(encryption.KmsClient):
        def __init__(self, config):
            encryption.KmsClient.__init__(self)

        def wrap_key(self, key, master_key_identifier):
            return base64.b64encode(key)

        def unwrap_key(self, wrapped_key, master_key_identifier):
            return base64.b64decode(wrapped_key)

    factory = encryption.CryptoFactory(lambda config: Keys(config))
    connection = encryption.KmsConnectionConfig(custom_kms_conf={"k": "0123456789012345"})
    config = encryption.EncryptionConfiguration(footer_key="k", column_keys={"k": ["x"]},
                                                plaintext_footer=plaintext_footer, double_wrapping=False)
    table = pa.table({"x": np.arange(100.0), "y": np.arange(100.0)})
    properties = factory.file_encryption_properties(connection, config)
    with pq.ParquetWriter(path, table.schema, encryption_properties=properties) as writer:
        writer.write_table(table)


@pytest.mark.parametrize("plaintext_footer", [True, False])
@pytest.mark.parametrize("where", ["x > 3", "y > 3"])
def test_an_encrypted_file_is_a_source_error_not_a_crash(tmp_path, plaintext_footer, where):
    # With a plaintext footer pyarrow itself aborts the process on the column metadata
    # (pyarrow 26): arrowjit must refuse the file before pyarrow looks at it.
    path = tmp_path / "secret.parquet"
    _encrypted(path, plaintext_footer)
    assert path.read_bytes()[-4:] == (b"PAR1" if plaintext_footer else b"PARE")
    with pytest.raises(arrowjit.SourceError, match="encrypted" if plaintext_footer else None):
        arrowjit.scan(str(path), where, progress=False).count()
    with pytest.raises(arrowjit.SourceError):
        arrowjit.scan(str(path), where, progress=False).read_all()
    with pytest.raises(arrowjit.SourceError):
        arrowjit.scan(str(path), where, progress=False).explain()
