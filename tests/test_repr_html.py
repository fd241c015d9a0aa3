"""Filter._repr_html_ and Projection._repr_html_: what a notebook shows (arrowjit/highlight.py)."""

from __future__ import annotations

import re
import sys

import arrowjit
from arrowjit import highlight


def test_a_filter_shows_its_expression_types_and_every_stage_collapsed():
    f = arrowjit.compile_filter("x > 2.0 and s == '<b>'", {"x": "float64", "s": "string"})
    page = f._repr_html_()
    assert page.startswith('<div class="arrowjit"><p><b>arrowjit.Filter</b></p>')
    assert "<code>x &gt; 2.0 and s == &#x27;&lt;b&gt;&#x27;</code>" in page
    assert "<tr><td><code>x</code></td><td>float64</td></tr>" in page
    assert "<tr><td><code>s</code></td><td>utf8</td></tr>" in page
    summaries = re.findall(r"<details><summary><b>(\w+)</b>: ([^<]*)</summary>", page)
    assert [stage for stage, _ in summaries] == list(arrowjit.STAGES)
    assert dict(summaries)["optimized"] == "LLVM IR after O3 (inlined and vectorized)"
    assert page.count("<details>") == page.count("</details>") == len(arrowjit.STAGES)
    assert "<b>" not in page.replace("<b>arrowjit.Filter</b>", "").replace("<summary><b>", "")
    # Highlighted with inline styles: no stylesheet needed.
    assert '<span style="color: #' in page and "class=\"highlight\" style=\"margin:0\"" in page
    assert page == f._repr_html_()  # stable


def test_the_ir_text_is_all_there_once_the_markup_is_removed():
    f = arrowjit.compile_filter("x > 2.0", {"x": "float64"}, parameterize=False)
    page = f._repr_html_()
    text = re.sub(r"<[^>]+>", "", page)
    import html

    text = html.unescape(text)
    for stage in ("ast", "typed", "llvm", "optimized"):
        assert f.ir(stage).strip() in text


def test_projection_lists_its_outputs_and_parameters():
    p = arrowjit.compile_projection({"y": "x * :k"}, {"x": "float64"})
    page = p._repr_html_()
    assert "<p><b>arrowjit.Projection</b></p>" in page
    assert "<tr><td>y</td><td><code>x * :k</code></td></tr>" in page
    assert "<tr><td><code>:k</code></td><td>float64 (parameter)</td></tr>" in page


def test_without_pygments_stages_are_escaped_pre_blocks(monkeypatch):
    monkeypatch.setitem(sys.modules, "pygments", None)  # `import pygments` raises ImportError
    f = arrowjit.compile_filter("x < 1.5", {"x": "float64"})
    page = f._repr_html_()
    assert '<pre style="margin:0">define' not in page  # the module starts with its ID comment
    assert page.count('<pre style="margin:0">') == len(arrowjit.STAGES)
    assert "&lt;64 x i8&gt;" in page
    assert highlight.terminal("define void @f()", "llvm") == "define void @f()"
