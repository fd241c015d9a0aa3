"""Stage 3: AST + schema -> typed IR.

The checker walks the AST bottom-up. Each AST node type has its own small
``check`` function (registered with ``functools.singledispatch``), which
checks the children, decides the operand types by the promotion rules in
:mod:`.types`, inserts :class:`~.typed_ir.Cast` nodes where a value changes
type, and looks the operation up in the function registry. Errors point at
the sub-expression that is wrong and name the types involved.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import singledispatch

from ..errors import ExpressionTypeError, Span, UnknownColumnError
from . import ast, strings, temporal_check  # temporal_check (dates, decimals) calls back into this module
from . import typed_ir as tir
from . import types as T
from .automaton import PatternError
from .registry import BUILTINS, CALLABLE_FUNCTIONS, Registry
from .strings import SHORT_STRING_BYTES
from .types import DType


@dataclass(frozen=True)
class Context:
    """What a check needs besides the node: the source text, the columns and the registry.

    ``columns`` maps each column name to its DType, or to the Arrow type's
    name when kernels cannot read that type.
    """

    text: str
    columns: dict[str, DType | str]
    registry: Registry = BUILTINS
    # Parameter types: given by the caller, or inferred at a parameter's first
    # use (compared with a float64 column: float64) and fixed from then on.
    parameters: dict[str, DType] = field(default_factory=dict)

    def error(self, message: str, span: Span) -> ExpressionTypeError:
        return ExpressionTypeError(message, self.text, span)


def check_predicate(node: ast.Node, context: Context) -> tir.TypedNode:
    """Type-check a filter predicate: it must be boolean (or the literal null)."""
    typed = check(node, context)
    if typed.dtype == T.PENDING:
        typed = cast_to(typed, T.BOOL, context)
    if typed.dtype not in (T.BOOL, T.NULL):
        raise context.error(f"a filter needs a boolean predicate, but this is {typed.dtype}",
                            node.span)
    if typed.dtype == T.NULL:
        return tir.Const(T.BOOL, typed.span, None)
    return typed


def check_value(node: ast.Node, context: Context) -> tir.TypedNode:
    """Type-check an expression whose value is computed (a projection): any type will do."""
    typed = check(node, context)
    if typed.dtype == T.PENDING:
        raise _cannot_infer([typed], node.span, context)
    if typed.dtype == T.NULL:  # a column of nulls: typed as bool
        return tir.Const(T.BOOL, typed.span, None)
    if typed.dtype == T.MONTHS:
        raise context.error("an interval of months is not a column type; add it to a date or timestamp",
                            node.span)
    if typed.dtype.is_view:  # string_view values are projected as utf8
        return cast_to(typed, T.UTF8, context)
    return typed


def _describe(node: ast.Node, context: Context) -> str:
    return context.text[node.span.start:node.span.end]


def cast_to(node: tir.TypedNode, dtype: DType, context: Context) -> tir.TypedNode:
    """``node`` converted to ``dtype``; literals are converted now, other nodes get a Cast."""
    if node.dtype == dtype:
        return node
    if isinstance(node, tir.Param) and node.dtype == T.PENDING:
        if dtype.kind is T.Kind.INTERVAL:
            raise context.error("interval parameters are not supported; pass a duration "
                                "(datetime.timedelta) or use an interval literal", node.span)
        context.parameters[node.name] = dtype
        return tir.Param(dtype, node.span, node.name)
    if node.dtype.is_temporal or dtype.is_temporal or node.dtype.is_decimal or dtype.is_decimal:
        return temporal_check.implicit_cast(node, dtype, context)
    if isinstance(node, tir.Const):
        if node.value is None:
            return tir.Const(dtype, node.span, None)
        if dtype.is_float:
            return tir.Const(dtype, node.span, float(node.value))
        if dtype.is_integer and isinstance(node.value, int) and not isinstance(node.value, bool) \
                and dtype.min_value() <= node.value <= dtype.max_value():
            return tir.Const(dtype, node.span, node.value)
    function = context.registry.lookup(f"cast_{dtype.name}", (node.dtype,))
    if function is None:
        raise context.error(f"cannot convert {node.dtype} to {dtype}", node.span)
    return tir.Cast(dtype, node.span, function, node)


@singledispatch
def check(node: ast.Node, context: Context) -> tir.TypedNode:  # pragma: no cover
    raise TypeError(f"no type rule for {type(node).__name__}")


@check.register
def _(node: ast.Column, context: Context) -> tir.TypedNode:
    dtype = context.columns.get(node.name)
    if dtype is None:
        close = difflib.get_close_matches(node.name, list(context.columns), n=1)
        if not close:
            close = [c for c in context.columns if c.lower() == node.name.lower()]
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownColumnError(f"unknown column {node.name!r}{hint}", context.text, node.span)
    if isinstance(dtype, str):
        raise context.error(f"column {node.name!r} has type {dtype}, which arrowjit cannot "
                            "evaluate yet (supported: bool, integers, floats, strings, dates, times, "
                            "timestamps, durations, decimal128)", node.span)
    return tir.ColumnRef(dtype, node.span, node.name)


@check.register
def _(node: ast.TypedLiteral, context: Context) -> tir.TypedNode:
    return temporal_check.typed_literal(node, context)


@check.register
def _(node: ast.Parameter, context: Context) -> tir.TypedNode:
    return tir.Param(context.parameters.get(node.name, T.PENDING), node.span, node.name)


def _cannot_infer(nodes: list[tir.TypedNode], span: Span, context: Context) -> ExpressionTypeError:
    names = sorted({n.name for n in nodes if isinstance(n, tir.Param) and n.dtype == T.PENDING})
    listed = " and ".join(f":{n}" for n in names)
    example = ", ".join(f"{n!r}: 'float64'" for n in names)
    return context.error(f"cannot infer the type of {listed} here; give it with params={{{example}}}",
                         span)


@check.register
def _(node: ast.Literal, context: Context) -> tir.TypedNode:
    value = node.value
    if value is None:
        return tir.Const(T.NULL, node.span, None)
    if isinstance(value, bool):
        return tir.Const(T.BOOL, node.span, value)
    if isinstance(value, str):
        return tir.Const(T.UTF8, node.span, value)
    if isinstance(value, float):
        return tir.Const(T.FLOAT64, node.span, value)
    if T.INT64.min_value() <= value <= T.INT64.max_value():
        return tir.Const(T.INT64, node.span, value)
    if 0 <= value <= T.UINT64.max_value():
        return tir.Const(T.UINT64, node.span, value)
    raise context.error("integer literal does not fit in int64 or uint64", node.span)


def _call(name: str, args: list[tir.TypedNode], span: Span, context: Context,
          what: str) -> tir.TypedNode:
    """Resolve ``name`` for the argument types, cast the arguments and build the Call."""
    arg_types = tuple(a.dtype for a in args)
    function = context.registry.resolve(name, arg_types) or temporal_check.lookup(name, arg_types)
    if function is None:
        types = ", ".join(str(t) for t in arg_types)
        signatures = "; ".join(row.signature() for row in context.registry.overloads(name)
                               if name in context.registry.user_functions())
        listed = f"; it takes {signatures}" if signatures else ""
        raise context.error(f"{what} is not defined for ({types}){listed}", span)
    cast_args = tuple(cast_to(a, p, context) for a, p in zip(args, function.arg_types))
    return tir.Call(function.return_type, span, function, cast_args)


def _arithmetic_type(left: tir.TypedNode, right: tir.TypedNode, symbol: str,
                     context: Context) -> DType:
    """The common type of two arithmetic operands (bool is not a number here)."""
    for operand in (left, right):
        if operand.dtype == T.BOOL:
            raise context.error(f"{symbol} needs numbers, but "
                                f"{context.text[operand.span.start:operand.span.end]} is bool",
                                operand.span)
    common = T.common_type(left.dtype, right.dtype)
    if common == T.PENDING:
        raise _cannot_infer([left, right], left.span.cover(right.span), context)
    return T.INT64 if common == T.NULL else common


@check.register
def _(node: ast.BinaryOp, context: Context) -> tir.TypedNode:
    left, right = check(node.left, context), check(node.right, context)
    if temporal_check.involved(left, right):
        return temporal_check.binary(node, left, right, context)
    common = _arithmetic_type(left, right, node.op.symbol, context)
    if node.op is ast.Arith.DIVIDE and common.is_integer:
        common = T.FLOAT64  # `/` is true division
    function = context.registry.lookup(node.op.function, (common, common))
    if function is None:  # pragma: no cover - every numeric type has the arithmetic rows
        raise context.error(f"{node.op.symbol} is not defined for ({left.dtype}, {right.dtype})",
                            node.span)
    return tir.Call(function.return_type, node.span, function,
                    (cast_to(left, common, context), cast_to(right, common, context)))


@check.register
def _(node: ast.Negate, context: Context) -> tir.TypedNode:
    operand = check(node.operand, context)
    if operand.dtype == T.BOOL:
        raise context.error(f"unary minus needs a number, but {_describe(node.operand, context)} "
                            "is bool; use 'not' to negate a condition", node.span)
    if operand.dtype == T.NULL:
        operand = cast_to(operand, T.INT64, context)
    if temporal_check.involved(operand):
        negated = temporal_check.negate(operand, node.span, context)
        if negated is not None:
            return negated
    return _call("negate", [operand], node.span, context, "unary minus")


def _comparison_types(a: DType, b: DType) -> tuple[DType, DType] | None:
    """The types both sides of a comparison are cast to, or None when they cannot meet.

    A signed integer against a uint64 has no common type that holds both; it
    uses the exact ``int64``/``uint64`` rows instead of a lossy common type.
    """
    if a.is_integer and b.is_integer and a.kind is not b.kind and T.UINT64 in (a, b):
        return (T.INT64, T.UINT64) if a.is_signed else (T.UINT64, T.INT64)
    if (a.is_decimal or b.is_decimal) and all(t.is_decimal or t.is_integer for t in (a, b)):
        a, b = (t if t.is_decimal else T.integer_as_decimal(t) for t in (a, b))
        if temporal_check.decimals.exceeds_common(a, b):
            return a, b  # no decimal128 holds both: compared exactly in 256 bits
    common = T.common_type(a, b)
    if common is None:
        return None
    if common == T.NULL:
        common = T.BOOL
    if common.is_string:  # every string type compares as the utf8 view (large_utf8 == large_utf8 too)
        common = T.UTF8
    return common, common


def _compare(op: ast.Compare, left: tir.TypedNode, right: tir.TypedNode, span: Span,
             context: Context) -> tir.TypedNode:
    left, right = temporal_check.prepare_comparison(left, right)
    types = _comparison_types(left.dtype, right.dtype)
    if types is not None and T.PENDING in types:
        raise _cannot_infer([left, right], span, context)
    if types is None:
        raise context.error(
            f"cannot compare {context.text[left.span.start:left.span.end]} ({left.dtype}) "
            f"with {context.text[right.span.start:right.span.end]} ({right.dtype})", span)
    left, right = cast_to(left, types[0], context), cast_to(right, types[1], context)
    if op in (ast.Compare.EQ, ast.Compare.NE) and types[0].is_string:
        # A short literal is compared with a length check and two loads.
        if _short_literal(left):
            left, right = right, left
        if _short_literal(right):
            function = context.registry.lookup(f"{op.function}_short", types)
            return tir.Call(T.BOOL, span, function, (left, right))
    function = context.registry.lookup(op.function, types) or temporal_check.lookup(op.function, types)
    return tir.Call(T.BOOL, span, function, (left, right))


def _short_literal(node: tir.TypedNode) -> bool:
    return isinstance(node, tir.Const) and isinstance(node.value, str) \
        and len(node.value.encode("utf-8")) <= SHORT_STRING_BYTES


@check.register
def _(node: ast.Comparison, context: Context) -> tir.TypedNode:
    return _compare(node.op, check(node.left, context), check(node.right, context), node.span,
                    context)


def _condition(node: ast.Node, context: Context, what: str) -> tir.TypedNode:
    typed = check(node, context)
    if typed.dtype == T.NULL:
        return tir.Const(T.BOOL, typed.span, None)
    if typed.dtype == T.PENDING:
        return cast_to(typed, T.BOOL, context)
    if typed.dtype != T.BOOL:
        raise context.error(f"'{what}' needs boolean operands, but "
                            f"{_describe(node, context)} is {typed.dtype}", node.span)
    return typed


def _flatten(kind: type, args: list[tir.TypedNode]) -> tuple[tir.TypedNode, ...]:
    flat: list[tir.TypedNode] = []
    for arg in args:
        flat.extend(arg.args if isinstance(arg, kind) else (arg,))
    return tuple(flat)


@check.register
def _(node: ast.Logical, context: Context) -> tir.TypedNode:
    operands = [_condition(operand, context, node.op.value) for operand in node.operands]
    kind = tir.And if node.op is ast.Logic.AND else tir.Or
    return kind(T.BOOL, node.span, _flatten(kind, operands))


@check.register
def _(node: ast.Not, context: Context) -> tir.TypedNode:
    return tir.Not(T.BOOL, node.span, _condition(node.operand, context, "not"))


@check.register
def _(node: ast.IsNull, context: Context) -> tir.TypedNode:
    operand = check(node.operand, context)
    name = "isnotnull" if node.negated else "isnull"
    return _call(name, [operand], node.span, context, "is null")


@check.register
def _(node: ast.InList, context: Context) -> tir.TypedNode:
    operand = check(node.operand, context)
    tests = tuple(_compare(ast.Compare.EQ, operand, check(item, context), item.span, context)
                  for item in node.items)
    any_equal = tests[0] if len(tests) == 1 else tir.Or(T.BOOL, node.span, tests)
    return tir.Not(T.BOOL, node.span, any_equal) if node.negated else any_equal


@check.register
def _(node: ast.Between, context: Context) -> tir.TypedNode:
    operand = check(node.operand, context)
    low = _compare(ast.Compare.GE, operand, check(node.low, context), node.span, context)
    high = _compare(ast.Compare.LE, operand, check(node.high, context), node.span, context)
    both = tir.And(T.BOOL, node.span, (low, high))
    return tir.Not(T.BOOL, node.span, both) if node.negated else both


def _pattern(node: ast.Node, context: Context, what: str) -> tir.Const:
    """The literal pattern of ``like``/``regexp_like`` (a null literal is a null pattern)."""
    typed = check(node, context)
    if not (isinstance(typed, tir.Const) and (typed.value is None or isinstance(typed.value, str))):
        raise context.error(f"the pattern of {what} must be a string literal, but "
                            f"{_describe(node, context)} is {typed.dtype}"
                            f"{'' if isinstance(typed, tir.Const) else ' and not a literal'}", node.span)
    return typed


def _string_operand(node: ast.Node, context: Context, what: str) -> tir.TypedNode:
    typed = check(node, context)
    if typed.dtype == T.PENDING:
        raise context.error(f"{what} needs a string; string parameters are not supported", node.span)
    if not (typed.dtype.is_string or typed.dtype == T.NULL):
        raise context.error(f"{what} needs a string, but {_describe(node, context)} is {typed.dtype}",
                            node.span)
    return typed


def _compiled_pattern(build, pattern: ast.Node, context: Context, what: str):
    try:
        return build()
    except PatternError as error:
        raise context.error(f"cannot compile the pattern of {what}: {error} (at character "
                            f"{error.position} of the pattern)", pattern.span) from None


@check.register
def _(node: ast.Like, context: Context) -> tir.TypedNode:
    what = "ilike" if node.ignore_case else "like"
    operand = _string_operand(node.operand, context, what)
    pattern = _pattern(node.pattern, context, what)
    if operand.dtype == T.NULL or pattern.value is None:
        return tir.Const(T.BOOL, node.span, None)
    operand = cast_to(operand, T.UTF8, context)
    call = _compiled_pattern(
        lambda: strings.like_call(operand, pattern, node.ignore_case, node.span, context.registry),
        node.pattern, context, what)
    return tir.Not(T.BOOL, node.span, call) if node.negated else call


def _regexp_like(node: ast.Call, context: Context) -> tir.TypedNode:
    _arity(node, 2, context)
    operand = _string_operand(node.args[0], context, "regexp_like()")
    pattern = _pattern(node.args[1], context, "regexp_like()")
    if operand.dtype == T.NULL or pattern.value is None:
        return tir.Const(T.BOOL, node.span, None)
    operand = cast_to(operand, T.UTF8, context)
    row = context.registry.lookup("regexp_like", (T.UTF8, T.UTF8))
    function = _compiled_pattern(lambda: strings.specialized(row, pattern.value), node.args[1], context,
                                 "regexp_like()")
    return tir.Call(T.BOOL, node.span, function, (operand, pattern))


def _common(nodes: list[tir.TypedNode], span: Span, what: str, context: Context) -> DType:
    """The type the values of ``if``/``case``/``coalesce`` are converted to."""
    common = nodes[0].dtype
    for node in nodes[1:]:
        merged = T.common_type(common, node.dtype)
        if merged is None:
            raise context.error(f"{what} mixes {common} and {node.dtype}, which have no common type",
                                span)
        common = merged
    if common == T.PENDING:
        raise _cannot_infer(nodes, span, context)
    return T.BOOL if common == T.NULL else common


def _if(cond: tir.TypedNode, then: tir.TypedNode, otherwise: tir.TypedNode, span: Span,
        what: str, context: Context) -> tir.TypedNode:
    dtype = _common([then, otherwise], span, what, context)
    return tir.If(dtype, span, cond, cast_to(then, dtype, context), cast_to(otherwise, dtype, context))


def _arity(node: ast.Call, expected: int | tuple[int, int | None], context: Context) -> None:
    low, high = (expected, expected) if isinstance(expected, int) else expected
    count = len(node.args)
    if count < low or (high is not None and count > high):
        wanted = str(low) if low == high else (f"at least {low}" if high is None else f"{low} to {high}")
        raise context.error(f"{node.name}() takes {wanted} argument{'s' if wanted != '1' else ''}, "
                            f"not {count}", node.span)


SPECIAL_FUNCTIONS = ("if", "coalesce", "nullif", "regexp_like")


def _conditional_call(node: ast.Call, context: Context) -> tir.TypedNode | None:
    """``if``, ``coalesce``, ``nullif``, ``greatest``, ``least``: the calls with rules of their own."""
    match node.name:
        case "if":
            _arity(node, 3, context)
            cond = _condition(node.args[0], context, "if")
            then, otherwise = check(node.args[1], context), check(node.args[2], context)
            return _if(cond, then, otherwise, node.span, "if()", context)
        case "coalesce":
            _arity(node, (1, None), context)
            args = [check(arg, context) for arg in node.args]
            dtype = _common(args, node.span, "coalesce()", context)
            return tir.Coalesce(dtype, node.span, tuple(cast_to(a, dtype, context) for a in args))
        case "nullif":  # case when a = b then null else a end
            _arity(node, 2, context)
            first, second = check(node.args[0], context), check(node.args[1], context)
            equal = _compare(ast.Compare.EQ, first, second, node.span, context)
            dtype = T.BOOL if first.dtype in (T.NULL, T.PENDING) else first.dtype
            return tir.If(dtype, node.span, equal, tir.Const(dtype, node.span, None),
                          cast_to(first, dtype, context))
        case "regexp_like":
            return _regexp_like(node, context)
        case "greatest" | "least":
            _arity(node, (1, None), context)
            result = check(node.args[0], context)
            for arg in node.args[1:]:
                result = _call(node.name, [result, check(arg, context)], node.span, context,
                               f"{node.name}()")
            return result
    return None


@check.register
def _(node: ast.Cast, context: Context) -> tir.TypedNode:
    operand = check(node.operand, context)
    try:
        target = T.from_arrow(T.arrow_type_from_name(node.type_name))
    except ValueError:
        target = None
    if target is None:
        raise context.error(f"cannot cast to {node.type_name!r}: not a type arrowjit evaluates "
                            "(bool, int8..int64, uint8..uint64, float32, float64, date32, date64, "
                            "timestamp[unit(, tz=zone)], time32[unit], time64[unit], duration[unit], "
                            "decimal128(p, s))", node.type_span)
    if operand.dtype in (T.NULL, T.PENDING) or operand.dtype == target:
        return cast_to(operand, target, context)
    if temporal_check.involved(operand) or target.is_temporal or target.is_decimal:
        return temporal_check.explicit_cast(operand, target, node, context)
    if operand.dtype.is_string and not target.is_string:  # parsed from the utf8 view
        operand = cast_to(operand, T.UTF8, context)
    function = (context.registry.lookup(f"checked_cast_{target.name}", (operand.dtype,))
                or context.registry.lookup(f"cast_{target.name}", (operand.dtype,)))
    if function is None:
        raise context.error(f"cannot cast {operand.dtype} to {target}", node.span)
    return tir.Cast(target, node.span, function, operand)


@check.register
def _(node: ast.Case, context: Context) -> tir.TypedNode:
    conditions = [_condition(cond, context, "case when") for cond, _ in node.whens]
    values = [check(value, context) for _, value in node.whens]
    otherwise = check(node.otherwise, context) if node.otherwise is not None else \
        tir.Const(T.NULL, node.span, None)
    dtype = _common([*values, otherwise], node.span, "case", context)
    result = cast_to(otherwise, dtype, context)
    for cond, value in zip(reversed(conditions), reversed(values)):
        result = tir.If(dtype, node.span, cond, cast_to(value, dtype, context), result)
    return result


@check.register
def _(node: ast.Call, context: Context) -> tir.TypedNode:
    special = _conditional_call(node, context)
    if special is not None:
        return special
    if node.name == "round" and len(node.args) == 2:
        value = check(node.args[0], context)
        digits = check(node.args[1], context)
        if not (digits.dtype.is_integer or digits.dtype in (T.NULL, T.PENDING)):
            raise context.error(f"round() takes a whole number of digits, not {digits.dtype}",
                                node.args[1].span)
        return _call("round", [value, cast_to(digits, T.INT64, context)], node.span, context, "round()")
    if node.name in ("starts_with", "ends_with") and len(node.args) == 2:
        args = [check(arg, context) for arg in node.args]
        if args[0].dtype.is_string and _short_literal(args[1]):
            return _call(f"{node.name}_short", args, node.span, context, f"{node.name}()")
        return _call(node.name, args, node.span, context, f"{node.name}()")
    if node.name in temporal_check.FUNCTIONS:
        return temporal_check.call(node, context)
    callable_functions = (*CALLABLE_FUNCTIONS, *context.registry.user_functions())
    if node.name not in callable_functions:
        close = difflib.get_close_matches(
            node.name, [*callable_functions, *SPECIAL_FUNCTIONS, *temporal_check.FUNCTIONS], n=1)
        hint = f"; did you mean {close[0]}()?" if close else ""
        raise context.error(f"unknown function {node.name}(){hint}", node.name_span)
    args = [check(arg, context) for arg in node.args]
    arities = sorted({len(row.arg_types) for row in context.registry.overloads(node.name)})
    if len(args) not in arities:
        expected = " or ".join(str(n) for n in arities)
        raise context.error(f"{node.name}() takes {expected} argument{'s' if arities != [1] else ''}, "
                            f"not {len(args)}", node.span)
    return _call(node.name, args, node.span, context, f"{node.name}()")
