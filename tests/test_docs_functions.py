"""docs/language.md's function list is generated from the registry (arrowjit/compiler/docs.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import arrowjit
from arrowjit.compiler import docs
from arrowjit.compiler.registry import BUILTINS, CALLABLE_FUNCTIONS


def test_the_committed_function_list_is_current():
    text = docs.LANGUAGE_MD.read_text(encoding="utf-8")
    assert docs.update(text, docs.render()) == text, \
        "docs/language.md is out of date: run `make docs` (python -m arrowjit.compiler.docs)"


def test_every_callable_function_and_operator_is_listed():
    section = docs.render()
    for name in CALLABLE_FUNCTIONS:
        assert f"| `{name}()` |" in section
    for symbol in ("==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "//", "%", "**"):
        assert f"| `{symbol}` |" in section
    assert f"The registry holds {len(BUILTINS)} rows" in section
    assert ("| `abs()` | `abs(T) -> T`, T: any number, duration_ms, duration_ns, duration_s, duration_us "
            "| null if an argument is |  |") in section
    assert "| `//` | `floor_divide(T, T) -> T`, T: float32, float64 | null if an argument is |  |" in section
    assert "|  | `floor_divide(T, T) -> T`, T: any integer | decides itself | null when the divisor is 0 |" \
        in section


def test_user_functions_are_listed_with_their_doc():
    functions = arrowjit.Functions()
    functions.register("clamp", ["float64"] * 3, "float64", lambda b, a: a[0], doc="x limited to [lo, hi]")
    section = docs.render(functions.snapshot())
    assert "#### User functions (registered with arrowjit.register_function)" in section
    assert "| `clamp()` | `clamp(T, T, T) -> T`, T: float64 |" not in section  # one row: written out
    assert "| `clamp()` | `clamp(float64, float64, float64) -> float64` | null if an argument is | " \
           "x limited to [lo, hi] |" in section
    assert "User functions" not in docs.render()


def test_update_replaces_only_between_the_markers():
    text = f"before\n{docs.START}\nold\n{docs.END}\nafter\n"
    assert docs.update(text, "new\n") == f"before\n{docs.START}\nnew\n{docs.END}\nafter\n"
    with pytest.raises(ValueError, match="markers"):
        docs.update("no markers", "x")


def test_the_command_checks_and_rewrites(tmp_path):
    stale = tmp_path / "language.md"
    stale.write_text(f"# t\n{docs.START}\nold\n{docs.END}\n", encoding="utf-8")
    command = [sys.executable, "-m", "arrowjit.compiler.docs"]
    check = subprocess.run([*command, "--check", str(stale)], capture_output=True, text=True)
    assert check.returncode == 1 and "out of date" in check.stderr
    assert subprocess.run([*command, str(stale)], capture_output=True, text=True).returncode == 0
    assert subprocess.run([*command, "--check", str(stale)], capture_output=True, text=True).returncode == 0
    assert "| `sqrt()` |" in stale.read_text(encoding="utf-8")
