"""The scan benchmark: ``python -m benchmarks.scan [--quick] [--rows N] [--runs R]``.

A Parquet file like the issue's (20M rows by default, 10 columns: id int64
sorted, x and y float64 uniform in [0, 10), i int64, s utf8, five float64
payload columns p0..p4; 20 row groups, snappy) is generated once and cached
under benchmarks/data/. Four queries run on it:

* Q1 ``x > 2.0 and x < 6.0``, all columns (40% of the rows: decode-bound);
* Q2 ``x < 0.001``, all columns (0.01%, spread over every row group);
* Q3 ``id >= 0.95 * rows``, all columns (statistics skip 19 of 20 row groups);
* Q4 the count of Q1.

Contenders: arrowjit.scan, DuckDB (``read_parquet ... WHERE``), polars
(``scan_parquet().filter().collect()``) and pyarrow.dataset
(``to_table(filter=...)``, ``count_rows``), at one thread and at every core;
beside them, as a reference, arrowjit.scan with its native page decoder off
(``aj-pyarrow``: every column through pyarrow's reader).
Each thread count runs in its own process (polars fixes its pool at import);
inside it the contenders are interleaved run by run and the median is kept.
Then the peak of Arrow's memory pool during an arrowjit scan of the whole
file (batches dropped as they come) is compared with the file's decoded size.

Prints a table and the issue's targets; writes benchmarks/results/scan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"
GROUPS = 20
SEED = 20240601
PEERS = ("duckdb", "polars", "pyarrow")
# "aj-pyarrow": arrowjit with its native page decoder off (ARROWJIT_PAGES=0): pyarrow's reader, as before it.
CONTENDERS = ("arrowjit", *PEERS, "aj-pyarrow")


def queries(rows: int) -> dict[str, dict]:
    cut = rows * 19 // 20
    return {
        "Q1": {"where": "x > 2.0 and x < 6.0", "sql": "x > 2.0 AND x < 6.0", "count": False,
               "about": "40% of rows, all columns"},
        "Q2": {"where": "x < 0.001", "sql": "x < 0.001", "count": False,
               "about": "0.01% of rows, all columns"},
        "Q3": {"where": f"id >= {cut}", "sql": f"id >= {cut}", "count": False,
               "about": "19 of 20 row groups skipped"},
        "Q4": {"where": "x > 2.0 and x < 6.0", "sql": "x > 2.0 AND x < 6.0", "count": True,
               "about": "count of Q1"},
    }


# ---------------------------------------------------------------------------
# The data.
# ---------------------------------------------------------------------------

def data_file(rows: int) -> Path:
    """The cached Parquet file for ``rows`` rows, written one row group at a time if missing."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA / f"scan-{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    words = np.array([f"w{k:04d}" + "abcdefgh"[: k % 8] for k in range(1000)])
    group = max(1, -(-rows // GROUPS))
    schema = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("y", pa.float64()), ("i", pa.int64()),
                        ("s", pa.string())] + [(f"p{k}", pa.float64()) for k in range(5)])
    temporary = path.with_suffix(".partial")
    with pq.ParquetWriter(temporary, schema, compression="snappy") as writer:
        for start in range(0, rows, group):
            n = min(group, rows - start)
            columns = [np.arange(start, start + n, dtype=np.int64), rng.uniform(0, 10, n),
                       rng.uniform(0, 10, n), rng.integers(0, 1000, n), words[rng.integers(0, 1000, n)]]
            columns += [rng.normal(size=n) for _ in range(5)]
            writer.write_table(pa.table(columns, schema=schema), row_group_size=n)
    temporary.replace(path)
    return path


# ---------------------------------------------------------------------------
# One thread count, in its own process.
# ---------------------------------------------------------------------------

def runners(path: Path, threads: int, rows: int) -> dict[str, dict[str, Callable[[], int]]]:
    """For each contender, for each query, a function returning the rows (or the count) it found."""
    import duckdb
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    import arrowjit

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(max(threads, 1))
    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    text = str(path)
    qs = queries(rows)
    x, cut = pc.field("x"), rows * 19 // 20
    arrow_filters = {"Q1": (x > 2.0) & (x < 6.0), "Q2": x < 0.001, "Q3": pc.field("id") >= cut,
                     "Q4": (x > 2.0) & (x < 6.0)}
    polars_filters = {"Q1": (pl.col("x") > 2.0) & (pl.col("x") < 6.0), "Q2": pl.col("x") < 0.001,
                      "Q3": pl.col("id") >= cut, "Q4": (pl.col("x") > 2.0) & (pl.col("x") < 6.0)}
    use_threads = threads > 1

    def aj(q):
        if q["count"]:
            return lambda: arrowjit.scan(text, q["where"], threads=threads, progress=False).count()
        return lambda: arrowjit.scan(text, q["where"], threads=threads, progress=False).read_all().num_rows

    def aj_pyarrow(q):
        run = aj(q)

        def without_decoder():
            os.environ["ARROWJIT_PAGES"] = "0"
            try:
                return run()
            finally:
                del os.environ["ARROWJIT_PAGES"]
        return without_decoder

    def duck(q):
        if q["count"]:
            return lambda: con.execute(f"SELECT count(*) FROM read_parquet('{text}') WHERE {q['sql']}"
                                       ).fetchall()[0][0]
        # .arrow() is a Table in DuckDB 1.x and a RecordBatchReader in 2.x.
        return lambda: _rows(con.sql(f"SELECT * FROM read_parquet('{text}') WHERE {q['sql']}").arrow())

    def polars(name, q):
        frame = lambda: pl.scan_parquet(text).filter(polars_filters[name])  # noqa: E731
        if q["count"]:
            return lambda: frame().select(pl.len()).collect().item()
        return lambda: frame().collect().height

    def arrow(name, q):
        if q["count"]:
            return lambda: ds.dataset(text).count_rows(filter=arrow_filters[name], use_threads=use_threads)
        return lambda: ds.dataset(text).to_table(filter=arrow_filters[name], use_threads=use_threads).num_rows

    return {
        "arrowjit": {name: aj(q) for name, q in qs.items()},
        "duckdb": {name: duck(q) for name, q in qs.items()},
        "polars": {name: polars(name, q) for name, q in qs.items()},
        "pyarrow": {name: arrow(name, q) for name, q in qs.items()},
        "aj-pyarrow": {name: aj_pyarrow(q) for name, q in qs.items()},
    }


def _rows(result) -> int:
    import pyarrow as pa

    return (result.read_all() if isinstance(result, pa.RecordBatchReader) else result).num_rows


def peak_memory(path: Path, threads: int) -> dict:
    """Peak of Arrow's memory pool while arrowjit scans the whole file (Q1, batches dropped)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import arrowjit

    metadata = pq.read_metadata(path)
    decoded = sum(metadata.row_group(k).total_byte_size for k in range(metadata.num_row_groups))
    results = {"decoded_bytes": decoded}
    for name, where in (("Q1", "x > 2.0 and x < 6.0"), ("all rows", "x >= 0")):
        baseline = pa.total_allocated_bytes()
        peak = [0]
        done = threading.Event()

        def sample(peak=peak, done=done, baseline=baseline):
            while not done.is_set():
                peak[0] = max(peak[0], pa.total_allocated_bytes() - baseline)
                time.sleep(0.001)

        sampler = threading.Thread(target=sample)
        sampler.start()
        rows = 0
        try:
            for batch in arrowjit.scan(str(path), where, threads=threads, progress=False):
                rows += batch.num_rows
                del batch
        finally:
            done.set()
            sampler.join()
        results[name] = {"peak_bytes": peak[0], "fraction": peak[0] / decoded, "rows": rows}
    return results


def worker(path: Path, threads: int, rows: int, runs: int) -> dict:
    table = runners(path, threads, rows)
    times: dict[str, dict[str, list[float]]] = {c: {q: [] for q in table[c]} for c in table}
    found: dict[str, dict[str, int]] = {c: {} for c in table}
    for run in range(runs + 1):  # the first run warms the page cache and compiles: not counted
        for q in queries(rows):
            order = CONTENDERS[run % len(CONTENDERS):] + CONTENDERS[:run % len(CONTENDERS)]
            for contender in order:
                start = time.perf_counter()
                result = table[contender][q]()
                elapsed = time.perf_counter() - start
                found[contender][q] = result
                if run:
                    times[contender][q].append(elapsed)
    for q in queries(rows):
        answers = {c: found[c][q] for c in table}
        if len(set(answers.values())) != 1:
            raise SystemExit(f"{q}: the contenders disagree: {answers}")
    medians = {c: {q: statistics.median(v) for q, v in per.items()} for c, per in times.items()}
    best = {c: {q: min(v) for q, v in per.items()} for c, per in times.items()}
    return {"threads": threads, "seconds": medians, "best_seconds": best, "rows_found": found["arrowjit"],
            "row_groups": row_groups(path, rows), "memory": peak_memory(path, threads)}


def row_groups(path: Path, rows: int) -> dict[str, str]:
    """For each query, the row groups arrowjit read after statistics, of all."""
    import pyarrow.parquet as pq

    import arrowjit

    total = pq.read_metadata(path).num_row_groups
    return {q: f"{len(arrowjit.scan(str(path), spec['where'], progress=False).plan.tasks)} of {total}"
            for q, spec in queries(rows).items()}


# ---------------------------------------------------------------------------
# The report.
# ---------------------------------------------------------------------------

def table_text(results: list[dict], rows: int) -> str:
    lines = []
    for result in results:
        t = result["threads"]
        lines.append(f"\n{t} thread{'s' if t > 1 else ''} (median seconds; best marked *; aj-pyarrow: "
                     "arrowjit with pyarrow's reader)")
        lines.append(f"{'query':<6}{'':<28}" + "".join(f"{c:>11}" for c in CONTENDERS))
        for q, spec in queries(rows).items():
            row = {c: result["seconds"][c][q] for c in CONTENDERS}
            best = min(row[c] for c in ("arrowjit", *PEERS))
            cells = "".join(f"{v:>10.3f}{'*' if v == best else ' '}" for v in row.values())
            lines.append(f"{q:<6}{spec['about']:<28}{cells}")
        lines.append("row groups read by arrowjit: " + ", ".join(f"{q} {text}"
                                                             for q, text in result["row_groups"].items()))
        memory = result["memory"]
        for name in ("Q1", "all rows"):
            m = memory[name]
            lines.append(f"peak Arrow memory, arrowjit scan ({name}): {m['peak_bytes'] / 1e6:,.0f} MB = "
                         f"{100 * m['fraction']:.1f}% of the decoded {memory['decoded_bytes'] / 1e6:,.0f} MB")
    return "\n".join(lines)


def targets(results: list[dict]) -> list[tuple[str, bool, str]]:
    checks = []
    by_threads = {r["threads"]: r["seconds"] for r in results}
    for t, seconds in by_threads.items():
        aj = seconds["arrowjit"]
        for q in ("Q3", "Q4"):
            peer = min(seconds[c][q] for c in PEERS)
            checks.append((f"{q} at {t} thread(s) no slower than the fastest peer", aj[q] <= peer,
                           f"{aj[q]:.3f} s vs {peer:.3f} s"))
        for q in ("Q1", "Q2"):
            factor = 1.0 if t == 1 else 1.5
            pa_time = seconds["pyarrow"][q]
            checks.append((f"{q} at {t} thread(s) >= {factor}x pyarrow.dataset", aj[q] * factor <= pa_time,
                           f"{pa_time / aj[q]:.2f}x ({aj[q]:.3f} s vs {pa_time:.3f} s)"))
    for r in results:
        m, every = r["memory"]["Q1"], r["memory"]["all rows"]
        checks.append((f"peak memory of Q1 over the whole file at {r['threads']} thread(s) < 10% of decoded",
                       m["fraction"] < 0.10, f"{100 * m['fraction']:.1f}% (keeping every row: "
                       f"{100 * every['fraction']:.1f}%)"))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None,
                        help="rows in the file (default 20M; 2M with --quick)")
    parser.add_argument("--runs", type=int, default=None,
                        help="timed runs per query (default 5; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a small file and few runs")
    parser.add_argument("--threads", default=None, help="thread counts, e.g. 1,2 (default: 1 and every core)")
    parser.add_argument("--out", default=str(RESULTS / "scan.json"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    rows = args.rows or (2_000_000 if args.quick else 20_000_000)
    runs = args.runs or (2 if args.quick else 5)
    if args.worker:
        print(json.dumps(worker(data_file(rows), int(args.threads), rows, runs)))
        return 0
    from arrowjit.runtime.threads import cpu_count

    counts = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, cpu_count()})
    path = data_file(rows)
    print(f"scan benchmark: {path} ({rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB), "
          f"{runs} runs, threads {counts}", flush=True)
    results = []
    for threads in counts:
        env = {**os.environ, "POLARS_MAX_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "benchmarks.scan", "--worker", "--rows", str(rows),
                               "--runs", str(runs), "--threads", str(threads)],
                              env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            return done.returncode
        results.append(json.loads(done.stdout))
    print(table_text(results, rows))
    checks = targets(results)
    print("\ntargets:")
    for name, met, detail in checks:
        print(f"  [{'met' if met else 'MISSED'}] {name}: {detail}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "runs": runs, "file": str(path), "results": results,
                               "targets": [{"name": n, "met": m, "detail": d} for n, m, d in checks]},
                              indent=2))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
