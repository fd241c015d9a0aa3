"""Run-time parameters: what a parameter costs in the kernel, and a sweep over 1,000 thresholds.

``kernel``: E1 three ways over the full data at one thread, count and mask,
interleaved (median): with parameters (``x > :lo and x < :hi``, lo=2.0,
hi=6.0), as written (``x > 2.0 and x < 6.0``: automatic parameterization
turns both literals into hidden parameters) and with the literals baked into
the code (``parameterize=False``). The issue asks for parameters within 5%
of baked literals.

``sweep``: the filtered rows of a 10,000-row batch for ``x > T``, T over
``linspace(0, 10, 1000)``, each way in its own fresh process with a new,
empty ``ARROWJIT_CACHE_DIR``, after a warm-up that imports everything and
runs every library once on another expression (``y < 1.5``), so that the
first result is not charged for imports or Lark's grammar tables:

* ``text``: ``compile_filter(f"x > {T}")`` each time (automatic
  parameterization: the first compiles, the others are template hits);
* ``param``: one ``compile_filter("x > :t")``, then 1,000 calls with t=T;
* ``baked``: ``compile_filter(f"x > {T}", parameterize=False)``, a compile
  per value; only every 34th value (30 of them), the total extrapolated;
* ``pandas``: ``df.query("x > @t")``;
* ``pyarrow``: ``batch.filter(pc.greater(batch.column("x"), t))``;
* ``text-1thread``: ``text`` with ``threads=1`` (the others use arrowjit's
  default, every core), to show what the thread pool costs on small batches.

``python -m benchmarks.params kernel --rows R --runs K``, ``python -m
benchmarks.params sweep VARIANT`` (JSON on stdout); run.py calls
:func:`section`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWEEP_ROWS = 10_000
SWEEP_VALUES = 1000
BAKED_STRIDE = 34  # baked: every 34th threshold, 30 compiles
VARIANTS = ("text", "param", "baked", "pandas", "pyarrow", "text-1thread")
PARAM_TEXT = "x > :lo and x < :hi"
PARAM_VALUES = {"lo": 2.0, "hi": 6.0}


# -- kernel: parameters vs baked literals ---------------------------------------------
def _kernel(rows: int, runs: int) -> dict:
    import numpy as np

    import arrowjit

    from .data import generate, read_buffers
    from .expressions import E1
    from .worker import Job, _interleave

    data = generate(rows)["plain"]
    batch = data.batch
    ways = {
        "param": (arrowjit.compile_filter(PARAM_TEXT, batch.schema, threads=1), PARAM_VALUES),
        "auto": (arrowjit.compile_filter(E1.text, batch.schema, threads=1), {}),
        "baked": (arrowjit.compile_filter(E1.text, batch.schema, parameterize=False, threads=1), {}),
    }
    jobs = []
    for way, (f, values) in ways.items():
        jobs.append(Job(way, "count", lambda f=f, v=values: f.count(batch, **v), 1))
        jobs.append(Job(way, "mask", lambda f=f, v=values: f.mask(batch, **v), 1))
    buffers = read_buffers(data, E1.columns)
    jobs.append(Job("np.sum", "reference", lambda: [np.sum(b) for b in buffers], 1))
    expected = ways["baked"][0].count(batch)
    answers = {way: f.count(batch, **values) for way, (f, values) in ways.items()}
    for job in jobs:
        job.fn()  # warm-up
    _interleave(jobs, runs, expected)
    ms = {(j.contender, j.kind): statistics.median(j.samples) * 1e3 for j in jobs}
    reference_ms = ms["np.sum", "reference"]
    out = {"rows": rows, "runs": runs, "threads": 1, "selected": expected, "answers_agree":
           all(a == expected for a in answers.values()), "reference_ms": reference_ms,
           "texts": {"param": f"{PARAM_TEXT} with {PARAM_VALUES}", "auto": E1.text,
                     "baked": f"{E1.text}, parameterize=False"},
           "hidden_parameters": {way: dict(f._hidden) for way, (f, _) in ways.items()},
           "ms": {f"{c} {k}": v for (c, k), v in ms.items()},
           "samples_ms": {f"{j.contender} {j.kind}": [s * 1e3 for s in j.samples] for j in jobs}}
    for kind in ("count", "mask"):
        baked = [j for j in jobs if j.contender == "baked" and j.kind == kind][0].samples
        for way in ("param", "auto"):
            mine = [j for j in jobs if j.contender == way and j.kind == kind][0].samples
            out[f"{way}/baked {kind}"] = ms[way, kind] / ms["baked", kind]
            # the same run's calls follow each other: the ratio per run shrugs off slow spells
            out[f"{way}/baked {kind} per-run median"] = statistics.median(a / b for a, b in zip(mine, baked))
    return out


# -- sweep: 1,000 thresholds ---------------------------------------------------------
def thresholds() -> list[float]:
    import numpy as np

    return [float(t) for t in np.linspace(0, 10, SWEEP_VALUES)]


def _sweep(variant: str) -> dict:
    import pyarrow.compute as pc

    import arrowjit

    from .data import generate

    batch = generate(SWEEP_ROWS)["plain"].batch
    df = batch.to_pandas()
    schema = batch.schema
    # Warm-up: every library once, on another expression (and Lark's tables into the new cache).
    arrowjit.compile_filter("y < 1.5", schema)(batch)
    df.query("y < 1.5")
    batch.filter(pc.less(batch.column("y"), 1.5))

    values = thresholds()
    if variant == "text":
        step = lambda t: arrowjit.compile_filter(f"x > {t}", schema)(batch).num_rows
    elif variant == "text-1thread":
        step = lambda t: arrowjit.compile_filter(f"x > {t}", schema, threads=1)(batch).num_rows
    elif variant == "param":
        holder = {}

        def step(t):
            if "f" not in holder:
                holder["f"] = arrowjit.compile_filter("x > :t", schema)
            return holder["f"](batch, t=t).num_rows
    elif variant == "baked":
        values = values[::BAKED_STRIDE]
        step = lambda t: arrowjit.compile_filter(f"x > {t}", schema, parameterize=False)(batch).num_rows
    elif variant == "pandas":
        step = lambda t: len(df.query("x > @t"))
    elif variant == "pyarrow":
        column = batch.column("x")
        step = lambda t: batch.filter(pc.greater(column, t)).num_rows
    else:
        raise SystemExit(f"unknown sweep variant {variant!r}; choose from {', '.join(VARIANTS)}")
    samples, rows = [], 0
    started = time.perf_counter()
    for t in values:
        start = time.perf_counter()
        rows += step(t)
        samples.append(time.perf_counter() - start)
    total = time.perf_counter() - started
    x = batch.column("x").to_numpy()
    expected = sum(int((x > t).sum()) for t in values)
    out = {"variant": variant, "values": len(values), "total_s": total, "first_s": samples[0],
           "median_s": statistics.median(samples), "mean_after_first_s": statistics.mean(samples[1:]),
           "rows": rows, "ok": rows == expected}
    if variant == "baked":  # did every value really compile (no kernel from the disk cache)?
        kernels = [arrowjit.compile_filter(f"x > {t}", schema, parameterize=False)._kernels.values()
                   for t in values]
        out["disk_cache_hits"] = sum("disk_cache_hit" in k.compiled.timings for ks in kernels for k in ks)
    return out


# -- the section, as run.py runs it ------------------------------------------------------
def _child(args: list[str], cache_dir: Path) -> dict:
    env = dict(os.environ, ARROWJIT_CACHE_DIR=str(cache_dir))
    env.pop("ARROWJIT_CACHE", None)
    # The kernel comparison times O3 code only; the sweep runs as users do (two tiers).
    env["ARROWJIT_TIERED"] = "0" if args[0] == "kernel" else "1"
    out = subprocess.run([sys.executable, "-m", "benchmarks.params", *args], cwd=ROOT, check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def _sweep_summary(runs: list[dict]) -> dict:
    scale = SWEEP_VALUES / runs[0]["values"]  # baked: 30 values measured, the total extrapolated
    ms = lambda key: statistics.median(r[key] for r in runs) * 1e3
    per_value = statistics.median(r["total_s"] / r["values"] for r in runs) * 1e6
    return {"values_timed": runs[0]["values"], "extrapolated": scale != 1,
            "total_ms": statistics.median(r["total_s"] * scale for r in runs) * 1e3,
            "first_ms": ms("first_s"), "per_value_us": per_value,
            "median_value_us": ms("median_s") * 1e3,
            "after_first_us": statistics.median(r["mean_after_first_s"] for r in runs) * 1e6,
            "ok": all(r["ok"] for r in runs), "samples": len(runs),
            "disk_cache_hits": sum(r.get("disk_cache_hits", 0) for r in runs)}


def section(rows: int, runs: int, repeats: int) -> dict:
    """The kernel comparison (one process) and the sweep (``repeats`` fresh processes per way)."""
    sweeps: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="arrowjit-bench-params-") as scratch:
        kernel = _child(["kernel", "--rows", str(rows), "--runs", str(runs)], Path(scratch, "kernel"))
        for r in range(repeats):
            for variant in VARIANTS:
                sweeps[variant].append(_child(["sweep", variant], Path(scratch, f"{variant}{r}")))
    return {"kernel": kernel, "sweep": {v: _sweep_summary(s) for v, s in sweeps.items()},
            "sweep_rows": SWEEP_ROWS, "sweep_values": SWEEP_VALUES, "repeats": repeats}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.params", description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("kernel", "sweep"))
    parser.add_argument("variant", nargs="?", default="text", choices=VARIANTS)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)
    result = _kernel(args.rows, args.runs) if args.mode == "kernel" else _sweep(args.variant)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
