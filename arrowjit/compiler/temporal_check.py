"""Type rules for dates, times, timestamps, durations and decimals.

The type checker (:mod:`.typecheck`) hands these types here: typed literals
(``date '2024-01-31'``), literal conversions done at compile time (a
timestamp literal without zone compared with a zoned column is read in the
column's zone), arithmetic (timestamp ± interval, timestamp - timestamp),
the calendar functions (``year(t)``, ``date_trunc('month', t)``) and casts.
Rows for zoned timestamps and for decimals of a given precision and scale
are made on demand (:func:`lookup`): they cannot be listed in advance.
"""

from __future__ import annotations

from ..errors import Span
from . import ast, decimals, temporal
from . import typecheck as tc
from . import typed_ir as tir
from . import types as T
from .registry import FunctionSpec
from .types import DType, Kind

# Functions whose calls this module checks.
FUNCTIONS = (*temporal.FIELDS, "date_trunc")


def involved(*nodes: tir.TypedNode) -> bool:
    """Whether any operand has a type these rules own."""
    return any(n.dtype.is_temporal or n.dtype.is_decimal for n in nodes)


def lookup(name: str, arg_types: tuple[DType, ...]) -> FunctionSpec | None:
    """A registry row, or one made for a zoned timestamp or a decimal."""
    from .registry import BUILTINS
    return BUILTINS.lookup(name, arg_types) or temporal.zoned_row(name, arg_types) \
        or decimals.row(name, arg_types)


# ---------------------------------------------------------------------------
# Literals.
# ---------------------------------------------------------------------------

def typed_literal(node: ast.TypedLiteral, context: tc.Context) -> tir.Const:
    """``date '...'``, ``timestamp '...'``, ``time '...'``, ``interval '...'`` as a constant."""
    text = node.text
    match node.type_name:
        case "date":
            days = temporal.parse_date(text)
            if days is None:
                raise context.error(f"not a date: {text!r} (write date 'YYYY-MM-DD')", node.span)
            return tir.Const(T.DATE32, node.span, days)
        case "timestamp":
            parsed = temporal.parse_timestamp(text)
            if parsed is None:
                raise context.error(f"not a timestamp: {text!r} (write timestamp 'YYYY-MM-DD HH:MM:SS[.f]"
                                    "[ zone]', the zone an offset like +05:30 or a name like "
                                    "Europe/Berlin)", node.span)
            ticks, unit, zone = parsed
            return tir.Const(T.timestamp_type(unit, zone), node.span, _in_range(ticks, node.span, context))
        case "time":
            parsed_time = temporal.parse_time(text)
            if parsed_time is None:
                raise context.error(f"not a time of day: {text!r} (write time 'HH:MM[:SS[.f]]')", node.span)
            ticks, unit = parsed_time
            return tir.Const(T.time_type(unit), node.span, ticks)
    interval = temporal.parse_interval(text)
    if interval is None:
        raise context.error(f"not an interval: {text!r} (write e.g. interval '2 hours 30 minutes', "
                            "interval '1 day' or interval '3 months')", node.span)
    months, nanos = interval
    if months and nanos:
        raise context.error("an interval is either calendar months (and years) or a fixed duration; "
                            "add two intervals instead", node.span)
    if months:
        return tir.Const(T.MONTHS, node.span, months)
    unit = temporal.coarsest_unit(nanos)
    return tir.Const(T.duration_type(unit), node.span,
                     _in_range(nanos // (10**9 // T.UNIT_TICKS[unit]), node.span, context))


def _in_range(value: int, span: Span, context: tc.Context) -> int:
    if not T.INT64.min_value() <= value <= T.INT64.max_value():
        raise context.error("this value is out of the range of its type (int64 ticks)", span)
    return value


# ---------------------------------------------------------------------------
# Conversions.
# ---------------------------------------------------------------------------

def convert_const(node: tir.Const, dtype: DType, context: tc.Context) -> tir.Const:
    """A temporal or decimal literal converted at compile time (an error when it does not fit)."""
    value = node.value
    source = node.dtype
    if dtype.is_decimal:
        return decimals.const_to_decimal(node, dtype, context)
    if source.is_decimal:
        return decimals.const_from_decimal(node, dtype, context)
    if not (source.is_temporal and dtype.is_temporal) or temporal.cast_row(source, dtype) is None:
        raise context.error(f"cannot convert {source} to {dtype}", node.span)
    if source.kind is Kind.TIMESTAMP and dtype.kind is Kind.DATE and source.tz is not None:
        local = value + temporal.zone_offset_at(value, source)
        value = local
    factor = temporal.unit_factor(source, dtype)
    if factor > 0:
        value *= factor
    else:
        value = value // -factor
        if dtype.kind is not Kind.DATE and value * -factor != node.value:
            raise context.error(f"{node.value} {source} is not a whole number of {dtype.unit}", node.span)
    if dtype.kind is Kind.TIMESTAMP and dtype.tz is not None and (
            source.kind is Kind.DATE or source.kind is Kind.TIMESTAMP and source.tz is None):
        # A wall-clock time (or a date's midnight) in the zone of what it is compared with.
        if not T.INT64.min_value() <= value <= T.INT64.max_value():
            raise context.error(f"this literal is out of the range of {dtype}", node.span)
        value = temporal.local_to_utc(value, dtype.unit, dtype.tz)
    limit = 1 << (dtype.bits - 1)
    if not -limit <= value < limit:
        raise context.error(f"this literal is out of the range of {dtype.arrow}", node.span)
    return tir.Const(dtype, node.span, value)


def implicit_cast(node: tir.TypedNode, dtype: DType, context: tc.Context) -> tir.TypedNode:
    """``node`` as ``dtype`` where the rules promote it (a finer unit, a date to a timestamp,
    an integer to a decimal)."""
    if isinstance(node, tir.Const):
        if node.value is None:
            return tir.Const(dtype, node.span, None)
        return convert_const(node, dtype, context)
    source = node.dtype
    if source.kind is Kind.TIMESTAMP and dtype.kind is Kind.TIMESTAMP and (source.tz is None) != (
            dtype.tz is None):
        raise context.error(f"cannot mix a timestamp with a time zone and one without "
                            f"({source.arrow} and {dtype.arrow}), as Arrow; cast one of them", node.span)
    function = explicit_row(source, dtype)
    if function is None:
        raise context.error(f"cannot convert {source} to {dtype}", node.span)
    return tir.Cast(dtype, node.span, function, node)


def explicit_row(source: DType, target: DType) -> FunctionSpec | None:
    """The row of ``cast(x as target)`` for these types, or None."""
    if source.is_decimal or target.is_decimal:
        return decimals.cast_row(source, target)
    if source.is_temporal and target.is_temporal:
        return temporal.cast_row(source, target)
    if source.is_temporal and target.is_integer:  # the storage integer (or int64)
        storage = T.signed_of_bits(source.bits)
        return lookup(f"checked_cast_{target.name}", (source,)) if target in (T.INT64, storage) else None
    if target.is_temporal and source.is_integer and target.kind is not Kind.INTERVAL:
        return temporal.storage_row(source, target)
    return None


def explicit_cast(operand: tir.TypedNode, target: DType, node: ast.Cast,
                  context: tc.Context) -> tir.TypedNode:
    """``cast(x as date32)``, ``x::timestamp[us]``, ``cast(d as float64)``..."""
    if operand.dtype.is_string and (target.is_temporal or target.is_decimal):
        function = temporal.parse_row(operand.dtype, target) if target.is_temporal \
            else decimals.parse_row(operand.dtype, target)
        if function is None:
            raise context.error(f"cannot cast a string to {target.arrow}", node.type_span)
        return tir.Cast(target, node.span, function, tc.cast_to(operand, T.UTF8, context))
    zone_change = operand.dtype.kind is Kind.TIMESTAMP and target.kind is Kind.TIMESTAMP and (
        operand.dtype.tz is None) != (target.tz is None)
    both_temporal = operand.dtype.is_temporal and target.is_temporal
    if isinstance(operand, tir.Const) and operand.value is not None and not zone_change and (
            both_temporal or target.is_decimal or operand.dtype.is_decimal):
        return convert_const(operand, target, context)
    function = explicit_row(operand.dtype, target)
    if function is None:
        raise context.error(f"cannot cast {_arrow_name(operand.dtype)} to {_arrow_name(target)}", node.span)
    return tir.Cast(target, node.span, function, operand)


def _arrow_name(dtype: DType) -> str:
    return str(dtype.arrow) if dtype.kind not in (Kind.NULL, Kind.PENDING, Kind.INTERVAL) else str(dtype)


def prepare_comparison(left: tir.TypedNode, right: tir.TypedNode) -> tuple[tir.TypedNode, tir.TypedNode]:
    """A float literal compared with a decimal becomes the exact decimal it spells (as DuckDB)."""
    return decimals.float_literal_as_decimal(left, right), decimals.float_literal_as_decimal(right, left)


# ---------------------------------------------------------------------------
# Arithmetic.
# ---------------------------------------------------------------------------

def _unit_pair(t: DType, d: DType) -> str:
    return T.finer_unit(t.unit, d.unit)


def _make(name: str, args: list[tir.TypedNode], span: Span, context: tc.Context) -> tir.TypedNode:
    function = lookup(name, tuple(a.dtype for a in args))
    if function is None:  # pragma: no cover - the rules below only build rows that exist
        raise context.error(f"{name} is not defined for ({', '.join(str(a.dtype) for a in args)})", span)
    return tir.Call(function.return_type, span, function, tuple(args))


def _months(node: tir.TypedNode, negate: bool) -> tir.TypedNode:
    return tir.Const(T.INT64, node.span, -node.value if negate else node.value)


def binary(node: ast.BinaryOp, left: tir.TypedNode, right: tir.TypedNode,
           context: tc.Context) -> tir.TypedNode:
    """``+ - *`` on dates, timestamps, durations and decimals; other operators are errors."""
    if left.dtype.is_decimal or right.dtype.is_decimal:
        if not (left.dtype.is_temporal or right.dtype.is_temporal):
            return decimals.binary(node, left, right, context)
    op = node.op
    a, b = left.dtype, right.dtype
    ka, kb = a.kind, b.kind
    span = node.span
    cast = tc.cast_to
    if op is ast.Arith.ADD and kb in (Kind.DATE, Kind.TIMESTAMP) and ka not in (Kind.DATE, Kind.TIMESTAMP):
        return binary(ast.BinaryOp(span, op, node.right, node.left), right, left, context)
    if op in (ast.Arith.ADD, ast.Arith.SUBTRACT):
        subtract = op is ast.Arith.SUBTRACT
        if ka in (Kind.DATE, Kind.TIMESTAMP) and kb is Kind.INTERVAL and isinstance(right, tir.Const):
            if right.value is None:
                return tir.Const(a, span, None)
            return _make("add_months", [left, _months(right, subtract)], span, context)
        if ka is Kind.DATE and (b.is_integer or kb in (Kind.NULL, Kind.PENDING)):
            return _make(op.function, [left, cast(right, T.INT64, context)], span, context)
        whole_days = isinstance(right, tir.Const) and right.value is not None and kb is Kind.DURATION \
            and right.value % temporal.ticks_per_day(b) == 0
        if ka is Kind.DATE and whole_days:
            days = tir.Const(T.INT64, right.span, right.value // temporal.ticks_per_day(b))
            return _make(op.function, [left, days], span, context)
        if ka is Kind.DATE and kb is Kind.DURATION:  # a timestamp, as DuckDB
            a, ka = T.timestamp_type(b.unit), Kind.TIMESTAMP
            left = cast(left, a, context)
        if ka is Kind.TIMESTAMP and kb is Kind.DURATION:
            unit = _unit_pair(a, b)
            return _make(op.function, [cast(left, T.timestamp_type(unit, a.tz), context),
                                       cast(right, T.duration_type(unit), context)], span, context)
        if ka is kb is Kind.DURATION:
            unit = _unit_pair(a, b)
            return _make(op.function, [cast(left, T.duration_type(unit), context),
                                       cast(right, T.duration_type(unit), context)], span, context)
        if subtract and ka is kb is Kind.DATE:
            common = T.common_type(a, b)
            return _make("subtract", [cast(left, common, context), cast(right, common, context)], span,
                         context)
        if subtract and {ka, kb} <= {Kind.DATE, Kind.TIMESTAMP}:
            common = T.common_type(a, b)
            return _make("subtract", [tc.cast_to(left, common, context), tc.cast_to(right, common, context)],
                         span, context)
    if op is ast.Arith.MULTIPLY:
        if kb is Kind.DURATION and ka is not Kind.DURATION:
            left, right, a, b, ka, kb = right, left, b, a, kb, ka
        if ka is Kind.DURATION and (b.is_integer or kb in (Kind.NULL, Kind.PENDING)):
            return _make("multiply", [left, cast(right, T.INT64, context)], span, context)
    raise context.error(f"{op.symbol} is not defined for ({_arrow_name(left.dtype)}, "
                        f"{_arrow_name(right.dtype)})", span)


def negate(operand: tir.TypedNode, span: Span, context: tc.Context) -> tir.TypedNode | None:
    if operand.dtype.is_decimal:
        return decimals.negate(operand, span, context)
    if operand.dtype.kind is Kind.DURATION:
        if isinstance(operand, tir.Const) and operand.value is not None:
            return tir.Const(operand.dtype, span, -operand.value)
        return _make("negate", [operand], span, context)
    if operand.dtype.kind is Kind.INTERVAL and isinstance(operand, tir.Const):
        return tir.Const(operand.dtype, span, -operand.value)
    return None


# ---------------------------------------------------------------------------
# Functions.
# ---------------------------------------------------------------------------

def call(node: ast.Call, context: tc.Context) -> tir.TypedNode:
    """``year(t)`` .. ``week(t)`` and ``date_trunc('unit', t)``."""
    if node.name == "date_trunc":
        if len(node.args) != 2:
            raise context.error(f"date_trunc() takes 2 arguments (a unit and a date or timestamp), "
                                f"not {len(node.args)}", node.span)
        unit = tc.check(node.args[0], context)
        if not (isinstance(unit, tir.Const) and isinstance(unit.value, str)
                and unit.value.lower() in temporal.TRUNC_UNITS):
            raise context.error("date_trunc() needs a unit literal: one of "
                                + ", ".join(f"'{u}'" for u in temporal.TRUNC_UNITS), node.args[0].span)
        value = tc.check(node.args[1], context)
        _temporal_argument(value, node, node.args[1].span, context, (Kind.DATE, Kind.TIMESTAMP))
        return _make(f"date_trunc_{unit.value.lower()}", [value], node.span, context)
    if len(node.args) != 1:
        raise context.error(f"{node.name}() takes 1 argument, not {len(node.args)}", node.span)
    value = tc.check(node.args[0], context)
    kinds = (Kind.DATE, Kind.TIMESTAMP, Kind.TIME) if node.name in ("hour", "minute", "second") \
        else (Kind.DATE, Kind.TIMESTAMP)
    _temporal_argument(value, node, node.args[0].span, context, kinds)
    return _make(node.name, [value], node.span, context)


def _temporal_argument(value: tir.TypedNode, node: ast.Call, span: Span, context: tc.Context,
                       kinds: tuple[Kind, ...]) -> None:
    if value.dtype.kind not in kinds:
        names = {Kind.DATE: "a date", Kind.TIMESTAMP: "a timestamp", Kind.TIME: "a time"}
        wanted = " or ".join(names[k] for k in kinds)
        raise context.error(f"{node.name}() needs {wanted}, not {_arrow_name(value.dtype)}", span)
