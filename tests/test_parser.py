"""Stage 1 and 2 on their own: text -> Lark tree -> AST, compared as s-expressions.

Each case states its input and the expected result beside it, in the style of
chibicc's and Crafting Interpreters' tests. No schema, type checker or LLVM is
involved here.
"""

from __future__ import annotations

import dataclasses
import random

import lark
import pytest

import arrowjit
from arrowjit import ArrowJitError, ParseError
from arrowjit.compiler import ast
from arrowjit.grammar.parser import parse_tree


def build(text):
    return ast.build_ast(parse_tree(text), text)


def sexpr(text):
    return ast.dump(build(text))



def case(text, expected, *, id=None, marks=()):
    return pytest.param(text, expected, id=id or text, marks=marks)


# ---------------------------------------------------------------------------
# Precedence and associativity
# ---------------------------------------------------------------------------

PRECEDENCE = [
    # or < and < not < comparison < + - < * / // % < unary minus < **
    case("a or b and c", "(or a (and b c))"),
    case("a and b or c", "(or (and a b) c)"),
    case("a and b or c and d", "(or (and a b) (and c d))"),
    case("not a and b", "(and (not a) b)"),
    case("not a or not b", "(or (not a) (not b))"),
    case("not not a", "(not (not a))"),
    case("not x == 1", "(not (== x 1))"),
    case("not x > 1 and y", "(and (not (> x 1)) y)"),
    case("x > 2 and y < 3 or not z", "(or (and (> x 2) (< y 3)) (not z))"),
    case("x + y > z * 2", "(> (+ x y) (* z 2))"),
    case("x + y * z", "(+ x (* y z))"),
    case("x * y + z", "(+ (* x y) z)"),
    case("x - y - z", "(- (- x y) z)"),
    case("x * y / z // w % v", "(% (// (/ (* x y) z) w) v)"),
    case("x + y % z", "(+ x (% y z))"),
    case("x // y * z", "(* (// x y) z)"),
    case("(x + y) * z", "(* (+ x y) z)"),
    case("x * (y + z)", "(* x (+ y z))"),
    case("((x > 1))", "(> x 1)"),
    case("(x)", "x"),
    case("-x", "(neg x)"),
    case("- -x", "(neg (neg x))"),
    case("-x * y", "(* (neg x) y)"),
    case("x * -y", "(* x (neg y))"),
    case("-(x + y)", "(neg (+ x y))"),
    case("+x", "x"),
    case("+x > -y", "(> x (neg y))"),
    case("x - -y", "(- x (neg y))"),
    case("x---1", "(- x 1)"),
    case("x+-1", "(+ x -1)"),
    # ** is right-associative and binds tighter than unary minus on its left.
    case("x ** 2", "(** x 2)"),
    case("-x ** 2", "(neg (** x 2))"),
    case("-2 ** 2", "(neg (** 2 2))"),
    case("2 ** -1", "(** 2 -1)"),
    case("2 ** (-1)", "(** 2 -1)"),
    case("x**-1", "(** x -1)"),
    case("2 ** 3 ** 2", "(** 2 (** 3 2))"),
    case("x ** -y ** 2", "(** x (neg (** y 2)))"),
    case("(-x) ** 2", "(** (neg x) 2)"),
    case("x * y ** 2", "(* x (** y 2))"),
    case("x ** 2 * y", "(* (** x 2) y)"),
    case("abs(x) ** 2", "(** (abs x) 2)"),
    # & | ~ are and / or / not with the same precedence (pandas.query style).
    case("x > 2 & x < 6", "(and (> x 2) (< x 6))"),
    case("x > 2 | y < 3", "(or (> x 2) (< y 3))"),
    case("a | b & c", "(or a (and b c))"),
    case("a & b | c", "(or (and a b) c)"),
    case("~a & b | c", "(or (and (not a) b) c)"),
    case("~x > 2", "(not (> x 2))"),
    case("~~a", "(not (not a))"),
    case("a and b & c", "(and a b c)"),
    case("a or b | c", "(or a b c)"),
    # A run of one connective is one flat node; parentheses keep their grouping.
    case("a and b and c", "(and a b c)"),
    case("a or b or c and d and e", "(or a b (and c d e))"),
    case("a & b & c", "(and a b c)"),
    case("(a and b) and c", "(and a b c)"),
    case("a and (b and c)", "(and a (and b c))"),
]


@pytest.mark.parametrize("text, expected", PRECEDENCE)
def test_precedence(text, expected):
    assert sexpr(text) == expected


# ---------------------------------------------------------------------------
# Predicates: comparisons and their chains, is null, in, between
# ---------------------------------------------------------------------------

PREDICATES = [
    case("x == 1", "(== x 1)"),
    case("x != 1", "(!= x 1)"),
    case("x < 1", "(< x 1)"),
    case("x <= 1", "(<= x 1)"),
    case("x > 1", "(> x 1)"),
    case("x >= 1", "(>= x 1)"),
    case("x = 1", "(== x 1)"),
    case("x <> 1", "(!= x 1)"),
    case("x=1", "(== x 1)"),
    case("x<>1", "(!= x 1)"),
    case("x>-1", "(> x -1)"),
    case("x>=-1", "(>= x -1)"),
    case("x<-1", "(< x -1)"),
    case("x==-1", "(== x -1)"),
    # Python-style chains mean `and` of the neighbouring comparisons.
    case("2 < x <= 6", "(and (< 2 x) (<= x 6))"),
    case("a < b < c < d", "(and (< a b) (< b c) (< c d))"),
    case("0 <= x != y", "(and (<= 0 x) (!= x y))"),
    case("1 = x <> 2", "(and (== 1 x) (!= x 2))"),
    case("2 < x <= 6 and y", "(and (< 2 x) (<= x 6) y)"),
    case("x + 1 < y * 2 < z", "(and (< (+ x 1) (* y 2)) (< (* y 2) z))"),
    # is null / is not null
    case("x is null", "(is-null x)"),
    case("x is not null", "(is-not-null x)"),
    case("x + 1 is null", "(is-null (+ x 1))"),
    case("not x is null", "(not (is-null x))"),
    case("x is null or y is not null", "(or (is-null x) (is-not-null y))"),
    # in / not in, with an optional trailing comma
    case("x in (1, 2, 3)", "(in x 1 2 3)"),
    case("x in (1)", "(in x 1)"),
    case("x in (1,)", "(in x 1)"),
    case("x in (1, 2,)", "(in x 1 2)"),
    case("x not in (1, 2)", "(not-in x 1 2)"),
    case("x not in (1,)", "(not-in x 1)"),
    case("x in (y + 1, z)", "(in x (+ y 1) z)"),
    case("x + 1 in (2, -3)", "(in (+ x 1) 2 -3)"),
    case("x in (1, 2) and y", "(and (in x 1 2) y)"),
    case("not x in (1, 2)", "(not (in x 1 2))"),
    # between / not between; its `and` does not end the predicate early
    case("x between 1 and 2", "(between x 1 2)"),
    case("x not between 1 and 2", "(not-between x 1 2)"),
    case("x between 1 and 2 and y", "(and (between x 1 2) y)"),
    case("x between 1 and 2 and y and z", "(and (between x 1 2) y z)"),
    case("x between 1 and 2 or y", "(or (between x 1 2) y)"),
    case("y and x between 1 and 2", "(and y (between x 1 2))"),
    case("x between y - 1 and y + 1", "(between x (- y 1) (+ y 1))"),
    case("x between -1 and 2 * y", "(between x -1 (* 2 y))"),
    case("x not between 1 and 2 and y", "(and (not-between x 1 2) y)"),
]


@pytest.mark.parametrize("text, expected", PREDICATES)
def test_predicates(text, expected):
    assert sexpr(text) == expected


# ---------------------------------------------------------------------------
# Calls, names, keywords
# ---------------------------------------------------------------------------

NAMES = [
    # calls; function names are case-insensitive, trailing comma allowed
    case("abs(x) > 1", "(> (abs x) 1)"),
    case("ABS(x)", "(abs x)"),
    case("Sqrt(x + 1)", "(sqrt (+ x 1))"),
    case("f()", "(f)"),
    case("f(x, y)", "(f x y)"),
    case("f(x, y,)", "(f x y)"),
    case("f(g(x), -y)", "(f (g x) (neg y))"),
    case("isnull(x) or x > 1", "(or (isnull x) (> x 1))"),
    case("-abs(x)", "(neg (abs x))"),
    # column names are case-sensitive; backticks quote any other name
    case("X", "X"),
    case("price_2", "price_2"),
    case("_x", "_x"),
    case("`x` > 1", "(> x 1)"),
    case("`a b` > 1", "(> `a b` 1)"),
    case("`a``b` > 1", "(> `a``b` 1)"),
    case("```` > 1", "(> ```` 1)"),
    case("`x-y` + `1st`", "(+ `x-y` `1st`)"),
    case("`é` > 1", "(> `é` 1)"),
    case("`and` > 1", "(> `and` 1)"),
    # keywords are case-insensitive
    case("a AND b", "(and a b)"),
    case("a Or b", "(or a b)"),
    case("Not a", "(not a)"),
    case("NOT a", "(not a)"),
    case("x is NULL", "(is-null x)"),
    case("x IS NOT NULL", "(is-not-null x)"),
    case("x Is Not Null", "(is-not-null x)"),
    case("x IN (1)", "(in x 1)"),
    case("x NOT IN (1)", "(not-in x 1)"),
    case("x Between 1 AnD 2", "(between x 1 2)"),
    case("x NoT BeTwEeN 1 and 2", "(not-between x 1 2)"),
    case("True", "true"),
    case("FALSE", "false"),
    case("NULL", "null"),
    case("Null", "null"),
    case("INF", "inf"),
    case("NaN", "nan"),
    # a name that merely starts with a keyword is a column
    case("android", "android"),
    case("order", "order"),
    case("information", "information"),
    case("nullable", "nullable"),
    case("android and order", "(and android order)"),
    case("information > 1 or notable", "(or (> information 1) notable)"),
    case("not nullable", "(not nullable)"),
    case("nullable is null", "(is-null nullable)"),
    case("in_stock and is_valid", "(and in_stock is_valid)"),
    case("isx or inx or betweenx", "(or isx inx betweenx)"),
    case("true_ or false_ or null_", "(or true_ false_ null_)"),
    case("infinity > nanny", "(> infinity nanny)"),
    case("ORDER", "ORDER"),
    case("and_", "and_"),
    # run-time parameters: `:name` (SQL drivers) and `@name` (pandas.query) are the same
    case("x > :lo", "(> x :lo)"),
    case("x > @lo", "(> x :lo)"),
    case("x between :lo and @hi", "(between x :lo :hi)"),
    case("x in (:a, :b,)", "(in x :a :b)"),
    case("-:lo < x", "(< (neg :lo) x)"),
    case(":flag and not @other", "(and :flag (not :other))"),
]


@pytest.mark.parametrize("text, expected", NAMES)
def test_calls_names_keywords(text, expected):
    assert sexpr(text) == expected


LITERALS = [
    case("42", 42),
    case("0", 0),
    case("1_000", 1000),
    case("1_000_000", 1_000_000),
    case("007", 7),
    case("0x1F", 31),
    case("0X1f", 31),
    case("0x1f_ff", 0x1FFF),
    case("0xFFFFFFFFFFFFFFFF", 2**64 - 1),
    case("18446744073709551615", 2**64 - 1),
    case("9223372036854775808", 2**63),
    case("-9223372036854775808", -(2**63)),
    case("-1", -1),
    case("- 1", -1),
    case("-(1)", -1),
    case("-0x10", -16),
    case("2.0", 2.0),
    case(".5", 0.5),
    case("-.5", -0.5),
    case("1.", 1.0),
    case("1e-3", 0.001),
    case("1E3", 1000.0),
    case("2.5E+2", 250.0),
    case("1.e5", 1e5),
    case("1_000.5", 1000.5),
    case("1_000e1", 1e4),
    case("inf", float("inf")),
    case("-inf", float("-inf")),
    case("true", True),
    case("false", False),
    case("null", None),
]


@pytest.mark.parametrize("text, value", LITERALS)
def test_literals(text, value):
    node = build(text)
    assert isinstance(node, ast.Literal)
    assert type(node.value) is type(value)
    assert node.value == value


@pytest.mark.parametrize("text", ["nan", "NaN", "-nan"])
def test_nan_literal(text):
    node = build(text)
    assert isinstance(node, ast.Literal)
    assert isinstance(node.value, float) and node.value != node.value


LITERAL_DUMPS = [
    case("x > 1_000", "(> x 1000)"),
    case("x > 0x1F", "(> x 31)"),
    case("x > 2.0", "(> x 2.0)"),
    case("x > .5", "(> x 0.5)"),
    case("x > 1e-3", "(> x 0.001)"),
    case("x > 1.", "(> x 1.0)"),
    case("x < inf", "(< x inf)"),
    case("x > -inf", "(> x -inf)"),
    case("x != nan", "(!= x nan)"),
    case("x == true", "(== x true)"),
    case("x != false", "(!= x false)"),
    case("x > null", "(> x null)"),
    case("x > -1.5", "(> x -1.5)"),
]


@pytest.mark.parametrize("text, expected", LITERAL_DUMPS)
def test_literal_dumps(text, expected):
    assert sexpr(text) == expected


def test_whitespace_and_newlines_are_ignored():
    assert sexpr("  x\n >\t2\n  and\n y  ") == "(and (> x 2) y)"


# ---------------------------------------------------------------------------
# Spans: every node covers exactly the text it came from
# ---------------------------------------------------------------------------



def _nodes(node):
    """Every AST node, parent before children."""
    yield node
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, ast.Node):
                yield from _nodes(child)


def _covered(text):
    """{s-expression of a node: the source text its span covers} (first node wins)."""
    covered = {}
    for node in _nodes(build(text)):
        covered.setdefault(ast.dump(node), text[node.span.start:node.span.end])
    return covered


def span_case(text, expected, *, marks=()):
    return pytest.param(text, expected, id=text, marks=marks)


SPANS = [
    # (expression, {sub-node as an s-expression: the exact text its span covers})
    span_case("(x + 1) * 2 > 3", {"(> (* (+ x 1) 2) 3)": "(x + 1) * 2 > 3",
                                  "(* (+ x 1) 2)": "(x + 1) * 2",
                                  "(+ x 1)": "x + 1", "x": "x", "1": "1", "2": "2", "3": "3"}),
    span_case(" -x ** 2 ", {"(neg (** x 2))": "-x ** 2", "(** x 2)": "x ** 2"}),
    span_case("-(x)", {"(neg x)": "-(x)", "x": "x"}),
    span_case("-(1) < y", {"-1": "-(1)"}),
    span_case("- 1 < y", {"-1": "- 1"}),
    span_case("abs( x ) > 1", {"(abs x)": "abs( x )", "x": "x"}),
    span_case("f()", {"(f)": "f()"}),
    span_case("ABS(x, y)", {"(abs x y)": "ABS(x, y)", "y": "y"}),
    span_case("x in (1, 2,)", {"(in x 1 2)": "x in (1, 2,)", "2": "2"}),
    span_case("x not in ( 1 )", {"(not-in x 1)": "x not in ( 1 )", "1": "1"}),
    span_case("x is not null", {"(is-not-null x)": "x is not null"}),
    span_case("y or x Is Null", {"(is-null x)": "x Is Null"}),
    span_case("x between 1 and 2 and y", {"(and (between x 1 2) y)": "x between 1 and 2 and y",
                                          "(between x 1 2)": "x between 1 and 2", "y": "y"}),
    span_case("x not between 1 and 2", {"(not-between x 1 2)": "x not between 1 and 2", "2": "2"}),
    span_case("2 < x <= 6", {"(and (< 2 x) (<= x 6))": "2 < x <= 6", "(< 2 x)": "2 < x",
                             "(<= x 6)": "x <= 6"}),
    span_case("(a) and (b)", {"(and a b)": "(a) and (b)", "a": "a", "b": "b"}),
    span_case("a and b and c", {"(and a b c)": "a and b and c", "c": "c"}),
    span_case("not (a)", {"(not a)": "not (a)"}),
    span_case("~a", {"(not a)": "~a"}),
    span_case("`a b` > 1", {"`a b`": "`a b`"}),
    span_case("`a``b` > 1", {"`a``b`": "`a``b`"}),
    span_case("x > 2.0 and flag > 1", {"(> flag 1)": "flag > 1", "(> x 2.0)": "x > 2.0"}),
    span_case("a or\n  b > 1", {"(> b 1)": "b > 1", "(or a (> b 1))": "a or\n  b > 1"}),
    span_case("(x) > 1", {"(> x 1)": "(x) > 1", "x": "x"}),
    span_case("x == (y > 1)", {"(== x (> y 1))": "x == (y > 1)", "(> y 1)": "y > 1"}),
    span_case("(a) < b < (c)", {"(< a b)": "(a) < b", "(< b c)": "b < (c)"}),
]


@pytest.mark.parametrize("text, expected", SPANS)
def test_spans(text, expected):
    covered = _covered(text)
    for node, source in expected.items():
        assert covered.get(node) == source, f"span of {node}"


def test_call_name_span():
    text = "x > 1 and Sqrt (x) < 2"
    node = build(text)
    call = next(n for n in _nodes(node) if isinstance(n, ast.Call))
    assert text[call.name_span.start:call.name_span.end] == "Sqrt"
    assert text[call.span.start:call.span.end] == "Sqrt (x)"


def test_spans_are_offsets_into_the_original_text():
    text = "\n\n   x  >  2"
    node = build(text)
    assert (node.span.start, node.span.end) == (5, 12)


# ---------------------------------------------------------------------------
# Errors: a ParseError with line:col, the source line and a caret
# ---------------------------------------------------------------------------

def error(text, position, message, source_line, caret_line, *, id=None, marks=()):
    return pytest.param(text, position, message, source_line, caret_line, id=id or repr(text), marks=marks)


ERRORS = [
    # (input, "line:col", part of the message, the source line, the caret line)
    error("", "1:1", "the expression is empty", "", "^"),
    error("   ", "1:1", "the expression is empty", "   ", "^^^"),
    error("\n\t ", "1:1", "the expression is empty", "", "^"),
    error("x >", "1:4", "the expression ends too early", "x >", "   ^"),
    error("x >   ", "1:4", "the expression ends too early", "x >   ", "   ^"),
    error("x > 2 and", "1:10", "the expression ends too early", "x > 2 and", "         ^"),
    error("not", "1:4", "the expression ends too early", "not", "   ^"),
    error("x is", "1:5", "the expression ends too early; expected 'not', 'null'", "x is", "    ^"),
    error("x is not", "1:9", "the expression ends too early; expected 'null'", "x is not", "        ^"),
    error("abs(", "1:5", "the expression ends too early", "abs(", "    ^"),
    error("(x > 2", "1:7", "the expression ends too early; expected ')'", "(x > 2", "      ^"),
    error("x > > 2", "1:5", "unexpected '>'", "x > > 2", "    ^"),
    error("x > 2)", "1:6", "unexpected ')'", "x > 2)", "     ^"),
    error("x ** ** 2", "1:6", "unexpected '**'", "x ** ** 2", "     ^^"),
    error("x in ()", "1:7", "unexpected ')'", "x in ()", "      ^"),
    error("x in (1 2)", "1:9", "unexpected '2'", "x in (1 2)", "        ^"),
    error("a b", "1:3", "unexpected 'b'", "a b", "  ^"),
    error("x === 1", "1:5", "unexpected '='", "x === 1", "    ^"),
    error("x = = 1", "1:5", "unexpected '='", "x = = 1", "    ^"),
    error("1__000", "1:2", "unexpected '__000'", "1__000", " ^^^^^"),
    error("x $ 2", "1:3", "unexpected character '$'", "x $ 2", "  ^"),
    error("x ! 1", "1:3", "unexpected character '!'", "x ! 1", "  ^"),
    error("x.y", "1:2", "unexpected character '.'", "x.y", " ^"),
    error("'a", "1:1", "unexpected character \"'\"", "'a", "^"),
    error("`abc > 1", "1:1", "unexpected character '`'", "`abc > 1", "^"),
    error("x > 1 and `y", "1:11", "unexpected character '`'", "x > 1 and `y", "          ^"),
    error("x > :", "1:5", "unexpected character ':'", "x > :", "    ^"),
    error("x > @1", "1:5", "unexpected character '@'", "x > @1", "    ^"),
    # errors on a later line give that line's number and show that line
    error("x > 1 and\n  y $ 2", "2:5", "unexpected character '$'", "  y $ 2", "    ^"),
    error("x > 1\nand\n> 2", "3:1", "unexpected '>'", "> 2", "^"),
    error("a or\nb and", "2:6", "the expression ends too early", "b and", "     ^"),
    # integer literals beyond uint64
    error("18446744073709551616", "1:1", "integer literal does not fit in 64 bits",
          "18446744073709551616", "^" * 20),
    error("x > 0x1_0000_0000_0000_0000", "1:5", "integer literal does not fit in 64 bits",
          "x > 0x1_0000_0000_0000_0000", "    " + "^" * 23),
    error("-99999999999999999999999 < x", "1:2", "integer literal does not fit in 64 bits",
          "-99999999999999999999999 < x", " " + "^" * 23),
]


@pytest.mark.parametrize("text, position, message, source_line, caret_line", ERRORS)
def test_parse_errors(text, position, message, source_line, caret_line):
    with pytest.raises(ParseError) as info:
        build(text)
    err = info.value
    lines = str(err).split("\n")
    assert lines[0].startswith(f"{position}: "), lines[0]
    assert message in lines[0]
    assert lines[1:] == [f"  {source_line}", f"  {caret_line}"]
    assert err.text == text
    assert err.span is not None


@pytest.mark.parametrize("value, type_name", [(42, "int"), (None, "NoneType"), (b"x > 1", "bytes"),
                                              (["x > 1"], "list")])
def test_non_string_input(value, type_name):
    with pytest.raises(ParseError) as info:
        parse_tree(value)
    assert str(info.value) == f"the expression must be a string, not {type_name}"


def test_non_string_input_through_compile_filter():
    with pytest.raises(ParseError, match="the expression must be a string, not int"):
        arrowjit.compile_filter(42, {"x": "float64"})


@pytest.mark.parametrize("text", [
    pytest.param("(" * 5000 + "x" + ")" * 5000, id="parens-5000"),
    pytest.param("(" * 5000 + "x", id="unbalanced-parens-5000"),
    pytest.param("abs(" * 5000 + "x" + ")" * 5000, id="calls-5000"),
    pytest.param("not " * 5000 + "a", id="not-5000"),
    pytest.param("~" * 5000 + "a", id="tilde-5000"),
    pytest.param("-" * 5000 + "x", id="neg-5000"),
    pytest.param("- " * 5000 + "x", id="neg-spaced-5000"),
    pytest.param("x" + " ** x" * 5000, id="pow-5000"),
    pytest.param("x" + " + x" * 5000 + " > 1", id="sum-5000"),
    pytest.param("not (" * 2500 + "a" + ")" * 2500, id="not-paren-2500"),
    pytest.param("x in (" * 2500 + "1" + ")" * 2500, id="in-2500"),
])
def test_nesting_deeper_than_the_limit_is_a_parse_error(text):
    with pytest.raises(ParseError) as info:
        build(text)
    assert "deep" in str(info.value)
    assert "^" in str(info.value)


@pytest.mark.parametrize("text", [
    pytest.param("(" * 200 + "x > 1" + ")" * 200, id="parens-200"),
    pytest.param("not " * 200 + "a", id="not-200"),
    pytest.param("-" * 200 + "x", id="neg-200"),
    pytest.param("x" + " ** x" * 200, id="pow-200"),
    # A flat chain of one connective is one level, however long.
    pytest.param(" or ".join(f"x == {i}" for i in range(5000)), id="or-chain-5000"),
    pytest.param(" & ".join(f"x != {i}" for i in range(5000)), id="amp-chain-5000"),
    pytest.param("x" + " < x" * 3000, id="comparison-chain-3000"),
    pytest.param("x in (" + ", ".join(map(str, range(5000))) + ")", id="in-list-5000"),
])
def test_deep_but_allowed_expressions_parse(text):
    ast.dump(build(text))


def test_nesting_limit_boundary():
    from arrowjit.grammar.parser import MAX_NESTING

    limit = ast.MAX_DEPTH
    assert ast.depth(build("-" * (limit - 1) + "x"))[0] == limit
    with pytest.raises(ParseError, match="deep"):
        build("-" * limit + "x")
    assert sexpr("(" * MAX_NESTING + "x" + ")" * MAX_NESTING) == "x"
    with pytest.raises(ParseError, match="deep"):
        build("(" * (MAX_NESTING + 1) + "x" + ")" * (MAX_NESTING + 1))


def test_parentheses_inside_backticks_do_not_count_as_nesting():
    name = "(" * 300
    assert sexpr(f"`{name}` > 1") == f"(> `{name}` 1)"


KEYWORDS_AS_NAMES = [
    "x > or", "x + not", "x and and", "not and", "and > 1", "x in (in)", "between", "x == is",
]


@pytest.mark.parametrize("text", KEYWORDS_AS_NAMES)
def test_bare_keyword_is_not_a_column_name(text):
    with pytest.raises(ParseError):
        build(text)


def test_backticks_make_a_keyword_a_column():
    node = build("`and` > 1")
    assert isinstance(node, ast.Comparison)
    assert node.left == ast.Column(node.left.span, "and")


# ---------------------------------------------------------------------------
# No Lark exception ever escapes
# ---------------------------------------------------------------------------

def test_parse_error_is_an_arrowjit_error():
    assert issubclass(ParseError, ArrowJitError)
    assert not issubclass(ParseError, lark.exceptions.LarkError)
    assert arrowjit.ParseError is ParseError


MALFORMED = [
    "", " ", "x >", "x > > 2", "(x > 2", "x > 2)", "x $ 2", "`x", ")", "(", ",", "x,", "x in", "x in (",
    "x in (1", "x between", "x between 1", "x between 1 and", "x not", "x not between 1", "is null",
    "x is null null", "f(,)", "f(x,,y)", "()", "x ** ", "**x", "* x", "x * * y", "1 2", "1.2.3", "0x",
    "1e", "x <=> 1", "x => 1", "x =< 1", "x !== 1", "x && y", "x || y", "!x", "\x00", "x\x00", "é",
    "x > 1 #", "x @ 1", "[x]", "{x}", "x ? 1 : 2", '"x', "x\\", "``` > 1",
]


@pytest.mark.parametrize("text", MALFORMED, ids=[repr(t) for t in MALFORMED])
def test_malformed_input_raises_only_parse_error(text):
    with pytest.raises(ParseError):
        build(text)


def test_random_token_soup_raises_only_parse_error():
    """Random token sequences parse or raise ParseError; no other exception escapes."""
    tokens = ["x", "y", "1", "2.5", "0x1F", "(", ")", ",", "+", "-", "*", "/", "//", "%", "**", "<", "<=",
              "==", "=", "<>", "!=", ">", "and", "or", "not", "&", "|", "~", "is", "null", "in", "between",
              "true", "inf", "nan", "`a b`", "`", "abs", "$", ".", "1e", "\n", "!", "'", "é", "1_", "0x"]
    rng = random.Random(20240601)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(3000):
        words = [rng.choice(tokens) for _ in range(rng.randint(1, 8))]
        text = " ".join(words) if rng.random() < 0.8 else "".join(words)
        try:
            ast.dump(build(text))
            outcomes["ok"] += 1
        except ParseError as e:
            assert str(e)
            outcomes["error"] += 1
    assert outcomes["ok"] > 0 and outcomes["error"] > 0


def test_the_shipped_parse_tables_are_current():
    # Stale tables are only slower (they are rebuilt), but then every new process pays for it.
    from arrowjit.grammar.parser import GRAMMAR_PATH, TABLES_PATH, tables_fingerprint
    fingerprint = TABLES_PATH.read_bytes().split(b"\n", 1)[0].decode()
    assert fingerprint == tables_fingerprint(GRAMMAR_PATH.read_text()), (
        "arrowjit/grammar/filter.lark.tables is stale: run `make grammar`")


def test_the_shipped_tables_are_what_the_parser_uses():
    from arrowjit.grammar import parser
    assert parser._load_tables(parser.GRAMMAR_PATH.read_text()) is not None


def test_too_many_tokens_is_a_clear_error_at_once():
    # Compile time grows faster than the expression: past the limits, an error, not minutes of LLVM.
    from arrowjit.grammar.parser import MAX_TOKENS
    text = " or ".join(f"x == {i}" for i in range(MAX_TOKENS // 4 + 1))
    with pytest.raises(ParseError, match=f"more than {MAX_TOKENS:,} tokens") as e:
        parse_tree(text)
    assert e.value.span.start == text.index(f"x == {MAX_TOKENS // 4}")  # the token past the limit


def test_too_many_nodes_is_a_clear_error():
    # Parsing allows long flat chains (above); compiling one past MAX_NODES is refused.
    from arrowjit.compiler.ast import MAX_NODES
    text = "x in (" + ", ".join(str(i) for i in range(MAX_NODES)) + ")"  # the list plus x: one too many
    with pytest.raises(ParseError, match=f"more than {MAX_NODES:,} operands"):
        arrowjit.compile_filter(text, {"x": "int64"})
    fits = "x in (" + ", ".join(str(i) for i in range(MAX_NODES - 2)) + ")"
    build(fits)
