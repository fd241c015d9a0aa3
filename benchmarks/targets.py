"""The issue's targets, checked against a result (run.py prints them and keeps them in the JSON).

Each check gives the target, what was measured, whether it is met and by
how much it is met or missed. Throughput targets use arrowjit at one thread
unless they say otherwise; "x faster" is the fastest peer's median time
over arrowjit's at the same thread count.
"""

from __future__ import annotations

from .report import best_peer_ms, scaling


def _record(records: list[dict], expr: str, kind: str, contender: str = "arrowjit", threads: int = 1):
    return next((r for r in records if r["expression"] == expr and r["kind"] == kind
                 and r["contender"] == contender and r["threads"] == threads and r["status"] == "ok"), None)


def _check(target: str, measured: str, met: bool, margin: str) -> dict:
    return {"target": target, "measured": measured, "met": met, "margin": margin}


def _at_least(target: str, value: float, goal: float, unit: str, fmt: str = ".2f") -> dict:
    met = value >= goal
    margin = (f"met by {value / goal - 1:.0%}" if met
              else f"missed: {value:{fmt}}{unit} of {goal:{fmt}}{unit}, {1 - value / goal:.0%} short")
    return _check(target, f"{value:{fmt}}{unit}", met, margin)


def _at_most(target: str, value: float, goal: float, unit: str, fmt: str = ".1f") -> dict:
    met = value <= goal
    margin = (f"met with {1 - value / goal:.0%} to spare" if met
              else f"missed: {value / goal:.2f}x the target ({value - goal:{fmt}} {unit} over)")
    return _check(target, f"{value:{fmt}} {unit}", met, margin)


def throughput(records: list[dict], threads_all: int) -> list[dict]:
    exprs = {r["expression"] for r in records}
    out = []
    for expr in ("E1", "E2", "E5"):
        r = _record(records, expr, "mask")
        if r:
            check = _at_least(f"{expr} mask, 1 thread: >= 80% of the np.sum bandwidth",
                              r["reference_ms"] / r["ms"] * 100, 80, "%", ".0f")
            check["measured"] += (f" ({r['ms']:.2f} ms vs np.sum {r['reference_ms']:.2f} ms; "
                                  f"{r['stream_ms'] / r['ms']:.0%} of the stream reference)")
            out.append(check)
    for expr, kind, goal in (("E1", "mask", 2), ("E3", "mask", 2), ("E4", "mask", 2), ("E5", "mask", 2),
                             ("E1", "indices", 2.5), ("E1", "table", 2)):
        r = _record(records, expr, kind)
        rows = [x for x in records if x["expression"] == expr and x["kind"] == kind]
        best = best_peer_ms(rows, 1)
        if not (r and best):
            continue
        peer = next(x for x in rows if x["threads"] == 1 and x["status"] == "ok" and x["ms"] == best
                    and x["contender"] != "arrowjit")
        name = "filtered 5-column table" if kind == "table" else kind
        check = _at_least(f"{expr} {name}, 1 thread: >= {goal}x faster than the fastest peer",
                          best / r["ms"], goal, "x")
        check["measured"] += f" ({r['ms']:.2f} ms vs {peer['contender']} {best:.2f} ms)"
        if kind in ("mask", "count") and "stream_ms" in r:
            # The physical limit: reading the predicate's bytes once (the stream reference); the
            # bitmap written is 1/64 of a float64 column. The issue's rule: 80% of it meets the goal.
            share = r["stream_ms"] / r["ms"] * 100
            check["measured"] += f"; {share:.0f}% of the physical limit (stream {r['stream_ms']:.2f} ms)"
            if not check["met"] and share >= 80:
                check["met"], check["margin"] = True, f"met through the limit: {share:.0f}% >= 80%"
            elif not check["met"]:
                check["margin"] += f"; and {share:.0f}% of the physical limit < 80%"
        if kind == "table":
            share = r["table_limit_ms"] / r["ms"] * 100
            check["measured"] += f"; {share:.0f}% of the physical limit ({r['table_limit_ms']:.2f} ms)"
            if not check["met"] and share >= 80:
                check["met"], check["margin"] = True, f"met through the limit: {share:.0f}% >= 80%"
            elif not check["met"]:
                check["margin"] += f"; and {share:.0f}% of the physical limit < 80%"
        out.append(check)
    if threads_all > 1:
        ratios, machine = scaling(records, threads_all), scaling(records, threads_all, "stream")
        for expr in ("E1", "E4"):
            for kind in ("count", "mask"):
                if (expr, kind) in ratios and expr in exprs:
                    goal = f"{expr} {kind}: {threads_all} threads >= 1.5x one thread's throughput"
                    out.append(_at_least(goal, ratios[expr, kind], 1.5, "x"))
                    if (expr, "reference") in machine:
                        itself = machine[expr, "reference"]
                        out[-1]["measured"] += (f" (the stream reference itself: {itself:.2f}x "
                                                f"from 1 to {threads_all} threads)")
                    mine = _record(records, expr, kind, threads=threads_all)
                    limit = _record(records, expr, "reference", "stream", threads_all)
                    if mine and limit:
                        # At every core the limit is the stream reference at every core.
                        share = limit["ms"] / mine["ms"] * 100
                        out[-1]["measured"] += (f"; {threads_all} threads at {share:.0f}% of the physical "
                                                f"limit (stream {limit['ms']:.2f} ms)")
                        if not out[-1]["met"] and share >= 80:
                            out[-1]["met"] = True
                            out[-1]["margin"] = f"met through the limit: {share:.0f}% >= 80%"
                        elif not out[-1]["met"]:
                            out[-1]["margin"] += f"; and {share:.0f}% of the physical limit < 80%"
    return out


def fixed_costs(compile_result: dict | None, small: list[dict] | None, params: dict | None) -> list[dict]:
    out = []
    if compile_result:
        c = compile_result
        out.append(_at_most("compile a new filter like E3, fresh process, empty cache: <= 30 ms",
                            c["first"]["ms"], 30, "ms"))
        out[-1]["measured"] += (f" (quick tier; + {c['first']['first_call_ms']:.1f} ms in the first call, "
                                f"{c['first']['to_first_result_ms']:.1f} ms string to first result; "
                                f"O3 code in {c['first']['optimized_ms']:.1f} ms)")
        out.append(_at_most("(extra, not an issue target) compile a new expression in a process that has "
                            "compiled one: <= 30 ms", c["new"]["ms"], 30, "ms"))
        out[-1]["extra"] = True
        out[-1]["measured"] += (f" (+ {c['new']['first_call_ms']:.1f} ms in the first call, "
                                f"{c['new']['to_first_result_ms']:.1f} ms string to first result)")
        out.append(_at_most("in-process cache hit: <= 20 us", c["hit_us"], 20, "us"))
        out.append(_at_most("on-disk cache hit in a fresh process: <= 5 ms", c["disk"]["ms"], 5, "ms"))
        out[-1]["measured"] += (f" (+ {c['disk']['first_call_ms']:.1f} ms in the first call; "
                                f"{c['disk']['disk_cache_hits']}/{c['disk']['samples']} loaded from disk)")
        out.append(_at_most("import arrowjit: <= 300 ms", c["import_ms"], 300, "ms"))
    for r in small or []:
        worst = max(r["arrowjit_count_us"], r["arrowjit_mask_us"])
        goal = f"{r['expression']} on {r['rows']:,} rows: <= 20 us per count or mask"
        out.append(_at_most(goal, worst, 20, "us"))
        out[-1]["measured"] += f" (count {r['arrowjit_count_us']:.1f}, mask {r['arrowjit_mask_us']:.1f})"
    if params:
        k = params["kernel"]
        for kind in ("count", "mask"):
            ratio = k[f"param/baked {kind}"]
            met = abs(ratio - 1) <= 0.05
            out.append(_check(f"parameterized E1 {kind} within 5% of baked literals", f"{ratio:.3f}x "
                              f"(per-run median {k[f'param/baked {kind} per-run median']:.3f}x)", met,
                              f"{'met' if met else 'missed'}: {ratio - 1:+.1%}"))
    if compile_result:
        out.append(_at_most("new literal for a seen shape (x > 2.5, then x > 3.1): <= 20 us",
                            compile_result["template_hit_us"], 20, "us"))
    return out


def evaluate(result: dict) -> list[dict]:
    return (throughput(result["throughput"], result["machine"]["cores"])
            + fixed_costs(result.get("compile"), result.get("small"), result.get("params")))


def table(checks: list[dict]) -> str:
    lines = []
    for c in checks:
        lines.append(f"  {'MET   ' if c['met'] else 'MISSED'}  {c['target']}\n"
                     f"          {c['measured']}; {c['margin']}")
    issue = [c for c in checks if not c.get("extra")]
    extra = [c for c in checks if c.get("extra")]
    lines.append(f"  {sum(c['met'] for c in issue)} of the issue's {len(issue)} targets met"
                 + (f" (and {sum(c['met'] for c in extra)} of {len(extra)} extra checks)" if extra else ""))
    return "\n".join(lines)
