"""Turn measurements into a printed table, a JSON file and a PNG chart.

Definitions used in the table:

* GB/s: the bytes the predicate reads (its columns' data buffers, plus the
  validity bitmap for E7) divided by the time. The same bytes are used for
  every output kind, so the filtered table's gather is not counted as input.
* % bw: the ``np.sum`` reference time over those same bytes, measured in the
  same process and interleaved with the contenders, divided by the
  contender's time. Above 100% means faster than ``np.sum`` reads the data.
* vs best: the fastest peer's time (peers: every contender but arrowjit, at
  the same thread count) divided by this contender's time; above 1.00x means
  faster than the fastest peer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from .expressions import KINDS

_HEADER = f"  {'output':<8}{'contender':<11}{'thr':>4}{'ms':>10}{'GB/s':>8}{'% bw':>8}{'vs best':>9}"


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
    note = f"  ({r['note']})" if r.get("note") else ""
    return (f"{lead}{ms:>10.2f}{r['bytes'] / ms / 1e6:>8.1f}"
            f"{r['reference_ms'] / ms * 100:>7.0f}%{ratio}{note}")


def throughput_table(records: list[dict]) -> str:
    lines = []
    groups = _group(records)
    for expr in dict.fromkeys(r["expression"] for r in records):
        first = next(r for r in records if r["expression"] == expr)
        refs = {r["threads"]: r for r in records if r["expression"] == expr and r["kind"] == "reference"}
        ref = refs.get(1) or next(iter(refs.values()))
        lines += ["", f"{expr}  {first['text']!r} on {first['dataset']} data: {first['rows']:,} rows, "
                  f"{first['selected']:,} selected; reads {first['bytes'] / 1e6:.1f} MB; "
                  f"np.sum reference {ref['ms']:.2f} ms = {first['bytes'] / ref['ms'] / 1e6:.1f} GB/s",
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


def compile_table(c: dict) -> str:
    def stages(d: dict) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in d.items())

    return "\n".join([
        f"  import arrowjit (fresh process)          {c['import_ms']:8.1f} ms",
        f"  import arrowjit after its dependencies   {c['import_after_deps_ms']:8.1f} ms",
        f"  first compile_filter in a process        {c['first_compile_ms']:8.1f} ms   "
        f"({stages(c['first_compile_stages_ms'])})",
        f"  first call on a batch (kernel compiles)  {c['first_call_ms']:8.1f} ms   "
        f"({stages(c['first_call_stages_ms'])})",
        f"  a new expression after that (median)     {c['new_expression_ms']:8.1f} ms   "
        f"({stages(c['new_expression_stages_ms'])})",
        f"  compile_filter cache hit                 {c['cache_hit_us']:8.1f} us",
        f"  (medians over {c['repeats']} fresh processes; stage times in ms)",
    ])


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
    """% of bandwidth (log scale) per expression: a panel per output kind, a bar per contender."""
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
                    ax.bar(i + (j - (len(present) - 1) / 2) * width, r["reference_ms"] / r["ms"] * 100, width,
                           color=COLORS.get(name, "grey"), hatch="///" if threads > 1 else None,
                           edgecolor="black" if name == "arrowjit" else "white", linewidth=0.6)
        ax.axhline(100, color="grey", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
        ax.grid(axis="y", which="major", alpha=0.3)
        ax.set_ylabel(f"{kind}\nnp.sum time / time")
    axes[-1].set_xticks(range(len(exprs)), exprs)
    handles = [Patch(color=c, label=n) for n, c in COLORS.items()]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="all cores"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8,
               bbox_to_anchor=(0.5, 0.965))
    fig.suptitle(title, fontsize=10, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(path, dpi=110)
    plt.close(fig)
