"""01: arrowjit in one page: compile a filter, run it on Arrow data, compare with pandas.query.

Run with `make demo` (or `python examples/01_quickstart.py [rows]`). It generates
the example data (a few million rows of floats and integers) into
examples/data/quickstart.parquet on first run (ARROWJIT_EXAMPLE_DATA names
another directory), then:

1. compiles `x > 2.0 and x < 6.0 and i % 7 != 3` to machine code,
2. filters the table and prints the first matching rows,
3. times count / mask / indices / filtered table next to pandas.query,
4. prints the optimized LLVM IR of the kernel: vector loads and compares.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import arrowjit

EXPRESSION = "x > 2.0 and x < 6.0 and i % 7 != 3"
DATA = Path(os.environ.get("ARROWJIT_EXAMPLE_DATA", Path(__file__).with_name("data"))) / "quickstart.parquet"


def generate(rows: int) -> pa.Table:
    """Columns x, y: float64 uniform in [0, 10); i: int64 in [0, 1000); 1% of x null."""
    rng = np.random.default_rng(42)
    x = rng.uniform(0, 10, rows)
    x_nulls = rng.random(rows) < 0.01
    return pa.table({
        "x": pa.array(x, mask=x_nulls),
        "y": rng.uniform(0, 10, rows),
        "i": rng.integers(0, 1000, rows),
    })


def load(rows: int) -> pa.Table:
    if DATA.exists() and pq.read_metadata(DATA).num_rows == rows:
        return pq.read_table(DATA)
    DATA.parent.mkdir(parents=True, exist_ok=True)
    table = generate(rows)
    pq.write_table(table, DATA)
    return table


def best_of(fn, runs: int = 7) -> float:
    """Median wall time of `runs` calls after one warm-up, in milliseconds."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
    table = load(rows)
    batch = table.combine_chunks().to_batches()[0]
    print(f"data: {rows:,} rows, columns {', '.join(f'{f.name}: {f.type}' for f in table.schema)}")

    start = time.perf_counter()
    compiled = arrowjit.compile_filter(EXPRESSION, table.schema)
    print(f"compiled {compiled!r} in {(time.perf_counter() - start) * 1e3:.1f} ms\n")

    result = compiled(batch)
    print(f"{result.num_rows:,} matching rows; the first five:")
    print(result.slice(0, 5).to_pandas().to_string(), "\n")

    df = table.to_pandas()
    pandas_rows = len(df.query(EXPRESSION))
    assert pandas_rows == result.num_rows, (pandas_rows, result.num_rows)
    timings = {
        "arrowjit count": best_of(lambda: compiled.count(batch)),
        "arrowjit mask": best_of(lambda: compiled.mask(batch)),
        "arrowjit indices": best_of(lambda: compiled.indices(batch)),
        "arrowjit filtered table": best_of(lambda: compiled(batch)),
        "pandas.query": best_of(lambda: df.query(EXPRESSION), runs=3),
    }
    reference = timings["pandas.query"]
    print(f"{'median time':<26}{'ms':>10}{'vs pandas.query':>18}")
    for name, ms in timings.items():
        print(f"{name:<26}{ms:>10.2f}{reference / ms:>17.1f}x")

    print("\nThe kernel after LLVM's O3 (note the <N x double> vector compares):\n")
    print(compiled.ir("optimized"))


if __name__ == "__main__":
    main()
