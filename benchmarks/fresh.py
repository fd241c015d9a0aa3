"""Run in a fresh interpreter by latency.py: import and compile times, as JSON on stdout.

``python -m benchmarks.fresh import``   time ``import arrowjit``, nothing imported before
``python -m benchmarks.fresh deps``     the same after numpy, pyarrow, pandas, llvmlite, lark
``python -m benchmarks.fresh cold``     (b) first compile of a filter like E3, (c) new expressions
                                        after it, (d) in-process cache hits, (e) template hits;
                                        run with an empty ``ARROWJIT_CACHE_DIR``
``python -m benchmarks.fresh warm``     compile and call the E3-like filter (fills the on-disk cache)
``python -m benchmarks.fresh disk``     (f) the same compile in a new process whose on-disk cache
                                        already holds the kernels and the grammar tables

The cache directory comes from the environment (latency.py makes a new one
per process or per warm/measure pair). Only the standard library is imported
at the top, so ``import arrowjit`` is timed cold.

Every filter is compiled for a batch's own schema, as a user would; Arrow
schemas are nullable unless told otherwise.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

FIRST = "(x > 2 and y < 5) or (i % 7 == 3)"  # E3
NEW = ("x > 2.0 and x < 6.0", "x < 0.001", "x * 2.5 + y > 10 and f32 < 3.0", "i in (1, 5, 17, 300, 999)")
TEMPLATE_FIRST = "x > 2.5"
HITS = 2000
TEMPLATE_HITS = 500  # the filter cache keeps 512 entries: every one of these is a new text


def _split(timings: dict[str, float]) -> tuple[dict[str, float], bool]:
    """Stage seconds without the ``disk_cache_hit`` flag, and the flag."""
    stages = dict(timings)
    return stages, bool(stages.pop("disk_cache_hit", 0.0))


def stages_of(f) -> dict:
    """Seconds per stage of ``f``'s front end and of the kernel compiled with it (its first tier:
    quick code, or O3 code from the on-disk cache), and of the O3 code compiled after it, if any."""
    front = dict(getattr(f._front, "timings", None) or {})
    kernel = f._kernel(f._default_nulls, quick=True)
    first = kernel.tiers[0]
    stages, disk_hit = _split(first.timings)
    out = {"stages": front | stages, "disk_cache_hit": disk_hit, "tier": "O3" if first.optimized else "quick"}
    optimized = kernel.wait_optimized().compiled
    out["optimized_stages"] = _split(optimized.timings)[0] if optimized is not first else {}
    return out


def _later_kernels(f, before: set) -> dict:
    """Stage seconds of the kernels a call compiled (another nulls variant than compile_filter's)."""
    stages, hits, variants = {}, [], []
    for nulls, kernel in list(f._kernels.items()):
        if nulls in before:
            continue
        timings, hit = _split(kernel.compiled.timings)
        hits.append(hit)
        variants.append(sorted(nulls.columns))
        for name, seconds in timings.items():
            stages[name] = stages.get(name, 0.0) + seconds
    return {"stages": stages, "disk_cache_hit": all(hits) if hits else None, "variants": variants}


def _timed_compile(arrowjit, text: str, batch) -> dict:
    """compile_filter(text) and then a first count: times and stages of each, and when the O3
    code replaced the quick code (seconds from the start of compile_filter)."""
    start = time.perf_counter()
    f = arrowjit.compile_filter(text, batch.schema)
    compile_s = time.perf_counter() - start
    before = set(f._kernels)
    call_start = time.perf_counter()
    f.count(batch)
    first_call_s = time.perf_counter() - call_start
    first_call = _later_kernels(f, before)  # (before the background adds the exact variant)
    f._kernel(f._default_nulls)  # waits for the O3 code
    optimized_s = time.perf_counter() - start
    out = {"text": text, "s": compile_s, "optimized_s": optimized_s} | stages_of(f)
    out["first_call_s"] = first_call_s
    out["first_call"] = first_call
    return out


def _per_call(fn, texts) -> float:
    """Median seconds of one ``fn(text)``, each call timed on its own."""
    samples = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _batch():
    from benchmarks.data import generate

    return generate(1000)["plain"].batch


def _cold() -> dict:
    start = time.perf_counter()
    import arrowjit
    out = {"import_s": time.perf_counter() - start}
    batch = _batch()
    out["first"] = _timed_compile(arrowjit, FIRST, batch)  # (b)
    out["new"] = [_timed_compile(arrowjit, text, batch) for text in NEW]  # (c)
    # (d) the same text again: one lookup in the filter cache.
    schema, mapping = batch.schema, {f.name: str(f.type) for f in batch.schema}
    out["hit_s"] = _per_call(lambda text: arrowjit.compile_filter(text, schema), [FIRST] * HITS)
    out["hit_dict_schema_s"] = _per_call(lambda text: arrowjit.compile_filter(text, mapping), [FIRST] * HITS)
    # (e) the same shape with another literal: x > 2.5 compiles, x > 3.1 and the rest bind its kernel.
    first = arrowjit.compile_filter(TEMPLATE_FIRST, schema)
    first.count(batch)
    texts = [f"x > {3.1 + k / 1000:.4f}" for k in range(TEMPLATE_HITS)]
    out["template_hit_s"] = _per_call(lambda text: arrowjit.compile_filter(text, schema), texts)
    last = arrowjit.compile_filter(texts[-1], schema)
    out["template_shares_kernel"] = last._kernel(last._default_nulls) is first._kernel(first._default_nulls)
    threshold = float(texts[-1].split()[-1])
    out["template_count_ok"] = last.count(batch) == int((batch.column("x").to_numpy() > threshold).sum())
    return out


def _warm() -> dict:
    import arrowjit

    batch = _batch()
    arrowjit.compile_filter(FIRST, batch.schema).count(batch)
    return {}


def _disk() -> dict:
    start = time.perf_counter()
    import arrowjit
    out = {"import_s": time.perf_counter() - start}
    out["first"] = _timed_compile(arrowjit, FIRST, _batch())
    return out


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "cold"
    if mode in ("import", "deps"):
        if mode == "deps":
            import lark  # noqa: F401
            import llvmlite.binding  # noqa: F401
            import numpy  # noqa: F401
            import pandas  # noqa: F401
            import pyarrow  # noqa: F401
        start = time.perf_counter()
        import arrowjit  # noqa: F401
        result = {"import_s": time.perf_counter() - start}
    else:
        result = {"cold": _cold, "warm": _warm, "disk": _disk}[mode]()
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
