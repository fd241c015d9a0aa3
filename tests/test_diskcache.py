"""The on-disk kernel cache: hits across processes, damaged entries, concurrency, opting out."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXPR = "(x > 2 and y < 5) or (i % 7 == 3)"
# Prints the count (2 for this data), whether the kernel came from the disk, and whether the
# process built Lark's parser (it does not when the disk holds the expression's AST).
PROGRAM = f"""
import json, pyarrow as pa, arrowjit
from arrowjit.grammar import parser
f = arrowjit.compile_filter({EXPR!r}, {{"x": "float64", "y": "float64", "i": "int64"}})
batch = pa.record_batch({{"x": [3.0, 1.0, 9.0], "y": [1.0, 1.0, 9.0], "i": [1, 10, 11]}})
kernel = f._kernel(f._default_nulls)
print(json.dumps({{"count": f.count(batch), "hit": "disk_cache_hit" in kernel.compiled.timings,
                  "parsed": parser._parser.cache_info().currsize == 1}}))
"""
COLD = {"count": 2, "hit": False, "parsed": True}
WARM = {"count": 2, "hit": True, "parsed": False}


def run(cache: Path, **env: str) -> dict:
    environment = {**os.environ, "ARROWJIT_CACHE_DIR": str(cache), **env}
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                            env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def kernels(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.kernel"))


def entries(cache: Path) -> list[Path]:
    """Kernels and ASTs."""
    return sorted([*cache.glob("*.kernel"), *cache.glob("*.ast")])


def test_a_second_process_loads_the_machine_code_and_skips_the_parser(tmp_path):
    assert run(tmp_path) == COLD
    assert kernels(tmp_path) and list(tmp_path.glob("*.ast"))
    assert run(tmp_path) == WARM


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_a_damaged_entry_is_ignored_and_replaced(tmp_path, damage):
    run(tmp_path)
    for entry in entries(tmp_path):
        data = entry.read_bytes()
        entry.write_bytes({
            "truncate": data[: len(data) // 2],
            "flip": data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:],
            "empty": b"",
            "garbage": os.urandom(len(data)),
        }[damage])
    assert run(tmp_path) == COLD
    assert run(tmp_path) == WARM


def test_arrowjit_cache_0_writes_nothing(tmp_path):
    assert run(tmp_path, ARROWJIT_CACHE="0") == COLD
    assert not list(tmp_path.iterdir())


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run(blocker / "cache") == COLD


def test_processes_compiling_at_once_all_get_correct_kernels(tmp_path):
    environment = {**os.environ, "ARROWJIT_CACHE_DIR": str(tmp_path)}
    processes = [subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=environment) for _ in range(4)]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["count"] == 2
    assert not list(tmp_path.glob(".tmp-*"))
    assert run(tmp_path) == WARM


def test_the_stored_ast_is_the_parsed_one_and_a_stale_pickle_is_parsed_again(tmp_path, monkeypatch):
    from arrowjit.compiler import ast, diskcache, pipeline
    from arrowjit.grammar.parser import parse_tree

    monkeypatch.setenv("ARROWJIT_CACHE_DIR", str(tmp_path))
    text = "s like 'a%' and d > date '2024-01-31' or x between -1.5 and 2 and i in (1, 2)"
    fresh = ast.build_ast(parse_tree(text), text)
    assert pipeline.parse(text) == fresh  # parsed and stored
    assert diskcache.load_syntax(text) == fresh
    (stored,) = tmp_path.glob("*.ast")
    # A whole entry (length and hash right) whose pickle no longer loads: parsed again, not raised.
    diskcache._write(stored.name, [b"not a pickle"])
    assert diskcache.load_syntax(text) is None
    assert pipeline.parse(text) == fresh
    assert diskcache.load_syntax(text) == fresh  # and stored again
    assert diskcache.load_syntax("x > 1") is None  # another text has no entry
