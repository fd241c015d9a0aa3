"""Run in a fresh interpreter by latency.py: import and first-compile times, as JSON on stdout.

``python -m benchmarks.fresh import``     time ``import arrowjit``, nothing imported before
``python -m benchmarks.fresh deps``       the same after numpy, pyarrow, pandas, llvmlite, lark
``python -m benchmarks.fresh compile``    first compile, first call, new expressions, cache hits

Only the standard library is imported at the top, so ``import arrowjit`` is timed cold.
"""

from __future__ import annotations

import json
import sys
import time

SCHEMA = {"x": "float64", "y": "float64", "i": "int64", "f32": "float32", "z": "float64"}
FIRST = "x > 2.0 and x < 6.0"
NEW = ("x < 0.001", "(x > 2 and y < 5) or (i % 7 == 3)", "x * 2.5 + y > 10 and f32 < 3.0",
       "i in (1, 5, 17, 300, 999)")
CACHE_HITS = 2000


def stage_timings(f) -> dict[str, float]:
    """Seconds per compiler stage, from what the Filter keeps (empty if it keeps nothing)."""
    stages = dict(getattr(getattr(f, "_front", None), "timings", None) or {})
    for kernel in (getattr(f, "_kernels", None) or {}).values():
        for stage, seconds in (getattr(getattr(kernel, "compiled", None), "timings", None) or {}).items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    return stages


def _compile() -> dict:
    start = time.perf_counter()
    import arrowjit
    out = {"import_s": time.perf_counter() - start}
    from benchmarks.data import generate

    batch = generate(1000)["plain"].batch
    start = time.perf_counter()
    f = arrowjit.compile_filter(FIRST, SCHEMA)
    out["first_s"] = time.perf_counter() - start
    out["first_stages"] = stage_timings(f)
    start = time.perf_counter()
    f.count(batch)
    out["first_call_s"] = time.perf_counter() - start
    out["first_call_stages"] = {k: v - out["first_stages"].get(k, 0.0) for k, v in stage_timings(f).items()}
    out["new"] = []
    for text in NEW:
        start = time.perf_counter()
        g = arrowjit.compile_filter(text, SCHEMA)
        out["new"].append({"text": text, "s": time.perf_counter() - start, "stages": stage_timings(g)})
    start = time.perf_counter()
    for _ in range(CACHE_HITS):
        arrowjit.compile_filter(FIRST, SCHEMA)
    out["cache_hit_s"] = (time.perf_counter() - start) / CACHE_HITS
    return out


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "compile"
    if mode == "compile":
        result = _compile()
    else:
        if mode == "deps":
            import lark  # noqa: F401
            import llvmlite.binding  # noqa: F401
            import numpy  # noqa: F401
            import pandas  # noqa: F401
            import pyarrow  # noqa: F401
        start = time.perf_counter()
        import arrowjit  # noqa: F401
        result = {"import_s": time.perf_counter() - start}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
