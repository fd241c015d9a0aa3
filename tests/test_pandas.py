"""``df.arrowjit``: the pandas accessor, compared with ``DataFrame.query`` and plain Python."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

import arrowjit


def run_python(code: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def pandas_query(df: pd.DataFrame, expr: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Engine has switched to 'python'"
        return df.query(expr)


# ---------------------------------------------------------------------------
# Import order
# ---------------------------------------------------------------------------

def test_importing_arrowjit_does_not_import_pandas():
    result = run_python("""
        import sys
        import arrowjit
        print(sorted(m for m in sys.modules if m == "pandas" or m.startswith("pandas.")))
        arrowjit.compile_filter("x > 1", {"x": "int64"})
        print(sorted(m for m in sys.modules if m == "pandas" or m.startswith("pandas.")))
    """)
    # (pyarrow itself imports pandas when building a RecordBatch, so only arrowjit's own steps count)
    assert result.stdout.split("\n")[:2] == ["[]", "[]"]


def test_accessor_when_pandas_is_imported_after_arrowjit():
    result = run_python("""
        import arrowjit
        import pandas as pd
        df = pd.DataFrame({"x": [1.0, float("nan"), 3.0, 0.5]}, index=["a", "b", "c", "d"])
        print(df.arrowjit.query("x != 1").index.tolist())
        print(df.arrowjit.mask("x > 0.75").tolist())
    """)
    assert result.stdout.split("\n")[:2] == ["['b', 'c', 'd']", "[True, False, True, False]"]


def test_accessor_when_pandas_is_imported_after_arrowjit_with_from_import():
    result = run_python("""
        import arrowjit
        from pandas import DataFrame
        print(DataFrame({"n": [1, 2, 3]}).arrowjit.query("n >= 2").index.tolist())
    """)
    assert result.stdout.strip() == "[1, 2]"


def test_accessor_when_pandas_is_imported_before_arrowjit():
    result = run_python("""
        import pandas as pd
        import arrowjit
        df = pd.DataFrame({"n": [5, 1, 7]}, index=["p", "q", "r"])
        print(df.arrowjit.query("n > 2").index.tolist())
    """)
    assert result.stdout.strip() == "['p', 'r']"


def test_accessor_in_this_process():
    # this module imported pandas before arrowjit
    assert hasattr(pd.DataFrame({"x": [1]}), "arrowjit")


# ---------------------------------------------------------------------------
# query == DataFrame.query
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 1000
    x = rng.normal(0, 1, n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "x": x,
        "n": rng.integers(-5, 10, n),
        "i8": rng.integers(-100, 100, n).astype(np.int8),
        "u": rng.integers(0, 50, n).astype(np.uint32),
        "f32": rng.normal(0, 1, n).astype(np.float32),
        "b": rng.random(n) < 0.4,
        "c": rng.random(n) < 0.6,
        "s": [f"s{i % 17}" for i in range(n)],
        "my col": rng.integers(0, 4, n),
    }, index=[f"row{i}" for i in range(n)])


QUERIES = [
    "x > 0.5",
    "x != 1",
    "x != x",
    "x == x",
    "not (x > 0.5)",
    "~(x > 0.5)",
    "n > 2 and b",
    "n > 2 or b",
    "(x > 0) & (n < 5)",
    "x > 0 & n < 5",
    "(n > 7) | b",
    "n > 7 | b",
    "~b",
    "not b",
    "b",
    "b == True",
    "b and not c",
    "1 < n < 5",
    "0 <= x < 1.5",
    "-1 < n <= 3 < 2 * n",
    "x > 0.5 or n == 3 and b",
    "(x > 0.5 or n == 3) and b",
    "n in (1, 3, 8)",
    "n not in (1, 3)",
    "n % 2 == 0",
    "n // 2 == 1",
    "x * 2 > n",
    "-x < 0",
    "x ** 2 > 2",
    "i8 > 50 or i8 < -50",
    "u >= 25 and f32 < 0",
    "f32 > x",
    "`my col` == 2",
    "`my col` > n and x > 0",
]


@pytest.mark.parametrize("expr", QUERIES)
def test_query_equals_dataframe_query(frame, expr):
    got = frame.arrowjit.query(expr)
    want = pandas_query(frame, expr)
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("expr", ["x > 0.5", "x != 1", "n > 2 and b", "not (x > 0.5)", "~b | (u < 10)"])
def test_mask_is_a_bool_series_aligned_with_the_index(frame, expr):
    mask = frame.arrowjit.mask(expr)
    assert isinstance(mask, pd.Series)
    assert mask.dtype == np.dtype(bool)
    assert mask.index.equals(frame.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = frame.eval(expr)
    np.testing.assert_array_equal(mask.to_numpy(), want.to_numpy(dtype=bool))
    pd.testing.assert_frame_equal(frame[mask], pandas_query(frame, expr))


def test_chained_queries(frame):
    got = frame.arrowjit.query("x > -1").arrowjit.query("n < 5").arrowjit.query("b or c")
    want = pandas_query(pandas_query(pandas_query(frame, "x > -1"), "n < 5"), "b or c")
    pd.testing.assert_frame_equal(got, want)
    assert len(got) > 0


def test_index_kinds():
    values = {"x": [0.5, np.nan, 2.5, 3.5, -1.0], "n": [1, 2, 3, 4, 5]}
    indexes = [
        pd.Index(["e", "d", "c", "b", "a"]),
        pd.Index(["a", "a", "b", "b", "a"]),  # repeated labels
        pd.RangeIndex(10, 15),
        pd.date_range("2024-01-01", periods=5, freq="D"),
        pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1), ("b", 2), ("c", 1)]),
    ]
    for index in indexes:
        df = pd.DataFrame(values, index=index)
        for expr in ("x > 1", "x != 2.5", "n % 2 == 1 and x == x"):
            pd.testing.assert_frame_equal(df.arrowjit.query(expr), pandas_query(df, expr))


def test_columns_of_a_2d_block_and_strided_views():
    df = pd.DataFrame(np.arange(300.0).reshape(100, 3), columns=["a", "b", "c"])
    df.loc[::7, "b"] = np.nan
    for view in (df, df.iloc[::3], df.iloc[5:90], df.iloc[::-1]):
        for expr in ("b > 100 and c < 250", "b != 31"):
            pd.testing.assert_frame_equal(view.arrowjit.query(expr), pandas_query(view, expr))


def test_empty_dataframe():
    df = pd.DataFrame({"x": np.array([], dtype=np.float64), "s": np.array([], dtype=object)})
    pd.testing.assert_frame_equal(df.arrowjit.query("x > 1"), pandas_query(df, "x > 1"))
    assert df.arrowjit.mask("x > 1").tolist() == []


LIMIT = 3
FLOAT_LIMIT = 0.25


def test_local_variables_with_at(frame):
    numpy_limit = np.int64(7)
    for expr in ("n > @LIMIT", "x > @FLOAT_LIMIT", "n > @FLOAT_LIMIT", "n < @numpy_limit and b",
                 "x != @FLOAT_LIMIT or n == @LIMIT"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = frame.query(expr)  # called here, so that pandas sees this function's variables
        pd.testing.assert_frame_equal(frame.arrowjit.query(expr), want)
    assert numpy_limit == 7
    for value in (2, 2.5, -1):
        got = frame.arrowjit.query("n > @v", local_dict={"v": value})
        want = frame[frame["n"] > value]
        pd.testing.assert_frame_equal(got, want)


def test_constant_queries(frame):
    pd.testing.assert_frame_equal(frame.arrowjit.query("true"), frame)
    pd.testing.assert_frame_equal(frame.arrowjit.query("false"), frame.iloc[:0])
    pd.testing.assert_frame_equal(frame.arrowjit.query("null"), frame.iloc[:0])


# ---------------------------------------------------------------------------
# Nullable dtypes: pd.NA is an SQL null, NaN stays NaN
# ---------------------------------------------------------------------------

NA = pd.NA


def _is_na(v) -> bool:
    return v is NA or v is None


def _three_valued(rows, predicate):
    """Positions where ``predicate`` is true; a predicate returning None is null."""
    return [k for k, row in enumerate(rows) if predicate(*row) is True]


def _and(*values):
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def _or(*values):
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def _not(v):
    return None if v is None else not v


def _cmp(op, a, b):
    return None if _is_na(a) or _is_na(b) else op(a, b)


@pytest.fixture(scope="module")
def nullable() -> tuple[pd.DataFrame, list]:
    i = [1, NA, 3, -4, NA, 6, 7, 0]
    f = [1.5, NA, 2.5, NA, -0.5, 9.0, 1.5, 3.0]
    b = [True, NA, False, True, NA, False, True, NA]
    df = pd.DataFrame({
        "i": pd.array(i, dtype="Int64"),
        "f": pd.array(f, dtype="Float64"),
        "bb": pd.array(b, dtype="boolean"),
        "plain": np.arange(8, dtype=np.int64),
    }, index=list("abcdefgh"))
    return df, list(zip(i, f, b, range(8)))


NULLABLE_CASES = {
    "i > 1": lambda i, f, b, p: _cmp(int.__gt__, i, 1),
    "i != 3": lambda i, f, b, p: _cmp(int.__ne__, i, 3),
    "i is null": lambda i, f, b, p: _is_na(i),
    "i is not null and plain > 2": lambda i, f, b, p: (not _is_na(i)) and p > 2,
    "f > 1.0": lambda i, f, b, p: _cmp(float.__gt__, f, 1.0),
    "f != 1.5": lambda i, f, b, p: _cmp(float.__ne__, f, 1.5),
    "not (f < 2.0)": lambda i, f, b, p: _not(_cmp(float.__lt__, f, 2.0)),
    "bb": lambda i, f, b, p: None if _is_na(b) else b,
    "not bb": lambda i, f, b, p: None if _is_na(b) else not b,
    "~bb": lambda i, f, b, p: None if _is_na(b) else not b,
    "bb or i > 2": lambda i, f, b, p: _or(None if _is_na(b) else b, _cmp(int.__gt__, i, 2)),
    "bb and f > 0": lambda i, f, b, p: _and(None if _is_na(b) else b, _cmp(float.__gt__, f, 0.0)),
    "not (bb and f > 0)": lambda i, f, b, p: _not(_and(None if _is_na(b) else b, _cmp(float.__gt__, f, 0.0))),
    "i + plain > 5": lambda i, f, b, p: None if _is_na(i) else i + p > 5,
    "i < f": lambda i, f, b, p: _cmp(lambda x, y: x < y, i, f),
}


@pytest.mark.parametrize("expr", list(NULLABLE_CASES))
def test_nullable_dtypes_na_is_null(nullable, expr):
    df, rows = nullable
    positions = _three_valued(rows, NULLABLE_CASES[expr])
    got = df.arrowjit.query(expr)
    pd.testing.assert_frame_equal(got, df.iloc[positions])
    mask = df.arrowjit.mask(expr)
    assert mask.dtype == np.dtype(bool) and mask.index.equals(df.index)
    assert np.flatnonzero(mask.to_numpy()).tolist() == positions


def test_nullable_float_keeps_nan_apart_from_na():
    values = pd.arrays.FloatingArray(np.array([np.nan, 1.0, 2.0, 5.0]), np.array([False, False, True, False]))
    df = pd.DataFrame({"f": values}, index=["nan", "one", "na", "five"])
    assert df["f"].isna().tolist() == [False, False, True, False]  # NaN here is a value, not NA
    # NaN != 1 is true (IEEE), NA != 1 is null (SQL)
    assert df.arrowjit.query("f != 1").index.tolist() == ["nan", "five"]
    assert df.arrowjit.query("f != f").index.tolist() == ["nan"]
    assert df.arrowjit.query("f is null").index.tolist() == ["na"]
    assert df.arrowjit.query("isnan(f)").index.tolist() == ["nan"]


def test_numpy_float_nan_is_not_null():
    df = pd.DataFrame({"x": [np.nan, 1.0, 2.0]}, index=["p", "q", "r"])
    assert df.arrowjit.query("x is null").index.tolist() == []
    assert df.arrowjit.query("x is not null").index.tolist() == ["p", "q", "r"]
    assert df.arrowjit.query("x != 1").index.tolist() == ["p", "r"]
    pd.testing.assert_frame_equal(df.arrowjit.query("x != 1"), pandas_query(df, "x != 1"))


def test_pyarrow_backed_dtypes():
    df = pd.DataFrame({
        "p": pd.array([1.5, None, 3.0, -2.0], dtype="float64[pyarrow]"),
        "q": pd.array([1, 2, None, 4], dtype="int32[pyarrow]"),
        "r": pd.array([True, None, False, True], dtype="bool[pyarrow]"),
    })
    # rows: p > 1 -> T, null, T, F ; q == 2 -> F, T, null, F ; r -> T, null, F, T
    assert df.arrowjit.query("p > 1 or q == 2").index.tolist() == [0, 1, 2]
    assert df.arrowjit.query("p > 1 and r").index.tolist() == [0]
    assert df.arrowjit.query("not r").index.tolist() == [2]
    assert df.arrowjit.query("q is null or p < 0").index.tolist() == [2, 3]


def test_unsigned_and_narrow_types_against_python():
    u = np.array([0, 5, 2**63, 2**64 - 1, 7], dtype=np.uint64)
    i8 = np.array([-128, 0, 127, 1, -1], dtype=np.int8)
    df = pd.DataFrame({"u": u, "i8": i8})
    want = [k for k in range(5) if int(u[k]) > 5 and int(i8[k]) >= 0]
    assert df.arrowjit.query("u > 5 and i8 >= 0").index.tolist() == want == [2, 3]


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

def test_unknown_column_is_an_arrowjit_error(frame):
    with pytest.raises(arrowjit.UnknownColumnError, match="'nope'"):
        frame.arrowjit.query("nope > 1")
    with pytest.raises(arrowjit.ArrowJitError):
        frame.arrowjit.mask("X > 1")


def test_parse_error_is_an_arrowjit_error(frame):
    with pytest.raises(arrowjit.ParseError):
        frame.arrowjit.query("x > ")


def test_string_column_in_expression(frame):
    with pytest.raises(arrowjit.ExpressionTypeError, match=r"cannot compare s \((large_)?utf8\) with 1"):
        frame.arrowjit.query("s > 1")


def test_unsupported_unreferenced_columns_are_fine():
    df = pd.DataFrame({
        "x": [1, 2, 3],
        "cat": pd.Categorical(["a", "b", "a"]),
        "ts": pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01"]).tz_localize("UTC"),
        "obj": [{"a": 1}, None, [1]],
        7: [0.1, 0.2, 0.3],
    })
    assert df.arrowjit.query("x > 1").index.tolist() == [1, 2]
    with pytest.raises(arrowjit.ExpressionTypeError, match=r"cannot compare ts \(timestamp"):
        df.arrowjit.query("ts > 1")
    # time-zone aware datetimes are timestamps with a zone
    assert df.arrowjit.query("ts > timestamp '2020-06-01'").index.tolist() == [1, 2]
    assert df.arrowjit.query("year(ts) == 2021").index.tolist() == [1]


def test_duplicated_unreferenced_column_label():
    df = pd.DataFrame([[1, 2, 3.0], [4, 5, 6.0]], columns=["a", "a", "x"])
    pd.testing.assert_frame_equal(df.arrowjit.query("x > 4"), pandas_query(df, "x > 4"))


def test_duplicated_referenced_column_label():
    df = pd.DataFrame([[1, 2, 3.0], [4, 5, 6.0]], columns=["a", "a", "x"])
    with pytest.raises(arrowjit.ArrowJitError, match="'a'"):
        df.arrowjit.query("a > 1")


def test_unsupported_pandas_dtype_is_named_in_the_error():
    df = pd.DataFrame({
        "cat": pd.Categorical(["a", "b", "a"]),
        "ts": pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01"]).tz_localize("UTC"),
    })
    # A categorical of strings is a dictionary-encoded string column.
    assert df.arrowjit.query("cat == 'a'").index.tolist() == [0, 2]
    with pytest.raises(arrowjit.ExpressionTypeError) as info:
        df.arrowjit.query("cat > 1")
    assert "cannot compare cat (" in str(info.value) and "utf8)" in str(info.value)
    with pytest.raises(arrowjit.ExpressionTypeError) as info:
        df.arrowjit.query("ts > 1")
    assert "timestamp" in str(info.value)


def test_a_compiled_filter_reads_a_dataframe_too():
    # (issue 7: any Arrow data in, the same kind out; tests/test_inputs.py has the rest)
    f = arrowjit.compile_filter("x > 1", {"x": "int64"})
    mask = f.mask(pd.DataFrame({"x": [1, 2, 3]}, index=[7, 8, 9]))
    assert mask.tolist() == [False, True, True] and mask.index.tolist() == [7, 8, 9]
