"""Fixed costs: compile latency by stage, import time, and calls on a 1,000-row batch.

The ``compile`` section runs :mod:`benchmarks.fresh` in new interpreters (a
first compile is only first once per process), each with its own new
``ARROWJIT_CACHE_DIR``, and reports medians over ``repeats`` processes. The
``small`` section runs in this process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL_ROWS = 1000


def _fresh(mode: str, cache_dir: str | Path) -> dict:
    env = dict(os.environ, ARROWJIT_CACHE_DIR=str(cache_dir), ARROWJIT_TIERED="1")  # the default
    env.pop("ARROWJIT_CACHE", None)
    out = subprocess.run([sys.executable, "-m", "benchmarks.fresh", mode], cwd=ROOT, check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def _ms(values) -> float:
    return statistics.median(values) * 1e3


def _median_stages(dicts: list[dict[str, float]]) -> dict[str, float]:
    """Median milliseconds per stage, plus ``other``: the part of the total no stage accounts for."""
    keys = dict.fromkeys(k for d in dicts for k in d)
    return {k: statistics.median(d.get(k, 0.0) for d in dicts) * 1e3 for k in keys}


def _summary(timed: list[dict]) -> dict:
    """Medians over fresh.py's ``_timed_compile`` results."""
    other = [t["s"] - sum(t["stages"].values()) for t in timed]
    return {"ms": _ms(t["s"] for t in timed),
            "stages_ms": _median_stages([t["stages"] for t in timed]) | {"other": _ms(other)},
            "disk_cache_hits": sum(t["disk_cache_hit"] for t in timed), "samples": len(timed),
            "first_call_ms": _ms(t["first_call_s"] for t in timed),
            "first_call_stages_ms": _median_stages([t["first_call"]["stages"] for t in timed]),
            "first_call_variants": timed[0]["first_call"]["variants"],
            "to_first_result_ms": _ms(t["s"] + t["first_call_s"] for t in timed),
            "tiers": sorted({t["tier"] for t in timed}),
            "optimized_ms": _ms(t["optimized_s"] for t in timed),
            "optimized_stages_ms": _median_stages([t["optimized_stages"] for t in timed])}


def compile_section(repeats: int) -> dict:
    """Medians over ``repeats`` fresh processes (each with a new, empty on-disk cache unless said).

    (a) import; (b) the first compile of an E3-like filter with an empty
    cache; (c) new expressions after it; (d) in-process hits; (e) template
    hits; (f) an on-disk hit: one process fills a new cache directory, a
    second one compiles the same filter.
    """
    imports, after_deps, cold, disk = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="arrowjit-bench-cache-") as scratch:
        for r in range(repeats):  # interleaved, so slow spells of a busy machine hit every kind
            imports.append(_fresh("import", Path(scratch, f"import{r}"))["import_s"])
            after_deps.append(_fresh("deps", Path(scratch, f"deps{r}"))["import_s"])
            cold.append(_fresh("cold", Path(scratch, f"cold{r}")))
            _fresh("warm", Path(scratch, f"disk{r}"))
            disk.append(_fresh("disk", Path(scratch, f"disk{r}")))
    new = [n for r in cold for n in r["new"]]
    return {
        "repeats": repeats,
        "first_text": cold[0]["first"]["text"],
        "new_texts": [n["text"] for n in cold[0]["new"]],
        "import_ms": _ms(imports),
        "import_after_deps_ms": _ms(after_deps),
        "import_in_cold_process_ms": _ms(r["import_s"] for r in cold),
        "first": _summary([r["first"] for r in cold]),
        "new": _summary(new),
        "new_by_text_ms": {text: _ms(n["s"] for n in new if n["text"] == text)
                           for text in dict.fromkeys(n["text"] for n in new)},
        "hit_us": statistics.median(r["hit_s"] for r in cold) * 1e6,
        "hit_dict_schema_us": statistics.median(r["hit_dict_schema_s"] for r in cold) * 1e6,
        "template_hit_us": statistics.median(r["template_hit_s"] for r in cold) * 1e6,
        "template_shares_kernel": all(r["template_shares_kernel"] for r in cold),
        "template_count_ok": all(r["template_count_ok"] for r in cold),
        "disk": _summary([r["first"] for r in disk]),
        "import_in_disk_process_ms": _ms(r["import_s"] for r in disk),
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
