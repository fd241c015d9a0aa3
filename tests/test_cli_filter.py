"""``arrowjit filter``: outputs equal the compiled Filter on the whole input; errors are one line, status 2.

Most cases call the command's ``main(argv)`` in-process (capturing stdout and
stderr); a few run the real command in a subprocess to check the exit status,
the absence of a traceback and the CSV on standard output.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import arrowjit
from arrowjit import cli, scanner
from arrowjit.errors import SourceError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def table() -> pa.Table:
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.uniform(0, 10, n)
    return pa.table({"id": pa.array(np.arange(n)), "x": pa.array(x, mask=rng.random(n) < 0.05),
                     "s": pa.array([["red", "green", "blue"][k % 3] for k in range(n)])})


@pytest.fixture(scope="module")
def data(tmp_path_factory, table) -> Path:
    path = tmp_path_factory.mktemp("cli") / "data.parquet"
    pq.write_table(table, path, row_group_size=500)
    return path


def expected(table: pa.Table, where: str, columns=None) -> pa.Table:
    kept = arrowjit.compile_filter(where, table.schema)(table)
    return kept.select(columns) if columns else kept


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = cli.main(["filter", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(("suffix", "read"), [
    (".parquet", pq.read_table),
    (".arrow", feather.read_table),
    (".feather", feather.read_table),
    (".csv", pacsv.read_csv),
])
def test_writes_each_format(data, table, tmp_path, capsys, suffix, read):
    out = tmp_path / f"kept{suffix}"
    status, stdout, err = run([str(data), "x > 2.0 and x < 6.0", "-o", str(out), "--columns", "id,s"], capsys)
    assert (status, stdout, err) == (0, "", "")
    assert read(out).equals(expected(table, "x > 2.0 and x < 6.0", ["id", "s"]))
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not a private temporary


def test_format_option_overrides_the_extension(data, table, tmp_path, capsys):
    out = tmp_path / "kept.bin"
    assert run([str(data), "id < 10", "-o", str(out), "--format", "arrow"], capsys)[0] == 0
    assert feather.read_table(out).equals(expected(table, "id < 10"))


def test_stdout_csv(data, table, capsys):
    status, out, err = run([str(data), "id >= 3990", "--columns", "id,s"], capsys)
    assert status == 0 and err == ""
    assert pacsv.read_csv(io.BytesIO(out.encode())).equals(expected(table, "id >= 3990", ["id", "s"]))


def test_count(data, table, capsys):
    status, out, _ = run([str(data), "x < 1 or s = 'blue'", "--count"], capsys)
    assert status == 0
    assert out == f"{expected(table, 'x < 1 or s = ' + repr('blue')).num_rows}\n"


def test_explain(data, capsys):
    status, out, _ = run([str(data), "id >= 3600 and sqrt(x) > 1", "--columns", "id,s", "--explain"], capsys)
    assert status == 0
    assert "typed:" in out and "(greater_than_or_equal_to_int64_int64 id:int64 3600:int64):bool" in out
    assert "columns read: id, x (predicate, read first)" in out
    assert "then: s (only for row groups with a match)" in out
    assert "pruning expression: (id >= 3600)" in out
    assert "left out of pruning: sqrt(x) > 1" in out
    assert "row groups: 1 of 8 read" in out
    assert f"{data}: 1 of 8" in out


def test_directory_input(tmp_path, table, capsys):
    k = pa.array(np.arange(4000) % 2, pa.int32())
    pq.write_to_dataset(table.append_column("k", k), tmp_path / "ds", partition_cols=["k"])
    status, out, _ = run([str(tmp_path / "ds"), "k = 1 and x > 9", "--count"], capsys)
    assert status == 0
    assert int(out) == pc.sum(pc.and_(pc.equal(k, 1), pc.greater(table["x"], 9))).as_py()


def test_errors_are_one_message_with_status_2(data, tmp_path, capsys):
    status, out, err = run([str(data), "x > 2 and nope"], capsys)
    assert status == 2 and out == ""
    assert err == "arrowjit: error: 1:11: unknown column 'nope'\n  x > 2 and nope\n            ^^^^\n"
    status, _, err = run([str(tmp_path / "missing.parquet"), "x > 2"], capsys)
    assert status == 2 and "missing.parquet" in err and "no such file" in err
    status, _, err = run([str(data), "x > 2", "-o", str(tmp_path / "no" / "dir" / "o.parquet")], capsys)
    assert status == 2 and "cannot write" in err and "o.parquet" in err
    status, _, err = run([str(data), "x > 2", "-o", str(tmp_path / "o.txt")], capsys)
    assert status == 2 and "--format" in err
    status, _, err = run([str(data), "x >", "--count"], capsys)
    assert status == 2 and "^" in err
    status, _, err = run([str(data), "x > 2", "--columns", "id,zz"], capsys)
    assert status == 2 and "unknown column 'zz'" in err


def test_failure_mid_write_leaves_no_file(data, tmp_path, capsys, monkeypatch):
    original = scanner._run_row_group
    calls = []

    def failing(plan, task, *args):
        calls.append(task.row_group)
        if len(calls) == 3:
            raise SourceError("the disk went away")
        return original(plan, task, *args)

    monkeypatch.setattr(scanner, "_run_row_group", failing)
    out = tmp_path / "kept.parquet"
    status, _, err = run([str(data), "x > 1", "-o", str(out), "--threads", "1"], capsys)
    assert status == 2 and "the disk went away" in err
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_until_the_new_one_is_complete(data, table, tmp_path, capsys, monkeypatch):
    out = tmp_path / "kept.parquet"
    out.write_bytes(b"old")

    def failing(*args):
        raise SourceError("boom")

    monkeypatch.setattr(scanner, "_run_row_group", failing)
    assert run([str(data), "x > 1", "-o", str(out)], capsys)[0] == 2
    assert out.read_bytes() == b"old"
    monkeypatch.undo()
    assert run([str(data), "x > 1", "-o", str(out)], capsys)[0] == 0
    assert pq.read_table(out).equals(expected(table, "x > 1"))


def _command(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "arrowjit", "filter", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_real_command(data, table):
    done = _command(str(data), "id < 3", "--columns", "id,s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['"id","s"', '0,"red"', '1,"green"', '2,"blue"']
    assert done.stderr == ""  # not a terminal: no progress bar
    failed = _command(str(data), "x >> 2")
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr and failed.stderr.startswith("arrowjit: error: ")
