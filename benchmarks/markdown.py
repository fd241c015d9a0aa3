"""A result JSON as Markdown tables (what docs/benchmarks.md shows).

``python -m benchmarks.markdown [benchmarks/results/latest.json]`` prints the
machine, the throughput tables (one per output kind and thread count), the
thread scaling, compile latency, run-time parameters, the 1,000-row calls
and the targets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import report, targets
from .expressions import KINDS

PEERS = ("numpy", "numexpr", "pandas", "pyarrow", "polars", "duckdb")
KIND_NAMES = {"count": "count", "mask": "mask (BooleanArray or the peer's boolean vector)",
              "indices": "indices (selected positions)", "table": "filtered table (all 5 columns)"}


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine(result: dict) -> str:
    m, a = result["machine"], result["args"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    return "\n".join([
        f"* CPU: `{m['cpu']}` (LLVM's name for the host CPU, from llvmlite)"
        + (f", /proc/cpuinfo: {m['cpu_model']}" if m.get("cpu_model") else ""),
        f"* cores available to the process: {m['cores']} (os.cpu_count() {m['cpu_count']})",
        f"* {m['platform']}, Python {m['python']}",
        f"* {versions}",
        f"* run: {int(a['rows']):,} rows, median of {a['runs']} interleaved runs per job"
        + (f"; arrowjit at commit `{m['git']}`" if m.get("git") else ""),
    ])


def throughput(records: list[dict], kind: str, threads: int) -> str:
    exprs = list(dict.fromkeys(r["expression"] for r in records))
    table = kind == "table"
    header = ["expr", "arrowjit ms", "GB/s", "% bw"] + (["% limit"] if table else []) + list(PEERS) + [
        "fastest peer", "arrowjit vs fastest"]
    rows = []
    for expr in exprs:
        here = [r for r in records
                if r["expression"] == expr and r["kind"] == kind and r["threads"] == threads]
        mine = next((r for r in here if r["contender"] == "arrowjit"), None)
        if mine is None or mine["status"] != "ok":
            continue
        best = report.best_peer_ms(here, threads)
        fastest = next((r["contender"] for r in here if r["contender"] != "arrowjit" and r["ms"] == best), "")
        cells = [expr, f"**{mine['ms']:.2f}**", f"{mine['bytes'] / mine['ms'] / 1e6:.1f}",
                 f"{mine['reference_ms'] / mine['ms']:.0%}"]
        if table:
            cells.append(f"{mine['table_limit_ms'] / mine['ms']:.0%}")
        for peer in PEERS:
            r = next((r for r in here if r["contender"] == peer), None)
            cells.append(f"{r['ms']:.2f}" if r and r["status"] == "ok" else "–")
        cells += [fastest, f"**{best / mine['ms']:.2f}x**" if best else "–"]
        rows.append(cells)
    return _table(header, rows)


def references(records: list[dict]) -> str:
    rows = []
    for expr in dict.fromkeys(r["expression"] for r in records):
        ref = report.references(records, expr)
        gb = ref["bytes"] / 1e6
        rows.append([expr, f"`{ref['text']}`" + (" (10% nulls in x)" if ref["dataset"] == "nulls" else ""),
                     f"{ref['selected']:,}", f"{gb:.1f}", f"{ref['ms']:.2f}", f"{gb / ref['ms']:.1f}",
                     f"{ref['stream_ms']:.2f}", f"{gb / ref['stream_ms']:.1f}",
                     f"{ref['table_read_bytes'] / 1e6:.0f} + {ref['table_written_bytes'] / 1e6:.0f}",
                     f"{ref['table_limit_ms']:.2f}"])
    return _table(["expr", "expression", "selected", "MB read", "np.sum ms", "np.sum GB/s", "stream ms",
                   "stream GB/s", "table MB read + written", "table limit ms"], rows, "llrrrrrrrr")


def scaling(records: list[dict], threads: int) -> str:
    ratios, machine = report.scaling(records, threads), report.scaling(records, threads, "stream")
    exprs = list(dict.fromkeys(e for e, _ in ratios))
    rows = [[e] + [f"{ratios[e, k]:.2f}x" if (e, k) in ratios else "–" for k in KINDS]
            + [f"{machine[e, 'reference']:.2f}x" if (e, "reference") in machine else "–"] for e in exprs]
    return _table(["expr"] + list(KINDS) + ["stream reference"], rows)


def speedups(records: list[dict], threads: int) -> str:
    groups = report._group(records)
    rows = []
    for expr in dict.fromkeys(r["expression"] for r in records):
        cells = [expr]
        for kind in KINDS:
            rows_here = groups.get((expr, kind), [])
            mine = [r for r in rows_here if r["contender"] == "arrowjit" and r["threads"] == threads
                    and r["status"] == "ok"]
            best = report.best_peer_ms(rows_here, threads)
            cells.append(f"{best / mine[0]['ms']:.2f}x" if mine and best else "–")
        rows.append(cells)
    return _table(["expr"] + list(KINDS), rows)


def compile_latency(c: dict) -> str:
    return _table(["", "time", "details"], [[w.strip(), v, d] for w, v, d in report.compile_rows(c)], "lrl")


def params(p: dict) -> str:
    kernel_rows = [list(r) for r in report.params_kernel_rows(p["kernel"])]
    kernel = _table(["", "count ms", "mask ms", ""], kernel_rows, "lrrl")
    sweep = _table(["way", "total ms", "first result ms", "us per value after the first", "how"],
                   [list(r) for r in report.sweep_rows(p["sweep"])], "lrrrl")
    return kernel + "\n\n" + sweep


def small(rows: list[dict]) -> str:
    return _table(["expr", "arrowjit count us", "arrowjit mask us", "numpy count us", "numpy mask us"],
                  [[r["expression"], f"{r['arrowjit_count_us']:.1f}", f"{r['arrowjit_mask_us']:.1f}",
                    f"{r['numpy_count_us']:.1f}", f"{r['numpy_mask_us']:.1f}"] for r in rows])


def target_table(checks: list[dict]) -> str:
    return _table(["", "target", "measured", "margin"],
                  [["met" if c["met"] else "**missed**", c["target"], c["measured"], c["margin"]]
                   for c in checks], "llll")


def render(result: dict) -> str:
    records = result["throughput"]
    threads = sorted({r["threads"] for r in records})
    noise = result.get("noise") or {}
    quiet = [f"{name}: {s['others_cpu_share']:.0%}" for name, s in noise.items()
             if s.get("others_cpu_share") is not None]
    busy = f"\n* CPU time other processes took during each section: {'; '.join(quiet)}" if quiet else ""
    parts = ["## Machine", machine(result) + busy, "## References and limits", references(records)]
    for t in threads:
        label = "one thread" if t == 1 else f"all cores ({t} threads)"
        for kind in KINDS:
            parts += [f"### {KIND_NAMES[kind]}, {label}", throughput(records, kind, t)]
        parts += [f"### arrowjit vs the fastest peer, {label}", speedups(records, t)]
    if len(threads) > 1:
        checked = "\n".join("* " + line.strip() for line in report.parallel_summary(records).splitlines())
        parts += [f"### arrowjit's scaling: one-thread time / {threads[-1]}-thread time",
                  scaling(records, threads[-1]),
                  "Threads arrowjit really used (checked after the timed runs):", checked]
    if result.get("compile"):
        parts += ["## Compile latency", compile_latency(result["compile"])]
    if result.get("params"):
        parts += ["## Run-time parameters", params(result["params"])]
    if result.get("small"):
        parts += ["## 1,000-row batches (us per call)", small(result["small"])]
    checks = targets.evaluate(result)
    parts += ["## Targets", target_table(checks)]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.markdown", description=__doc__.split("\n")[0])
    parser.add_argument("json", nargs="?", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "latest.json")
    args = parser.parse_args(argv)
    print(render(json.loads(args.json.read_text())))


if __name__ == "__main__":
    main()
