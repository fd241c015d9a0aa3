"""Memory safety and leaks, each in a subprocess (a fault there fails the test, not pytest).

* Guard pages: every column buffer (data and validity) is copied so that it ends exactly
  where a PROT_NONE page begins (mmap + mprotect through libc) and wrapped with
  ``pa.foreign_buffer`` + ``pa.Array.from_buffers``; a kernel or an output helper that reads
  one byte past a buffer faults. Every column type, with and without nulls, offsets 0..9,
  lengths around multiples of 64, every output (count, mask, indices, filtered batch), with
  many rows kept (the filtered batch is compressed) and few (it is gathered by position), and
  a second guarded column the predicate does not use (the filtered batch copies it).
* Leaks: RSS (/proc/self/statm) and ``pa.total_allocated_bytes()`` stay flat over thousands
  of compile-and-evaluate cycles of distinct expressions, with the in-process caches made
  small so that kernels are evicted: machine code must be freed when its kernel goes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mmap/mprotect, /proc")

GUARD_HARNESS = textwrap.dedent(r'''
    import ctypes, json, mmap, sys
    import numpy as np
    import pyarrow as pa
    import arrowjit

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    PAGE = mmap.PAGESIZE
    maps = []

    def guarded(data: bytes) -> pa.Buffer:
        """``data`` copied to the end of a mapping whose next page is PROT_NONE."""
        pages = (len(data) + PAGE - 1) // PAGE + 1
        base = libc.mmap(None, pages * PAGE, 3, 0x22, -1, 0)  # PROT_READ|WRITE, PRIVATE|ANONYMOUS
        assert base not in (None, ctypes.c_void_p(-1).value)
        guard = base + (pages - 1) * PAGE
        assert libc.mprotect(guard, PAGE, 0) == 0
        start = guard - len(data)
        ctypes.memmove(start, data, len(data))
        maps.append((base, pages * PAGE))
        return pa.foreign_buffer(start, len(data))

    def release():
        while maps:
            assert libc.munmap(*maps.pop()) == 0

    TYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
             "float32", "float64"]
    ARROW = {t: pa.bool_() if t == "bool" else pa.from_numpy_dtype(np.dtype(t)) for t in TYPES}
    OFFSETS = range(10)
    LENGTHS = [1, 63, 64, 65, 127, 128, 129, 1000]
    rng = np.random.default_rng(7)

    def values(t, n, sparse):
        """Values 0..9 (bools: half true); with ``sparse`` nearly all 0 (false), a few 7 (true)."""
        if sparse:
            hits = rng.random(n) < 0.01
            return hits if t == "bool" else np.where(hits, 7, 0).astype(t)
        return rng.random(n) < 0.5 if t == "bool" else rng.integers(0, 10, n).astype(t)

    def predicate(t, sparse):
        if t == "bool":
            return "x"
        return "x == 7" if sparse else ("x > 3.5" if t.startswith("float") else "x > 3")

    def keep(t, v, sparse):
        if t == "bool":
            return v.copy()
        return v == 7 if sparse else v > 3

    def column(t, n, offset, with_nulls):
        """A guarded array of ``n`` rows at ``offset``, and its values and validity (numpy)."""
        v = values(t, offset + n, sparse=False)
        valid = rng.random(offset + n) > 0.3
        raw = np.packbits(v, bitorder="little").tobytes() if t == "bool" else v.tobytes()
        validity = guarded(np.packbits(valid, bitorder="little").tobytes()) if with_nulls else None
        array = pa.Array.from_buffers(ARROW[t], n, [validity, guarded(raw)], offset=offset)
        return array

    def check(f, t, sparse, with_nulls, offset, n):
        where = (t, sparse, with_nulls, offset, n)
        v = values(t, offset + n, sparse)
        valid = rng.random(offset + n) > 0.3
        raw = np.packbits(v, bitorder="little").tobytes() if t == "bool" else v.tobytes()
        validity = guarded(np.packbits(valid, bitorder="little").tobytes()) if with_nulls else None
        x = pa.Array.from_buffers(ARROW[t], n, [validity, guarded(raw)], offset=offset)
        other = TYPES[(TYPES.index(t) + 5) % len(TYPES)]
        y = column(other, n, (offset * 3 + 1) % 10, with_nulls)  # not used by the predicate
        batch = pa.record_batch({"x": x, "y": y})
        expected = keep(t, v, sparse)
        if with_nulls:
            expected &= valid
        expected = expected[offset:]
        mask = f.mask(batch)
        assert mask.null_count == 0 and len(mask) == n, where
        assert (np.asarray(mask.to_pylist(), dtype=bool) == expected).all(), ("mask", where)
        assert f.count(batch) == int(expected.sum()), ("count", where)
        assert f.indices(batch).to_numpy().tolist() == np.flatnonzero(expected).tolist(), ("indices", where)
        filtered = f(batch)
        want = batch.filter(pa.array(expected))
        for name in ("x", "y"):  # values 0..9: no NaN, so equals() is exact
            assert filtered.column(name).equals(want.column(name)), ("filtered", name, where)
        table = pa.Table.from_batches([batch, batch.slice(n // 3)])
        assert f.count(table) == int(expected.sum() + expected[n // 3:].sum()), ("table", where)

    checked = 0
    for t in TYPES:
        for sparse in (False, True):
            f = arrowjit.compile_filter(predicate(t, sparse), {"x": t})
            for with_nulls in (False, True):
                for offset in OFFSETS:
                    for n in LENGTHS:
                        print(json.dumps({"case": [t, sparse, with_nulls, offset, n]}), flush=True)
                        check(f, t, sparse, with_nulls, offset, n)
                        checked += 1
                        release()
    print(json.dumps({"checked": checked}), flush=True)
''')


def test_no_read_past_any_buffer_guard_pages():
    result = subprocess.run([sys.executable, "-c", GUARD_HARNESS], capture_output=True, text=True,
                            timeout=300)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    last = next((line["case"] for line in reversed(lines) if "case" in line), None)
    assert result.returncode == 0, (
        f"the harness died with {result.returncode} (negative: a signal; -11 is SIGSEGV) in case "
        f"(type, sparse, nulls, offset, length) = {last}\n{result.stderr[-4000:]}")
    assert lines[-1] == {"checked": 11 * 2 * 2 * 10 * 8}


LEAK_HARNESS = textwrap.dedent(r'''
    import gc, json, os, sys, time
    import numpy as np
    import pyarrow as pa
    import arrowjit
    from arrowjit import filter as F

    CAPACITY = 16
    F._KERNELS.capacity = F._FILTERS.capacity = F._SHAPES.capacity = CAPACITY

    PAGE = os.sysconf("SC_PAGE_SIZE")

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE

    rng = np.random.default_rng(1)
    n = 5000
    # s has no nulls and is declared so: the kernel compiled up front is the one every call uses.
    schema = pa.schema([("i", pa.int64()), ("x", pa.float64()), pa.field("s", pa.int32(), nullable=False)])
    batch = pa.RecordBatch.from_arrays([pa.array(rng.integers(-1000, 1000, n), mask=rng.random(n) < 0.1),
                                        pa.array(rng.normal(0, 10, n), mask=rng.random(n) < 0.1),
                                        pa.array(rng.integers(0, 100, n).astype(np.int32))], schema=schema)
    cycles = int(sys.argv[1])

    def cycle(k):
        # A distinct kernel every time: the divisor is baked into the code (parameterize=False).
        expr = f"(i // {k + 2}) % 5 == 1 or x * {k + 1}.5 > {k % 17} and s != {k}"
        f = arrowjit.compile_filter(expr, schema, parameterize=False)
        expected_count = f.count(batch)
        assert len(f(batch)) == expected_count
        assert f.mask(batch).true_count == expected_count
        assert len(f.indices(batch)) == expected_count

    for k in range(100):  # warm up: caches full, allocator and pools at their working size
        cycle(10_000_000 + k)
    gc.collect()
    rss0, arrow0, t0 = rss(), pa.total_allocated_bytes(), time.monotonic()
    samples = []
    for k in range(cycles):
        cycle(k)
        if k % 100 == 99:
            gc.collect()
            samples.append((k + 1, rss() - rss0, pa.total_allocated_bytes() - arrow0))
    gc.collect()
    print(json.dumps({"cycles": cycles, "seconds": time.monotonic() - t0, "rss_growth": rss() - rss0,
                      "arrow_growth": pa.total_allocated_bytes() - arrow0, "samples": samples,
                      "kernels_cached": len(F._KERNELS), "filters_cached": len(F._FILTERS)}))
''')

LEAK_CYCLES = 1000
# Each cycle compiles a new kernel (tens of KB of machine code, an execution engine, LLVM's
# module and analyses) and evicts an old one. Allowed: 8 KB per cycle on average (8 MB over
# the run: allocator slack, interned strings, caches at their bounded size).
RSS_BYTES_PER_CYCLE = 8 * 1024


def test_compile_and_evaluate_cycles_do_not_leak():
    # llvmlite leaks native memory on every module it optimizes (arrowjit/compiler/isolation.py):
    # past a budget, modules are optimized in a helper process that is replaced from time to
    # time. The budget here is below the warm-up, so the measured cycles show the steady state.
    env = dict(os.environ, ARROWJIT_INPROCESS_COMPILES="64", ARROWJIT_WORKER_COMPILES="300")
    result = subprocess.run([sys.executable, "-c", LEAK_HARNESS, str(LEAK_CYCLES)], capture_output=True,
                            text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)
    assert report["kernels_cached"] <= 16 and report["filters_cached"] <= 16
    # Arrow's memory pool: every output is freed (nothing is kept alive by a cache).
    assert abs(report["arrow_growth"]) < 1024 * 1024, report
    per_cycle = report["rss_growth"] / report["cycles"]
    assert per_cycle < RSS_BYTES_PER_CYCLE, (
        f"RSS grew {report['rss_growth'] / 2**20:.1f} MB over {report['cycles']} compile-and-evaluate "
        f"cycles ({per_cycle / 1024:.1f} KB per cycle; samples (cycle, RSS growth, Arrow growth): "
        f"{report['samples']})")
