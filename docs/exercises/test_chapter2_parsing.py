"""Checks for chapter 2 (docs/exercises/chapter2_parsing.py)."""

import pytest

COLUMNS = [
    ("x > 1", ["x"]),
    ("y < 2 and x > 1 or y == 3", ["y", "x"]),
    ("name == 'x' and `x y` > 2", ["name", "x y"]),
    ("coalesce(b, a) > a * c", ["b", "a", "c"]),
    ("case when flag then lo else hi end between 0 and `end`", ["flag", "lo", "hi", "end"]),
    ("1 > 2", []),
]


@pytest.mark.parametrize("text, expected", COLUMNS)
def test_chapter2_columns_in_order(exercise, text, expected):
    assert exercise("chapter2_parsing").columns_in_order(text) == expected


COMPARISONS = [
    ("x > 1", ["x > 1"]),
    ("1 < x < 5 and y == 2", ["1 < x", "x < 5", "y == 2"]),
    ("not (a >= b)   or  c != 'd'", ["a >= b", "c != 'd'"]),
    ("abs(x - 1) <= 0.5 and x is null", ["abs(x - 1) <= 0.5"]),
    ("x between 1 and 2", []),
]


@pytest.mark.parametrize("text, expected", COMPARISONS)
def test_chapter2_comparison_texts(exercise, text, expected):
    assert exercise("chapter2_parsing").comparison_texts(text) == expected
