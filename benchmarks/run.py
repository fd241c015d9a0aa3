"""arrowjit's benchmark: ``make bench`` or ``python -m benchmarks.run [--quick] [--only E1,E5]``.

Times arrowjit's count / mask / indices / filtered table next to numpy,
numexpr, pandas, pyarrow.compute, polars and DuckDB on generated data, with
``np.sum`` over the same bytes as the memory-bandwidth reference; then
compile latency (fresh processes, each with a new on-disk cache directory),
run-time parameters (parameterized vs baked literals, a sweep over 1,000
thresholds) and 1,000-row call overhead; last, the issue's targets, met or
missed. Prints tables and writes JSON and a PNG chart to --out (a full run
also copies the chart to docs/benchmark.png).

Threads: every contender is first timed in a process where all of them are
limited to one thread (POLARS_MAX_THREADS=1 in its environment, numexpr and
pyarrow set to 1, DuckDB ``SET threads=1``); then a second process, with
POLARS_MAX_THREADS set to the core count, times the contenders that use
several cores (numexpr, polars, DuckDB and arrowjit, which gets
``threads=`` on compile_filter). Polars fixes its pool size at import, hence
two processes. Each arrowjit job is checked for the threads that really ran
it (printed under "arrowjit's threads").
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from . import latency, params, report, targets
from .expressions import select

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = ("arrowjit", "llvmlite", "numpy", "pyarrow", "pandas", "numexpr", "polars", "duckdb",
             "matplotlib")


def machine() -> dict:
    import llvmlite.binding as llvm

    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": llvm.get_host_cpu_name(), "cpu_model": model, "cores": cores(),
            "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "versions": versions, "git": git_revision()}


def git_revision() -> str | None:
    """The commit measured, with "+dirty" when arrowjit/ has uncommitted changes (None outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "arrowjit"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


class Noise:
    """How busy other processes kept the machine while a section ran (Linux; None elsewhere).

    From /proc/stat (all CPUs' busy time) minus this process's and its
    finished children's CPU time (os.times), as a share of all CPUs' time.
    """

    def __init__(self) -> None:
        self.sections: dict[str, dict] = {}

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        except (OSError, ValueError):
            return None
        hz = os.sysconf("SC_CLK_TCK")
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return sum(fields) / hz, (sum(fields) - fields[3] - fields[4]) / hz, own

    def measure(self, name: str, fn, *args, **kwargs):
        before, load, start = self._sample(), os.getloadavg()[0], time.perf_counter()
        result = fn(*args, **kwargs)
        after = self._sample()
        section = {"seconds": time.perf_counter() - start, "others_cpu_share": None, "load_before": load,
                   "load_after": os.getloadavg()[0]}
        if before and after:
            total, busy, own = (a - b for a, b in zip(after, before))
            section["others_cpu_share"] = max(0.0, busy - own) / total if total > 0 else 0.0
        self.sections[name] = section
        return result

    def summary(self) -> str:
        share = lambda s: "?" if s["others_cpu_share"] is None else f"{s['others_cpu_share']:.0%}"
        return "\n".join(f"  {name:<22}{s['seconds']:>5.0f} s; other processes used {share(s)} of all cores' "
                         f"time (load average {s['load_before']:.2f} before, {s['load_after']:.2f} after)"
                         for name, s in self.sections.items())


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_worker(threads: int, args: argparse.Namespace, scratch: Path) -> dict:
    """Time the contenders at ``threads`` in a child process (see the module docstring)."""
    out = scratch / f"worker-{threads}.json"
    # ARROWJIT_TIERED=0: kernels are O3 code from the start (throughput is of O3 code; the
    # compile section measures the quick tier).
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads), NUMEXPR_MAX_THREADS=str(max(threads, cores())),
               ARROWJIT_TIERED="0")
    command = [sys.executable, "-m", "benchmarks.worker", "--threads", str(threads), "--rows", str(args.rows),
               "--runs", str(args.runs), "--json", str(out)] + (["--only", args.only] if args.only else [])
    if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
        raise SystemExit(f"the {threads}-thread benchmark process failed (its error is above)")
    return json.loads(out.read_text())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of generated data (10M)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per job after a warm-up (7)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1M rows, 5 runs")
    parser.add_argument("--only", help="expressions to run, e.g. E1,E5 (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="output directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.runs = 1_000_000, min(args.runs, 5)
    if args.runs < 5:
        parser.error("--runs must be at least 5 (the median of fewer runs is too noisy)")
    select(args.only)  # fail early on an unknown name
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    info = machine()
    print(f"arrowjit benchmark: {args.rows:,} rows, median of {args.runs} interleaved runs; "
          f"CPU {info['cpu']} ({info['cpu_model']}), {info['cores']} cores; arrowjit at {info['git']}",
          flush=True)
    started = time.perf_counter()
    thread_counts = sorted({1, info["cores"]})
    noise = Noise()
    with tempfile.TemporaryDirectory() as scratch:
        workers = [noise.measure(f"throughput, {t} thr", run_worker, t, args, Path(scratch))
                   for t in thread_counts]
    records = [r for w in workers for r in w["records"]]
    print("compile latency...", flush=True)
    compile_result = noise.measure("compile latency", latency.compile_section, repeats=5)
    print("parameters...", flush=True)
    # many runs: the parameters-vs-baked ratio should be good to a percent or two
    params_result = noise.measure("parameters", params.section, rows=args.rows, runs=max(20 * args.runs, 100),
                                  repeats=1 if args.quick else 5)
    print("1,000-row calls...", flush=True)
    small = noise.measure("1,000-row calls", latency.small_section, calls=200 if args.quick else 1000,
                          only=args.only)

    print(report.throughput_table(records))
    for threads in thread_counts:
        plural = "s" if threads > 1 else ""
        print(f"\narrowjit vs the fastest peer, both at {threads} thread{plural} (>1.00x: arrowjit faster)")
        mine = [r for r in records if r["contender"] == "arrowjit" and r["threads"] == threads]
        if all(r["status"] == "n/a" for r in mine):
            print("  n/a: arrowjit.compile_filter takes no threads= argument yet")
        else:
            print(report.speedup_matrix(records, threads))
    if len(thread_counts) > 1:
        print(f"\narrowjit at {thread_counts[-1]} threads: one-thread time / {thread_counts[-1]}-thread time")
        print(report.scaling_table(records, thread_counts[-1]))
    print("\narrowjit's threads (checked once per job, after the timed runs)")
    print(report.parallel_summary(records))
    print("\ncompile latency\n" + report.compile_table(compile_result))
    print("\nrun-time parameters\n" + report.params_table(params_result))
    print(f"\n{latency.SMALL_ROWS:,}-row batch\n" + report.small_table(small))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    result = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
              "threads_reported": {w["threads"]: w["threads_reported"] for w in workers},
              "throughput": records, "compile": compile_result, "params": params_result, "small": small,
              "noise": noise.sections, "definitions": report.__doc__}
    result["targets"] = targets.evaluate(result)
    print("\nnoise: CPU time other processes took while each section ran\n" + noise.summary())
    partial = " (a partial or quick run: judge by a full one)" if args.quick or args.only else ""
    print(f"\nthe issue's targets{partial}\n" + targets.table(result["targets"]))
    json_path, png_path = args.out / f"bench-{stamp}.json", args.out / f"bench-{stamp}.png"
    report.write_json(json_path, result)
    title = (f"arrowjit vs peers, {args.rows:,} rows, {info['cpu']}, {info['cores']} cores: "
             "% of np.sum bandwidth over the same bytes; tables: % of the physical limit (log scale)")
    report.chart(records, png_path, title)
    for path in (json_path, png_path):
        shutil.copyfile(path, args.out / f"latest{path.suffix}")
    print(f"\nwrote {json_path} and {png_path} (also latest.json, latest.png)")
    if not (args.quick or args.only):
        shutil.copyfile(png_path, ROOT / "docs" / "benchmark.png")
        print("copied the chart to docs/benchmark.png")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
