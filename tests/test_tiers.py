"""Two tiers: a new kernel runs quick code (O0) at once, and O3 code replaces it when compiled.

Both tiers compile the same IR, so they give the same answers; only O3 code
goes to the on-disk cache; ``.ir("optimized")`` and ``.ir("asm")`` show O3
code. (The time each tier takes is measured by the benchmark, not here.)
"""

import copy
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit.compiler import jit

N = 1000
rng = np.random.default_rng(7)
X = pa.array(rng.uniform(0, 10, N), mask=rng.random(N) < 0.1)
Y = pa.array(rng.uniform(0, 10, N), mask=rng.random(N) < 0.1)
INTS = pa.array(rng.integers(0, 1000, N), mask=rng.random(N) < 0.1)
S = pa.array([f"k{v:03d}" for v in rng.integers(0, 1000, N)], mask=rng.random(N) < 0.1)
BATCH = pa.record_batch({"x": X, "y": Y, "i": INTS, "s": S})

# expression -> the same predicate in pyarrow.compute (rows where it is null are not kept)
CASES = {
    "x > 2.0 and x < 6.0": pc.and_kleene(pc.greater(X, 2.0), pc.less(X, 6.0)),
    "(x > 2 and y < 5) or (i % 7 == 3)": pc.or_kleene(
        pc.and_kleene(pc.greater(X, 2), pc.less(Y, 5)),
        pc.equal(pa.array([None if v is None else v % 7 for v in INTS.to_pylist()], pa.int64()), 3)),
    "x * 2.5 + y > 10": pc.greater(pc.add(pc.multiply(X, 2.5), Y), 10),
    "i in (1, 5, 17, 300, 999)": pc.is_in(INTS, pa.array([1, 5, 17, 300, 999])),
    "s == 'k042' or s like 'k9%'": pc.or_kleene(pc.equal(S, "k042"), pc.starts_with(S, "k9")),
}


def _expected(predicate: pa.Array) -> list[bool]:
    return pc.fill_null(predicate, False).to_pylist()


def _quick_filter(expr: str) -> arrowjit.Filter:
    """A Filter whose kernel is quick code and stays so (no O3 compile to replace it)."""
    f = copy.copy(arrowjit.compile_filter(expr, BATCH.schema))  # (a Filter of its own)
    nulls = f._default_nulls
    quick = f._back_end(nulls, quick=True)
    assert not quick.optimized and quick.compiled.level == jit.QUICK
    f._kernels = {nulls: quick}
    return f


@pytest.mark.parametrize("expr", CASES)
def test_quick_code_gives_the_answers_o3_code_gives(expr, monkeypatch):
    monkeypatch.setenv("ARROWJIT_CACHE", "0")  # (so the quick tier is compiled, not loaded)
    quick = _quick_filter(expr)
    optimized = arrowjit.compile_filter(expr, BATCH.schema, parameterize=False)
    optimized._kernel(optimized._default_nulls)  # waits for the O3 code
    expected = _expected(CASES[expr])
    for f in (quick, optimized):
        assert f.mask(BATCH).to_pylist() == expected
        assert f.mask(BATCH.slice(3, 611)).to_pylist() == expected[3:614]
        assert f.count(BATCH) == sum(expected)
        assert f.indices(BATCH).to_pylist() == [k for k, kept in enumerate(expected) if kept]
    assert quick._kernels[quick._default_nulls].compiled.level == jit.QUICK  # it ran quick code


def test_a_new_filter_starts_quick_and_runs_o3_code_once_compiled(monkeypatch):
    monkeypatch.setenv("ARROWJIT_CACHE", "0")
    f = arrowjit.compile_filter("x > 1.25 and y <= 7.5 and i != 12", BATCH.schema)
    kernel = f._kernel(f._default_nulls, quick=True)
    assert kernel.tiers[0].level == jit.QUICK
    expected = _expected(pc.and_kleene(pc.and_kleene(pc.greater(X, 1.25), pc.less_equal(Y, 7.5)),
                                       pc.not_equal(INTS, 12)))
    assert f.mask(BATCH).to_pylist() == expected  # whichever tier runs
    assert f._kernel(f._default_nulls) is kernel  # waits for the O3 code: the same kernel, upgraded
    assert [t.level for t in kernel.tiers] == [jit.QUICK, jit.OPTIMIZED]
    assert kernel.optimized and kernel.compiled is kernel.tiers[-1]
    assert f.mask(BATCH).to_pylist() == expected
    # The O3 code is what the stages show: vector code (of whatever width this CPU gets).
    assert re.search(r"<\d+ x (double|i1|i64)>", f.ir("optimized"))
    assert kernel.tiers[0].optimized_ir != f.ir("optimized")


def test_arrowjit_tiered_0_compiles_o3_code_at_once(monkeypatch):
    monkeypatch.setenv("ARROWJIT_CACHE", "0")
    monkeypatch.setenv("ARROWJIT_TIERED", "0")
    f = arrowjit.compile_filter("x >= 1.75 and y < 3.5 and i != 13", BATCH.schema)  # (a new shape)
    kernel = f._kernel(f._default_nulls, quick=True)
    assert [t.level for t in kernel.tiers] == [jit.OPTIMIZED] and kernel.pending is None


def test_only_o3_code_goes_to_the_disk_and_a_hit_skips_the_quick_tier(tmp_path, monkeypatch):
    arrowjit.compiled._tier_up().submit(lambda: None).result()  # (earlier tests' O3 compiles are done)
    monkeypatch.setenv("ARROWJIT_CACHE_DIR", str(tmp_path))
    text = "x > 2.25 or y <= 3.25 and i != 14"  # (a new shape)
    quick = jit.compile_ir("define i64 @f(i64 %a) {\n  ret i64 %a\n}\n", "f", cache_key="a-key", quick=True)
    assert quick.level == jit.QUICK and not list(tmp_path.glob("*.kernel"))  # not stored
    f = arrowjit.compile_filter(text, BATCH.schema)
    f._kernel(f._default_nulls)  # the O3 code, compiled in the background, is stored
    assert len(list(tmp_path.glob("*.kernel"))) == 1
    arrowjit.compiled.KERNELS.clear()
    arrowjit.filter._FILTERS.clear()
    arrowjit.filter._SHAPES.clear()
    again = arrowjit.compile_filter(text, BATCH.schema)
    kernel = again._kernel(again._default_nulls, quick=True)
    assert [t.level for t in kernel.tiers] == [jit.OPTIMIZED]
    assert "disk_cache_hit" in kernel.compiled.timings


def test_a_projection_starts_quick_too_and_gives_the_same_values(monkeypatch):
    monkeypatch.setenv("ARROWJIT_CACHE", "0")
    p = arrowjit.compile_projection({"z": "x * 2.5 + y", "k": "i % 7"}, BATCH.schema)
    kernel = p._kernel(p._default_nulls, quick=True)
    assert kernel.tiers[0].level == jit.QUICK
    first = p(BATCH)
    p._kernel(p._default_nulls)
    assert kernel.optimized
    assert p(BATCH).equals(first)
    assert first.column("z").equals(pc.add(pc.multiply(X, 2.5), Y))


def _in_forked_child(expr: str, queue) -> None:
    f = arrowjit.compile_filter(expr, BATCH.schema)  # the parent's Filter, from the cache
    kernel = f._kernel(f._default_nulls)  # O3 code: the parent's compile cannot finish here
    new = arrowjit.compile_filter("x > 1.0 or i = 999", BATCH.schema)  # a compile of the child's own
    new._kernel(new._default_nulls)
    queue.put((kernel.optimized, f.count(BATCH), new._kernel(new._default_nulls).optimized, new.count(BATCH)))


def test_a_process_forked_while_the_o3_code_compiles_gets_o3_code_of_its_own(monkeypatch):
    import multiprocessing

    monkeypatch.setenv("ARROWJIT_CACHE", "0")
    expr = "x > 0.5 and y > 0.5 and i > 5 and x * y < 40"
    f = arrowjit.compile_filter(expr, BATCH.schema)
    assert not f._kernel(f._default_nulls, quick=True).tiers[0].optimized
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_forked_child, args=(expr, queue))
    child.start()  # (likely while the tier-up thread compiles O3 code: fork waits for it to finish)
    try:
        result = queue.get(timeout=120)
    finally:
        child.join(timeout=60)
    expected = _expected(pc.and_kleene(pc.and_kleene(pc.and_kleene(pc.greater(X, 0.5), pc.greater(Y, 0.5)),
                                                     pc.greater(INTS, 5)), pc.less(pc.multiply(X, Y), 40)))
    other = _expected(pc.or_kleene(pc.greater(X, 1.0), pc.equal(INTS, 999)))
    assert result == (True, sum(expected), True, sum(other))
    assert child.exitcode == 0
