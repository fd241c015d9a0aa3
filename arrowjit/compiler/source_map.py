"""Source mapping: LLVM values named after the sub-expression they compute, and spans shown beside them.

Two halves:

* :func:`label` names a typed IR node's LLVM value after the expression it
  computes (``x > 2.0`` -> ``%x_gt_2.0``, or ``%x_gt__0`` when the literal is
  the hidden parameter ``$0``; ``x > 2.0 and x < 6.0`` ->
  ``%x_gt_2.0_and_x_lt_6.0``; its validity ``%..._valid``). The name depends
  on the typed IR alone (what :func:`~.typed_ir.canonical` already puts in
  every cache key), never on the source text, so a kernel shared by two
  texts has one IR text and the caches are unaffected.
* Spans depend on the text, so they are added when the IR is shown: the
  code generator records which node each named value came from
  (``ModuleBuilder.sources``); :func:`annotate` puts ``; x > 2.0  [0:7]``
  beside each such value, above each registry function (the spans that call
  it) and at the row loop; :func:`listing` prints the row loop grouped by
  sub-expression under the expression text with the span underlined.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import Span
from . import typed_ir as tir
from .ast import Arith, Compare

MAX_LABEL = 48

# Short words for the operators' registry functions (value names cannot hold `>`).
_WORDS = {
    Compare.EQ: "eq", Compare.NE: "ne", Compare.LT: "lt", Compare.LE: "le",
    Compare.GT: "gt", Compare.GE: "ge",
    Arith.ADD: "plus", Arith.SUBTRACT: "minus", Arith.MULTIPLY: "times", Arith.DIVIDE: "div",
    Arith.FLOOR_DIVIDE: "floordiv", Arith.MODULO: "mod", Arith.POWER: "pow",
}
_INFIX = {op.function: word for op, word in _WORDS.items()} | {
    f"{op.function}_short": word for op, word in _WORDS.items() if isinstance(op, Compare)}
# LLVM prints these unquoted (a hidden literal's parameter `$0` becomes `_0`, as in `%param__0`).
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _clean(text: str) -> str:
    """Characters an LLVM name keeps unquoted; long names shortened with a hash of the whole."""
    cleaned = _UNSAFE.sub("_", text) or "value"
    if len(cleaned) > MAX_LABEL:
        cleaned = f"{cleaned[:MAX_LABEL - 8]}_{hashlib.sha256(cleaned.encode()).hexdigest()[:7]}"
    return cleaned


def _leaf(node: tir.TypedNode) -> str | None:
    match node:
        case tir.ColumnRef(name=name) | tir.Param(name=name):
            return name
        case tir.Const(value=None):
            return "null"
        case tir.Const(value=bool() as value):
            return str(value).lower()
        case tir.Const(value=str() as value):
            return f"'{value}'"
        case tir.Const(value=value):
            return repr(value)
    return None


def label(node: tir.TypedNode) -> str:
    """The LLVM value name for ``node``: its expression spelled with words, at most 48 characters."""
    leaf = _leaf(node)
    if leaf is not None:
        return _clean(leaf)
    parts = [label(child) for child in tir.children(node)]
    match node:
        case tir.Call(function=function) if function.name in _INFIX and len(parts) == 2:
            text = f"{parts[0]}_{_INFIX[function.name]}_{parts[1]}"
        case tir.Call(function=function) if function.name == "negate":
            text = f"neg_{parts[0]}"
        case tir.Call(function=function):
            text = "_".join([function.name, *parts])
        case tir.Cast(dtype=dtype):
            text = f"{parts[0]}_as_{dtype}"
        case tir.And():
            text = "_and_".join(parts)
        case tir.Or():
            text = "_or_".join(parts)
        case tir.Not():
            text = f"not_{parts[0]}"
        case tir.If():
            text = f"if_{parts[0]}_then_{parts[1]}_else_{parts[2]}"
        case _:
            text = "_".join([type(node).__name__.lower(), *parts])
    return _clean(text)


@dataclass(frozen=True)
class Source:
    """Where a value came from: the expression's text (and output name, in a projection) and the span."""

    text: str
    span: Span
    output: str | None = None

    @property
    def snippet(self) -> str:
        piece = " ".join(self.text[self.span.start:self.span.end].split())
        return piece if len(piece) <= 60 else piece[:57] + "..."

    def comment(self) -> str:
        where = f"{self.output}: " if self.output is not None else ""
        return f"{where}{self.snippet}  [{self.span.start}:{self.span.end}]"


def sources_of(recorded: Mapping[str, tir.TypedNode], texts: Sequence[tuple[str, str | None]],
               roots: Sequence[tir.TypedNode]) -> dict[str, Source]:
    """Value name -> Source, from the nodes the code generator recorded and the roots' texts."""
    owner = {}
    for root, (text, output) in zip(roots, texts):
        for node in tir.walk(root):
            owner.setdefault(id(node), (text, output))
    found = {}
    for name, node in recorded.items():
        text, output = owner.get(id(node), (texts[0][0], texts[0][1]))
        found[name] = Source(text, node.span, output)
    return found


_DEFINE = re.compile(r"^define [^@]*@([\w.$-]+)\(")
_VALUE = re.compile(r"^  %([\w.$-]+|\"[^\"]+\") = ")
_LABEL = re.compile(r"^([\w.$-]+):")
ROW_FUNCTIONS = ("evaluate_block", "project_block")


def annotate(llvm_ir: str, sources: Mapping[str, Source], functions: Mapping[str, list[Source]],
             whole: Sequence[Source]) -> str:
    """``llvm_ir`` with source comments: beside named values, above functions, at the row loop."""
    out = []
    current = None
    for line in llvm_ir.split("\n"):
        define = _DEFINE.match(line)
        if define:
            current = define.group(1)
            if current in ROW_FUNCTIONS:
                out += [f"; {current}: one block of 64 rows of {s.comment()}" for s in whole]
            elif current in functions:
                spans = "; ".join(s.comment() for s in functions[current])
                out.append(f"; {current}: called for {spans}")
        value = _VALUE.match(line)
        block = _LABEL.match(line)
        if value and value.group(1).strip('"') in sources:
            line = f"{line}  ; {sources[value.group(1).strip(chr(34))].comment()}"
        elif block and current in ROW_FUNCTIONS and block.group(1) == "rows":
            out.append("; the loop over the rows of the block: " + "; ".join(s.comment() for s in whole))
        out.append(line)
    return "\n".join(out)


def underline(source: Source) -> list[str]:
    """The expression's text, and ``^~~~`` under the span (on its line)."""
    text, span = source.text, source.span
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.start)
    line_end = len(text) if line_end < 0 else line_end
    width = max(1, min(span.end, line_end) - span.start)
    prefix = f"{source.output}: " if source.output is not None else ""
    return [f"; {prefix}{text[line_start:line_end]}",
            f"; {' ' * len(prefix)}{' ' * (span.start - line_start)}^{'~' * (width - 1)}"]


def listing(llvm_ir: str, sources: Mapping[str, Source]) -> str:
    """The row loop of the block function, its lines grouped under the sub-expression they compute.

    Each group ends with the value a sub-expression produces; the lines
    before it (operands' helpers such as ``is_true``) belong to it too.
    """
    lines = llvm_ir.split("\n")
    body: list[str] = []
    inside = in_rows = False
    for line in lines:
        define = _DEFINE.match(line)
        if define:
            inside = define.group(1) in ROW_FUNCTIONS
            continue
        if not inside:
            continue
        block = _LABEL.match(line)
        if block:
            in_rows = block.group(1) == "rows"
            continue
        if line == "}":
            inside = False
        elif in_rows and line.strip():
            body.append(line)
    out: list[str] = []
    group: list[str] = []
    previous = None
    for line in body:
        if line.startswith("  %j = phi "):
            out += ["; j: the row within the block (0 to 63)", line, ""]
            continue
        group.append(line)
        value = _VALUE.match(line)
        name = value.group(1).strip('"') if value else None
        if name in sources:
            source = sources[name]
            if source == previous:  # more of the same sub-expression (its validity, say)
                out[-1:-1] = group
            else:
                header = underline(source)
                header[-1] += f"  {source.snippet}  [{source.span.start}:{source.span.end}]"
                out += header + group + [""]
            previous = source
            group = []
    if group:
        out += ["; storing the row's result, the next row"] + group
    return "\n".join(out).rstrip("\n") + "\n"
