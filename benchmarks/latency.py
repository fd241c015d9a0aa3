"""Fixed costs: compile latency by stage, import time, and calls on a 1,000-row batch.

The ``compile`` section runs :mod:`benchmarks.fresh` in new interpreters (a
first compile is only first once per process) and reports medians over
``repeats`` processes. The ``small`` section runs in this process.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL_ROWS = 1000


def _fresh(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.fresh", mode], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def _median_stages(dicts: list[dict[str, float]]) -> dict[str, float]:
    keys = dict.fromkeys(k for d in dicts for k in d)
    return {k: statistics.median(d.get(k, 0.0) for d in dicts) * 1e3 for k in keys}


def compile_section(repeats: int) -> dict:
    """Milliseconds (cache hit: microseconds), medians over ``repeats`` fresh processes."""
    runs = [_fresh("compile") for _ in range(repeats)]
    imports = [_fresh("import")["import_s"] for _ in range(repeats)]
    after_deps = [_fresh("deps")["import_s"] for _ in range(repeats)]
    new = [n for r in runs for n in r["new"]]
    return {
        "repeats": repeats,
        "import_ms": statistics.median(imports) * 1e3,
        "import_after_deps_ms": statistics.median(after_deps) * 1e3,
        "first_compile_ms": statistics.median(r["first_s"] for r in runs) * 1e3,
        "first_compile_stages_ms": _median_stages([r["first_stages"] for r in runs]),
        "first_call_ms": statistics.median(r["first_call_s"] for r in runs) * 1e3,
        "first_call_stages_ms": _median_stages([r["first_call_stages"] for r in runs]),
        "new_expression_ms": statistics.median(n["s"] for n in new) * 1e3,
        "new_expression_stages_ms": _median_stages([n["stages"] for n in new]),
        "cache_hit_us": statistics.median(r["cache_hit_s"] for r in runs) * 1e6,
    }


def _per_call_us(fn, calls: int, repeats: int = 5) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples) * 1e6


def _small_calls(expr, data) -> dict:
    """The calls timed on a small batch, as zero-argument functions."""
    import numpy as np

    import arrowjit

    f = arrowjit.compile_filter(expr.text, data.batch.schema)
    batch, cols = data.batch, data.numpy
    return {
        "arrowjit_count_us": lambda: f.count(batch),
        "arrowjit_mask_us": lambda: f.mask(batch),
        "numpy_count_us": lambda: np.count_nonzero(expr.numpy(cols)),
        "numpy_mask_us": lambda: expr.numpy(cols),
    }


def small_section(calls: int, only: str | None = None) -> list[dict]:
    """Microseconds per call on a 1,000-row batch: arrowjit count and mask, numpy for scale."""
    from .data import generate
    from .expressions import select

    datasets = generate(SMALL_ROWS)
    rows = []
    for expr in select(only):
        timed = _small_calls(expr, datasets[expr.dataset])
        row = {"expression": expr.name, "text": expr.text, "rows": SMALL_ROWS}
        rows.append(row | {key: _per_call_us(fn, calls) for key, fn in timed.items()})
    return rows
