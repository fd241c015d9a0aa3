"""Stage 2: Lark parse tree -> AST of frozen dataclasses with source spans.

Every node records the span of text it came from, so the type checker can
point at the exact sub-expression that is wrong. Syntactic sugar is kept
(``between``, ``in``, comparison chains become ``and`` of comparisons here,
since ``2 < x <= 6`` *means* ``2 < x and x <= 6``); the type checker lowers the
rest. ``dump(node)`` prints an s-expression, which the parser tests compare
against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

import lark
from lark import v_args

from ..errors import ParseError, Span


class Arith(Enum):
    """Binary arithmetic operators: the symbol and the registry's function name."""

    ADD = ("+", "add")
    SUBTRACT = ("-", "subtract")
    MULTIPLY = ("*", "multiply")
    DIVIDE = ("/", "divide")
    FLOOR_DIVIDE = ("//", "floor_divide")
    MODULO = ("%", "modulo")
    POWER = ("**", "power")

    def __init__(self, symbol: str, function: str):
        self.symbol = symbol
        self.function = function


class Compare(Enum):
    """Comparison operators, named as Gandiva names its comparison functions."""

    EQ = ("==", "equal")
    NE = ("!=", "not_equal")
    LT = ("<", "less_than")
    LE = ("<=", "less_than_or_equal_to")
    GT = (">", "greater_than")
    GE = (">=", "greater_than_or_equal_to")

    def __init__(self, symbol: str, function: str):
        self.symbol = symbol
        self.function = function


COMPARE_BY_SYMBOL = {op.symbol: op for op in Compare} | {"=": Compare.EQ, "<>": Compare.NE}


class Logic(Enum):
    AND = "and"
    OR = "or"


@dataclass(frozen=True)
class Node:
    span: Span


@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class Literal(Node):
    """``value`` is an int, a float, a bool, a str, or None for ``null``."""

    value: int | float | bool | str | None


@dataclass(frozen=True)
class TypedLiteral(Node):
    """``date '2024-01-31'``, ``timestamp '...'``, ``time '...'``, ``interval '1 day'``:
    a type word (lower case) and the string it reads; the type checker parses the string."""

    type_name: str
    text: str


@dataclass(frozen=True)
class Parameter(Node):
    """A value given at run time: ``:lo`` or ``@lo`` (the name without its sigil)."""

    name: str


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class BinaryOp(Node):
    op: Arith
    left: Node
    right: Node


@dataclass(frozen=True)
class Comparison(Node):
    op: Compare
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical(Node):
    """``a and b and c``: a chain of one connective is one node with all its operands."""

    op: Logic
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class Like(Node):
    """``s like 'k04%'``, ``s not ilike 'A_c'``."""

    operand: Node
    pattern: Node
    negated: bool
    ignore_case: bool


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    name_span: Span


@dataclass(frozen=True)
class Cast(Node):
    """``cast(x as int32)`` or ``x::int32``."""

    operand: Node
    type_name: str
    type_span: Span


@dataclass(frozen=True)
class Case(Node):
    """``case when c1 then v1 when c2 then v2 else v3 end`` (``otherwise`` None: no else)."""

    whens: tuple[tuple[Node, Node], ...]
    otherwise: Node | None


_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = frozenset({"and", "or", "not", "is", "in", "between", "null", "true", "false", "inf", "nan",
                      "cast", "as", "case", "when", "then", "else", "end", "like", "ilike"})


# The words that make a literal of the string after them: date '2024-01-31'.
TYPED_LITERALS = frozenset({"date", "timestamp", "time", "interval"})


def quote_name(name: str) -> str:
    """A column name as the language writes it: bare when it can be, else in backticks."""
    if _BARE_NAME.fullmatch(name) and name.lower() not in KEYWORDS:
        return name
    return "`" + name.replace("`", "``") + "`"


def dump(node: Node) -> str:
    """The AST as an s-expression: ``(and (> x 2.0) (< x 6.0))``."""
    match node:
        case Column(name=name):
            return quote_name(name)
        case Literal(value=value):
            return _literal_text(value)
        case TypedLiteral(type_name=type_name, text=text):
            return f"({type_name} {_literal_text(text)})"
        case Parameter(name=name):
            return f":{name}"
        case Negate(operand=operand):
            return f"(neg {dump(operand)})"
        case BinaryOp(op=op, left=left, right=right):
            return f"({op.symbol} {dump(left)} {dump(right)})"
        case Comparison(op=op, left=left, right=right):
            return f"({op.symbol} {dump(left)} {dump(right)})"
        case Logical(op=op, operands=operands):
            return f"({op.value} {' '.join(map(dump, operands))})"
        case Not(operand=operand):
            return f"(not {dump(operand)})"
        case IsNull(operand=operand, negated=negated):
            return f"({'is-not-null' if negated else 'is-null'} {dump(operand)})"
        case InList(operand=operand, items=items, negated=negated):
            return f"({'not-in' if negated else 'in'} {dump(operand)} {' '.join(map(dump, items))})"
        case Between(operand=operand, low=low, high=high, negated=negated):
            word = "not-between" if negated else "between"
            return f"({word} {dump(operand)} {dump(low)} {dump(high)})"
        case Like(operand=operand, pattern=pattern, negated=negated, ignore_case=ignore_case):
            word = ("not-" if negated else "") + ("ilike" if ignore_case else "like")
            return f"({word} {dump(operand)} {dump(pattern)})"
        case Call(name=name, args=args):
            return f"({name} {' '.join(map(dump, args))})".replace(" )", ")")
        case Cast(operand=operand, type_name=type_name):
            return f"(cast {dump(operand)} {type_name})"
        case Case(whens=whens, otherwise=otherwise):
            arms = " ".join(f"(when {dump(c)} {dump(v)})" for c, v in whens)
            tail = f" (else {dump(otherwise)})" if otherwise is not None else ""
            return f"(case {arms}{tail})"
    raise TypeError(f"not an AST node: {node!r}")  # pragma: no cover


def _literal_text(value: int | float | bool | str | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _unquote(token: str) -> str:
    """The text of a quoted string: a doubled quote is one quote, a backslash escapes."""
    quote, body = token[0], token[1:-1]
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        elif char == quote and body[i + 1:i + 2] == quote:
            out.append(quote)
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _span(meta) -> Span:
    return Span(meta.start_pos, meta.end_pos)


def _token_span(token: lark.Token) -> Span:
    return Span(token.start_pos, token.end_pos)


_ARITH_RULES = {
    "add": Arith.ADD,
    "subtract": Arith.SUBTRACT,
    "multiply": Arith.MULTIPLY,
    "divide": Arith.DIVIDE,
    "floor_divide": Arith.FLOOR_DIVIDE,
    "modulo": Arith.MODULO,
    "power": Arith.POWER,
}


def _chain(op: Logic, span: Span, left: Node, right: Node) -> Logical:
    """``left op right``, extending ``left`` when it is already a chain of ``op``.

    Long generated filters (``x == 1 or x == 2 or ...``) stay one flat node
    instead of a tree as deep as the chain is long.
    """
    if isinstance(left, Logical) and left.op is op:
        return Logical(span, op, (*left.operands, right))
    return Logical(span, op, (left, right))


class _AstBuilder(lark.visitors.Transformer_NonRecursive):
    """Turns each grammar rule (by its ``-> alias``) into an AST node.

    Non-recursive, so a deeply nested expression cannot exhaust Python's
    stack here; :func:`build_ast` then enforces :data:`MAX_DEPTH`.
    """

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def _with_parens(self, span: Span) -> Span:
        """``span`` widened over the parentheses that enclose exactly it: ``(x)`` for ``x``."""
        start, end = span.start, span.end
        while True:
            before = self.text[:start].rstrip()
            after = self.text[end:]
            stripped = after.lstrip()
            if not (before.endswith("(") and stripped.startswith(")")):
                return Span(start, end)
            start = len(before) - 1
            end = end + (len(after) - len(stripped)) + 1

    # Operands -----------------------------------------------------------
    @v_args(inline=True, meta=True)
    def name_column(self, meta, token):
        return Column(_span(meta), str(token))

    @v_args(inline=True, meta=True)
    def quoted_column(self, meta, token):
        return Column(_span(meta), str(token)[1:-1].replace("``", "`"))

    @v_args(inline=True, meta=True)
    def int_literal(self, meta, token):
        text = str(token).replace("_", "")
        is_hex = text[:2].lower() == "0x"
        digits = text[2:] if is_hex else text
        # (More than 20 digits never fits 64 bits; Python's int() refuses > 4300 anyway.)
        if len(digits.lstrip("0")) > 20:
            value = 1 << 64
        else:
            value = int(text, 16) if is_hex else int(text)
        if value > (1 << 64) - 1:
            raise ParseError("integer literal does not fit in 64 bits (uint64 at most)",
                             self.text, _span(meta))
        return Literal(_span(meta), value)

    @v_args(inline=True, meta=True)
    def float_literal(self, meta, token):
        return Literal(_span(meta), float(str(token).replace("_", "")))

    @v_args(inline=True, meta=True)
    def string_literal(self, meta, token):
        return Literal(_span(meta), _unquote(str(token)))

    @v_args(inline=True, meta=True)
    def true_literal(self, meta, _):
        return Literal(_span(meta), True)

    @v_args(inline=True, meta=True)
    def false_literal(self, meta, _):
        return Literal(_span(meta), False)

    @v_args(inline=True, meta=True)
    def null_literal(self, meta, _):
        return Literal(_span(meta), None)

    @v_args(inline=True, meta=True)
    def parameter(self, meta, token):
        return Parameter(_span(meta), str(token)[1:])

    @v_args(inline=True, meta=True)
    def paren(self, meta, inner):
        return inner

    @v_args(meta=True)
    def call(self, meta, children):
        name_token = children[0]
        args = tuple(children[1]) if len(children) > 1 and children[1] is not None else ()
        return Call(_span(meta), str(name_token).lower(), args, _token_span(name_token))

    def expr_list(self, items):
        return tuple(items)

    @v_args(meta=True)
    def cast(self, meta, children):
        _, operand, _, (type_name, type_span) = children
        return Cast(_span(meta), operand, type_name, type_span)

    @v_args(meta=True)
    def cast_suffix(self, meta, children):
        operand, (type_name, type_span) = children
        return Cast(_span(meta), operand, type_name, type_span)

    @v_args(meta=True)
    def type_name(self, meta, children):
        """The type as written (``timestamp[us, tz=UTC]``, ``decimal128(10, 2)``) and its span."""
        span = _span(meta)
        return self.text[span.start:span.end], span

    @v_args(inline=True, meta=True)
    def typed_literal(self, meta, name_token, string_token):
        type_name = str(name_token).lower()
        if type_name not in TYPED_LITERALS:
            raise ParseError(f"{name_token} '...' is not a literal; write date '...', timestamp '...', "
                             "time '...' or interval '...'", self.text, _token_span(name_token))
        return TypedLiteral(_span(meta), type_name, _unquote(str(string_token)))

    def when_clause(self, children):
        _, condition, _, value = children
        return (condition, value)

    @v_args(meta=True)
    def case(self, meta, children):
        # CASE when_clause+ [ELSE expr] END; the optional part is (None, None) when absent.
        whens = tuple(child for child in children if isinstance(child, tuple))
        rest = [child for child in children[1:-1] if not isinstance(child, tuple)]
        otherwise = rest[-1] if rest and isinstance(rest[-1], Node) else None
        return Case(_span(meta), whens, otherwise)

    # Arithmetic ----------------------------------------------------------
    def __default__(self, data, children, meta):
        op = _ARITH_RULES.get(str(data))
        if op is None:  # pragma: no cover - every grammar rule has a method
            raise AssertionError(f"no AST rule for {data}")
        left, right = children
        return BinaryOp(_span(meta), op, left, right)

    @v_args(inline=True, meta=True)
    def negate(self, meta, operand):
        if isinstance(operand, Literal) and isinstance(operand.value, int | float) \
                and not isinstance(operand.value, bool):
            return Literal(_span(meta), -operand.value)
        return Negate(_span(meta), operand)

    @v_args(inline=True, meta=True)
    def unary_plus(self, meta, operand):
        return operand

    # Predicates ----------------------------------------------------------
    @v_args(meta=True)
    def compare_chain(self, meta, children):
        operands = children[0::2]
        ops = [COMPARE_BY_SYMBOL[str(token)] for token in children[1::2]]
        comparisons = tuple(
            Comparison(self._with_parens(left.span).cover(self._with_parens(right.span)), op, left, right)
            for left, op, right in zip(operands, ops, operands[1:]))
        if len(comparisons) == 1:
            return comparisons[0]
        return Logical(_span(meta), Logic.AND, comparisons)

    @v_args(meta=True)
    def is_null(self, meta, children):
        return IsNull(_span(meta), children[0], negated=False)

    @v_args(meta=True)
    def is_not_null(self, meta, children):
        return IsNull(_span(meta), children[0], negated=True)

    @v_args(meta=True)
    def in_(self, meta, children):
        return InList(_span(meta), children[0], children[-1], negated=False)

    @v_args(meta=True)
    def not_in(self, meta, children):
        return InList(_span(meta), children[0], children[-1], negated=True)

    @v_args(meta=True)
    def between(self, meta, children):
        operand, _, low, _, high = children
        return Between(_span(meta), operand, low, high, negated=False)

    @v_args(meta=True)
    def not_between(self, meta, children):
        operand, _, _, low, _, high = children
        return Between(_span(meta), operand, low, high, negated=True)

    @v_args(meta=True)
    def like(self, meta, children):
        return Like(_span(meta), children[0], children[-1], negated=False, ignore_case=False)

    @v_args(meta=True)
    def not_like(self, meta, children):
        return Like(_span(meta), children[0], children[-1], negated=True, ignore_case=False)

    @v_args(meta=True)
    def ilike(self, meta, children):
        return Like(_span(meta), children[0], children[-1], negated=False, ignore_case=True)

    @v_args(meta=True)
    def not_ilike(self, meta, children):
        return Like(_span(meta), children[0], children[-1], negated=True, ignore_case=True)

    # Boolean connectives -------------------------------------------------
    @v_args(meta=True)
    def and_(self, meta, children):
        return _chain(Logic.AND, _span(meta), children[0], children[-1])

    @v_args(meta=True)
    def or_(self, meta, children):
        return _chain(Logic.OR, _span(meta), children[0], children[-1])

    @v_args(meta=True)
    def not_(self, meta, children):
        return Not(_span(meta), children[-1])


# Deeper expressions are rejected with a clear error: the later stages walk
# the tree recursively (a chain of `and` or `or` counts as one level).
MAX_DEPTH = 256
# Bigger ones too: LLVM's O3 takes time growing faster than the kernel
# (an `in` list of 1,000 values: 1.5 s; 2,000: 5 s), so past this many
# nodes (operands, operators, list items) a compile would not end in
# reasonable time.
MAX_NODES = 2048


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Negate(operand=operand) | Not(operand=operand) | IsNull(operand=operand):
            return (operand,)
        case BinaryOp(left=left, right=right) | Comparison(left=left, right=right):
            return (left, right)
        case Logical(operands=operands):
            return operands
        case InList(operand=operand, items=items):
            return (operand, *items)
        case Between(operand=operand, low=low, high=high):
            return (operand, low, high)
        case Like(operand=operand, pattern=pattern):
            return (operand, pattern)
        case Call(args=args):
            return args
        case Cast(operand=operand):
            return (operand,)
        case Case(whens=whens, otherwise=otherwise):
            flat = tuple(node for pair in whens for node in pair)
            return flat + ((otherwise,) if otherwise is not None else ())
    return ()


def depth(node: Node) -> tuple[int, Node]:
    """The depth of the tree and its deepest node, computed without recursion."""
    deepest, deepest_node = 0, node
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        if level > deepest:
            deepest, deepest_node = level, current
        stack.extend((child, level + 1) for child in children(current))
    return deepest, deepest_node


def build_ast(tree: lark.Tree, text: str) -> Node:
    """Turn a parse tree of ``text`` into the AST."""
    if isinstance(tree, lark.Token):  # pragma: no cover - the grammar wraps every token
        raise ParseError("unexpected token", text, _token_span(tree))
    try:
        node = _AstBuilder(text).transform(tree)
    except lark.exceptions.VisitError as e:  # Lark wraps what a rule raises
        if isinstance(e.orig_exc, ParseError):
            raise e.orig_exc from None
        raise
    levels, deepest = depth(node)
    if levels > MAX_DEPTH:
        raise ParseError(f"the expression nests {levels} levels deep; the limit is {MAX_DEPTH}",
                         text, deepest.span)
    return node


def check_size(node: Node, text: str) -> None:
    """Refuse a tree too big to compile in reasonable time (see :data:`MAX_NODES`)."""
    count, past = size(node, MAX_NODES)
    if count > MAX_NODES:
        raise ParseError(f"the expression is too big to compile: more than {MAX_NODES:,} operands, "
                         "operators and list items (compile time grows faster than that); "
                         "this is where the limit is passed", text, past.span)


def size(node: Node, limit: int) -> tuple[int, Node]:
    """How many nodes the tree has (counting stops past ``limit``), and the last node counted."""
    count, stack, last = 0, [node], node
    while stack and count <= limit:
        last = stack.pop()
        count += 1
        stack.extend(reversed(children(last)))
    return count, last
