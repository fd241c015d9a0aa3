"""The O3 pipeline pass by pass (``Filter.ir("passes")``, compiler/passes.py)."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

import arrowjit
from arrowjit.compiler.passes import PassRun, parse, pass_report

SCHEMA = {"x": "float64", "i": "int32"}


@pytest.fixture(scope="module")
def between():
    f = arrowjit.compile_filter("x > 2.0 and x < 6.0", SCHEMA)
    kernel = f._kernel(f._default_nulls).compiled
    return f, kernel, pass_report(kernel.llvm_ir, f.target)


def test_the_runs_chain_from_the_unoptimized_to_the_optimized_module(between):
    _, kernel, report = between
    assert report.initial == kernel.llvm_ir
    assert report.final == kernel.optimized_ir
    module = report.initial
    for run in report.changed:
        assert run.before == module, f"{run.name} did not start from the previous module"
        assert run.after != run.before
        module = run.after
    assert module == report.final  # nothing changed the module unseen


def test_the_passes_a_reader_looks_for_changed_the_kernel(between):
    _, _, report = between
    changed = {run.name for run in report.changed}
    assert {"AlwaysInlinerPass", "InstCombinePass", "LoopVectorizePass", "SROAPass"} <= changed
    inliner = next(run for run in report.changed if run.name == "AlwaysInlinerPass")
    removed = [line for line in inliner.diff().splitlines() if line.startswith("-")]
    assert any(re.search(r"call (fastcc )?i1 @greater_than_float64_float64", line) for line in removed)
    vectorizer = next(run for run in report.changed if run.name == "LoopVectorizePass")
    added = [line for line in vectorizer.diff().splitlines() if line.startswith("+")]
    assert any(re.search(r"fcmp o[gl]t <\d+ x double>", line) for line in added)
    assert not any(re.search(r"<\d+ x double>", line) for line in removed)


def test_unchanged_passes_are_counted_not_shown(between):
    f, _, report = between
    unchanged = report.unchanged_counts()
    assert sum(unchanged.values()) + len(report.changed) == len(report.runs)
    assert unchanged["SLPVectorizerPass"] == 1  # the loop vectorizer left it nothing to do
    text = f.ir("passes")
    header = text.splitlines()[:3]
    assert header[0] == f"; the O3 pipeline, pass by pass, for {f.target.short_name}"
    assert header[2] == (f"; {len(report.runs)} pass runs: {len(report.changed)} changed the module, "
                         f"{len(report.runs) - len(report.changed)} changed nothing")
    # One banner and one diff per changed pass, numbered in pipeline order.
    banners = re.findall(r"^=+ (\d+)\. (\S+) on (.+?) \(\+\d+ -\d+\) =+$", text, re.M)
    assert [(int(n), name) for n, name, _ in banners] == \
        [(k, run.name) for k, run in enumerate(report.changed, 1)]
    assert text.count("\n--- before\n") == len(report.changed)
    assert "omitted because no change" not in text


def test_the_view_is_deterministic_and_has_no_addresses(between):
    f, kernel, report = between
    first = report.render()
    pass_report.cache_clear()
    assert pass_report(kernel.llvm_ir, f.target).render() == first
    assert not re.findall(r"0x[0-9a-f]{8,}", first)


def test_the_calling_process_is_left_alone(capfd):
    f = arrowjit.compile_filter("i * 3 > 7", SCHEMA)
    assert "LoopVectorizePass" in f.ir("passes")
    g = arrowjit.compile_filter("i * 5 > 8 or x < -1.5", SCHEMA, parameterize=False)
    batch = pa.record_batch({"x": pa.array([0.0, -2.0]), "i": pa.array([1, 2], pa.int32())})
    assert g.count(batch) == 1  # row 0: 5 > 8 and 0.0 < -1.5 are false; row 1: both true
    captured = capfd.readouterr()
    assert "IR Dump" not in captured.err and "IR Dump" not in captured.out


def test_passes_gives_the_report_itself(between):
    f, _, report = between
    assert f.passes() == report
    assert f.passes().render() == f.ir("passes")


def test_projection_passes():
    p = arrowjit.compile_projection(["x * 2.0 + 1.0"], SCHEMA)
    text = p.ir("passes")
    assert text.startswith("; the O3 pipeline, pass by pass")
    assert "LoopVectorizePass on projection_kernel" in text


def test_parse_reads_llvm_print_changed_output():
    output = "\n".join([
        "*** IR Dump At Start ***", "define void @f() {", "  ret void", "}",
        "*** IR Dump After AlphaPass on [module] omitted because no change ***",
        "*** IR Dump After BetaPass on f ***", "define void @f() #0 {", "  ret void", "}",
        "*** IR Pass PassManager<llvm::Function> on f ignored ***",
        "*** IR Dump After AlphaPass on loop %l in function f omitted because no change ***",
        "; ---- arrowjit: final module ----", "define void @f() #0 {", "  ret void", "}", ""])
    report = parse(output, arrowjit.compile_filter("x > 1.0", SCHEMA).target)
    assert report.initial == "define void @f() {\n  ret void\n}\n"
    assert report.runs == (
        PassRun(0, "AlphaPass", "[module]", False, "", ""),
        PassRun(1, "BetaPass", "f", True, report.initial, "define void @f() #0 {\n  ret void\n}\n"),
        PassRun(2, "AlphaPass", "loop %l in function f", False, "", ""),
    )
    assert report.final == report.runs[1].after
    assert report.unchanged_counts() == {"AlphaPass": 2}
    assert report.runs[1].counts() == (1, 1)


def test_garbage_output_is_a_compiler_error():
    with pytest.raises(arrowjit.CompilerError):
        parse("nothing here", arrowjit.compile_filter("x > 1.0", SCHEMA).target)
