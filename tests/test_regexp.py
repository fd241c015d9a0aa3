"""`regexp_like(s, pattern)`: against pyarrow.compute.match_substring_regex (RE2)."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit.compiler.automaton import PatternError, regex_dfa

WORDS = ["k042", "K042", "k0421", "abc", "ABC", "aXb", "a.b", "a\nb", "", None, "héllo", "HÉLLO", "日本語",
         "ß", "ẞ", "ſ", "s", "\u212a", "k", "foo123bar", "x y\tz", "2024-01-31", "a+b", "[x]", "ab" * 20]

PATTERNS = ["k04", "^k0", "2$", "^k042$", "a.b", "a\\.b", "^$", "", "[a-c]+", "[^a-z]", "x|k0", "(ab|xa)c",
            "\\d{3}", "^k\\d{2,3}$", "(?i)abc", "(?i)ß", "(?i)k", "(?i)s", "ß", "é", ".", "(?s)a.b", "a.b",
            "[日本]{2}", "\\w+\\s", "\\W", "\\D+", "a{2}", "(ab){3,}", "x*?b", "^\\d{4}-\\d{2}-\\d{2}$",
            "[\\[\\]]", "a\\+b", "\\x41", "\\x{65e5}", "(?:ab)+$", "(?P<name>foo)\\d+", "o{,2}", "a|",
            "[é-ë]",
            "\\A[ak]", "b\\z", "[[:x]"]


def make_batch(rows: int = 523, seed: int = 5) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    picks = [WORDS[k] for k in rng.integers(0, len(WORDS), rows)]
    return pa.record_batch({"s": pa.array(picks), "l": pa.array(picks, pa.large_string())})


def quote(pattern: str) -> str:
    return "'" + pattern.replace("\\", "\\\\").replace("'", "''") + "'"


@pytest.mark.parametrize("pattern", PATTERNS)
def test_regexp_like_against_pyarrow(pattern):
    batch = make_batch()
    want = pc.fill_null(pc.match_substring_regex(batch["s"], pattern), False)
    dfa = regex_dfa(pattern)
    assert [dfa.matches(s.encode()) if s is not None else False for s in batch["s"].to_pylist()] == \
        want.to_pylist()
    for column in ("s", "l"):
        f = arrowjit.compile_filter(f"regexp_like({column}, {quote(pattern)})", batch.schema)
        assert f.mask(batch).equals(want)
        g = arrowjit.compile_filter(f"not regexp_like({column}, {quote(pattern)})", batch.schema)
        assert g.mask(batch).equals(pc.fill_null(pc.invert(pc.match_substring_regex(batch[column], pattern)),
                                                 False))


def test_sliced_chunked_and_dictionary():
    batch = make_batch()
    sliced = batch.slice(3, 200)
    f = arrowjit.compile_filter("regexp_like(s, '^k\\\\d')", batch.schema)
    assert f.mask(sliced).equals(pc.fill_null(pc.match_substring_regex(sliced["s"], "^k\\d"), False))
    table = pa.Table.from_batches([make_batch(100, 1), make_batch(300, 2)])
    assert f.count(table) == pc.sum(pc.match_substring_regex(table["s"], "^k\\d")).as_py()
    encoded = pa.record_batch({"s": batch["s"].dictionary_encode()})
    f = arrowjit.compile_filter("regexp_like(s, 'b$')", encoded.schema)
    assert f.mask(encoded).to_pylist() == pc.fill_null(pc.match_substring_regex(batch["s"], "b$"),
                                                       False).to_pylist()


@pytest.mark.parametrize("pattern, message", [
    ("(a)\\1", "backreferences are not supported"),
    ("(?=a)", "lookaround"),
    ("(?<=a)b", "lookbehind"),
    ("\\bfoo", "the escape \\\\b is not supported"),
    ("a**", "bad repetition operator"),
    ("*a", "nothing to repeat"),
    ("(ab", "missing '\\)'"),
    ("ab)", "unbalanced"),
    ("[[:alpha:]]", "POSIX classes"),
    ("\\pL", "the escape \\\\p is not supported"),
    ("a{2,1}", "bad repetition"),
])
def test_unsupported_syntax_is_a_caret_error(pattern, message):
    schema = pa.schema({"s": pa.string()})
    with pytest.raises(arrowjit.ExpressionTypeError, match=message) as info:
        arrowjit.compile_filter(f"x_is_fine = 1 or regexp_like(s, {quote(pattern)})",
                                pa.schema({"s": pa.string(), "x_is_fine": pa.int64()}))
    text = str(info.value)
    assert "cannot compile the pattern of regexp_like()" in text
    # the caret is under the pattern literal
    lines = text.splitlines()
    assert lines[-1].strip() == "^" * len(quote(pattern))
    del schema


def test_pattern_must_be_a_literal_and_null_gives_null():
    schema = pa.schema({"s": pa.string(), "t": pa.string()})
    with pytest.raises(arrowjit.ExpressionTypeError, match="must be a string literal"):
        arrowjit.compile_filter("regexp_like(s, t)", schema)
    with pytest.raises(arrowjit.ExpressionTypeError, match="takes 2 arguments"):
        arrowjit.compile_filter("regexp_like(s)", schema)
    batch = make_batch()
    assert arrowjit.compile_filter("regexp_like(s, null)", batch.schema).count(batch) == 0


def test_too_many_states_is_an_error_not_a_hang():
    with pytest.raises(PatternError, match="automaton states"):
        regex_dfa("(a|b)*a(a|b){14}")


def test_random_regexes_against_pyarrow():
    rng = np.random.default_rng(11)
    atoms = ["a", "b", "é", ".", "[ab]", "[^a]", "\\d", "(a|b)", "(?:ab)", "x"]
    suffixes = ["", "", "*", "+", "?", "{1,2}"]
    strings = ["".join(rng.choice(["a", "b", "é", "1", "x", "\n"], rng.integers(0, 7))) for _ in range(300)]
    array = pa.array(strings)
    batch = pa.record_batch({"s": array})
    for _ in range(30):
        pattern = "".join(rng.choice(atoms) + rng.choice(suffixes) for _ in range(rng.integers(1, 4)))
        pattern = ("^" if rng.random() < 0.3 else "") + pattern + ("$" if rng.random() < 0.3 else "")
        want = pc.match_substring_regex(array, pattern)
        f = arrowjit.compile_filter(f"regexp_like(s, {quote(pattern)})", batch.schema)
        assert f.mask(batch).equals(want), pattern
