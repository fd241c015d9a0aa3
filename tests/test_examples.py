"""Every numbered example (examples/NN_*.py) runs, and prints what examples/expected/NN_*.txt says.

An expected file is the example's output, with ``...`` standing for what
may differ between runs and machines: inside a line it matches any text
(timings, the CPU's name), and a line that is only ``...`` matches any
number of lines (the optimized IR and the assembly, which depend on the
CPU). Everything else must match exactly. Each example runs in its own
process with a new cache directory, on small data.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("[0-9][0-9]_*.py"))
EXPECTED = ROOT / "examples" / "expected"

# Examples whose output another test checks (it must name the example's file): 06 needs the
# dask extra and a LocalCluster, and tests/test_dask.py runs it and checks its output against pyarrow.
CHECKED_ELSEWHERE = {"06_parquet_and_dask.py": "tests/test_dask.py"}

# Arguments that keep an example fast and its output stable.
ARGUMENTS = {
    "01_quickstart.py": ["20000"],
    "07_reading_the_benchmark.py": ["docs/benchmarks.md"],
}


def pattern(expected: str) -> re.Pattern:
    """A regular expression for an expected output with ``...`` wildcards."""
    parts = []
    for line in expected.splitlines():
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def test_the_wildcards():
    assert pattern("a ... b\n...\nend").fullmatch("a 12 ms b\nx\ny\nend\n")
    assert pattern("x\n...\nend").fullmatch("x\nend\n")
    assert not pattern("a ... b\nend").fullmatch("a b\nextra\nend\n")
    assert not pattern("exact").fullmatch("exactly\n")


def test_examples_are_numbered_and_each_has_its_expected_output():
    assert [p.name[:2] for p in EXAMPLES] == sorted({p.name[:2] for p in EXAMPLES})
    assert {"01", "02", "03", "05", "07"} <= {p.name[:2] for p in EXAMPLES}
    missing = [p.name for p in EXAMPLES if not (EXPECTED / p.with_suffix(".txt").name).exists()
               and p.name not in CHECKED_ELSEWHERE]
    assert not missing, f"no examples/expected/ file for {missing}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_output(example, tmp_path):
    if example.name in CHECKED_ELSEWHERE:
        checker = ROOT / CHECKED_ELSEWHERE[example.name]
        assert example.name in checker.read_text(), f"{checker} does not run {example.name}"
        pytest.skip(f"{example.name} is run and checked by {CHECKED_ELSEWHERE[example.name]}")
    expected_file = EXPECTED / example.with_suffix(".txt").name
    env = {**os.environ, "ARROWJIT_CACHE_DIR": str(tmp_path / "cache"),
           "ARROWJIT_EXAMPLE_DATA": str(tmp_path / "data"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(example), *ARGUMENTS.get(example.name, [])], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    if not expected_file.exists():
        pytest.fail(f"no {expected_file.relative_to(ROOT)}; the output was:\n{done.stdout}")
    output = done.stdout if done.stdout.endswith("\n") else done.stdout + "\n"
    assert pattern(expected_file.read_text()).fullmatch(output), (
        f"{example.name}'s output does not match {expected_file.relative_to(ROOT)}:\n{output}")
