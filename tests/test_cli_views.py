"""The CLI's teaching views: --stage passes, --annotate, --color, --functions (run in a subprocess)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

EXPR = "x > 2.0 and x < 6.0"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environment.update({"PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "arrowjit", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=environment)


def test_stage_passes_prints_the_summary_then_each_changed_pass():
    result = run("--dump-ir", EXPR, "--schema", "x:float64", "--stage", "passes")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"; the O3 pipeline, pass by pass, for \S+ \(.+\)", lines[0])
    total, changed, unchanged = map(int, re.fullmatch(
        r"; (\d+) pass runs: (\d+) changed the module, (\d+) changed nothing", lines[2]).groups())
    assert total == changed + unchanged and changed > 10
    banners = re.findall(r"^=+ (\d+)\. (\w+) on .+ \(\+\d+ -\d+\) =+$", result.stdout, re.M)
    assert len(banners) == changed
    assert "LoopVectorizePass" in {name for _, name in banners}
    assert "IR Dump" not in result.stdout + result.stderr
    assert not ANSI.search(result.stdout)  # piped: no color


def test_annotate_underlines_each_sub_expression_in_the_llvm_stage():
    result = run("--dump-ir", EXPR, "--schema", "x:float64", "--stage", "all", "--annotate")
    assert result.returncode == 0, result.stderr
    llvm_section = result.stdout.split(" llvm: ")[1]
    assert ("; x > 2.0 and x < 6.0\n;             ^~~~~~~  x < 6.0  [12:19]\n"
            "  %x_lt__1 = call i1") in llvm_section
    assert "; the whole module, with the same source comments:" in llvm_section
    plain = run("--dump-ir", EXPR, "--schema", "x:float64", "--stage", "llvm")
    assert "^~~~" not in plain.stdout and "  ; x < 6.0  [12:19]" in plain.stdout


@pytest.mark.parametrize("stage, lexer_mark",
                         [("llvm", "define"), ("asm", "filter_kernel:"), ("passes", "--- before")])
def test_color_always_highlights_and_never_does_not(stage, lexer_mark):
    colored = run("--dump-ir", EXPR, "--schema", "x:float64", "--stage", stage, "--color", "always")
    plain = run("--dump-ir", EXPR, "--schema", "x:float64", "--stage", stage, "--color", "never")
    assert colored.returncode == plain.returncode == 0
    assert ANSI.search(colored.stdout) and not ANSI.search(plain.stdout)
    assert ANSI.sub("", colored.stdout) == plain.stdout  # the same text, only colored
    assert lexer_mark in plain.stdout


def test_color_auto_colors_a_terminal_only():
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"TERM": "xterm"}
    command = [sys.executable, "-m", "arrowjit", "--dump-ir", "x > 1.0", "--schema", "x:float64",
               "--stage", "llvm"]
    process = subprocess.Popen(command, stdout=secondary, stderr=subprocess.PIPE, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(primary)
    on_terminal = b"".join(chunks).decode()
    assert process.returncode == 0
    assert ANSI.search(on_terminal)
    piped = run("--dump-ir", "x > 1.0", "--schema", "x:float64", "--stage", "llvm")
    assert not ANSI.search(piped.stdout)
    assert not ANSI.search(run("--dump-ir", "x > 1.0", "--schema", "x:float64", "--stage", "llvm",
                               env={"NO_COLOR": "1"}).stdout)


def test_functions_file_registers_user_functions(tmp_path):
    module = tmp_path / "my_functions.py"
    module.write_text(
        "import arrowjit\n"
        "def clamp(b, args):\n"
        "    x, lo, hi = args\n"
        "    upper = b.select(b.fcmp_ordered('>', x, hi), hi, x, name='upper')\n"
        "    return b.select(b.fcmp_ordered('<', x, lo), lo, upper, name='clamped')\n"
        "arrowjit.register_function('clamp', ['float64'] * 3, 'float64', clamp)\n")
    result = run("--dump-ir", "clamp(x, 0.0, 1.0) > 0.5", "--schema", "x:float64", "--stage", "llvm",
                 "--functions", module)
    assert result.returncode == 0, result.stderr
    assert "define internal double @clamp_float64_float64_float64(double %x, double %y, double %z)" \
        in result.stdout
    assert "%clamped = select i1 " in result.stdout
    missing = run("--dump-ir", "clamp(x, 0.0, 1.0) > 0.5", "--schema", "x:float64")
    assert missing.returncode == 2 and "unknown function clamp()" in missing.stderr
    bad = run("--dump-ir", "x > 1", "--schema", "x:float64", "--functions", tmp_path / "nope.py")
    assert bad.returncode == 2 and "is not a file" in bad.stderr
