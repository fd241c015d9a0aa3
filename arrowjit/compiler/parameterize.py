"""Automatic parameterization: literals that do not shape the code become hidden parameters.

``x > 2.5`` and ``x > 3.1`` differ only in a constant the kernel compares
with, so they should share one kernel, and the second should not even be
parsed. Two pure functions do the work:

* :func:`hide_literals` rewrites the typed IR: a literal compared with an
  operand of its own type (a comparison, ``between``, an ``in`` list) becomes
  a hidden parameter ``$0``, ``$1``, ... carrying its value. The kernel then
  loads it from the params struct once per block and broadcasts it, exactly
  as it would a constant, so the loop is the same. Literals that change the
  code stay baked in: divisors of ``//`` and ``%`` (strength reduction),
  exponents, arithmetic operands, and literals compared with a converted
  narrower column (``i8 > 5``: with a constant LLVM compares 8-bit lanes).
* :func:`literal_template` splits an expression into a template with the
  number literals cut out and the literals themselves, using a small regular
  expression lexer. Two expressions with the same template (and schema) have
  the same shape, so a cache keyed on the template finds the compiled kernel
  without running the parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import typed_ir as tir

COMPARISONS = frozenset({"equal", "not_equal", "less_than", "less_than_or_equal_to", "greater_than",
                         "greater_than_or_equal_to"})
HIDDEN_PREFIX = "$"

_TOKEN = re.compile(r"""
    (?P<quoted>`(?:[^`]|``)*`?)
  | (?P<string>'(?:[^'\\]|''|\\.)*'?|"(?:[^"\\]|""|\\.)*"?)
  | (?P<param>[:@][A-Za-z_][A-Za-z0-9_]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<hex>0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*)
  | (?P<float>(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9]+)?
             |[0-9](?:_?[0-9])*\.(?:[eE][+-]?[0-9]+)?
             |[0-9](?:_?[0-9])*[eE][+-]?[0-9]+)
  | (?P<int>[0-9](?:_?[0-9])*)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class LiteralToken:
    """A number literal in the text: where it is, what it says, and its kind (int, hex, float)."""

    start: int
    end: int
    text: str
    kind: str

    def value(self) -> int | float:
        text = self.text.replace("_", "")
        if self.kind != "float" and len(text) > 40:  # far past 64 bits: no parameter can hold it
            return 1 << 64
        if self.kind == "hex":
            return int(text, 16)
        if self.kind == "int":
            return int(text)
        return float(text)


def literal_template(text: str) -> tuple[str, tuple[LiteralToken, ...]]:
    """The text with each number literal replaced by a marker of its kind, and the literals."""
    pieces: list[str] = []
    tokens: list[LiteralToken] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind == "word" and token.lower() in ("inf", "nan"):
            kind = "float"
        if kind in ("int", "hex", "float"):
            tokens.append(LiteralToken(match.start(), match.end(), token, kind))
            pieces.append(f"\x00{kind}\x00")
        else:
            pieces.append(token)
    return "".join(pieces), tuple(tokens)


def _sibling_fits(const: tir.Const, sibling: tir.TypedNode) -> bool:
    return sibling.dtype == const.dtype and not isinstance(sibling, tir.Cast)


def hide_literals(typed: tir.TypedNode, hideable: Callable[[tir.Const], bool] = lambda const: True
                  ) -> tuple[tir.TypedNode, dict[str, tir.Const]]:
    """Replace the literals that do not shape the code with hidden parameters.

    ``hideable`` can veto a literal (the caller keeps only those its template
    lexer can find again). Returns the new tree and the hidden parameters'
    literals by name, in order.
    """
    hidden: dict[str, tir.Const] = {}
    # One literal can feed two comparisons (`2 < x < y`, `5 between x and y`):
    # it stays one parameter.
    by_literal: dict[tuple, str] = {}

    def hide(node: tir.TypedNode, sibling: tir.TypedNode) -> tir.TypedNode:
        if not isinstance(node, tir.Const) or node.value is None or isinstance(node.value, bool):
            return node
        if not (node.dtype.is_numeric and _sibling_fits(node, sibling) and hideable(node)):
            return node
        key = (node.span, node.dtype)
        name = by_literal.get(key)
        if name is None:
            name = by_literal[key] = f"{HIDDEN_PREFIX}{len(hidden)}"
            hidden[name] = node
        return tir.Param(node.dtype, node.span, name)

    def visit(node: tir.TypedNode) -> tir.TypedNode:
        if isinstance(node, tir.Call) and node.function.name in COMPARISONS:
            left, right = node.args
            node = tir.with_children(node, (hide(left, right), hide(right, left)))
        return tir.with_children(node, tuple(map(visit, tir.children(node))))

    return visit(typed), hidden


def restore_literals(typed: tir.TypedNode, values: dict[str, int | float]) -> tir.TypedNode:
    """The inverse of :func:`hide_literals` for given values: hidden parameters become literals."""
    if isinstance(typed, tir.Param) and typed.name in values:
        return tir.Const(typed.dtype, typed.span, values[typed.name])
    return tir.with_children(typed, tuple(restore_literals(c, values) for c in tir.children(typed)))
