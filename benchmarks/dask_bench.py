"""Dask: ``ddf.arrowjit.query`` against plain Dask on partitions held in the workers' memory.

``python -m benchmarks.dask_bench [--rows N] [--partitions P] [--repeats R] [--json PATH]``

Starts a distributed.LocalCluster of two worker processes with one thread
each, generates the partitions on the workers (x, y float64 uniform in
[0, 10), i int64, five float64 payload columns: the issue's scan file's
columns without the string) and persists them there. Then, interleaved,
``repeats`` times each:

* plain Dask: ``ddf[(ddf.x > 2) & (ddf.x < 6)]``
* arrowjit:   ``ddf.arrowjit.query("x > 2 and x < 6")``

each persisted on the workers (every partition filtered, all columns, the
result left in the workers' memory: nothing is sent back but the keys) and
waited for; the result is then released. Throughput is input rows per second
of wall time, from the median run. The two results are checked to hold the
same rows. Target (issue 7): arrowjit at least 1.5x plain Dask's throughput.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time

import numpy as np

TARGET = 1.5
PAYLOAD = 5


def make_partition(index: int, rows: int):
    """Partition ``index``: the same data on every run (seeded by the index)."""
    import pandas as pd

    rng = np.random.default_rng(1000 + index)
    columns = {"id": np.arange(index * rows, (index + 1) * rows, dtype=np.int64),
               "x": rng.uniform(0, 10, rows), "y": rng.uniform(0, 10, rows),
               "i": rng.integers(0, 1000, rows)}
    columns.update({f"p{k}": rng.uniform(0, 1, rows) for k in range(PAYLOAD)})
    return pd.DataFrame(columns, index=pd.RangeIndex(index * rows, (index + 1) * rows))


def timed(client, make) -> tuple[float, float]:
    """Seconds to build and persist the query and wait for it; and of those, until persist returned."""
    from distributed import wait

    start = time.perf_counter()
    result = client.persist(make())
    submitted = time.perf_counter() - start
    wait(result)
    elapsed = time.perf_counter() - start
    client.cancel(result)
    del result
    return elapsed, submitted


def run(rows: int, partitions: int, repeats: int) -> dict:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait

    import arrowjit.dask  # noqa: F401  (ddf.arrowjit)

    per_partition = rows // partitions
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
        ddf = dd.from_map(make_partition, range(partitions), args=(per_partition,))
        ddf = client.persist(ddf)
        wait(ddf)
        contenders = {
            "dask": lambda: ddf[(ddf.x > 2) & (ddf.x < 6)],
            "arrowjit": lambda: ddf.arrowjit.query("x > 2 and x < 6"),
        }
        # Same rows from both (and a warm-up: kernels compiled, code paths loaded on both workers).
        kept = {name: client.compute(make().id.sum()).result() for name, make in contenders.items()}
        lengths = {name: client.compute(make().shape[0]).result() for name, make in contenders.items()}
        assert kept["dask"] == kept["arrowjit"] and lengths["dask"] == lengths["arrowjit"], (kept, lengths)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        submit: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(repeats):
            for name, make in contenders.items():  # interleaved
                elapsed, submitted = timed(client, make)
                times[name].append(elapsed)
                submit[name].append(submitted)
    total = per_partition * partitions
    medians = {name: statistics.median(values) for name, values in times.items()}
    throughput = {name: total / seconds for name, seconds in medians.items()}
    ratio = throughput["arrowjit"] / throughput["dask"]
    return {"rows": total, "partitions": partitions, "columns": 4 + PAYLOAD, "rows_kept": lengths["dask"],
            "workers": 2, "threads_per_worker": 1, "repeats": repeats, "times_s": times,
            "median_s": medians, "median_submit_s": {k: statistics.median(v) for k, v in submit.items()},
            "rows_per_s": throughput, "ratio": ratio, "target": TARGET,
            "met": ratio >= TARGET}


def main() -> None:
    parser = argparse.ArgumentParser(description="Dask query: arrowjit vs plain Dask on persisted partitions")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", help="also write the figures here")
    arguments = parser.parse_args()
    result = run(arguments.rows, arguments.partitions, arguments.repeats)
    print(f"{result['rows']:,} rows in {result['partitions']} partitions, {result['columns']} columns, "
          f"2 workers x 1 thread; {result['rows_kept']:,} rows kept; median of {result['repeats']}")
    for name in ("dask", "arrowjit"):
        print(f"  {name:9s} {result['median_s'][name] * 1000:9.1f} ms  "
              f"{result['rows_per_s'][name] / 1e6:8.1f} M rows/s  "
              f"(building the graph and submitting it: {result['median_submit_s'][name] * 1000:.1f} ms)")
    verdict = "met" if result["met"] else "missed"
    print(f"arrowjit / plain Dask throughput: {result['ratio']:.2f}x (target {TARGET}x: {verdict})")
    if arguments.json:
        with open(arguments.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
