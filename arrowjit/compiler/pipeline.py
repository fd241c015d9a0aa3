"""The compiler's entry points: each a straight list of stage calls.

::

    text --parse_tree--> Lark tree --build_ast--> AST --check_predicate--> typed IR
    typed IR --KernelLayout.plan--> layout --generate--> LLVM IR --compile_ir--> machine code

Each stage is a function from one representation to the next, testable on
its own; :func:`front_end` runs the first three, :func:`back_end` the rest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from ..grammar.parser import parse_tree
from . import ast, diskcache
from . import typed_ir as tir
from .codegen import KERNEL_NAME, PROJECTION_KERNEL_NAME, KernelLayout, Nulls, generate, generate_projection
from .jit import CompiledKernel, Target, compile_ir, host_target
from .registry import BUILTINS, Registry
from .selection import generate_selected_projection
from .typecheck import Context, check_predicate, check_value
from .types import DType


@dataclass(frozen=True)
class FrontEnd:
    """What the front end makes of an expression."""

    text: str
    syntax: ast.Node
    typed: tir.TypedNode
    timings: dict[str, float]


def parse(text: str) -> ast.Node:
    """Text -> AST (parse_tree, then build_ast), or the AST kept on disk for this text."""
    syntax = diskcache.load_syntax(text) if isinstance(text, str) else None
    if isinstance(syntax, ast.Node):
        return syntax
    syntax = ast.build_ast(parse_tree(text), text)
    ast.check_size(syntax, text)
    diskcache.store_syntax(text, syntax)
    return syntax


def front_end(text: str, columns: dict[str, DType | str],
              parameters: dict[str, DType] | None = None, registry: Registry = BUILTINS) -> FrontEnd:
    """Parse and type-check ``text`` against the column types (and any given parameter types)."""
    t0 = time.perf_counter()
    syntax = parse(text)
    t1 = time.perf_counter()
    typed = check_predicate(syntax, Context(text, columns, registry, parameters=dict(parameters or {})))
    t2 = time.perf_counter()
    return FrontEnd(text, syntax, typed, {"parse": t1 - t0, "typecheck": t2 - t1})


def front_end_values(texts: Sequence[str], columns: dict[str, DType | str],
                     parameters: dict[str, DType] | None = None,
                     registry: Registry = BUILTINS) -> list[FrontEnd]:
    """Parse and type-check the expressions of a projection; they share their parameters' types."""
    shared = dict(parameters or {})
    fronts = []
    for text in texts:
        t0 = time.perf_counter()
        syntax = parse(text)
        t1 = time.perf_counter()
        typed = check_value(syntax, Context(text, columns, registry, parameters=shared))
        timings = {"parse": t1 - t0, "typecheck": time.perf_counter() - t1}
        fronts.append(FrontEnd(text, syntax, typed, timings))
    return fronts


def back_end_projection(outputs: Sequence[tir.TypedNode], nulls: Nulls, target: Target | None = None,
                        quick: bool = False,
                        source: str | None = None) -> tuple[KernelLayout, CompiledKernel]:
    """Generate, optimize and JIT the kernel computing every expression of ``outputs``."""
    target = target or host_target()
    layout = KernelLayout.plan(outputs, nulls)
    cache_key = diskcache.key("projection", [tir.canonical(o) for o in outputs], sorted(nulls.columns),
                              sorted(nulls.parameters), target)
    compiled = compile_ir(source or (lambda: str(generate_projection(outputs, layout))),
                          PROJECTION_KERNEL_NAME, target, cache_key, quick)
    return layout, compiled


def back_end_selected_projection(outputs: Sequence[tir.TypedNode], nulls: Nulls,
                                 target: Target | None = None, quick: bool = False,
                                 source: str | None = None) -> tuple[KernelLayout, CompiledKernel]:
    """Generate, optimize and JIT a projection kernel that writes only the rows a bitmap selects."""
    target = target or host_target()
    layout = KernelLayout.plan(outputs, nulls)
    has_bmi2 = "+bmi2" in target.features.split(",")
    cache_key = diskcache.key("selected-projection", [tir.canonical(o) for o in outputs],
                              sorted(nulls.columns), sorted(nulls.parameters), target)
    compiled = compile_ir(source or (lambda: str(generate_selected_projection(outputs, layout, has_bmi2))),
                          PROJECTION_KERNEL_NAME, target, cache_key, quick)
    return layout, compiled


def back_end(typed: tir.TypedNode, nulls: Nulls, target: Target | None = None, quick: bool = False,
             source: str | None = None) -> tuple[KernelLayout, CompiledKernel]:
    """Generate, optimize and JIT the kernel for ``typed``, specialized for which inputs have nulls
    (``quick``: the quick tier, unless the on-disk cache has the O3 code; see jit.py; ``source``:
    the kernel's IR, generated before, for the O3 compile of a quick kernel)."""
    target = target or host_target()
    layout = KernelLayout.plan(typed, nulls)
    # The layout follows from the typed IR and the nulls, so these name the kernel.
    cache_key = diskcache.key(tir.canonical(typed), sorted(nulls.columns), sorted(nulls.parameters), target)
    compiled = compile_ir(source or (lambda: str(generate(typed, layout))), KERNEL_NAME, target, cache_key,
                          quick)
    return layout, compiled
