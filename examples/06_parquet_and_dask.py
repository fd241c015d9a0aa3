"""arrowjit on Dask: a partitioned Parquet dataset filtered by two worker processes.

Run with `python examples/06_parquet_and_dask.py` (needs `pip install arrowjit[dask]`).
It writes a small Hive-partitioned Parquet dataset (4 days x 3 stations,
row groups of 2,500 rows) into a temporary folder, starts a
distributed.LocalCluster of two worker processes, then:

1. `arrowjit.dask.read_parquet(folder, where=..., columns=...)`: the
   same pushdown as `arrowjit.scan` (the row groups and Hive partitions
   that statistics and paths rule out are no partition at all), then one
   partition per row group left, each reading the predicate's columns
   first and decoding the others only where a row matches;
2. `ddf.arrowjit.query(...)`, `.mask(...)` and `.eval(...)` on a Dask
   DataFrame, with an `@name` parameter from this script's scope.

The compiled filter is shipped to the workers pickled (its expression and
schema) and compiled again there. On a real cluster the same code runs
unchanged: pass the scheduler's address (`--scheduler tcp://scheduler:8786`,
that is `Client("tcp://scheduler:8786")`) and a folder every worker can read
(`--data`, a shared file system; or an object store path with
`filesystem=`). The output is the same every run.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DAYS = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
STATIONS = ["north", "south", "west"]
ROWS_PER_PART = 5_000


def write_dataset(folder: Path) -> int:
    """day=.../station=.../*.parquet: temperature, wind, id; returns the number of rows."""
    rng = np.random.default_rng(2026)
    parts = []
    for d, day in enumerate(DAYS):
        for s, station in enumerate(STATIONS):
            first = (d * len(STATIONS) + s) * ROWS_PER_PART
            parts.append(pa.table({
                "id": np.arange(first, first + ROWS_PER_PART),
                "temperature": np.round(rng.normal(10 + 2 * d - 3 * s, 6, ROWS_PER_PART), 1),
                "wind": np.round(rng.uniform(0, 30, ROWS_PER_PART), 1),
                "day": [day] * ROWS_PER_PART,
                "station": [station] * ROWS_PER_PART,
            }))
    data = pa.concat_tables(parts)
    pq.write_to_dataset(data, str(folder), partition_cols=["day", "station"], row_group_size=2_500)
    return data.num_rows


def main(scheduler: str | None, data: str | None) -> None:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import arrowjit.dask

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(data or temporary) / "weather"
        rows = write_dataset(folder)
        print(f"dataset: {rows} rows, {len(list(folder.rglob('*.parquet')))} files "
              f"({len(DAYS)} days x {len(STATIONS)} stations)")
        if scheduler:
            client = Client(scheduler)
            cluster = None
        else:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
            client = Client(cluster)
        with client:
            print(f"workers: {len(client.scheduler_info(n_workers=-1)['workers'])}")

            # 1. Parquet: station != 'west' rules out the west files by their path; the
            #    predicate runs on the workers, other columns decoded only where a row matches.
            storms = arrowjit.dask.read_parquet(
                folder, where="wind > 25 and temperature < 0 and station != 'west'",
                columns=["id", "day", "station", "temperature", "wind"])
            groups = sum(pq.ParquetFile(f).num_row_groups for f in folder.rglob("*.parquet"))
            print(f"read_parquet: {storms.npartitions} partitions, one per row group left "
                  f"({groups - storms.npartitions} of {groups} ruled out)")
            found = client.compute(storms).result().sort_values("id").reset_index(drop=True)
            print(f"cold and windy, not west: {len(found)} rows")
            print(found.groupby(["day", "station"], observed=True).size().to_string())
            print(found.head(5).to_string(index=False))

            # 2. The accessor on a Dask DataFrame (here: everything, kept in the workers' memory).
            ddf = client.persist(dd.read_parquet(str(folder)))
            limit = 20.0  # noqa: F841  (read by @limit below)
            warm = ddf.arrowjit.query("temperature > @limit and wind between 5 and 10")
            print(f"warm and calm: {client.compute(warm.shape[0]).result()} rows")
            share = client.compute(ddf.arrowjit.mask("wind >= 15").mean()).result()
            print(f"share with wind >= 15: {share:.4f}")
            chill = ddf.arrowjit.eval("chill = temperature - wind * 0.2")
            coldest = client.compute(chill.nsmallest(3, "chill")).result()
            print(coldest[["id", "temperature", "wind", "chill"]].round(2).to_string(index=False))
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="a running Dask scheduler, e.g. tcp://scheduler:8786")
    parser.add_argument("--data", help="a folder every worker can read (default: a temporary one)")
    arguments = parser.parse_args()
    main(arguments.scheduler, arguments.data)
