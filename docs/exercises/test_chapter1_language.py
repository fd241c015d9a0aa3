"""Checks for chapter 1 (docs/exercises/chapter1_language.py)."""

import lark
import pyarrow as pa
import pytest

import arrowjit
from arrowjit.compiler import ast
from arrowjit.grammar.parser import GRAMMAR_PATH, parse_tree

BATCH = pa.record_batch({
    "x": [1.0, 3.0, None, 5.0, 7.0, float("nan")],
    "i": [1, 2, 3, 4, 5, 6],
    "name": ["ant", "bee", "cat", None, "bee", "dog"],
})

EXPECTED_ROWS = {  # by i
    "x from 2 to 6": [2, 4],
    "no name": [4],
    "b-names with odd i": [5],
    "x missing": [3, 6],
}


@pytest.mark.parametrize("question", sorted(EXPECTED_ROWS))
def test_chapter1_expressions(exercise, question):
    text = exercise("chapter1_language").EXPRESSIONS[question]
    assert text, f"no expression yet for {question!r}"
    kept = arrowjit.compile_filter(text, BATCH.schema)(BATCH)
    assert kept["i"].to_pylist() == EXPECTED_ROWS[question]


SUGAR = [
    ("x > 1 && i < 2", "x > 1 and i < 2"),
    ("x > 1 || i < 2 && flag", "x > 1 or i < 2 and flag"),
    ("!flag", "not flag"),
    ("!(x > 1) || ! flag", "not (x > 1) or not flag"),
    ("x in {1, 2, 3}", "x in (1, 2, 3)"),
    ("x not in {1}", "x not in (1)"),
    ("x != 1 && x <> 2", "x != 1 and x <> 2"),
]


def _extended_parser(exercise) -> lark.Lark:
    grammar = exercise("chapter1_language").extend_grammar(GRAMMAR_PATH.read_text())
    # The same options as arrowjit/grammar/parser.py.
    return lark.Lark(grammar, parser="lalr", lexer="basic", propagate_positions=True,
                     maybe_placeholders=True)


@pytest.mark.parametrize("sugar, plain", SUGAR)
def test_chapter1_grammar_sugar(exercise, sugar, plain):
    parser = _extended_parser(exercise)
    got = ast.dump(ast.build_ast(parser.parse(sugar), sugar))
    assert got == ast.dump(ast.build_ast(parse_tree(plain), plain))


def test_chapter1_grammar_keeps_the_language(exercise):
    parser = _extended_parser(exercise)
    for text in ["x > 2 and not flag or i in (1, 2)", "a & b | ~c", "1 < x <= 5", "x::int32 == -2 ** 2",
                 "case when x > 1 then 'a' else 'b' end == 'a'", "x | y", "x != 1"]:
        assert ast.dump(ast.build_ast(parser.parse(text), text)) == \
            ast.dump(ast.build_ast(parse_tree(text), text)), text
