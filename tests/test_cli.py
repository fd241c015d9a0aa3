"""The ``arrowjit`` command, run for real in a subprocess (the console script and ``python -m``).

Each case states the command line and what must appear on stdout, or, for
errors, the exit status 2, the caret message on stderr and no traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

HAS_AVX2 = bool(llvm.get_host_cpu_features().get("avx2"))
STAGE_NAMES = ("ast", "typed", "llvm", "optimized", "asm")


def _console_script() -> str:
    """The installed `arrowjit` script: beside this interpreter first, then on PATH."""
    found = shutil.which("arrowjit", path=str(Path(sys.executable).parent)) or shutil.which("arrowjit")
    if found is None:
        pytest.fail(f"the arrowjit console script is not installed beside {sys.executable} nor on PATH")
    return found


COMMANDS = {
    "script": lambda: [_console_script()],
    "module": lambda: [sys.executable, "-m", "arrowjit"],
}


_RUNS: dict[tuple, subprocess.CompletedProcess] = {}


def run(*args, how="script", cwd=None):
    """Run the command; identical runs without a working directory of their own are made once."""
    key = (how, *map(str, args))
    if cwd is None and key in _RUNS:
        return _RUNS[key]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONWARNINGS", None)
    result = subprocess.run([*COMMANDS[how](), *map(str, args)], capture_output=True, text=True, timeout=120,
                            cwd=cwd, env=env)
    if cwd is None:
        _RUNS[key] = result
    return result



VECTOR_COMPARE = re.compile(r"fcmp o?[a-z]+ <\d+ x double>")


# ---------------------------------------------------------------------------
# Printing the stages
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["script", "module"])
def test_dump_ir_prints_vectorized_optimized_ir(how):
    result = run("--dump-ir", "x > 2.0 and x < 6.0", "--schema", "x:float64", how=how)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "define i64 @filter_kernel(" in result.stdout
    assert VECTOR_COMPARE.search(result.stdout)
    assert not re.search(r"call [^@\n]*@(?!llvm\.)\w+\(", result.stdout)  # everything inlined


STAGE_OUTPUT = [
    # (--stage, what stdout must contain)
    ("ast", ["(and (> x 2.0) (< x 6.0))"]),
    ("typed", ["(greater_than_float64_float64 x:float64 2.0:float64):bool",
               "(less_than_float64_float64 x:float64 6.0:float64):bool"]),
    ("llvm", ["define internal i1 @greater_than_float64_float64(double %x, double %y)", "alwaysinline",
              "define i64 @filter_kernel("]),
    ("optimized", ["define i64 @filter_kernel("]),
    ("asm", ["filter_kernel"]),
]


@pytest.mark.parametrize("stage, expected", STAGE_OUTPUT, ids=[s[0] for s in STAGE_OUTPUT])
def test_each_stage(stage, expected):
    result = run("--dump-ir", "x > 2.0 and x < 6.0", "--schema", "x:float64", "--stage", stage)
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout
    for other in STAGE_NAMES:
        assert not re.search(rf"^=+ {other}: ", result.stdout, re.M)  # banners only with --stage all


def test_ast_stage_prints_just_the_s_expression():
    result = run("--dump-ir", "2 < x <= 6", "--schema", "x:float64", "--stage", "ast")
    assert result.stdout == "(and (< 2 x) (<= x 6))\n"


@pytest.mark.skipif(not HAS_AVX2, reason="the host CPU has no AVX2")
def test_asm_stage_has_packed_double_compares_on_wide_registers():
    result = run("--dump-ir", "x > 2.0 and x < 6.0", "--schema", "x:float64", "--stage", "asm")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\bvcmp\w*pd\b[^\n]*%[yz]mm\d+", result.stdout)


BANNER = re.compile(r"=* ?(ast|typed|llvm|optimized|asm): \S.*")


def _banners(stdout):
    return [(i, line) for i, line in enumerate(stdout.splitlines()) if BANNER.fullmatch(line)]


def test_stage_all_prints_every_stage_under_a_banner():
    result = run("--dump-ir", "x > 2.0 and x < 6.0", "--schema", "x:float64", "--stage", "all")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    banners = _banners(result.stdout)
    assert [BANNER.fullmatch(line).group(1) for _, line in banners] == list(STAGE_NAMES)
    sections = {}
    for (start, line), end in zip(banners, [i for i, _ in banners[1:]] + [len(lines)]):
        sections[BANNER.fullmatch(line).group(1)] = "\n".join(lines[start + 1:end])
    assert sections["ast"].strip() == "(and (> x 2.0) (< x 6.0))"
    assert "greater_than_float64_float64" in sections["typed"]
    assert "define internal i1 @greater_than_float64_float64" in sections["llvm"]
    assert VECTOR_COMPARE.search(sections["optimized"])
    assert "define internal" not in sections["optimized"]
    assert "filter_kernel" in sections["asm"]
    assert all(section.strip() for section in sections.values())


def test_every_banner_is_a_rule_of_equals_signs():
    result = run("--dump-ir", "x > 2.0 and x < 6.0", "--schema", "x:float64", "--stage", "all")
    banners = [line for _, line in _banners(result.stdout)]
    assert len(banners) == len(STAGE_NAMES)
    for line in banners:
        assert re.fullmatch(r"=+ \w+: .* =+", line), line


def test_schema_with_several_columns_and_spaces():
    result = run("--dump-ir", "x > 1 and flag and i < 3", "--schema", " x : float64 , flag:bool, i:int32 ",
                 "--stage", "typed")
    assert result.returncode == 0, result.stderr
    for leaf in ("x:float64", "flag:bool", "(cast_int64_int32 i:int32):int64"):
        assert leaf in result.stdout


# ---------------------------------------------------------------------------
# --schema from a data file
# ---------------------------------------------------------------------------

TABLE = pa.table({"x": pa.array([1.5, 2.5], pa.float64()), "i": pa.array([1, 2], pa.int32()),
                  "flag": pa.array([True, False]), "name": pa.array(["a", "b"])})
EXPECTED_TYPED = ["x:float64", "(cast_int64_int32 i:int32):int64", "flag:bool"]


def _write_parquet(path):
    pq.write_table(TABLE, path)


def _write_feather(path):
    feather.write_feather(TABLE, path)


def _write_csv(path):
    path.write_text("x,i,flag,name\n1.5,1,true,a\n2.5,2,false,b\n")


@pytest.mark.parametrize("filename, write, expected", [
    ("data.parquet", _write_parquet, EXPECTED_TYPED),
    ("data.feather", _write_feather, EXPECTED_TYPED),
    ("data.arrow", _write_feather, EXPECTED_TYPED),
    # CSV types are inferred: integers are int64
    ("data.csv", _write_csv, ["x:float64", "i:int64", "flag:bool"]),
])
def test_schema_from_a_file(tmp_path, filename, write, expected):
    path = tmp_path / filename
    write(path)
    result = run("--dump-ir", "x > 1 and i < 3 and flag", "--schema", path, "--stage", "typed")
    assert result.returncode == 0, result.stderr
    for leaf in expected:
        assert leaf in result.stdout


def test_schema_file_relative_to_the_working_directory(tmp_path):
    _write_parquet(tmp_path / "data.parquet")
    result = run("--dump-ir", "x > 1", "--schema", "data.parquet", "--stage", "ast", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "(> x 1)\n"


def test_unsupported_column_type_from_a_file_is_reported(tmp_path):
    path = tmp_path / "data.parquet"
    _write_parquet(path)
    result = run("--dump-ir", "name > 1", "--schema", path)
    assert result.returncode == 2
    assert "cannot compare name (utf8) with 1 (int64)" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------
# Errors: status 2, the message with its caret on stderr, no traceback
# ---------------------------------------------------------------------------

def cli_error(expr, schema, expected_lines, *, id, marks=()):
    return pytest.param(expr, schema, expected_lines, id=id, marks=marks)


ERRORS = [
    # (expression, --schema, lines stderr must contain, in order)
    cli_error("x >", "x:float64",
              ["arrowjit: error: 1:4: the expression ends too early", "  x >", "     ^"], id="parse-error"),
    cli_error("x $ 2", "x:float64",
              ["arrowjit: error: 1:3: unexpected character '$'", "  x $ 2", "    ^"], id="bad-character"),
    cli_error("y > 1", "x:float64",
              ["arrowjit: error: 1:1: unknown column 'y'", "  y > 1", "  ^"], id="unknown-column"),
    cli_error("prce > 1", "price:float64",
              ["arrowjit: error: 1:1: unknown column 'prce'; did you mean 'price'?", "  prce > 1", "  ^^^^"],
              id="unknown-column-suggestion"),
    cli_error("x > 2.0 and flag > 1", "x:float64,flag:bool",
              ["arrowjit: error: 1:13: cannot compare flag (bool) with 1 (int64)", "  x > 2.0 and flag > 1",
               "              ^^^^^^^^"], id="type-error"),
    cli_error("x + 1", "x:float64",
              ["arrowjit: error: 1:1: a filter needs a boolean predicate, but this is float64"],
              id="not-a-predicate"),
    cli_error("x > 1", "x:floaty", ["arrowjit: error: column 'x': unknown type name 'floaty'"],
              id="bad-type-name"),
    cli_error("x > 1", "x", ["arrowjit: error: --schema: expected name:type, got 'x'"], id="no-colon"),
    cli_error("x > 1", ":int8", ["arrowjit: error: --schema: expected name:type, got ':int8'"],
              id="no-name"),
    cli_error("x > 1", "x:int8,x:int16", ["arrowjit: error: --schema names column 'x' twice"],
              id="duplicate-column"),
    cli_error("x > 1", "missing.parquet", ["arrowjit: error: schema file 'missing.parquet' does not exist"],
              id="missing-parquet"),
    cli_error("x > 1", "nowhere/data.csv", ["arrowjit: error: schema file 'nowhere/data.csv' does not exist"],
              id="missing-csv"),
    cli_error("x > 18446744073709551616", "x:float64",
              ["arrowjit: error: 1:5: integer literal does not fit in 64 bits", "  x > 18446744073709551616",
               "      ^^^^^^^^^^^^^^^^^^^^"], id="huge-integer"),
]


@pytest.mark.parametrize("expr, schema, expected_lines", ERRORS)
def test_errors_exit_2_with_the_message_and_no_traceback(tmp_path, expr, schema, expected_lines):
    result = run("--dump-ir", expr, "--schema", schema, cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    position = 0
    for expected in expected_lines:
        matches = [i for i, line in enumerate(lines[position:], position) if expected in line]
        assert matches, f"{expected!r} not in stderr:\n{result.stderr}"
        position = matches[0] + 1


def test_caret_lines_are_printed_exactly(tmp_path):
    result = run("--dump-ir", "x > > 2", "--schema", "x:float64", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[1:] == ["  x > > 2", "      ^"]


def test_errors_through_python_dash_m_too(tmp_path):
    result = run("--dump-ir", "(x > 2", "--schema", "x:float64", how="module", cwd=tmp_path)
    assert result.returncode == 2
    assert "1:7: the expression ends too early" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [
    pytest.param(["--dump-ir", "x > 1"], id="no-schema"),
    pytest.param(["--schema", "x:float64"], id="no-expression"),
    pytest.param(["--dump-ir", "x > 1", "--schema", "x:float64", "--stage", "bogus"], id="bad-stage"),
])
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "usage: arrowjit" in result.stderr
    assert "Traceback" not in result.stderr
