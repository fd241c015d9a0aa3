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
