"""Concurrency: one Filter from many threads, compiling from many threads, compiling from many
processes that share one on-disk kernel cache.

Every expected answer is computed with numpy, never with arrowjit.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pyarrow as pa
import pytest

import arrowjit

THREADS = 8

SCHEMA = pa.schema([("a", pa.float64()), ("k", pa.int32()), ("u", pa.uint64()), ("b", pa.bool_()),
                    ("s", pa.string())])
EXPR = "(a > :lo or b) and k % 7 != 3 and u > -1 and not isnan(a * k)"


def make_batch(seed: int, n: int, offset: int = 0) -> tuple[pa.RecordBatch, dict[str, np.ndarray]]:
    """A batch with nulls in some columns (which ones depends on the seed) and its numpy values."""
    rng = np.random.default_rng(seed)
    total = n + offset
    a = rng.normal(0, 1, total)
    a[rng.random(total) < 0.05] = np.nan
    k = rng.integers(-50, 50, total).astype(np.int32)
    u = rng.integers(0, 2**64 - 1, total, dtype=np.uint64, endpoint=True)
    b = rng.random(total) < 0.3
    valid = {name: (rng.random(total) > 0.15) if (seed >> i) & 1 else np.ones(total, bool)
             for i, name in enumerate(("a", "k", "u", "b"))}
    arrays = [pa.array(values, mask=None if valid[name].all() else ~valid[name])
              for name, values in (("a", a), ("k", k), ("u", u), ("b", b))]
    arrays.append(pa.array([f"r{i}" for i in range(total)]))
    batch = pa.RecordBatch.from_arrays(arrays, schema=SCHEMA).slice(offset)
    return batch, {"a": a[offset:], "k": k[offset:], "u": u[offset:], "b": b[offset:],
                   **{f"valid_{name}": v[offset:] for name, v in valid.items()}}


def expected_mask(v: dict[str, np.ndarray], lo: float) -> np.ndarray:
    """Where the predicate is true: every part of the `and` true (Kleene logic by hand)."""
    with np.errstate(invalid="ignore"):
        a_gt = v["a"] > lo
        nan_product = np.isnan(v["a"] * v["k"])
    a_true = a_gt & v["valid_a"]
    b_true = v["b"] & v["valid_b"]
    or_true = a_true | b_true
    mod_true = (np.mod(v["k"], 7) != 3) & v["valid_k"]  # Python's %, as numpy's mod
    u_true = v["valid_u"]  # u > -1 is true for every uint64 that is not null
    nan_true = ~nan_product & v["valid_a"] & v["valid_k"]
    return or_true & mod_true & u_true & nan_true


def outputs(f: arrowjit.Filter, data, lo: float) -> tuple:
    filtered = f(data, lo=lo)
    return (np.asarray(f.mask(data, lo=lo).to_pylist(), dtype=bool), f.count(data, lo=lo),
            f.indices(data, lo=lo).to_pylist(), filtered.column("s").to_pylist())


def test_one_filter_from_eight_threads_at_once():
    f = arrowjit.compile_filter(EXPR, SCHEMA)
    inputs = []
    for i in range(24):
        # Some batches are long enough to be cut into morsels on the process's own pool too.
        n = 300_000 if i % 8 == 0 else int(np.random.default_rng(i).integers(0, 5000))
        batch, values = make_batch(i, n, offset=i % 9)
        data = pa.Table.from_batches([batch.slice(0, n // 3), batch.slice(n // 3)]) if i % 3 == 0 else batch
        lo = (i % 5) / 5 - 0.5
        inputs.append((data, lo, expected_mask(values, lo), values))
    serial = [outputs(f, data, lo) for data, lo, _, _ in inputs]
    for (mask, count, indices, strings), (data, _, want, _) in zip(serial, inputs):
        np.testing.assert_array_equal(mask, want)
        assert count == int(want.sum()) and indices == np.flatnonzero(want).tolist()
        every = data.column("s").to_pylist()
        assert strings == [every[j] for j in indices]

    barrier = threading.Barrier(THREADS)

    def work(slot: int) -> list[tuple[int, tuple]]:
        barrier.wait()  # all eight threads call the Filter at the same moment
        return [(j, outputs(f, *inputs[j][:2])) for j in range(slot, len(inputs), THREADS)]

    for _ in range(2):
        with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = [r for part in pool.map(work, range(THREADS)) for r in part]
        assert len(results) == len(inputs)
        for j, (mask, count, indices, strings) in results:
            s_mask, s_count, s_indices, s_strings = serial[j]
            np.testing.assert_array_equal(mask, s_mask)
            assert (count, indices, strings) == (s_count, s_indices, s_strings), j


def _expressions() -> list[tuple[str, object]]:
    """Distinct expressions over x (float64, no nulls) and i (int32 with nulls), with numpy oracles
    of where they are true (``valid``: where i is not null)."""
    out = []
    for k in range(40):
        out.append((f"x > {k / 8 - 2.5}", lambda x, i, valid, k=k: x > k / 8 - 2.5))
        out.append((f"i % {k + 2} == 1", lambda x, i, valid, k=k: (np.mod(i, k + 2) == 1) & valid))
        out.append((f"x * {k + 1} < i and i != {k}",
                    lambda x, i, valid, k=k: (x * (k + 1) < i) & (i != k) & valid))
        out.append((f"i between {-k} and {k} or isnan(x)",
                    lambda x, i, valid, k=k: ((i >= -k) & (i <= k) & valid) | np.isnan(x)))
    return out


def test_compiling_many_expressions_from_eight_threads_at_once():
    rng = np.random.default_rng(3)
    n = 1000
    x = rng.normal(0, 3, n)
    x[rng.random(n) < 0.05] = np.nan
    i = rng.integers(-60, 60, n).astype(np.int32)
    valid = rng.random(n) > 0.1
    batch = pa.record_batch({"x": pa.array(x), "i": pa.array(i, mask=~valid)})
    expressions = _expressions()
    barrier = threading.Barrier(THREADS)

    def work(slot: int) -> list[tuple[str, int, list[int]]]:
        barrier.wait()
        done = []
        for j in range(slot, len(expressions) * 2, THREADS):
            expr, _ = expressions[j % len(expressions)]
            f = arrowjit.compile_filter(expr, {"x": "float64", "i": "int32"}, parameterize=j % 3 != 0)
            done.append((expr, f.count(batch), f.indices(batch).to_pylist()))
        return done

    with concurrent.futures.ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = [r for part in pool.map(work, range(THREADS)) for r in part]
    assert len(results) == 2 * len(expressions)
    oracle = dict(expressions)
    for expr, count, indices in results:
        with np.errstate(invalid="ignore"):
            want = oracle[expr](x, i, valid)
        assert count == int(want.sum()), expr
        assert indices == np.flatnonzero(want).tolist(), expr


PROCESS = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np, pyarrow as pa, arrowjit
    start = float(sys.argv[1])
    while time.time() < start:  # every process begins compiling at the same moment
        time.sleep(0.001)
    rng = np.random.default_rng(11)
    batch = pa.record_batch({"x": rng.normal(0, 3, 5000), "i": rng.integers(-60, 60, 5000).astype(np.int32)})
    answers = {}
    for expr in sys.argv[2:]:
        f = arrowjit.compile_filter(expr, {"x": "float64", "i": "int32"}, parameterize=False)
        kernel = f._kernel(f._default_nulls)
        answers[expr] = [f.count(batch), "disk_cache_hit" in kernel.compiled.timings]
    print(json.dumps(answers))
""")


def test_processes_compiling_the_same_expressions_share_one_disk_cache(tmp_path):
    exprs = ["(x > 1.5 and i % 7 == 3) or i < -50", "x * i > 10 or isnan(sqrt(x))",
             "i ** 2 between 100 and 400"]
    rng = np.random.default_rng(11)
    x, i = rng.normal(0, 3, 5000), rng.integers(-60, 60, 5000).astype(np.int32)
    with np.errstate(invalid="ignore"):
        want = [int((((x > 1.5) & (np.mod(i, 7) == 3)) | (i < -50)).sum()),
                int(((x * i > 10) | np.isnan(np.sqrt(x))).sum()),
                int(((i.astype(np.int64) ** 2 >= 100) & (i.astype(np.int64) ** 2 <= 400)).sum())]
    env = {**os.environ, "ARROWJIT_CACHE_DIR": str(tmp_path)}
    start = time.time() + 3.0
    processes = [subprocess.Popen([sys.executable, "-c", PROCESS, str(start), *exprs], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-3000:]
        answers = json.loads(out.strip().splitlines()[-1])
        assert [answers[e][0] for e in exprs] == want
    entries = list(tmp_path.glob("*.kernel"))
    assert len(entries) >= len(exprs)
    assert not list(tmp_path.glob(".tmp-*")), "a temporary file was left behind"
    # A fifth process finds every kernel on disk, whole, and gets the same answers.
    later = subprocess.run([sys.executable, "-c", PROCESS, "0", *exprs], capture_output=True, text=True,
                           env=env, timeout=180)
    assert later.returncode == 0, later.stderr[-3000:]
    answers = json.loads(later.stdout.strip().splitlines()[-1])
    assert [answers[e] for e in exprs] == [[w, True] for w in want]


@pytest.mark.parametrize("threads", [1, 2, 8])
def test_threads_argument_does_not_change_answers(threads):
    batch, values = make_batch(5, 600_000)
    f = arrowjit.compile_filter(EXPR, SCHEMA, threads=threads)
    want = expected_mask(values, 0.25)
    assert f.count(batch, lo=0.25) == int(want.sum())
    assert f.indices(batch, lo=0.25, threads=THREADS).to_pylist() == np.flatnonzero(want).tolist()
