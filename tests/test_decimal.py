"""decimal128 columns against pyarrow.compute and DuckDB: comparisons, + - *, casts, outputs."""

import random
from decimal import Context, Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit.errors import ExpressionTypeError


def decimals(precision: int, scale: int, rows: int = 523, seed: int = 1) -> pa.Array:
    rng = random.Random(seed)
    limit = 10**precision - 1
    values = []
    for k in range(rows):
        if rng.random() < 0.1:
            values.append(None)
            continue
        digits = rng.randint(0, precision)
        unscaled = rng.randint(-(10**digits - 1), 10**digits - 1)
        if k < 6:
            unscaled = [0, 1, -1, limit, -limit, 10**scale][k]
        values.append(Decimal(unscaled).scaleb(-scale, Context(prec=100)))
    return pa.array(values, pa.decimal128(precision, scale))


def batch(rows: int = 523) -> pa.RecordBatch:
    return pa.record_batch({
        "a": decimals(10, 2, rows), "b": decimals(6, 3, rows, seed=2), "c": decimals(38, 10, rows, seed=3),
        "z": decimals(18, 0, rows, seed=4), "i": pa.array(range(-(rows // 2), rows - rows // 2)),
        "f": pa.array([k / 7 for k in range(rows)]),
    })


def project(expr: str, data) -> pa.Array:
    out = arrowjit.compile_projection({"out": expr}, data.schema)(data)["out"]
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def mask(expr: str, data) -> list:
    return arrowjit.compile_filter(expr, data.schema).mask(data).to_pylist()


def fill(array) -> list:
    return pc.fill_null(array, False).to_pylist()


ARITHMETIC = [
    ("a + b", lambda d: pc.add(d["a"], d["b"])),
    ("a - b", lambda d: pc.subtract(d["a"], d["b"])),
    ("a * b", lambda d: pc.multiply(d["a"], d["b"])),
    ("b - a", lambda d: pc.subtract(d["b"], d["a"])),
    ("a + z", lambda d: pc.add(d["a"], d["z"])),
    ("a * z", lambda d: pc.multiply(d["a"], d["z"])),
    ("a * 2", lambda d: pc.multiply(d["a"], 2)),
    ("a + i", lambda d: pc.add(d["a"], d["i"])),
    ("-a", lambda d: pc.negate(d["a"])),
    ("a * b + a", lambda d: pc.add(pc.multiply(d["a"], d["b"]), d["a"])),
]


@pytest.mark.parametrize("expr, oracle", ARITHMETIC, ids=[c[0] for c in ARITHMETIC])
@pytest.mark.parametrize("offset, length", [(0, 523), (3, 61), (13, 300), (1, 0)])
def test_arithmetic_against_pyarrow(expr, oracle, offset, length):
    data = batch().slice(offset, length)
    got = project(expr, data)
    want = oracle(data)
    assert got.type == want.type
    assert got.to_pylist() == want.to_pylist()


COMPARISONS = [
    ("a > b", lambda d: pc.greater(d["a"], d["b"])),
    ("a <= b", lambda d: pc.less_equal(d["a"], d["b"])),
    ("a == b", lambda d: pc.equal(d["a"], d["b"])),
    ("a != z", lambda d: pc.not_equal(d["a"], d["z"])),
    ("c < a", lambda d: pc.less(d["c"], d["a"])),
    ("a > 3", lambda d: pc.greater(d["a"], 3)),
    ("a < i", lambda d: pc.less(d["a"], d["i"])),
    ("a >= f", lambda d: pc.greater_equal(d["a"], d["f"])),
    ("a between -5 and 5", lambda d: pc.and_(pc.greater_equal(d["a"], -5), pc.less_equal(d["a"], 5))),
    ("a in (1, -1, 0)", lambda d: pc.is_in(d["a"], pa.array([Decimal(1), Decimal(-1), Decimal(0)],
                                                             pa.decimal128(10, 2)))),
    ("a * b > c", lambda d: pc.greater(pc.multiply(d["a"], d["b"]), d["c"])),
]


@pytest.mark.parametrize("expr, oracle", COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_comparisons_against_pyarrow(expr, oracle):
    data = batch()
    assert mask(expr, data) == fill(oracle(data))


def test_chunked_table():
    data = batch()
    table = pa.Table.from_batches([data.slice(0, 100), data.slice(100, 301), data.slice(401)])
    assert project("a * b - z", table).to_pylist() == \
        pc.subtract(pc.multiply(data["a"], data["b"]), data["z"]).to_pylist()
    assert arrowjit.compile_filter("a > b", table.schema).count(table) == \
        pc.sum(pc.fill_null(pc.greater(data["a"], data["b"]), False).cast(pa.int64())).as_py()


@pytest.mark.parametrize("literal", ["1.2", "1.25", "-0.005", "0.1", "99999999.99", "3", "1e3", "2.5e-3"])
def test_float_literals_compare_exactly_as_duckdb(literal):
    duckdb = pytest.importorskip("duckdb")
    data = batch()
    for op in (">", "=", "<="):
        want = duckdb.sql(f"select coalesce(a {op} {literal}, false) as m from data").to_arrow_table()["m"]
        assert mask(f"a {op} {literal}", data) == want.to_pylist(), op


def test_float_literal_exactness():
    data = pa.record_batch({"a": pa.array([Decimal("1.10"), Decimal("1.11"), Decimal("0.30")],
                                          pa.decimal128(5, 2))})
    assert mask("a == 1.1", data) == [True, False, False]
    assert mask("a == 0.1 + 0.2", data) == [False, False, False]  # a float sum: compared as float64
    assert mask("a > 1.105", data) == [False, True, False]


def test_overflow_past_38_digits_is_null():
    big = Decimal(10**37 * 9).scaleb(-2, Context(prec=100))
    data = pa.record_batch({"c": pa.array([big, Decimal(1), None, -big], pa.decimal128(38, 2)),
                            "d": pa.array([big, Decimal(2), Decimal(1), -big], pa.decimal128(38, 2))})
    got = project("c + d", data)
    assert got.type == pa.decimal128(38, 2)  # pyarrow raises: precision 39 > 38
    assert got.to_pylist() == [None, Decimal("3.00"), None, None]
    product = project("c * d", data)
    assert product.type == pa.decimal128(38, 4)
    assert product.to_pylist() == [None, Decimal("2.0000"), None, None]


def test_casts_against_pyarrow():
    data = batch()
    a = data["a"]
    # The nearest float (as Python's float(Decimal) and DuckDB); pyarrow multiplies by a power of
    # ten and can be one unit off in the last place (-919.81 -> -919.8100000000001).
    assert project("cast(a as float64)", data).to_pylist() == [None if x is None else float(x) for x in
                                                              a.to_pylist()]
    assert project("a::float32", data).to_pylist() == pa.array(
        [None if x is None else float(x) for x in a.to_pylist()], pa.float32()).to_pylist()
    assert project("cast(a as int64)", data).to_pylist() == pc.cast(a, pa.int64(), safe=False).to_pylist()
    assert project("cast(a as decimal128(12, 1))", data).to_pylist() == \
        pc.cast(a, pa.decimal128(12, 1), safe=False).to_pylist()
    # (pyarrow refuses: an int64 needs 19 digits; every value here fits)
    assert project("cast(i as decimal128(12, 2))", data).to_pylist() == \
        [Decimal(x) for x in data["i"].to_pylist()]
    f = pa.array([0.125, -2.5, 1e30, float("nan"), None, 1.005, 3.14159])
    got = project("cast(f as decimal128(10, 2))", pa.record_batch({"f": f})).to_pylist()
    assert got == [Decimal("0.13"), Decimal("-2.50"), None, None, None, Decimal("1.00"), Decimal("3.14")]


def test_narrowing_casts_are_null_when_out_of_range():
    data = pa.record_batch({"a": pa.array([Decimal("123.45"), Decimal("-99.99"), Decimal("1e8")],
                                          pa.decimal128(12, 2))})
    assert project("cast(a as decimal128(4, 1))", data).to_pylist() == \
        [Decimal("123.4"), Decimal("-99.9"), None]
    assert project("cast(a as decimal128(3, 1))", data).to_pylist() == [None, Decimal("-99.9"), None]
    assert project("cast(a as int8)", data).to_pylist() == [123, -99, None]


def test_projection_output_type():
    proj = arrowjit.compile_projection(["d * 2", "d + 0.5", "d"], {"d": "decimal128(10, 2)"})
    assert [f.type for f in proj.output_schema] == [pa.decimal128(30, 2), pa.float64(), pa.decimal128(10, 2)]
    data = pa.record_batch({"d": pa.array([Decimal("1.50"), None], pa.decimal128(10, 2))})
    assert proj(data).to_pydict() == {"d * 2": [Decimal("3.00"), None], "d + 0.5": [2.0, None],
                                      "d": [Decimal("1.50"), None]}


def test_typed_ir():
    f = arrowjit.compile_filter("a > b", {"a": "decimal128(10, 2)", "b": "decimal(6, 3)"})
    # the common type: scale max(2, 3), integer digits max(8, 3): decimal128(11, 3)
    assert f.ir("typed").split() == [
        "(greater_than_decimal128(11,3)_decimal128(11,3)", "(cast_decimal128(11,3)_decimal128(10,2)",
        "a:decimal128(10,2)):decimal128(11,3)", "(cast_decimal128(11,3)_decimal128(6,3)",
        "b:decimal128(6,3)):decimal128(11,3)):bool"]


@pytest.mark.parametrize("expr", ["a + s", "a > s", "a > true", "a + timestamp '2024-01-01'",
                                  "cast(s as decimal(5, 2)) + s > 1", "1.5::decimal128(3, 0) > a",
                                  "a * c * c > 1"])
def test_errors_are_caret_errors(expr):
    schema = {"a": "decimal128(10, 2)", "c": "decimal128(38, 30)", "s": "string"}
    with pytest.raises(ExpressionTypeError) as info:
        arrowjit.compile_filter(expr, schema)
    assert "^" in str(info.value)


def test_literal_template_cache_keeps_decimal_literals_apart():
    data = pa.record_batch({"d": pa.array([Decimal("1000.60"), Decimal("1000.80")], pa.decimal128(12, 2))})
    for expr, want in [("d > 1000.5", [True, True]), ("d > 1000.7", [False, True]),
                       ("d > 1000.9", [False, False]), ("d + 1 > 1001.7", [False, True]),
                       ("d + 2 > 1001.7", [True, True])]:
        assert mask(expr, data) == want, expr


def test_short_decimal_buffer_is_refused_before_any_kernel_reads_it():
    from test_runtime import corrupt_batch  # an IPC stream whose row count was altered
    good = pa.record_batch({"x": decimals(10, 2, rows=777)})
    bad = corrupt_batch(good, length=100_000)
    f = arrowjit.compile_filter("x > 1", good.schema)
    for data in (bad, bad.slice(5)):
        with pytest.raises(arrowjit.InvalidDataError, match="'x'"):
            f.mask(data)
    p = arrowjit.compile_projection(["x * 2"], good.schema)
    with pytest.raises(arrowjit.InvalidDataError, match="'x'"):
        p(bad)


# ---------------------------------------------------------------------------
# cast(s as decimal128(p, s)): text parsed in the kernel, against pyarrow's safe cast
# (null where it raises)
# ---------------------------------------------------------------------------

_TEXTS = ["1.5e2", "1.5", "-1.5", "+1.5", ".5", "5.", "1.234", " 1.5", "1.5 ", "", "abc", "1e-2", "1E2",
          "12345678901", "00001.50", "-0", "1.5e", "1_0", "inf", "nan", "1,5", "0.001e3", "99999999.99",
          "999999999.99", "-.5", "+.", ".", "1.2.3", "1.5e+2", "1.5e-0", "1.50000", "123e-5", None,
          "-99999999.99", "--1", "5e-3", "7.50e-1", "-0.00", "0.1e-1", "2e9", "1e10", "-12.345e1",
          "99999.99999", "1" * 38, "-" + "9" * 38, "0." + "0" * 36 + "1", "0." + "0" * 37 + "1"]
_TARGETS = [(10, 2), (38, 0), (38, 37), (5, 5), (3, 0), (20, 10)]


def _safe_cast(values, arrow_type) -> list:
    out = []
    for value in values:
        try:
            result = pc.cast(pa.array([value], pa.string()), arrow_type)[0].as_py()
        except pa.ArrowInvalid:
            result = None
        # pyarrow wraps some values that pass 38 digits around 128 bits instead of raising
        # ('12345678901' as decimal128(38, 37)): those are null in arrowjit
        out.append(None if result is not None and result != Decimal(value) else result)
    return out


@pytest.mark.parametrize("precision, scale", _TARGETS)
@pytest.mark.parametrize("string_type", [pa.string(), pa.large_string(), pa.string_view()])
def test_cast_string_to_decimal_matches_pyarrow(precision, scale, string_type):
    arrow_type = pa.decimal128(precision, scale)
    texts = _TEXTS * 3  # longer than a 64-row block
    column = pa.array(texts, string_type)
    expected = _safe_cast(texts, arrow_type)
    proj = arrowjit.compile_projection({"d": f"cast(s as decimal128({precision}, {scale}))",
                                        "e": f"s::decimal({precision},{scale})"},
                                       pa.schema([("s", string_type)]))
    chunked = pa.table({"s": column}).to_batches(max_chunksize=29)
    for data, want in [(pa.record_batch({"s": column}), expected),
                       (pa.record_batch({"s": column.slice(7, 101)}), expected[7:108]),
                       (pa.Table.from_batches(chunked).slice(3, 120), expected[3:123])]:
        out = proj(data)
        assert out.schema.field("d").type == arrow_type
        for name in ("d", "e"):
            got = out[name].to_pylist()
            # the same value and the same digits (scale) as pyarrow's
            assert [None if v is None else str(v) for v in got] == \
                [None if v is None else str(v) for v in want]


@pytest.mark.parametrize("text, expected", [
    # pyarrow wraps these around 128 bits instead of raising; arrowjit gives null
    ("12345678901234567890123456789012345678901", None),
    # pyarrow raises on more than 38 digits of text or a huge exponent even when the value fits;
    # arrowjit reads the value exactly
    ("1" + "0" * 50 + "e-50", Decimal("1.00")),
    ("0e99999999", Decimal("0.00")),
    ("1e99999999999999999999", None),
    ("-0.000000000000000000000000000000000000000000000000000000000", Decimal("0.00")),
])
def test_cast_string_to_decimal_where_pyarrow_wraps_or_gives_up(text, expected):
    data = pa.record_batch({"s": pa.array([text, None])})
    out = project("cast(s as decimal128(38, 2))", data).to_pylist()
    assert out == [expected, None]


def test_cast_string_to_decimal_in_a_filter():
    texts = ["1.25", "-3", "x", None, "1.255", "10"] * 20
    data = pa.table({"s": pa.array(texts, pa.large_string())})
    f = arrowjit.compile_filter("cast(s as decimal128(6, 2)) between 0 and 5 or s::decimal(6,2) is null",
                                data.schema)
    parsed = _safe_cast(texts, pa.decimal128(6, 2))
    assert f.mask(data).to_pylist() == [v is None or 0 <= v <= 5 for v in parsed]


def test_decimals_without_a_common_type_compare_exactly():
    # Found by the fuzzer (tests/test_fuzz.py, temporal/decimal generator): decimal128(38, 0)
    # against decimal128(5, 2) met at the capped decimal128(38, 2), and 3.3e37 * 100 wrapped in
    # 128 bits: `a > b` was false, `a > 1.5` false, `-1e37 > 2.25` true. Exact now (256 bits).
    big = Decimal("3" * 38)
    data = pa.record_batch({"a": pa.array([big, Decimal(-10**37), Decimal(1), None], pa.decimal128(38, 0)),
                            "b": pa.array([Decimal("1.5"), Decimal("2.25"), Decimal("1.00"), Decimal(1)],
                                          pa.decimal128(5, 2))})
    assert mask("a > b", data) == [True, False, False, False]
    assert mask("a < b", data) == [False, True, False, False]
    assert mask("a == b", data) == [False, False, True, False]
    assert mask("a > 1.5", data) == [True, False, False, False]
    assert mask("a between 1.5 and b", data) == [False, False, False, False]
    assert mask("a in (1.0, b)", data) == [False, False, True, False]
    assert mask("(a > b) is null", data) == [False, False, False, True]


def test_rescaling_that_passes_128_bits_is_null():
    # cast(int64 as decimal128(38, 30)) multiplied by 10**30 in 128 bits before the range check:
    # 10**9 gave -20847100.76...; a decimal128(38, 0) rescaled to scale 2 likewise.
    data = pa.record_batch({"i": pa.array([10**9, 5, -3, None]),
                            "a": pa.array([Decimal("3" * 38), Decimal(7), Decimal(-10**36), None],
                                          pa.decimal128(38, 0))})
    assert project("cast(i as decimal(38, 30))", data).to_pylist() == [
        None, Decimal("5").scaleb(0), Decimal("-3"), None]
    assert project("cast(a as decimal(38, 2))", data).to_pylist() == [None, Decimal("7.00"), None, None]


def test_sum_of_decimals_without_a_common_type_is_exact():
    # decimal128(38, 0) + decimal128(38, 10): no decimal128 holds both operands at scale 10, but
    # 10**28 - 0.5 fits 38 digits; the operands were cast to decimal128(38, 10) first (null).
    data = pa.record_batch({"a": pa.array([Decimal(10**28), Decimal(-10**28), Decimal(10**37)],
                                          pa.decimal128(38, 0)),
                            "b": pa.array([Decimal("-0.5"), Decimal("0.25"), Decimal(1)],
                                          pa.decimal128(38, 10))})
    assert project("a + b", data).type == pa.decimal128(38, 10)
    assert project("a + b", data).to_pylist() == [Decimal("9" * 28 + ".5"), Decimal("-" + "9" * 28 + ".75"),
                                                  None]
    assert project("b + a", data).to_pylist() == project("a + b", data).to_pylist()
    assert project("a - b", data).to_pylist() == [None, None, None]  # 10**28 + 0.5: 39 digits
