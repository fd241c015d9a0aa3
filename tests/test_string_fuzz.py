"""Differential fuzzing of the string functions: random predicates over string columns, against
pyarrow.compute evaluated on the same tree.

Each drawn expression is a small typed tree that renders itself twice: as arrowjit text and as a
pyarrow.compute evaluation. Operators: comparisons, ``in``, ``like``/``ilike`` (patterns without
backslashes: pyarrow's own prefix shortcuts mishandle those, see test_like.py), ``regexp_like``,
``starts_with``/``ends_with``/``contains``, ``length``, ``is null``, ``lower``/``upper``,
``coalesce``, ``if``, ``and``/``or``/``not``. Data: strings from an alphabet with multi-byte and
case-folding characters, nulls, strings longer than 12 bytes (string_view's out-of-line case),
as utf8, large_utf8, string_view or dictionary columns, whole and sliced at an odd offset.
The number of examples is bounded (``STRING_FUZZ_EXAMPLES``, default 60).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import arrowjit

EXAMPLES = int(os.environ.get("STRING_FUZZ_EXAMPLES", "60"))
ALPHABET = ["a", "b", "k", "K", "0", "4", "é", "É", "ß", "ẞ", "日", " ", "%", "_", "\u212a", "ſ", "Σ", "ς"]
LITERALS = ["", "a", "k04", "ab", "é", "ß", "abcdefghijklmnop", "K0", "日本", "aaaaaaaaaaaaaaaaa"]
TYPES = {"utf8": pa.string(), "large": pa.large_string(), "view": pa.string_view()}


@dataclass(frozen=True)
class Expr:
    text: str
    evaluate: object  # (columns: dict[str, pa.Array]) -> pa.Array


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


@st.composite
def string_value(draw, depth: int) -> Expr:
    choice = draw(st.integers(0, 6 if depth > 0 else 1))
    if choice == 0:
        name = draw(st.sampled_from(["s", "t"]))
        return Expr(name, lambda c, name=name: c[name])
    if choice == 1:
        value = draw(st.sampled_from(LITERALS))
        return Expr(quote(value), lambda c, value=value: pa.array([value] * len(c["s"]), pa.string()))
    inner = draw(string_value(depth - 1))
    if choice in (2, 3):
        name, function = ("lower", pc.utf8_lower) if choice == 2 else ("upper", pc.utf8_upper)
        return Expr(f"{name}({inner.text})", lambda c: function(inner.evaluate(c)))
    other = draw(string_value(depth - 1))
    if choice == 4:
        return Expr(f"coalesce({inner.text}, {other.text})",
                    lambda c: pc.coalesce(inner.evaluate(c), other.evaluate(c)))
    cond = draw(predicate(depth - 1))
    return Expr(f"if({cond.text}, {inner.text}, {other.text})",
                lambda c: pc.if_else(pc.fill_null(cond.evaluate(c), False), inner.evaluate(c),
                                     other.evaluate(c)))


@st.composite
def like_pattern(draw) -> str:
    return "".join(draw(st.lists(st.sampled_from(ALPHABET[:10] + ["%", "_", "%"]), max_size=5)))


@st.composite
def regex_pattern(draw) -> str:
    atoms = draw(st.lists(st.sampled_from(["a", "k", "é", ".", "[ab]", "[^a]", "\\d", "(a|ß)", "K"]),
                          min_size=1, max_size=3))
    suffixes = [draw(st.sampled_from(["", "", "*", "+", "?", "{1,2}"])) for _ in atoms]
    body = "".join(a + s for a, s in zip(atoms, suffixes))
    prefix = draw(st.sampled_from(["", "", "^", "(?i)"]))
    return prefix + body + draw(st.sampled_from(["", "", "$"]))


COMPARE = {"==": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater,
           ">=": pc.greater_equal}


@st.composite
def predicate(draw, depth: int) -> Expr:
    choice = draw(st.integers(0, 11 if depth > 0 else 8))
    a = draw(string_value(depth))
    if choice == 0:
        b = draw(string_value(depth))
        op = draw(st.sampled_from(sorted(COMPARE)))
        return Expr(f"{a.text} {op} {b.text}", lambda c: COMPARE[op](a.evaluate(c), b.evaluate(c)))
    if choice in (1, 2):
        pattern = draw(like_pattern())
        ignore_case = choice == 2
        word = "ilike" if ignore_case else "like"
        return Expr(f"{a.text} {word} {quote(pattern)}",
                    lambda c: pc.match_like(a.evaluate(c), pattern, ignore_case=ignore_case))
    if choice == 3:
        pattern = draw(regex_pattern())
        return Expr(f"regexp_like({a.text}, {quote(pattern)})",
                    lambda c: pc.match_substring_regex(a.evaluate(c), pattern))
    if choice == 4:
        value = draw(st.sampled_from(LITERALS))
        name, function = draw(st.sampled_from([("starts_with", pc.starts_with), ("ends_with", pc.ends_with),
                                               ("contains", pc.match_substring)]))
        return Expr(f"{name}({a.text}, {quote(value)})", lambda c: function(a.evaluate(c), value))
    if choice == 5:
        k = draw(st.integers(0, 5))
        return Expr(f"length({a.text}) > {k}", lambda c: pc.greater(pc.utf8_length(a.evaluate(c)), k))
    if choice == 6:
        return Expr(f"{a.text} is null", lambda c: pc.is_null(a.evaluate(c)))
    if choice in (7, 8):
        items = draw(st.lists(st.sampled_from(LITERALS), min_size=1, max_size=3))
        listed = ", ".join(quote(v) for v in items)
        return Expr(f"{a.text} in ({listed})", lambda c: pc.if_else(
            pc.is_null(a.evaluate(c)), pa.scalar(None, pa.bool_()),
            pc.is_in(a.evaluate(c), pa.array(items))))
    left, right = draw(predicate(depth - 1)), draw(predicate(depth - 1))
    if choice == 9:
        return Expr(f"({left.text}) and ({right.text})",
                    lambda c: pc.and_kleene(left.evaluate(c), right.evaluate(c)))
    if choice == 10:
        return Expr(f"({left.text}) or ({right.text})",
                    lambda c: pc.or_kleene(left.evaluate(c), right.evaluate(c)))
    return Expr(f"not ({left.text})", lambda c: pc.invert(left.evaluate(c)))


@st.composite
def columns(draw) -> tuple[int, list, list]:
    n = draw(st.integers(0, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)

    def word() -> str | None:
        if rng.random() < 0.1:
            return None
        if rng.random() < 0.3:
            return str(rng.choice(LITERALS))
        return "".join(rng.choice(ALPHABET, rng.integers(0, 16)))
    return n, [word() for _ in range(n + 3)], [word() for _ in range(n + 3)]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(expr=predicate(2), data=columns(), kind=st.sampled_from(["utf8", "large", "view", "dictionary"]),
       sliced=st.booleans())
def test_string_predicates_against_pyarrow(expr, data, kind, sliced):
    n, s_values, t_values = data
    plain = {"s": pa.array(s_values, pa.string()), "t": pa.array(t_values, pa.string())}
    if kind == "dictionary":
        arrays = {"s": plain["s"].dictionary_encode(), "t": plain["t"]}
    else:
        arrays = {name: pa.array(values, TYPES[kind]) for name, values in (("s", s_values), ("t", t_values))}
    batch = pa.record_batch(arrays)
    if sliced:
        batch, plain = batch.slice(3), {k: v.slice(3) for k, v in plain.items()}
    else:
        batch, plain = batch.slice(0, n), {k: v.slice(0, n) for k, v in plain.items()}
    want = pc.fill_null(expr.evaluate(plain), False)
    f = arrowjit.compile_filter(expr.text, batch.schema)
    got = f.mask(batch)
    assert got.to_pylist() == want.to_pylist(), expr.text
    assert f.count(batch, threads=2) == sum(want.to_pylist())
