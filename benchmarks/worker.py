"""Time every contender at one thread count, in a process of its own.

``python -m benchmarks.worker --threads N --rows R --runs K --json out.json``

Polars reads POLARS_MAX_THREADS once, when it is imported, so each thread
count needs its own process: run.py starts this module once with
``--threads 1`` and once with all cores, with the variable set in the child's
environment (and this module sets it too, before importing polars, when run
by hand). In the all-core process only the contenders that can use several
cores are timed.

For each expression the jobs (contender x output kind, plus the ``np.sum``
bandwidth reference and the stricter ``stream`` one) are called once to warm up and to check the answer
against arrowjit's, then ``runs`` times, interleaved: in run r every job runs
once, in an order rotated by r. The median is reported. Each arrowjit job
is then checked for how many threads really ran it (:func:`parallelism`).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Job:
    contender: str
    kind: str
    fn: object
    threads: int
    samples: list[float] = field(default_factory=list)
    status: str = "ok"
    note: str = ""


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _jobs(expr, data, threads: int, names: list[str]) -> tuple[list[Job], list[dict]]:
    from .contenders import CONTENDERS
    from .expressions import KINDS

    jobs, failed = [], []
    for name in names:
        try:
            made = CONTENDERS[name](expr, data, threads)
        except Exception as e:  # a contender that cannot run is reported, not fatal
            made, status = None, f"error: {type(e).__name__}: {e}"
        else:
            status = "n/a"
        if made is None:
            failed += [dict(contender=name, kind=k, threads=threads, status=status, note="",
                            ms=None, samples_ms=[])
                       for k in KINDS]
            continue
        jobs.extend(Job(name, kind, fn, threads) for kind, fn in made.items())
    return jobs, failed


def _warm_up(jobs: list[Job], truth: dict) -> None:
    from .contenders import compare, size

    for job in jobs:
        try:
            _, result = _timed(job.fn)
            if job.kind == "reference":
                continue
            same, job.note = compare(job.kind, result, truth[job.kind])
            if not same:
                job.status = f"WRONG: {size(job.kind, result)} rows, arrowjit {truth['count']}"
        except Exception as e:
            job.status = f"error: {type(e).__name__}: {e}"


def _interleave(jobs: list[Job], runs: int, expected: int) -> None:
    from .contenders import size

    for r in range(runs):
        shift = r % len(jobs)
        gc.collect()
        gc.disable()  # no collector pauses inside a timed call; garbage is collected between runs
        try:
            for job in jobs[shift:] + jobs[:shift]:
                seconds, result = _timed(job.fn)
                if job.kind != "reference" and size(job.kind, result) != expected:
                    job.status = f"WRONG on run {r}: {size(job.kind, result)} rows, arrowjit {expected}"
                del result
                job.samples.append(seconds)
        finally:
            gc.enable()


def _stream(words: list, threads: int):
    import numpy as np

    if threads == 1:
        return lambda: [np.bitwise_or.reduce(w) for w in words]
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(threads)
    parts = [part for w in words for part in np.array_split(w, threads)]
    return lambda: list(pool.map(np.bitwise_or.reduce, parts))


def parallelism(job: Job, threads: int) -> dict:
    """How an arrowjit call really ran: its tasks, the threads that ran them, CPU time per wall time.

    ``arrowjit.runtime.threads.run`` (through which every multi-threaded
    step goes) is wrapped for one call to record each batch of tasks and the
    threads that ran them; then a few calls are timed by CPU and wall clock.
    Nothing here is timed for the results.
    """
    import threading

    from arrowjit.runtime import threads as pool

    original, steps = pool.run, []

    def spy(tasks, n):
        used, lock = set(), threading.Lock()

        def traced(task):
            with lock:
                used.add(threading.get_ident())
            return task()

        result = original([lambda t=t: traced(t) for t in tasks], n)
        steps.append({"tasks": len(tasks), "threads_arg": n, "threads_used": len(used)})
        return result

    pool.run = spy
    try:
        job.fn()
    finally:
        pool.run = original
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(5):
        job.fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"steps": steps, "threads_used": max((s["threads_used"] for s in steps), default=1),
            "cpu_per_wall": cpu / wall, "requested": threads}


def measure(expr, data, threads: int, names: list[str], runs: int) -> list[dict]:
    import numpy as np

    from .contenders import arrowjit_jobs, truth_of
    from .data import bytes_read, read_buffers, stream_views, table_bytes

    truth_jobs = arrowjit_jobs(expr, data, 1)
    truth = {kind: truth_of(kind, fn()) for kind, fn in truth_jobs.items()}
    buffers = read_buffers(data, expr.columns)
    words = stream_views(buffers)
    reference = Job("np.sum", "reference", lambda: [np.sum(b) for b in buffers], 1)
    # A second, stricter reference: an OR over the same bytes as uint64 words (memory-bound on
    # machines where np.sum over float64, a pairwise sum, is limited by the additions). In a
    # process of several threads it runs on that many threads (numpy releases the GIL), so it
    # also says how far the machine's own bandwidth grows with more cores.
    stream = Job("stream", "reference", _stream(words, threads), threads)
    jobs, records = _jobs(expr, data, threads, names)
    jobs += [reference, stream]
    _warm_up(jobs, truth)
    _interleave([j for j in jobs if j.status == "ok"], runs, truth["count"])
    reference_ms = statistics.median(reference.samples) * 1e3
    for job in jobs:
        ok = job.status == "ok"
        record = dict(contender=job.contender, kind=job.kind, threads=job.threads, status=job.status,
                      note=job.note, ms=statistics.median(job.samples) * 1e3 if ok else None,
                      samples_ms=[s * 1e3 for s in job.samples] if ok else [])
        if job.contender == "arrowjit" and ok:
            record["parallel"] = parallelism(job, threads)
        records.append(record)
    read, written = table_bytes(data, expr.columns, truth["count"])
    nbytes = bytes_read(data, expr.columns)
    common = dict(expression=expr.name, text=expr.text, dataset=expr.dataset,
                  bytes=nbytes, reference_ms=reference_ms, rows=data.rows,
                  stream_ms=statistics.median(stream.samples) * 1e3, selected=truth["count"],
                  table_read_bytes=read, table_written_bytes=written,
                  # the least time a filtered table can take at the np.sum reference's GB/s
                  table_limit_ms=(read + written) / nbytes * reference_ms)
    return [dict(common, **r) for r in records]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", default=None)
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("POLARS_MAX_THREADS", str(args.threads))  # before polars is imported

    from .contenders import CONTENDERS, MULTI_THREADED, configure_threads
    from .data import generate
    from .expressions import select

    actual = configure_threads(args.threads)
    names = list(CONTENDERS) if args.threads == 1 else list(MULTI_THREADED)
    datasets = generate(args.rows)
    records = []
    for expr in select(args.only):
        start = time.perf_counter()
        records += measure(expr, datasets[expr.dataset], args.threads, names, args.runs)
        print(f"  [{args.threads} thread(s)] {expr.name} done in {time.perf_counter() - start:.1f} s",
              flush=True)
    with open(args.json, "w") as f:
        json.dump({"threads": args.threads, "threads_reported": actual, "records": records}, f)


if __name__ == "__main__":
    sys.exit(main())
