"""Reference solution for docs/exercises/chapter8_runtime.py."""

import statistics
import time

import numpy as np
import pyarrow as pa

import arrowjit
from arrowjit.runtime import threads


def morsel_count(rows: int, threads_: int, min_rows: int) -> int:
    if threads_ <= 1 or rows < 2 * min_rows:
        return 1
    return min(threads_, rows // min_rows)


def measure(sizes: list[int], rows: int = 4_000_000) -> dict[int, float]:
    batch = pa.record_batch({"x": np.random.default_rng(0).uniform(0, 10, rows)})
    f = arrowjit.compile_filter("x > 2.0 and x < 6.0", batch.schema)
    original = threads.MIN_MORSEL_ROWS
    timings = {}
    try:
        for size in sizes:
            threads.MIN_MORSEL_ROWS = size
            f.count(batch, threads=2)  # warm up
            samples = []
            for _ in range(5):
                start = time.perf_counter()
                f.count(batch, threads=2)
                samples.append(time.perf_counter() - start)
            timings[size] = statistics.median(samples) * 1e3
    finally:
        threads.MIN_MORSEL_ROWS = original
    return timings
