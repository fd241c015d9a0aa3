"""The typed IR: the AST after type checking.

Every node knows its value type (``dtype``) and keeps the source span it came
from. Operators and functions are :class:`Call` nodes that name the exact
registry row they use (``greater_than_float64_float64``); implicit conversions
are explicit :class:`Cast` nodes; sugar (``between``, ``in``, ``is null``) is
gone. ``and``/``or``/``not`` stay as their own nodes because SQL's
three-valued logic needs both operands' validity, which is the code
generator's business rather than a function's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..errors import Span
from .ast import quote_name
from .registry import FunctionSpec
from .types import DType


@dataclass(frozen=True)
class TypedNode:
    dtype: DType
    span: Span


@dataclass(frozen=True)
class ColumnRef(TypedNode):
    name: str


@dataclass(frozen=True)
class Const(TypedNode):
    """A literal of ``dtype``; ``value`` None is a null of that type."""

    value: int | float | bool | None


@dataclass(frozen=True)
class Param(TypedNode):
    """A run-time parameter (``:lo``), read from the kernel's ``params`` struct."""

    name: str


@dataclass(frozen=True)
class Call(TypedNode):
    function: FunctionSpec
    args: tuple[TypedNode, ...]


@dataclass(frozen=True)
class Cast(TypedNode):
    function: FunctionSpec
    operand: TypedNode


@dataclass(frozen=True)
class And(TypedNode):
    """Kleene ``and``: false if any operand is false, else null if any is null."""

    args: tuple[TypedNode, ...]


@dataclass(frozen=True)
class Or(TypedNode):
    """Kleene ``or``: true if any operand is true, else null if any is null."""

    args: tuple[TypedNode, ...]


@dataclass(frozen=True)
class Not(TypedNode):
    operand: TypedNode


@dataclass(frozen=True)
class If(TypedNode):
    """``if(cond, then, otherwise)``: ``then`` where ``cond`` is true, else ``otherwise`` (a null
    condition counts as not true, as in SQL's CASE)."""

    cond: TypedNode
    then: TypedNode
    otherwise: TypedNode


@dataclass(frozen=True)
class Coalesce(TypedNode):
    """The first of ``args`` that is not null (null when all are)."""

    args: tuple[TypedNode, ...]


def children(node: TypedNode) -> tuple[TypedNode, ...]:
    match node:
        case Call(args=args) | And(args=args) | Or(args=args) | Coalesce(args=args):
            return args
        case Cast(operand=operand) | Not(operand=operand):
            return (operand,)
        case If(cond=cond, then=then, otherwise=otherwise):
            return (cond, then, otherwise)
    return ()


def with_children(node: TypedNode, new: tuple[TypedNode, ...]) -> TypedNode:
    """``node`` with its children replaced (in the order :func:`children` gives them)."""
    match node:
        case Call() | And() | Or() | Coalesce():
            return replace(node, args=tuple(new))
        case Cast() | Not():
            return replace(node, operand=new[0])
        case If():
            return replace(node, cond=new[0], then=new[1], otherwise=new[2])
    return node


def walk(node: TypedNode) -> list[TypedNode]:
    """Every node of the tree, parents before children."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(children(current)))
    return found


Expressions = TypedNode | Sequence[TypedNode]


def _named(nodes: Expressions, kind: type) -> dict[str, DType]:
    """Names and types of the ``kind`` nodes (columns or parameters), in order of first appearance."""
    found: dict[str, DType] = {}
    for node in ([nodes] if isinstance(nodes, TypedNode) else nodes):
        for current in walk(node):
            if isinstance(current, kind):
                found.setdefault(current.name, current.dtype)
    return found


def columns(nodes: Expressions) -> dict[str, DType]:
    """The columns one expression (or several) reads, in order of first appearance."""
    return _named(nodes, ColumnRef)


def parameters(nodes: Expressions) -> dict[str, DType]:
    """The parameters one expression (or several) reads, in order of first appearance."""
    return _named(nodes, Param)


def _head(node: TypedNode) -> str:
    match node:
        case Call(function=function) | Cast(function=function):
            return function.symbol
        case And():
            return "and"
        case Or():
            return "or"
        case Not():
            return "not"
        case If():
            return "if"
        case Coalesce():
            return "coalesce"
    raise TypeError(node)  # pragma: no cover


def _leaf(node: TypedNode) -> str | None:
    match node:
        case ColumnRef(name=name, dtype=dtype):
            return f"{quote_name(name)}:{dtype}"
        case Param(name=name, dtype=dtype):
            return f":{name}:{dtype}"
        case Const(value=value, dtype=dtype):
            if value is None or isinstance(value, bool):
                text = "null" if value is None else str(value).lower()
            else:
                text = repr(value)
            return f"{text}:{dtype}"
    return None


def dump(node: TypedNode, indent: int = 0, width: int = 72) -> str:
    """The typed IR as an indented s-expression, each call annotated with its result type."""
    leaf = _leaf(node)
    if leaf is not None:
        return leaf
    parts = [dump(child, indent + 2, width) for child in children(node)]
    one_line = f"({_head(node)} {' '.join(parts)}):{node.dtype}"
    if "\n" not in one_line and indent + len(one_line) <= width:
        return one_line
    pad = "\n" + " " * (indent + 2)
    return f"({_head(node)}{pad}{pad.join(parts)}):{node.dtype}"


def canonical(node: TypedNode) -> str:
    """A one-line form that identifies the computation (used in cache keys).

    A user function is identified by its signature and the hash of its body,
    so code for a function registered again with another body is never reused.
    """
    text = dump(node, width=1 << 30)
    bodies = sorted({f"{n.function.symbol}={n.function.fingerprint}" for n in walk(node)
                     if isinstance(n, Call | Cast) and n.function.fingerprint})
    return f"{text} ; {' '.join(bodies)}" if bodies else text
