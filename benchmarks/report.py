"""Turn measurements into a printed table, a JSON file and a PNG chart.

Definitions used in the table:

* GB/s: the bytes the predicate reads (its columns' data buffers, plus the
  validity bitmap for E7) divided by the time. The same bytes are used for
  every output kind, so the filtered table's gather is not counted as input.
* % bw: the ``np.sum`` reference time over those same bytes, measured in the
  same process and interleaved with the contenders, divided by the
  contender's time. Above 100% means faster than ``np.sum`` reads the data.
* % lim (filtered tables only): the physical limit divided by the time. The
  limit is the least time to read every output column plus the predicate's
  columns and to write the selected rows of every output column, at the
  ``np.sum`` reference's GB/s (the same process; writing is charged at the
  read rate).
* vs best: the fastest peer's time (peers: every contender but arrowjit, at
  the same thread count) divided by this contender's time; above 1.00x means
  faster than the fastest peer.
* stream: a second reference, an OR over the same bytes as uint64 words. On
  CPUs where ``np.sum`` over float64 (a pairwise sum) is limited by its
  additions rather than by memory, it is the tighter bound; it is shown on
  each expression's heading line and kept in the JSON.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from .expressions import KINDS

_HEADER = (f"  {'output':<8}{'contender':<11}{'thr':>4}{'ms':>10}{'GB/s':>8}{'% bw':>8}{'% lim':>8}"
           f"{'vs best':>9}")


def _group(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups = defaultdict(list)
    for r in records:
        if r["kind"] != "reference":
            groups[r["expression"], r["kind"]].append(r)
    return groups


def best_peer_ms(rows: list[dict], threads: int) -> float | None:
    times = [r["ms"] for r in rows if r["status"] == "ok" and r["contender"] != "arrowjit"
             and r["threads"] == threads]
    return min(times) if times else None


def _row(r: dict, best: float | None) -> str:
    lead = f"  {r['kind']:<8}{r['contender']:<11}{r['threads']:>4}"
    if r["status"] != "ok":
        return f"{lead}  {r['status']}"
    ms = r["ms"]
    ratio = f"{best / ms:>8.2f}x" if best else f"{'':>9}"
    limit = f"{r['table_limit_ms'] / ms * 100:>7.0f}%" if r["kind"] == "table" else f"{'':>8}"
    note = f"  ({r['note']})" if r.get("note") else ""
    return (f"{lead}{ms:>10.2f}{r['bytes'] / ms / 1e6:>8.1f}"
            f"{r['reference_ms'] / ms * 100:>7.0f}%{limit}{ratio}{note}")


def references(records: list[dict], expr: str) -> dict:
    """The expression's one-thread np.sum record (with the stream and table-limit figures it carries)."""
    refs = [r for r in records if r["expression"] == expr and r["contender"] == "np.sum"]
    return min(refs, key=lambda r: r["threads"])


def throughput_table(records: list[dict]) -> str:
    lines = []
    groups = _group(records)
    for expr in dict.fromkeys(r["expression"] for r in records):
        ref = references(records, expr)
        gb = ref["bytes"] / 1e6
        lines += ["", f"{expr}  {ref['text']!r} on {ref['dataset']} data: {ref['rows']:,} rows, "
                  f"{ref['selected']:,} selected; reads {gb:.1f} MB; np.sum reference "
                  f"{ref['ms']:.2f} ms = {gb / ref['ms']:.1f} GB/s; stream {ref['stream_ms']:.2f} ms = "
                  f"{gb / ref['stream_ms']:.1f} GB/s",
                  f"    filtered table: reads {ref['table_read_bytes'] / 1e6:.1f} MB, writes "
                  f"{ref['table_written_bytes'] / 1e6:.1f} MB: limit {ref['table_limit_ms']:.2f} ms "
                  "at the np.sum GB/s (each process's own reference for its rows)",
                  _HEADER]
        for kind in KINDS:
            rows = groups.get((expr, kind), [])
            order = sorted(rows, key=lambda r: (r["threads"], r["status"] != "ok", r["ms"] or 0))
            lines += [_row(r, best_peer_ms(rows, r["threads"])) for r in order]
    return "\n".join(lines)


def speedup_matrix(records: list[dict], threads: int) -> str:
    """arrowjit's speed-up over the fastest peer at ``threads``, expression x output kind."""
    groups = _group(records)
    exprs = list(dict.fromkeys(r["expression"] for r in records))
    lines = [f"  {'':<5}" + "".join(f"{k:>10}" for k in KINDS)]
    for expr in exprs:
        cells = []
        for kind in KINDS:
            rows = groups.get((expr, kind), [])
            mine = [r for r in rows if r["contender"] == "arrowjit" and r["threads"] == threads]
            best = best_peer_ms(rows, threads)
            ok = mine and mine[0]["status"] == "ok" and best
            cells.append(f"{best / mine[0]['ms']:>9.2f}x" if ok else f"{'n/a':>10}")
        lines.append(f"  {expr:<5}" + "".join(cells))
    return "\n".join(lines)


def _stages(d: dict) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in d.items() if v >= 0.05 or k != "other")


def scaling(records: list[dict], threads: int, contender: str = "arrowjit") -> dict[tuple[str, str], float]:
    """One-thread time / time at ``threads``, by (expression, kind); contender "stream": the machine's."""
    mine = {(r["expression"], r["kind"], r["threads"]): r["ms"] for r in records
            if r["contender"] == contender and r["status"] == "ok"}
    return {(e, k): mine[e, k, 1] / mine[e, k, threads] for (e, k, t) in mine
            if t == threads and (e, k, 1) in mine}


def scaling_table(records: list[dict], threads: int) -> str:
    ratios, machine = scaling(records, threads), scaling(records, threads, "stream")
    exprs = list(dict.fromkeys(e for e, _ in ratios))
    lines = [f"  {'':<5}" + "".join(f"{k:>10}" for k in KINDS) + f"{'stream':>10}"]
    for expr in exprs:
        cells = [f"{ratios[expr, k]:>9.2f}x" if (expr, k) in ratios else f"{'n/a':>10}" for k in KINDS]
        stream = machine.get((expr, "reference"))
        cells.append(f"{stream:>9.2f}x" if stream else f"{'n/a':>10}")
        lines.append(f"  {expr:<5}" + "".join(cells))
    lines.append(f"  (stream: the OR reference over the predicate's bytes, 1 thread / {threads} threads: "
                 "how far the machine's memory bandwidth itself grows)")
    return "\n".join(lines)


def parallel_summary(records: list[dict]) -> str:
    """How many threads arrowjit's calls really used, per process (from worker.parallelism)."""
    lines = []
    for threads in sorted({r["threads"] for r in records if r.get("parallel")}):
        mine = [r for r in records if r.get("parallel") and r["threads"] == threads]
        used = sorted({r["parallel"]["threads_used"] for r in mine})
        ratio = [r["parallel"]["cpu_per_wall"] for r in mine]
        over = sorted({r["kind"] for r in mine if r["parallel"]["threads_used"] > threads})
        lines.append(f"  {threads}-thread process: arrowjit called with threads={threads}; distinct threads "
                     f"that ran its tasks: {', '.join(map(str, used))}"
                     + (f" (more than asked, in: {', '.join(over)})" if over else "")
                     + f"; CPU time / wall time {min(ratio):.2f} to {max(ratio):.2f} over {len(mine)} jobs")
    return "\n".join(lines)


def compile_rows(c: dict) -> list[tuple[str, str, str]]:
    """(what, time, details) for the compile-latency table (shared by the printout and the docs)."""
    first, new, disk = c["first"], c["new"], c["disk"]

    def first_call(s: dict) -> str:
        hit = " from disk" if s["disk_cache_hits"] else ""
        stages = _stages(s["first_call_stages_ms"])
        text = (f"then the first call {s['first_call_ms']:.1f} ms ("
                + (f"compiles another nulls variant{hit}: {stages})" if stages else "compiles nothing)"))
        if s.get("tiers") == ["quick"]:
            text += (f"; O3 code in {s['optimized_ms']:.1f} ms after the start "
                     f"({_stages(s['optimized_stages_ms'])}, in the background)")
        return text

    return [
        ("(a) import arrowjit, fresh process", f"{c['import_ms']:.1f} ms", "nothing imported before"),
        ("    import arrowjit after its dependencies", f"{c['import_after_deps_ms']:.1f} ms",
         "numpy, pyarrow, pandas, llvmlite, lark imported first"),
        ("(b) first compile, fresh process, empty cache", f"{first['ms']:.1f} ms",
         f"{_stages(first['stages_ms'])}; {first_call(first)}"),
        ("(c) a new expression after that", f"{new['ms']:.1f} ms",
         f"{_stages(new['stages_ms'])}; {first_call(new)}"),
        ("(d) in-process cache hit (same text)", f"{c['hit_us']:.1f} us",
         f"{c['hit_dict_schema_us']:.1f} us with a dict schema"),
        ("(e) template hit (x > 2.5, then x > 3.1)", f"{c['template_hit_us']:.1f} us",
         "shares the kernel" if c["template_shares_kernel"] else "DOES NOT share the kernel"),
        ("(f) on-disk cache hit, fresh process", f"{disk['ms']:.1f} ms",
         f"{_stages(disk['stages_ms'])}; {first_call(disk)}; "
         f"{disk['disk_cache_hits']}/{disk['samples']} loaded from disk"),
    ]


def compile_table(c: dict) -> str:
    lines = [f"  {what:<48}{value:>10}   {details}" for what, value, details in compile_rows(c)]
    lines.append(f"  (b) compiles {c['first_text']!r}; (c) is the median over "
                 + ", ".join(map(repr, c["new_texts"])))
    lines.append(f"  medians over {c['repeats']} fresh processes, each with a new ARROWJIT_CACHE_DIR; "
                 "stage times in ms; 'other' is the time no stage accounts for; (b) and (c) compile the "
                 "quick tier, then O3 in the background")
    return "\n".join(lines)


SWEEP_WAYS = {
    "text": 'compile_filter(f"x > {T}") each time (template hits)',
    "param": 'one compile_filter("x > :t"), then f(batch, t=T)',
    "baked": 'compile_filter(f"x > {T}", parameterize=False): a compile per value',
    "pandas": 'df.query("x > @t")',
    "pyarrow": 'batch.filter(pc.greater(batch.column("x"), t))',
    "text-1thread": "text, with threads=1 (the arrowjit ways above use every core, the default)",
}


def params_kernel_rows(k: dict) -> list[tuple[str, str, str, str]]:
    """(way, count ms, mask ms, what) for the parameters-vs-baked table."""
    rows = [(way, f"{k['ms'][way + ' count']:.2f}", f"{k['ms'][way + ' mask']:.2f}", k["texts"][way])
            for way in ("param", "auto", "baked")]
    for way in ("param", "auto"):
        rows.append((f"{way}/baked", f"{k[way + '/baked count']:.3f}x", f"{k[way + '/baked mask']:.3f}x",
                     f"ratio of medians (median of per-run ratios: count "
                     f"{k[way + '/baked count per-run median']:.3f}x, mask "
                     f"{k[way + '/baked mask per-run median']:.3f}x)"))
    return rows


def sweep_rows(sweep: dict) -> list[tuple[str, str, str, str, str]]:
    """(way, total ms, first ms, us per value after the first, how) for the sweep table."""
    rows = []
    for way, s in sweep.items():
        how = SWEEP_WAYS.get(way, way)
        if s["extrapolated"]:
            how += f"; {s['values_timed']} values timed, total extrapolated to 1,000"
        if not s["ok"]:
            how += "; WRONG ROW COUNTS"
        if s.get("disk_cache_hits"):
            how += f"; {s['disk_cache_hits']} kernels came from the disk cache"
        rows.append((way, f"{s['total_ms']:.0f}", f"{s['first_ms']:.2f}", f"{s['after_first_us']:.1f}", how))
    return rows


def params_table(p: dict) -> str:
    k = p["kernel"]
    lines = [f"  E1 at 1 thread, {k['rows']:,} rows, {k['selected']:,} selected; medians of {k['runs']} "
             f"interleaved runs; np.sum reference {k['reference_ms']:.2f} ms"
             + ("" if k["answers_agree"] else "; ANSWERS DISAGREE"),
             f"  {'':<13}{'count ms':>10}{'mask ms':>10}"]
    lines += [f"  {way:<13}{c:>10}{m:>10}   {what}" for way, c, m, what in params_kernel_rows(k)]
    lines += ["", f"  x > T for {p['sweep_values']:,} values of T over a {p['sweep_rows']:,}-row batch "
              f"(the filtered rows); medians over {p['repeats']} fresh processes each",
              f"  {'':<13}{'total ms':>10}{'first ms':>10}{'us/value':>10}   (us/value: after the first)"]
    lines += [f"  {way:<13}{total:>10}{first:>10}{each:>10}   {how}"
              for way, total, first, each, how in sweep_rows(p["sweep"])]
    return "\n".join(lines)


def small_table(rows: list[dict]) -> str:
    lines = [f"  {'':<5}{'arrowjit count':>16}{'arrowjit mask':>15}{'numpy count':>13}{'numpy mask':>12}"
             "   (us per call)"]
    for r in rows:
        lines.append(f"  {r['expression']:<5}{r['arrowjit_count_us']:>16.1f}{r['arrowjit_mask_us']:>15.1f}"
                     f"{r['numpy_count_us']:>13.1f}{r['numpy_mask_us']:>12.1f}")
    return "\n".join(lines)


def write_json(path: Path, result: dict) -> None:
    path.write_text(json.dumps(result, indent=1))


COLORS = {"arrowjit": "tab:blue", "numpy": "tab:green", "numexpr": "tab:olive", "pandas": "tab:purple",
          "pyarrow": "tab:brown", "polars": "tab:orange", "duckdb": "tab:red"}


def chart(records: list[dict], path: Path, title: str) -> None:
    """% of bandwidth (log scale) per expression: a panel per output kind, a bar per contender.

    The filtered-table panel shows the % of the physical limit instead (see % lim above).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    exprs = list(dict.fromkeys(r["expression"] for r in records))
    ok = [r for r in records if r["kind"] in KINDS and r["status"] == "ok"]
    rank = {name: k for k, name in enumerate(COLORS)}
    order = sorted({(r["threads"], r["contender"]) for r in ok}, key=lambda t: (t[0], rank.get(t[1], 99)))
    fig, axes = plt.subplots(len(KINDS), 1, figsize=(12, 2.8 * len(KINDS)), sharex=True)
    for ax, kind in zip(axes, KINDS):
        present = [key for key in order if any(r["kind"] == kind and (r["threads"], r["contender"]) == key
                                               for r in ok)]
        width = 0.84 / max(len(present), 1)
        for j, (threads, name) in enumerate(present):
            for i, expr in enumerate(exprs):
                r = next((r for r in ok if r["kind"] == kind and r["expression"] == expr
                          and (r["threads"], r["contender"]) == (threads, name)), None)
                if r is not None:
                    best = r["table_limit_ms"] if kind == "table" else r["reference_ms"]
                    ax.bar(i + (j - (len(present) - 1) / 2) * width, best / r["ms"] * 100, width,
                           color=COLORS.get(name, "grey"), hatch="///" if threads > 1 else None,
                           edgecolor="black" if name == "arrowjit" else "white", linewidth=0.6)
        ax.axhline(100, color="grey", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
        ax.grid(axis="y", which="major", alpha=0.3)
        ax.set_ylabel("table\n% of physical limit" if kind == "table" else f"{kind}\nnp.sum time / time")
    axes[-1].set_xticks(range(len(exprs)), exprs)
    handles = [Patch(color=c, label=n) for n, c in COLORS.items()]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="all cores"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8,
               bbox_to_anchor=(0.5, 0.965))
    fig.suptitle(title, fontsize=10, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)
