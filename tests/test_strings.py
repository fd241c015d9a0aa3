"""String columns: comparisons, in, starts_with / ends_with / contains, length, against pyarrow.compute."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit

WORDS = ["k042", "abc", None, "", "k0421", "héllo", "k041", "zz", "ab", "é", "日本語", "a'b", 'q"t', "K042"]


def make_batch(rows: int = 613, seed: int = 9) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    picks = [WORDS[k] for k in rng.integers(0, len(WORDS), rows)]
    other = [WORDS[k] for k in rng.integers(0, len(WORDS), rows)]
    return pa.record_batch({"s": pa.array(picks), "l": pa.array(other, pa.large_string()),
                            "x": pa.array(rng.uniform(0, 10, rows))})


CASES = [
    ("s == 'k042'", lambda b: pc.equal(b["s"], "k042")),
    ("s = \"k042\"", lambda b: pc.equal(b["s"], "k042")),
    ("s != 'k042'", lambda b: pc.not_equal(b["s"], "k042")),
    ("s < 'k0'", lambda b: pc.less(b["s"], "k0")),
    ("s <= 'ab'", lambda b: pc.less_equal(b["s"], "ab")),
    ("s > 'héllo'", lambda b: pc.greater(b["s"], "héllo")),
    ("s >= ''", lambda b: pc.greater_equal(b["s"], "")),
    ("s == ''", lambda b: pc.equal(b["s"], "")),
    ("s == 'a''b'", lambda b: pc.equal(b["s"], "a'b")),
    ("s == 'q\"t'", lambda b: pc.equal(b["s"], 'q"t')),
    ("s == l", lambda b: pc.equal(b["s"], b["l"])),
    ("s < l", lambda b: pc.less(b["s"], b["l"])),
    ("l > 'b' and x > 3", lambda b: pc.and_kleene(pc.greater(b["l"], "b"), pc.greater(b["x"], 3.0))),
    ("s in ('abc', 'zz', '日本語')", lambda b: pc.is_in(b["s"], pa.array(["abc", "zz", "日本語"]))),
    # SQL: `null not in (...)` is null
    ("s not in ('abc', 'zz')", lambda b: pc.and_kleene(
        pc.is_valid(b["s"]), pc.invert(pc.is_in(b["s"], pa.array(["abc", "zz"]))))),
    ("starts_with(s, 'k04')", lambda b: pc.starts_with(b["s"], "k04")),
    ("starts_with(s, '')", lambda b: pc.starts_with(b["s"], "")),
    ("ends_with(s, '1')", lambda b: pc.ends_with(b["s"], "1")),
    ("ends_with(l, 'llo')", lambda b: pc.ends_with(b["l"], "llo")),
    ("contains(s, 'l')", lambda b: pc.match_substring(b["s"], "l")),
    ("contains(s, '本')", lambda b: pc.match_substring(b["s"], "本")),
    ("contains(s, '')", lambda b: pc.match_substring(b["s"], "")),
    ("length(s) = 3", lambda b: pc.equal(pc.utf8_length(b["s"]), 3)),
    ("length(l) > 1", lambda b: pc.greater(pc.utf8_length(b["l"]), 1)),
    ("s is null", lambda b: pc.is_null(b["s"])),
    ("s is not null and not contains(s, 'k')", lambda b: pc.and_kleene(
        pc.is_valid(b["s"]), pc.invert(pc.match_substring(b["s"], "k")))),
    ("coalesce(s, 'none') == 'none'", lambda b: pc.equal(pc.coalesce(b["s"], "none"), "none")),
]


@pytest.mark.parametrize("expr, oracle", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("offset, length", [(0, 613), (13, 300), (5, 64), (3, 61), (1, 0)])
def test_string_predicates_against_pyarrow(expr, oracle, offset, length):
    data = make_batch().slice(offset, length)
    f = arrowjit.compile_filter(expr, data.schema)
    want = pc.fill_null(oracle(data), False)
    assert f.mask(data).equals(want)
    assert f.count(data) == pc.sum(want).as_py() or (length == 0 and f.count(data) == 0)
    got = f(data)
    assert got.equals(data.filter(want))


def test_a_chunked_table_with_string_chunks_cut_differently():
    batch = make_batch(2000)
    table = pa.table({"s": pa.chunked_array([batch["s"].slice(0, 333), batch["s"].slice(333)]),
                      "l": pa.chunked_array([batch["l"].slice(0, 1500), batch["l"].slice(1500)])})
    f = arrowjit.compile_filter("s == l or starts_with(l, 'k')", table.schema)
    want = pc.fill_null(pc.or_kleene(pc.equal(table["s"], table["l"]), pc.starts_with(table["l"], "k")),
                        False)
    assert f.count(table) == pc.sum(want).as_py()
    assert f(table).equals(table.filter(want))


def test_many_rows_on_two_threads():
    rng = np.random.default_rng(1)
    values = pa.array(np.char.add("k", np.char.zfill(rng.integers(0, 1000, 300_000).astype(str), 3)))
    batch = pa.record_batch({"s": values})
    f = arrowjit.compile_filter("s == 'k042'", batch.schema)
    want = pc.sum(pc.equal(values, "k042")).as_py()
    assert f.count(batch, threads=1) == f.count(batch, threads=2) == want


def _with_offsets(offsets: list[int], data: bytes) -> pa.Array:
    """A string array whose offsets are whatever we say: pyarrow would refuse to build it checked."""
    buffers = [None, pa.py_buffer(np.array(offsets, dtype=np.int32).tobytes()), pa.py_buffer(data)]
    return pa.StringArray.from_buffers(len(offsets) - 1, buffers[1], buffers[2])


# (pyarrow itself refuses to build arrays whose offsets point outside the data.)
@pytest.mark.parametrize("offsets, data", [
    ([0, 5, 2], b"abcdef"),       # decreasing
    ([0, 5, 2, 6], b"abcdef"),
])
def test_bad_offsets_are_refused_before_any_kernel_runs(offsets, data):
    array = _with_offsets(offsets, data)
    batch = pa.RecordBatch.from_arrays([array], names=["s"])
    f = arrowjit.compile_filter("s == 'abc'", batch.schema)
    with pytest.raises(arrowjit.InvalidDataError, match="offsets"):
        f.count(batch)


def test_comparing_a_string_with_a_number_is_an_error_with_a_caret():
    with pytest.raises(arrowjit.ExpressionTypeError) as info:
        arrowjit.compile_filter("x > 1 and s < 5", make_batch().schema)
    assert str(info.value) == ("1:11: cannot compare s (utf8) with 5 (int64)\n"
                               "  x > 1 and s < 5\n"
                               "            ^^^^^")


# Dictionary-encoded columns: a predicate on one such column runs once per dictionary value.
DICTIONARY_CASES = [
    ("s == 'k042'", lambda t: pc.equal(t["s"], "k042")),
    ("s is null", lambda t: pc.is_null(t["s"])),
    ("coalesce(s, 'none') == 'none'", lambda t: pc.equal(pc.coalesce(t["s"], "none"), "none")),
    ("s != 'zz'", lambda t: pc.not_equal(t["s"], "zz")),
    ("starts_with(s, 'k') and x > 3", lambda t: pc.and_kleene(pc.starts_with(t["s"], "k"),
                                                               pc.greater(t["x"], 3.0))),
]


@pytest.mark.parametrize("expr, oracle", DICTIONARY_CASES, ids=[c[0] for c in DICTIONARY_CASES])
@pytest.mark.parametrize("shape", ["batch", "slice", "table"])
def test_dictionary_encoded_strings(expr, oracle, shape):
    plain = make_batch()
    encoded = pa.record_batch({"s": plain["s"].dictionary_encode(), "x": plain["x"]})
    if shape == "slice":
        plain, encoded = plain.slice(7, 301), encoded.slice(7, 301)
    elif shape == "table":
        plain = pa.Table.from_batches([plain])
        s = encoded["s"]
        encoded = pa.table({"s": pa.chunked_array([s.slice(0, 200), s.slice(200)]), "x": encoded["x"]})
    f = arrowjit.compile_filter(expr, encoded.schema)
    want = pc.fill_null(oracle(plain), False)
    assert f.mask(encoded).to_pylist() == (want.to_pylist() if isinstance(want, pa.Array)
                                           else want.combine_chunks().to_pylist())
    assert f.count(encoded) == pc.sum(want).as_py()
    got = f(encoded)
    assert got.num_rows == pc.sum(want).as_py()
    assert got.column("s").to_pylist() == plain.filter(want).column("s").to_pylist()


# lower() / upper() and string-valued projections.
CASE_WORDS = ["abc", "ABC", "héllo", "HÉLLO", "ß", "İ", "Ⱥ", "ɐ", "日本語", None, "", "Straße", "ǅ", "ᾳ", "ŉ",
              "Σσς", "\u212a", "MiXeD 123 !?", "ﬀ", "ǰ", "a" * 40 + "É" * 30]


def case_batch(rows: int = 517, seed: int = 4) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    picks = [CASE_WORDS[k] for k in rng.integers(0, len(CASE_WORDS), rows)]
    return pa.record_batch({"s": pa.array(picks), "l": pa.array(picks, pa.large_string()),
                            "x": pa.array(rng.integers(0, 5, rows))})


CASE_PREDICATES = [
    ("lower(s) == 'abc'", lambda b: pc.equal(pc.utf8_lower(b["s"]), "abc")),
    ("upper(s) == 'STRAẞE'", lambda b: pc.equal(pc.utf8_upper(b["s"]), "STRAẞE")),
    ("upper(s) like 'H%'", lambda b: pc.match_like(pc.utf8_upper(b["s"]), "H%")),
    ("lower(l) like '%é%'", lambda b: pc.match_like(pc.utf8_lower(b["l"]), "%é%")),
    ("upper(lower(s)) == upper(s)", lambda b: pc.equal(pc.utf8_upper(pc.utf8_lower(b["s"])),
                                                        pc.utf8_upper(b["s"]))),
    ("length(upper(s)) > 3 and x > 1", lambda b: pc.and_kleene(
        pc.greater(pc.utf8_length(pc.utf8_upper(b["s"])), 3), pc.greater(b["x"], 1))),
    ("lower(if(x > 2, s, 'NONE')) == 'none'", lambda b: pc.equal(
        pc.utf8_lower(pc.if_else(pc.fill_null(pc.greater(b["x"], 2), False), b["s"], "NONE")), "none")),
    ("regexp_like(lower(s), '^[a-z]+$')",
     lambda b: pc.match_substring_regex(pc.utf8_lower(b["s"]), "^[a-z]+$")),
    ("lower(s) in ('abc', 'straße')", lambda b: pc.is_in(pc.utf8_lower(b["s"]), pa.array(["abc", "straße"]))),
]


@pytest.mark.parametrize("expr, oracle", CASE_PREDICATES, ids=[c[0] for c in CASE_PREDICATES])
@pytest.mark.parametrize("offset, length", [(0, 517), (13, 300), (3, 61), (1, 0)])
def test_case_mapping_in_predicates(expr, oracle, offset, length):
    data = case_batch().slice(offset, length)
    f = arrowjit.compile_filter(expr, data.schema)
    want = pc.fill_null(oracle(data), False)
    assert f.mask(data).equals(want)
    assert f.count(data, threads=2) == pc.sum(want).as_py() or length == 0


def test_case_mapping_of_every_code_point_matches_pyarrow():
    """Every code point, lowered and uppered, as pyarrow.compute (utf8proc, a newer Unicode than
    Python's database): the only differences are characters Python's Unicode does not know yet."""
    import unicodedata
    codes = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    array = pa.array([chr(c) for c in codes])
    batch = pa.record_batch({"s": array})
    out = arrowjit.compile_projection({"lo": "lower(s)", "up": "upper(s)"}, batch.schema)(batch)
    out.validate(full=True)
    for name, function in (("lo", pc.utf8_lower), ("up", pc.utf8_upper)):
        got, want = out[name].to_pylist(), function(array).to_pylist()
        differ = [(chr(c), got[k], want[k]) for k, c in enumerate(codes) if got[k] != want[k]]
        assert differ, "expected a few differences (Unicode 15/16 characters)"
        for char, mine, theirs in differ:
            assert mine == char  # left unchanged
            assert "Cn" in (unicodedata.category(char), unicodedata.category(theirs)), (char, theirs)


def test_special_cases_documented():
    batch = pa.record_batch({"s": ["ß", "İ", "ŉ", "ᾳ", "ǅ", "Straße", "ΣΑΣ"]})
    out = arrowjit.compile_projection({"up": "upper(s)", "lo": "lower(s)"}, batch.schema)(batch)
    assert out["up"].to_pylist() == ["ẞ", "İ", "ŉ", "ᾼ", "Ǆ", "STRAẞE", "ΣΑΣ"]
    assert out["lo"].to_pylist() == ["ß", "i", "ŉ", "ᾳ", "ǆ", "straße", "σασ"]


@pytest.mark.parametrize("shape", ["batch", "slice", "table", "large", "dictionary"])
def test_string_projections(shape):
    batch = case_batch()
    data = batch
    if shape == "slice":
        data = batch.slice(5, 333)
    elif shape == "table":
        data = pa.Table.from_batches([batch.slice(0, 100), batch.slice(100)])
    elif shape == "large":
        data = pa.record_batch({"s": batch["l"], "x": batch["x"]})
    elif shape == "dictionary":
        data = pa.record_batch({"s": batch["s"].dictionary_encode(), "x": batch["x"]})
    p = arrowjit.compile_projection(["lower(s)", "if(x > 1, s, 'none')", "coalesce(s, 'x')", "upper(s)", "s",
                                     "if(x > 3, upper(s), lower(s))"], data.schema)
    out = p(data)
    out.validate(full=True)
    s = data["s"]
    if shape == "dictionary":
        s = s.dictionary_decode()
    elif shape == "large":
        s = s.cast(pa.string())
    elif shape == "table":
        s = s.combine_chunks()
    x = data["x"]
    want = {
        "lower(s)": pc.utf8_lower(s),
        "if(x > 1, s, 'none')": pc.if_else(pc.fill_null(pc.greater(x, 1), False), s, "none"),
        "coalesce(s, 'x')": pc.coalesce(s, "x"),
        "upper(s)": pc.utf8_upper(s),
        "s": s,
        "if(x > 3, upper(s), lower(s))": pc.if_else(pc.greater(x, 3), pc.utf8_upper(s), pc.utf8_lower(s)),
    }
    for name, expected in want.items():
        got = out[name]
        got = got.combine_chunks() if isinstance(got, pa.ChunkedArray) else got
        # a large_utf8 column projected as it is stays large_utf8; computed strings are utf8
        assert got.type == (pa.large_utf8() if (shape, name) == ("large", "s") else pa.utf8())
        assert got.to_pylist() == pa.chunked_array([expected]).combine_chunks().to_pylist(), name


def test_string_projection_with_threads_and_query():
    rng = np.random.default_rng(2)
    values = pa.array([CASE_WORDS[k] for k in rng.integers(0, len(CASE_WORDS), 200_000)])
    batch = pa.record_batch({"s": values})
    p = arrowjit.compile_projection(["upper(s)"], batch.schema)
    one, two = p(batch, threads=1), p(batch, threads=2)
    assert one.equals(two)
    assert one.column(0).equals(pc.utf8_upper(values))
    q = arrowjit.compile_query(batch.schema, select={"u": "upper(s)"}, where="lower(s) like 'st%'")
    got = q(batch)
    assert got.column("u").to_pylist() == pc.utf8_upper(
        values.filter(pc.fill_null(pc.match_like(pc.utf8_lower(values), "st%"), False))).to_pylist()


def test_scratch_plan_bounds_nested_results():
    from arrowjit.compiler.strings import scratch_plan
    schema = pa.schema({"s": pa.string(), "t": pa.string()})
    typed = arrowjit.compile_filter("upper(lower(s)) == coalesce(lower(t), 'abc')", schema)._shapes
    plan = scratch_plan(typed)
    # lower(s): 2 bytes per byte of s; upper(lower(s)): 4; lower(t): 2; 4 slack bytes per row each
    assert dict(plan.per_byte) == {"s": 6, "t": 2}
    assert plan.per_row == 4 + (2 * 4 + 4) + 4


# string_view columns: 16-byte views, inline up to 12 bytes, else into variadic data buffers.
VIEW_CASES = [
    ("s == 'k042'", lambda s: pc.equal(s, "k042")),
    ("s == 'a much longer string here'", lambda s: pc.equal(s, "a much longer string here")),
    ("s < 'b'", lambda s: pc.less(s, "b")),
    ("s in ('abc', 'ß', 'héllo wörld, long enough')",
     lambda s: pc.is_in(s, pa.array(["abc", "ß", "héllo wörld, long enough"]))),
    ("s like '%long%'", lambda s: pc.match_like(s, "%long%")),
    ("s ilike 'k0_2'", lambda s: pc.match_like(s, "k0_2", ignore_case=True)),
    ("starts_with(s, 'a m')", lambda s: pc.starts_with(s, "a m")),
    ("regexp_like(s, 'r[ei]')", lambda s: pc.match_substring_regex(s, "r[ei]")),
    ("upper(s) like 'K%'", lambda s: pc.match_like(pc.utf8_upper(s), "K%")),
    ("length(s) > 5", lambda s: pc.greater(pc.utf8_length(s), 5)),
    ("s is null", lambda s: pc.is_null(s)),
]
VIEW_WORDS = ["k042", "a much longer string here", "abc", None, "", "héllo wörld, long enough", "ß", "K042",
              "exactly12byt", "thirteen byte"]


@pytest.mark.parametrize("expr, oracle", VIEW_CASES, ids=[c[0] for c in VIEW_CASES])
def test_string_view_columns(expr, oracle):
    rng = np.random.default_rng(8)
    words = [VIEW_WORDS[k] for k in rng.integers(0, len(VIEW_WORDS), 700)]
    plain = pa.array(words)
    views = pa.array(words, pa.string_view())
    batch = pa.record_batch({"s": views})
    f = arrowjit.compile_filter(expr, batch.schema)
    for offset, length in [(0, 700), (3, 101), (64, 64), (7, 1), (0, 0)]:
        want = pc.fill_null(oracle(plain.slice(offset, length)), False)
        assert f.mask(batch.slice(offset, length)).equals(want)
    # a chunked table whose chunks have their own data buffers
    table = pa.table({"s": pa.chunked_array([views.slice(0, 250), pa.array(words[250:], pa.string_view())])})
    assert f.count(table) == pc.sum(pc.fill_null(oracle(plain), False)).as_py()


def test_string_view_projection():
    words = [VIEW_WORDS[k % len(VIEW_WORDS)] for k in range(301)]
    batch = pa.record_batch({"s": pa.array(words, pa.string_view())})
    out = arrowjit.compile_projection(["s", "lower(s)", "coalesce(s, 'none')"], batch.schema)(batch.slice(3))
    out.validate(full=True)
    assert out.schema.types == [pa.utf8()] * 3
    assert out.column(0).to_pylist() == words[3:]
    assert out.column(1).equals(pc.utf8_lower(pa.array(words[3:])))
    assert out.column(2).to_pylist() == [w if w is not None else "none" for w in words[3:]]


def _view_array(fields: list[tuple[int, int, int]], data: bytes) -> pa.Array:
    """Long-string views (length, buffer index, offset) over one data buffer, unchecked."""
    views = np.zeros((len(fields), 4), dtype=np.int32)
    for k, (length, index, offset) in enumerate(fields):
        views[k] = (length, int.from_bytes(data[offset:offset + 4].ljust(4, b"\0"), "little", signed=True)
                    if 0 <= offset < len(data) else 0, index, offset)
    return pa.Array.from_buffers(pa.string_view(), len(fields),
                                 [None, pa.py_buffer(views.tobytes()), pa.py_buffer(data)])


@pytest.mark.parametrize("fields", [
    [(20, 0, 0), (20, 0, 90)],      # past the end of the data buffer
    [(20, 1, 0)],                   # no such data buffer
    [(20, 0, -4)],                  # negative offset
    [(-5, 0, 0)],                   # negative length
])
def test_corrupt_string_views_are_refused_before_any_kernel_runs(fields):
    array = _view_array(fields, b"x" * 100)
    batch = pa.RecordBatch.from_arrays([array], names=["s"])
    f = arrowjit.compile_filter("s like '%x%'", batch.schema)
    with pytest.raises(arrowjit.InvalidDataError, match="string view"):
        f.count(batch)


# cast(s as <number>) and s::<number>: parsed as pyarrow.compute.cast parses; what pyarrow refuses is null.
CAST_TEXTS = ["+12", "-0", "007", " 1", "1 ", "1e3", "0x10", "1_000", "", "-", "+", "1.5", ".5", "5.", "1E+5",
              "inf", "-inf", "nan", "NaN", "Infinity", "-Inf", "1e400", "128", "-128", "255", "256", "-1",
              "0.1e-2", "1e", "e5", "0xFF", "0xff", "0X7f", "-0x10", "18446744073709551615",
              "9223372036854775808", "-9223372036854775808", "0xFFFFFFFFFFFFFFFF", "99999999999999999999",
              None, "1.7976931348623157e308", "4.9e-324", "0.1", "3.4028235e38", "3.5e38", "0x", "00x1",
              "١٢", "1" * 130, "0." + "1" * 120]


def _pyarrow_cast(texts: list, arrow_type: pa.DataType) -> list:
    out = []
    for text in texts:
        try:
            out.append(pc.cast(pa.array([text], pa.string()), arrow_type).to_pylist()[0])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            out.append(None)
    return out


@pytest.mark.parametrize("type_name", ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
                                       "uint64", "float32", "float64"])
def test_string_to_number_casts_against_pyarrow(type_name):
    rng = np.random.default_rng(3)
    extra = [str(v) for v in rng.integers(-(2 ** 40), 2 ** 40, 200)] + \
        [repr(float(v)) for v in rng.normal(0, 1e6, 200)]
    texts = CAST_TEXTS + extra
    batch = pa.record_batch({"s": pa.array(texts), "l": pa.array(texts, pa.large_string())})
    p = arrowjit.compile_projection([f"cast(s as {type_name})", f"l::{type_name}"], batch.schema)
    out = p(batch.slice(1))
    want = _pyarrow_cast(texts[1:], getattr(pa, type_name)())
    for column in out.columns:
        got = column.to_pylist()
        assert all(g == w or (g != g and w != w) for g, w in zip(got, want)), \
            [(t, g, w) for t, g, w in zip(texts[1:], got, want) if not (g == w or (g != g and w != w))]


def test_parsed_strings_in_predicates():
    batch = pa.record_batch({"s": ["12", "x", None, "7", "0x10", "3.5"]})
    assert arrowjit.compile_filter("cast(s as int64) > 8", batch.schema).mask(batch).to_pylist() == \
        [True, False, False, False, True, False]
    assert arrowjit.compile_filter("s::float64 is null", batch.schema).count(batch) == 3  # x, null, 0x10
    with pytest.raises(arrowjit.ExpressionTypeError, match="cannot cast utf8 to bool") as info:
        arrowjit.compile_filter("cast(s as bool)", batch.schema)
    assert "^" in str(info.value)
    # numbers written with more than 1023 characters are not parsed (documented)
    long = pa.record_batch({"s": ["1" * 1023, "1" * 1024]})
    assert arrowjit.compile_projection(["s::float64"], long.schema)(long).column(0).to_pylist() == \
        [float("1" * 1023), None]


@pytest.mark.parametrize("string_type", [pa.string(), pa.large_string()])
def test_blocks_of_equal_length_strings_take_the_vectorized_path(string_type):
    """E6's shape: blocks where every string has the literal's length read them at a fixed stride;
    mixed blocks (a longer or shorter string, nulls, the last partial block) take the general path."""
    rng = np.random.default_rng(6)
    words = [f"k{v:03d}" for v in rng.integers(0, 50, 5000)]
    for k in (70, 71, 700, 1999, 4990):
        words[k] = ["k04", "k0421", None, "", "k042"][k % 5]
    words[3000:3064] = ["k042"] * 64  # a whole block of matches
    values = pa.array(words, string_type)
    batch = pa.record_batch({"s": values})
    cases = [("s == 'k042'", lambda s: pc.equal(s, "k042")),
             ("s != 'k042'", lambda s: pc.not_equal(s, "k042")),
             ("s in ('k042', 'k001', 'k0421')", lambda s: pc.is_in(s, pa.array(["k042", "k001", "k0421"]))),
             ("s == 'k042' or (starts_with(s, 'k01') and length(s) = 4)", lambda s: pc.or_kleene(
                 pc.equal(s, "k042"),
                 pc.and_kleene(pc.starts_with(s, "k01"), pc.equal(pc.utf8_length(s), 4))))]
    for expr, oracle in cases:
        f = arrowjit.compile_filter(expr, batch.schema)
        assert "evaluate_uniform_block" in f.ir("llvm")
        for offset, length in [(0, 5000), (1, 4999), (37, 3000), (3000, 64), (4990, 10)]:
            data = batch.slice(offset, length)
            want = pc.fill_null(oracle(data["s"]), False)
            assert f.mask(data).equals(want), (expr, offset, length)


@pytest.mark.parametrize("bad_row, jump", [(5, 6), (130, 6), (999, 6), (200, 10 ** 9), (64, -10 ** 6)])
def test_decreasing_offsets_anywhere_are_refused(bad_row, jump):
    """The kernel checks each block's offsets before reading its strings (Python checks only the
    first and the last): a decrease in any block raises, for filters and projections. Offsets
    that leap far out of the data in a block that is in order itself are refused too."""
    offsets = list(range(0, 4 * 1001, 4))
    if abs(jump) > 100:  # a whole stretch of rows far outside the data, in order among themselves
        offsets[bad_row:bad_row + 100] = [o + jump for o in offsets[bad_row:bad_row + 100]]
    else:
        offsets[bad_row] = offsets[bad_row + 1] + 2  # goes up past the next one, then down
    array = _with_offsets(offsets, b"k042" * 1000)
    batch = pa.RecordBatch.from_arrays([array], names=["s"])
    for compiled in (arrowjit.compile_filter("s == 'k042'", batch.schema),
                     arrowjit.compile_filter("s like '%4_'", batch.schema)):
        with pytest.raises(arrowjit.InvalidDataError, match="decreasing"):
            compiled.count(batch, threads=2)
    with pytest.raises(arrowjit.InvalidDataError, match="decreasing"):
        arrowjit.compile_projection(["upper(s)"], batch.schema)(batch)


def test_two_large_utf8_operands_compare():
    """Found by tests/test_string_fuzz.py: `l == l` looked for a large_utf8 row that does not exist."""
    batch = pa.record_batch({"l": pa.array(["a", None, "b"], pa.large_string()),
                             "m": pa.array(["a", "x", "c"], pa.large_string())})
    assert arrowjit.compile_filter("l != m or l == l", batch.schema).mask(batch).to_pylist() == \
        [True, False, True]


def test_dictionary_encoded_string_views():
    words = ["a much longer string here", "ab", None, "ab", "K042"] * 30
    encoded = pa.array(words, pa.string_view()).dictionary_encode()
    batch = pa.record_batch({"s": encoded, "x": pa.array(range(len(words)))})
    plain = pa.array(words)
    one_column = arrowjit.compile_filter("s like '%long%'", batch.schema)  # once per dictionary value
    want = pc.fill_null(pc.match_like(plain, "%long%"), False)
    assert one_column.mask(batch).to_pylist() == want.to_pylist()
    two_columns = arrowjit.compile_filter("upper(s) == 'AB' and x > 10", batch.schema)  # decoded
    want = pc.fill_null(pc.and_kleene(pc.equal(pc.utf8_upper(plain), "AB"), pc.greater(batch["x"], 10)),
                        False)
    assert two_columns.mask(batch).to_pylist() == want.to_pylist()
    out = arrowjit.compile_projection(["lower(s)"], batch.schema)(batch)
    assert out.column(0).to_pylist() == pc.utf8_lower(plain).to_pylist()


def test_no_code_point_past_the_cased_limit_has_a_case():
    from arrowjit.compiler.automaton import CASED_LIMIT
    for code in range(CASED_LIMIT, 0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        assert char.lower() == char.upper() == char.casefold() == char.title() == char, hex(code)


@pytest.mark.parametrize("chunks", [1, 2, 7])
def test_decoded_dictionary_runs_stay_alive_while_the_kernels_read_them(chunks):
    # Each run of a dictionary-encoded column is decoded into a temporary array that only the
    # call holds; the kernels of every run execute after all runs are prepared.
    plain = make_batch()
    s = plain["s"].dictionary_encode()
    cuts = [len(s) * k // chunks for k in range(chunks + 1)]
    table = pa.table({"s": pa.chunked_array([s.slice(a, b - a) for a, b in zip(cuts, cuts[1:])]),
                      "x": plain["x"]})
    want = pc.fill_null(pc.and_kleene(pc.starts_with(plain["s"], "k"), pc.greater(plain["x"], 3.0)), False)
    f = arrowjit.compile_filter("starts_with(s, 'k') and x > 3", table.schema)
    for _ in range(3):
        assert f.count(table) == pc.sum(want).as_py()
    p = arrowjit.compile_projection({"n": "length(s)", "y": "x * 2"}, table.schema)
    out = p(table)
    assert out.column("n").to_pylist() == pc.utf8_length(plain["s"]).to_pylist()
    assert out.column("y").to_pylist() == pc.multiply(plain["x"], 2).to_pylist()


# A filter compiled for one string layout runs on the others (pandas 3 and polars hand out
# large_string or string_view where a schema said string).
LAYOUTS = [pa.string(), pa.large_string(), pa.string_view()]


@pytest.mark.parametrize("compiled_for", LAYOUTS, ids=str)
@pytest.mark.parametrize("given", LAYOUTS, ids=str)
def test_a_filter_runs_on_every_string_layout(compiled_for, given):
    plain = make_batch()
    words = plain["s"]
    schema = pa.schema([("s", compiled_for), ("x", pa.float64())])
    f = arrowjit.compile_filter("s == 'k042' or (starts_with(s, 'k1') and x > 3)", schema)
    g = arrowjit.compile_filter("s == 'k100' or (starts_with(s, 'k1') and x > 3)", schema)  # (same shape)
    for expr_filter, word in ((f, "k042"), (g, "k100")):
        want = pc.fill_null(pc.or_kleene(pc.equal(words, word), pc.and_kleene(pc.starts_with(words, "k1"),
                                                                               pc.greater(plain["x"], 3.0))),
                            False)
        for data in (pa.record_batch({"s": words.cast(given), "x": plain["x"]}),
                     pa.table({"s": pa.chunked_array([words[:300].cast(given), words[300:].cast(given)]),
                               "x": plain["x"]}),
                     pa.record_batch({"s": words.cast(given).dictionary_encode(), "x": plain["x"]})):
            assert expr_filter.mask(data).to_pylist() == (
                want.to_pylist()), (word, type(data).__name__)
            assert expr_filter.count(data) == pc.sum(want).as_py()
            assert expr_filter(data).column("s").to_pylist() == words.filter(want).to_pylist()


def test_string_layouts_from_pandas_and_polars():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    f = arrowjit.compile_filter("s like 'b%' or s == 'a'", {"s": "string"})
    frame = pd.DataFrame({"s": ["a", "bx", None, "c"]}, index=[10, 11, 12, 13])
    assert f(frame).index.tolist() == [10, 11]
    assert f(pl.DataFrame({"s": ["a", "bx", None, "c"]}))["s"].to_list() == ["a", "bx"]


def test_other_type_differences_are_still_errors():
    f = arrowjit.compile_filter("s == 'a'", {"s": "string"})
    with pytest.raises(arrowjit.SchemaMismatchError, match="compiled for utf8, but the batch has binary"):
        f(pa.record_batch({"s": pa.array([b"a"], pa.binary())}))
    with pytest.raises(arrowjit.SchemaMismatchError, match="compiled for utf8, but the batch has int64"):
        f(pa.record_batch({"s": pa.array([1])}))
    g = arrowjit.compile_filter("x > 1", {"x": "int32"})
    with pytest.raises(arrowjit.SchemaMismatchError, match="compiled for int32, but the batch has int64"):
        g(pa.record_batch({"x": pa.array([1, 2], pa.int64())}))
