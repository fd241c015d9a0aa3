"""The on-disk kernel cache: hits across processes, damaged entries, concurrency, opting out."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXPR = "(x > 2 and y < 5) or (i % 7 == 3)"
# Prints the count (2 for this data) and whether the kernel came from the disk.
PROGRAM = f"""
import json, pyarrow as pa, arrowjit
f = arrowjit.compile_filter({EXPR!r}, {{"x": "float64", "y": "float64", "i": "int64"}})
batch = pa.record_batch({{"x": [3.0, 1.0, 9.0], "y": [1.0, 1.0, 9.0], "i": [1, 10, 11]}})
kernel = f._kernel(f._default_nulls)
print(json.dumps({{"count": f.count(batch), "hit": "disk_cache_hit" in kernel.compiled.timings}}))
"""


def run(cache: Path, **env: str) -> dict:
    environment = {**os.environ, "ARROWJIT_CACHE_DIR": str(cache), **env}
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                            env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def kernels(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.kernel"))


def test_a_second_process_loads_the_machine_code(tmp_path):
    assert run(tmp_path) == {"count": 2, "hit": False}
    assert kernels(tmp_path)
    assert run(tmp_path) == {"count": 2, "hit": True}


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_a_damaged_entry_is_ignored_and_replaced(tmp_path, damage):
    run(tmp_path)
    for entry in kernels(tmp_path):
        data = entry.read_bytes()
        entry.write_bytes({
            "truncate": data[: len(data) // 2],
            "flip": data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:],
            "empty": b"",
            "garbage": os.urandom(len(data)),
        }[damage])
    assert run(tmp_path) == {"count": 2, "hit": False}
    assert run(tmp_path) == {"count": 2, "hit": True}


def test_arrowjit_cache_0_writes_nothing(tmp_path):
    assert run(tmp_path, ARROWJIT_CACHE="0") == {"count": 2, "hit": False}
    assert not list(tmp_path.iterdir())


def test_an_unwritable_cache_directory_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert run(blocker / "cache") == {"count": 2, "hit": False}


def test_processes_compiling_at_once_all_get_correct_kernels(tmp_path):
    environment = {**os.environ, "ARROWJIT_CACHE_DIR": str(tmp_path)}
    processes = [subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=environment) for _ in range(4)]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["count"] == 2
    assert not list(tmp_path.glob(".tmp-*"))
    assert run(tmp_path) == {"count": 2, "hit": True}
