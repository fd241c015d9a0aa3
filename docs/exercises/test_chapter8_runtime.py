"""Checks for chapter 8 (docs/exercises/chapter8_runtime.py)."""

import pytest

from arrowjit.runtime import threads


@pytest.mark.parametrize("min_rows", [1 << 10, 1 << 14, 1 << 17])
def test_chapter8_morsel_count(exercise, monkeypatch, min_rows):
    morsel_count = exercise("chapter8_runtime").morsel_count
    monkeypatch.setattr(threads, "MIN_MORSEL_ROWS", min_rows)
    for rows in (0, 1, 1000, min_rows, 2 * min_rows - 1, 2 * min_rows, 5 * min_rows + 7, 100 * min_rows):
        for n in (1, 2, 3, 8):
            assert morsel_count(rows, n, min_rows) == len(threads.row_ranges(rows, n)), (rows, n)


def test_chapter8_measure(exercise):
    original = threads.MIN_MORSEL_ROWS
    sizes = [1 << 12, 1 << 17, 1 << 21]
    timings = exercise("chapter8_runtime").measure(sizes, rows=300_000)
    assert threads.MIN_MORSEL_ROWS == original, "MIN_MORSEL_ROWS was not restored"
    assert sorted(timings) == sorted(sizes)
    assert all(isinstance(ms, float) and 0 < ms < 10_000 for ms in timings.values())
