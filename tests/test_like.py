"""`like`, `not like`, `ilike`, `not ilike`: against pyarrow.compute.match_like (and DuckDB)."""

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit.compiler.automaton import like_dfa

WORDS = ["k042", "K042", "k0421", "abc", "ABC", "aXb", "a%b", "a_b", "a\\b", "a\nb", "", None, "héllo",
         "HÉLLO", "日本語", "本", "ß", "ẞ", "SS", "ſ", "s", "\u212a", "k", "İ", "i", "Σσς", "xabcx", "%", "_"]


def make_batch(rows: int = 701, seed: int = 3) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    picks = [WORDS[k] for k in rng.integers(0, len(WORDS), rows)]
    return pa.record_batch({"s": pa.array(picks), "l": pa.array(picks, pa.large_string()),
                            "x": pa.array(rng.uniform(0, 10, rows))})


# Patterns as pyarrow reads them (the expression text doubles each backslash, see quote()).
PATTERNS = ["k04%", "%42", "%b%", "abc", "", "%", "%%", "_", "a_b", "a%b", "a\\%b", "a\\_b", "a\\\\b",
            "k0_2%", "%é%", "h_llo", "日_語", "_本%", "%\\%", "ß", "SS", "s", "k", "i", "σ%", "%Σ",
            "%a%b%", "a%%b", "___", "%_%_", "x%x", "k042", "a\nb", "a_b%", "\\"]


def quote(pattern: str) -> str:
    return "'" + pattern.replace("\\", "\\\\").replace("'", "''").replace("\n", "\\n") + "'"


def python_like(array: pa.Array, pattern: str) -> pa.Array:
    """LIKE by Python's re. (pyarrow's own prefix/suffix/substring fast paths keep backslashes in the
    literal: `'\\a' like '%\\a'` is true there, a pyarrow bug; its general path escapes correctly.)"""
    parts, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            parts.append(re.escape(pattern[i + 1:i + 2]))
            i += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    regex = re.compile("".join(parts), re.DOTALL)
    return pa.array([None if s is None else regex.fullmatch(s) is not None for s in array.to_pylist()],
                    pa.bool_())


def match_like(array, pattern, ignore_case=False):
    if "\\" in pattern and not ignore_case:
        return python_like(array, pattern)
    return pc.match_like(array, pattern, ignore_case=ignore_case)


def oracle(array, pattern, ignore_case, negated):
    matched = match_like(array, pattern, ignore_case)
    return pc.invert(matched) if negated else matched


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("operator", ["like", "not like", "ilike", "not ilike"])
def test_like_against_pyarrow(pattern, operator):
    batch = make_batch()
    f = arrowjit.compile_filter(f"s {operator} {quote(pattern)}", batch.schema)
    want = pc.fill_null(oracle(batch["s"], pattern, "ilike" in operator, operator.startswith("not")), False)
    assert f.mask(batch).equals(want)
    assert f(batch).equals(batch.filter(want))


@pytest.mark.parametrize("pattern", ["k04%", "a_b", "%é%", "%"])
@pytest.mark.parametrize("offset, length", [(13, 300), (3, 61), (1, 0), (64, 65)])
def test_sliced_large_and_chunked(pattern, offset, length):
    batch = make_batch().slice(offset, length)
    for column in ("s", "l"):
        f = arrowjit.compile_filter(f"{column} like {quote(pattern)} and x > 2", batch.schema)
        want = pc.fill_null(pc.and_kleene(pc.match_like(batch[column], pattern), pc.greater(batch["x"], 2.0)),
                            False)
        assert f.mask(batch).equals(want)
    table = pa.Table.from_batches([make_batch(300, 1), make_batch(77, 2)])
    f = arrowjit.compile_filter(f"s ilike {quote(pattern)}", table.schema)
    want = pc.fill_null(pc.match_like(table["s"], pattern, ignore_case=True), False)
    assert f.count(table) == pc.sum(want).as_py()
    assert f(table).equals(table.filter(want))


def test_dictionary_encoded():
    plain = make_batch()
    encoded = pa.record_batch({"s": plain["s"].dictionary_encode()})
    for text, pattern, ignore_case in [("s like 'a_b'", "a_b", False), ("s ilike 'k0%'", "k0%", True)]:
        f = arrowjit.compile_filter(text, encoded.schema)
        want = pc.fill_null(pc.match_like(plain["s"], pattern, ignore_case=ignore_case), False)
        assert f.mask(encoded).to_pylist() == want.to_pylist()


def test_null_pattern_and_null_operand_are_null():
    batch = make_batch()
    assert arrowjit.compile_filter("s like null", batch.schema).count(batch) == 0
    assert arrowjit.compile_filter("not (s like null)", batch.schema).count(batch) == 0
    assert arrowjit.compile_filter("null like 'a'", batch.schema).count(batch) == 0
    # a null string is null, so neither like nor not like keeps it
    nulls = pc.sum(pc.is_null(batch["s"])).as_py()
    both = arrowjit.compile_filter("s like 'k%'", batch.schema).count(batch) + \
        arrowjit.compile_filter("s not like 'k%'", batch.schema).count(batch)
    assert both == batch.num_rows - nulls


def test_fast_paths_and_automata_in_the_typed_ir():
    schema = pa.schema({"s": pa.string()})
    typed = {p: arrowjit.compile_filter(f"s like {quote(p)}", schema).ir("typed") for p in
             ["k04%", "%42", "%b%", "abc", "a_b", "%", "this is a long prefix%"]}
    assert typed["k04%"] == "(starts_with_short_utf8_utf8 s:utf8 'k04':utf8):bool"
    assert typed["%42"] == "(ends_with_short_utf8_utf8 s:utf8 '42':utf8):bool"
    assert typed["%b%"] == "(contains_utf8_utf8 s:utf8 'b':utf8):bool"
    assert typed["abc"] == "(equal_short_utf8_utf8 s:utf8 'abc':utf8):bool"
    assert typed["this is a long prefix%"] == \
        "(starts_with_utf8_utf8 s:utf8 'this is a long prefix':utf8):bool"
    assert typed["a_b"].startswith("(like_utf8_utf8_") and typed["a_b"].endswith(" s:utf8 'a_b':utf8):bool")
    assert typed["%"].startswith("(like_utf8_utf8_")
    # two patterns with the same automaton shape are different kernels
    batch = pa.record_batch({"s": ["ab", "xb"]})
    assert arrowjit.compile_filter("s like 'a_'", batch.schema).count(batch) == 1
    assert arrowjit.compile_filter("s like 'x_'", batch.schema).count(batch) == 1
    assert arrowjit.compile_filter("s like '_b'", batch.schema).count(batch) == 2


@pytest.mark.parametrize("text, message", [
    ("x like 'a%'", "like needs a string, but x is float64"),
    ("s like s", "the pattern of like must be a string literal, but s is utf8 and not a literal"),
    ("s ilike 3", "the pattern of ilike must be a string literal, but 3 is int64"),
])
def test_errors_have_a_caret(text, message):
    with pytest.raises(arrowjit.ExpressionTypeError, match=message) as info:
        arrowjit.compile_filter(text, make_batch().schema)
    assert "^" in str(info.value)


def test_keywords_are_case_insensitive_and_parse_as_predicates():
    batch = make_batch()
    f = arrowjit.compile_filter("s LIKE 'k%' Or s NOT ILIKE '%B%'", batch.schema)
    want = pc.fill_null(pc.or_kleene(pc.match_like(batch["s"], "k%"),
                                     pc.invert(pc.match_like(batch["s"], "%B%", ignore_case=True))), False)
    assert f.mask(batch).equals(want)


def test_random_patterns_against_pyarrow():
    rng = np.random.default_rng(7)
    alphabet = ["a", "b", "A", "é", "É", "%", "_", "\\", "ß", "k"]
    strings = ["".join(rng.choice(["a", "b", "A", "é", "É", "ß", "k", "%", "_", "\\"], rng.integers(0, 6)))
               for _ in range(400)]
    array = pa.array(strings)
    batch = pa.record_batch({"s": array})
    for _ in range(40):
        pattern = "".join(rng.choice(alphabet, rng.integers(0, 6)))
        if pattern.endswith("\\") and not pattern.endswith("\\\\"):
            pattern = pattern[:-1]
        for ignore_case in (False, True):
            want = match_like(array, pattern, ignore_case)
            dfa = like_dfa(pattern, ignore_case)
            assert [dfa.matches(s.encode()) for s in strings] == want.to_pylist(), pattern
            op = "ilike" if ignore_case else "like"
            f = arrowjit.compile_filter(f"s {op} {quote(pattern)}", batch.schema)
            assert f.mask(batch).equals(want), (pattern, ignore_case)


def test_against_duckdb():
    duckdb = pytest.importorskip("duckdb")
    batch = make_batch()
    connection = duckdb.connect()
    connection.register("data", pa.Table.from_batches([batch]))
    for pattern in ["k04%", "%b%", "a_b", "h_llo", "_本%", "%a%b%", "abc", "", "a\\%b", "%\\_%"]:
        f = arrowjit.compile_filter(f"s like {quote(pattern)}", batch.schema)
        sql = f"select count(*) from data where s like {quote(pattern)} escape '\\'"
        want = connection.execute(sql.replace("\\\\", "\\")).fetchone()[0]
        assert f.count(batch) == want, pattern
