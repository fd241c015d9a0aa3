"""docs/architecture-*.svg: the compiler's pipeline and the module map, drawn from the source.

The pipeline picture is the list :data:`PIPELINE` (each stage names the module
that performs it; the generator fails if a module is missing). The module map
is computed: every module of the ``arrowjit`` package and the package-internal
imports between them (read with :mod:`ast`, so the picture cannot drift from
the code), laid out in layers, a module above the modules it imports.
No Graphviz needed: the SVG is written directly.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "arrowjit"

# (representation, the module that turns it into the next one, what that step is called)
PIPELINE: tuple[tuple[str, str, str], ...] = (
    ("expression text", "grammar/parser.py", "parse (Lark LALR)"),
    ("parse tree", "compiler/ast.py", "build the AST"),
    ("AST with spans", "compiler/typecheck.py", "type-check, pick registry rows"),
    ("typed IR", "compiler/codegen.py", "generate the 64-row block loop"),
    ("LLVM IR", "compiler/jit.py", "O3 for the host CPU"),
    ("optimized IR", "compiler/jit.py", "emit object code, MCJIT"),
    ("machine code", "runtime/kernel.py", "call over Arrow buffers (ctypes)"),
    ("bitmap of kept rows", "runtime/outputs.py", "mask, indices, count, filtered table"),
)

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"
PACKAGE_COLORS = {"grammar": "#fde2c8", "compiler": "#d6e6fb", "runtime": "#d9f2dc", "": "#ece4f7"}


def _svg(width: int, height: int, body: list[str]) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' {FONT} font-size='13'>\n"
            "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
            "markerHeight='7' orient='auto-start-reverse'><path d='M 0 0 L 10 5 L 0 10 z' "
            "fill='#555'/></marker></defs>\n"
            f"<rect width='{width}' height='{height}' fill='white'/>\n" + "\n".join(body) + "\n</svg>\n")


def _box(x: float, y: float, w: float, h: float, fill: str, lines: list[str], bold: bool = False) -> str:
    parts = [f"<rect x='{x:.0f}' y='{y:.0f}' width='{w:.0f}' height='{h:.0f}' rx='6' fill='{fill}' "
             "stroke='#444'/>"]
    first = y + h / 2 - (len(lines) - 1) * 8 + 4
    for k, line in enumerate(lines):
        weight = " font-weight='bold'" if bold and k == 0 else ""
        size = "" if k == 0 else " font-size='11' fill='#333'"
        parts.append(f"<text x='{x + w / 2:.0f}' y='{first + 16 * k:.0f}' text-anchor='middle'"
                     f"{weight}{size}>{escape(line)}</text>")
    return "\n".join(parts)


def _arrow(x1: float, y1: float, x2: float, y2: float, color: str = "#555") -> str:
    return (f"<line x1='{x1:.0f}' y1='{y1:.0f}' x2='{x2:.0f}' y2='{y2:.0f}' stroke='{color}' "
            "stroke-width='1.3' marker-end='url(#arrow)'/>")


def pipeline_svg() -> str:
    """The representations top to bottom, each step labeled with its module."""
    for _, module, _ in PIPELINE:
        if not (PACKAGE / module).exists():
            raise FileNotFoundError(f"the pipeline names arrowjit/{module}, which does not exist")
    box_w, box_h, step = 210, 34, 70
    body = []
    for k, (representation, module, action) in enumerate(PIPELINE):
        y = 20 + k * step
        body.append(_box(30, y, box_w, box_h, "#f4f4f4", [representation], bold=True))
        package = module.split("/")[0]
        label_y = y + box_h + step / 2 - 14
        body.append(_arrow(30 + box_w / 2, y + box_h, 30 + box_w / 2, y + step))
        body.append(f"<rect x='{30 + box_w / 2 + 12}' y='{label_y - 13:.0f}' width='{8 * len(module) + 10}' "
                    f"height='18' rx='4' fill='{PACKAGE_COLORS[package]}'/>")
        body.append(f"<text x='{30 + box_w / 2 + 17}' y='{label_y:.0f}' font-family='monospace' "
                    f"font-size='12'>{escape(module)}</text>")
        body.append(f"<text x='{30 + box_w / 2 + 27 + 8 * len(module)}' y='{label_y:.0f}' font-size='12' "
                    f"fill='#333'>{escape(action)}</text>")
    y = 20 + len(PIPELINE) * step
    body.append(_box(30, y, box_w, box_h, "#f4f4f4", ["RecordBatch / Table / array"], bold=True))
    return _svg(640, y + box_h + 20, body)


@dataclass(frozen=True)
class Module:
    name: str  # "compiler/codegen"
    imports: frozenset[str]


def _resolve(module: str, level: int, name: str | None) -> str | None:
    """The package path ``from <level dots><name> import ...`` in ``module`` refers to."""
    parts = module.split("/")[: -level] if level else []
    if name:
        parts = parts + name.split(".")
    return "/".join(parts)


def modules() -> list[Module]:
    """Every module of the package and the package-internal modules it imports at module level."""
    paths = sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    names = {p.relative_to(PACKAGE).with_suffix("").as_posix() for p in paths}
    found = []
    for path in paths:
        name = path.relative_to(PACKAGE).with_suffix("").as_posix()
        imported = set()
        # Module-level imports only: an import inside a function is a deliberate lazy one
        # (it breaks what would be a cycle), not part of the module's layering.
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = _resolve(name, node.level, node.module)
                for alias in node.names:
                    candidate = f"{base}/{alias.name}".strip("/")
                    if candidate in names:
                        imported.add(candidate)
                    elif base in names:
                        imported.add(base)
        imported.discard(name)
        found.append(Module(name, frozenset(imported)))
    return found


def _layers(mods: list[Module]) -> dict[str, int]:
    """Layer 0: modules importing nothing internal; otherwise one above the highest import."""
    layer: dict[str, int] = {}
    by_name = {m.name: m for m in mods}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name in layer:
            return layer[name]
        deps = [d for d in sorted(by_name[name].imports) if d not in seen]
        layer[name] = value = 1 + max((depth(d, seen | {name}) for d in deps), default=-1)
        return value

    for m in mods:
        depth(m.name, frozenset())
    return layer


def _reduced(mods: list[Module]) -> dict[str, set[str]]:
    """The import edges not implied by a longer path (a transitive reduction): a readable picture."""
    imports = {m.name: set(m.imports) for m in mods}

    def reachable(start: str) -> set[str]:
        seen, todo = set(), list(imports[start])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(imports[name])
        return seen

    return {name: {dep for dep in deps
                   if not any(dep in reachable(other) for other in deps - {dep})}
            for name, deps in imports.items()}


def modules_svg() -> str:
    mods = modules()
    layer = _layers(mods)
    edges = _reduced(mods)
    rows: dict[int, list[str]] = {}
    for name in sorted(layer):
        rows.setdefault(layer[name], []).append(name)
    # Order each row by the mean position of what its modules import (bottom row first), which
    # keeps most arrows short and uncrossed.
    order: dict[str, float] = {}
    for level in sorted(rows):
        def key(name: str) -> tuple[float, str]:
            below = [order[d] for d in edges[name] if d in order]
            return (sum(below) / len(below) if below else len(order), name)
        rows[level].sort(key=key)
        for k, name in enumerate(rows[level]):
            order[name] = k - (len(rows[level]) - 1) / 2
    box_w, box_h, gap_x, gap_y = 118, 34, 14, 48
    width = max(len(r) for r in rows.values()) * (box_w + gap_x) + 40
    top = max(rows)
    position = {}
    for level, names in rows.items():
        row_w = len(names) * (box_w + gap_x) - gap_x
        for k, name in enumerate(names):
            x = (width - row_w) / 2 + k * (box_w + gap_x)
            y = 50 + (top - level) * (box_h + gap_y)
            position[name] = (x, y)
    body = []
    for name in sorted(edges):
        x1, y1 = position[name]
        for dep in sorted(edges[name]):
            x2, y2 = position[dep]
            body.append(_arrow(x1 + box_w / 2, y1 + box_h, x2 + box_w / 2, y2, "#9a9a9a"))
    for m in mods:
        x, y = position[m.name]
        package, _, leaf = m.name.rpartition("/")
        body.append(_box(x, y, box_w, box_h, PACKAGE_COLORS[package], [f"{leaf}.py", package or "arrowjit"]))
    legend = ("<text x='20' y='24' font-size='12' fill='#333'>An arrow from A down to B: A imports B "
              "(arrows implied by a longer path left out).</text>")
    height = 50 + (top + 1) * (box_h + gap_y)
    return _svg(int(max(width, 760)), int(height), [legend, *body])


def write(directory: Path = ROOT / "docs") -> dict[Path, str]:
    """The pictures' paths and contents (written by tools.build_docs)."""
    return {directory / "architecture-pipeline.svg": pipeline_svg(),
            directory / "architecture-modules.svg": modules_svg()}
