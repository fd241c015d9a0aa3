"""String predicates on E6's data, arrowjit against polars (one thread) and pyarrow, interleaved.

    POLARS_MAX_THREADS=1 python -m benchmarks.strings [rows] [expression ...]

Data: 10M rows (by default) of s utf8 'k000'..'k999'. For each expression, three rounds of
(arrowjit mask, polars, pyarrow), each the median of 7 calls after a warm-up; the figure is a
tool's best round. Times are thread CPU time (the machine may be shared); the ratio polars /
arrowjit is from the same run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("POLARS_MAX_THREADS", "1")
os.environ.setdefault("ARROWJIT_TIERED", "0")  # time O3 code only

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

import arrowjit  # noqa: E402

EXPRESSIONS = ["s == 'k042'", "s in ('k042', 'k100', 'k999')", "s like 'k04%'"]


def median_ms(fn, calls: int = 7) -> float:
    fn()
    times = []
    for _ in range(calls):
        start = time.thread_time()
        fn()
        times.append(time.thread_time() - start)
    return statistics.median(times) * 1e3


def main(argv: list[str]) -> None:
    rows = int(argv[0]) if argv else 10_000_000
    expressions = argv[1:] or EXPRESSIONS
    rng = np.random.default_rng(0)
    s = pa.array([f"k{v:03d}" for v in rng.integers(0, 1000, rows)], pa.string())
    batch = pa.record_batch({"s": s})
    try:
        import polars as pl
        frame = pl.from_arrow(batch)
        peers = {"s == 'k042'": lambda: frame.select(pl.col("s") == "k042"),
                 "s in ('k042', 'k100', 'k999')": lambda: frame.select(
                     pl.col("s").is_in(["k042", "k100", "k999"])),
                 "s like 'k04%'": lambda: frame.select(pl.col("s").str.starts_with("k04"))}
    except ImportError:
        peers = {}
    arrow = {"s == 'k042'": lambda: pc.equal(s, "k042"),
             "s in ('k042', 'k100', 'k999')": lambda: pc.is_in(s, pa.array(["k042", "k100", "k999"])),
             "s like 'k04%'": lambda: pc.match_like(s, "k04%")}
    for expression in expressions:
        f = arrowjit.compile_filter(expression, batch.schema, threads=1)
        rounds: dict[str, list[float]] = {"arrowjit": [], "polars": [], "pyarrow": []}
        for _ in range(3):
            rounds["arrowjit"].append(median_ms(lambda f=f: f.mask(batch, threads=1)))
            if expression in peers:
                rounds["polars"].append(median_ms(peers[expression]))
            if expression in arrow:
                rounds["pyarrow"].append(median_ms(arrow[expression]))
        best = {tool: min(times) for tool, times in rounds.items() if times}
        line = "  ".join(f"{tool} {ms:7.2f} ms" for tool, ms in best.items())
        ratio = f"  polars/arrowjit {best['polars'] / best['arrowjit']:.2f}x" if "polars" in best else ""
        print(f"{expression:32s} {line}{ratio}")


if __name__ == "__main__":
    main(sys.argv[1:])
