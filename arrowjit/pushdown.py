"""From the typed IR to a pyarrow.dataset expression that prunes files and row groups.

pyarrow.dataset skips a Hive partition or a Parquet row group when a filter
expression, simplified with what the partition path or the row group's
statistics guarantee, can only be false or null there. arrowjit hands it an
expression that is *true wherever the predicate is true* (a superset of the
predicate), so skipping never loses a row; the rows themselves are always
decided by the compiled predicate.

The translation is done twice over, as three-valued logic requires:

* ``positive(e)``: true on every row where ``e`` is true;
* ``negative(e)``: true on every row where ``e`` is false (what ``not e``
  needs).

``and`` keeps the parts it can translate and drops the others (a dropped part
only makes the superset larger); ``or`` needs every side, else it is dropped
whole; ``not`` of something untranslatable is dropped.

Floats need care: Parquet statistics leave NaN out of min and max, and
pyarrow simplifies with those bounds as if every value lay between them. So
nothing that is true on a NaN (``x != 1``, ``not (x > 1)``, ``isnan(x)``)
is ever handed over on a float operand: only the ordered comparisons, which
are false on NaN whatever the bounds say.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .compiler import typed_ir as tir
from .compiler import types as T
from .compiler.registry import NullHandling

Compare = Callable[[Any, Any], Any]

# Registry comparison rows -> (the comparison, its complement on non-null, non-NaN values).
_COMPARISONS: Mapping[str, tuple[Compare, Compare]] = {
    "equal": (operator.eq, operator.ne),
    "equal_short": (operator.eq, operator.ne),
    "not_equal": (operator.ne, operator.eq),
    "not_equal_short": (operator.ne, operator.eq),
    "less_than": (operator.lt, operator.ge),
    "less_than_or_equal_to": (operator.le, operator.gt),
    "greater_than": (operator.gt, operator.le),
    "greater_than_or_equal_to": (operator.ge, operator.lt),
}
# The comparisons that are false on NaN: the only ones handed over on floats.
_ORDERED = frozenset({operator.eq, operator.lt, operator.le, operator.gt, operator.ge})
_PREFIX = frozenset({"starts_with", "starts_with_short"})
_NULL_TESTS = {"isnull": (True, False), "isnotnull": (False, True)}  # (positive is_null, negative is_null)

Dropped = tuple[tir.TypedNode, ...]
Translated = tuple[pc.Expression | None, Dropped]


@dataclass(frozen=True)
class Pushdown:
    """The pruning expression (None: nothing to prune with) and the sub-expressions left out of it."""

    expression: pc.Expression | None
    dropped: Dropped


def pushdown(node: tir.TypedNode, params: Mapping[str, Any] | None = None) -> Pushdown:
    """A pyarrow.dataset expression true on every row where the typed predicate ``node`` is true.

    ``params`` gives the values of run-time parameters (a parameter without
    a value makes the comparisons that use it untranslatable).
    """
    expression, dropped = _positive(node, params or {})
    return Pushdown(expression, dropped if expression is not None else (node,))


def _value(node: tir.TypedNode, params: Mapping[str, Any]) -> pc.Expression | pa.Scalar | None:
    """The value expression computing exactly what ``node`` computes, or None."""
    match node:
        case tir.ColumnRef(name=name):
            return pc.field(name)
        case tir.Const(value=value, dtype=dtype):
            return _scalar(value, dtype)
        case tir.Param(name=name, dtype=dtype):
            return _scalar(params.get(name), dtype)
        case tir.Cast(function=function, operand=operand, dtype=target):
            inner = _value(operand, params)
            if inner is None or function.nulls is not NullHandling.NULL_IF_NULL:
                return None  # cast(x as T) checks ranges and gives nulls: Arrow's cast raises
            source = operand.dtype
            if source.is_string and target.is_string:
                return inner  # large_utf8 seen as utf8: the same bytes
            widening = ((source.is_integer and target.is_integer) or (source.is_float and target.is_float)
                        or (source.is_integer and target.is_float))
            if not widening or not isinstance(inner, pc.Expression):
                return None
            # int64 -> float64 rounds in the kernel; the unsafe cast rounds the same way.
            return inner.cast(target.arrow, safe=not (source.is_integer and target.is_float))
    return None


def _scalar(value: Any, dtype: T.DType) -> pa.Scalar | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None  # a comparison with null or NaN is never true: nothing worth pruning with
    if dtype.is_string:
        return pa.scalar(value, pa.string()) if isinstance(value, str) else None
    if dtype.kind is T.Kind.BOOL or dtype.is_numeric:
        try:
            return pa.scalar(value, dtype.arrow)
        except (pa.ArrowInvalid, OverflowError, TypeError):
            return None
    return None


def _comparison(node: tir.Call, params: Mapping[str, Any], negated: bool) -> pc.Expression | None:
    left, right = node.function.arg_types
    if left != right:
        return None  # int64 against uint64: exact in the kernel, not in Arrow
    ops = _COMPARISONS[node.function.name]
    op = ops[1] if negated else ops[0]
    if left.is_float and (negated or op not in _ORDERED):
        return None  # true on NaN: see the module docstring
    first, second = node.args
    first, second = _unwiden(first, second, params)
    second, first = _unwiden(second, first, params)
    a, b = _value(first, params), _value(second, params)
    if a is None or b is None or not (isinstance(a, pc.Expression) or isinstance(b, pc.Expression)):
        return None
    return op(a if isinstance(a, pc.Expression) else pc.scalar(a), b)


def _unwiden(operand: tir.TypedNode, other: tir.TypedNode, params: Mapping[str, Any]
             ) -> tuple[tir.TypedNode, tir.TypedNode]:
    """``cast(i32 -> i64) < 5`` as ``i32 < 5:int32`` when the integer fits: the form statistics match."""
    if not (isinstance(operand, tir.Cast) and operand.function.nulls is NullHandling.NULL_IF_NULL
            and operand.dtype.is_integer and operand.operand.dtype.is_integer):
        return operand, other
    source = operand.operand.dtype
    value = other.value if isinstance(other, tir.Const) else \
        params.get(other.name) if isinstance(other, tir.Param) else None
    if isinstance(value, bool) or not isinstance(value, int) \
            or not source.min_value() <= value <= source.max_value():
        return operand, other
    return operand.operand, tir.Const(source, other.span, value)


def _prefix(node: tir.Call, params: Mapping[str, Any]) -> pc.Expression | None:
    """``starts_with(s, p)`` as the byte range ``p <= s < p'`` (``p'``: p with its last byte raised)."""
    s, p = (_value(arg, params) for arg in node.args)
    if not isinstance(s, pc.Expression) or not isinstance(p, pa.Scalar):
        return None
    prefix = p.as_py()
    if not prefix:
        return None  # every string starts with ''
    low = s >= p
    last = prefix[-1]
    if ord(last) >= 0x7F:
        return low
    return low & (s < pa.scalar(prefix[:-1] + chr(ord(last) + 1), pa.string()))


def _leaf(node: tir.TypedNode, params: Mapping[str, Any], negated: bool) -> pc.Expression | None:
    """A predicate that is not and/or/not, where it is true (or, ``negated``, false)."""
    match node:
        case tir.Call(function=function) if function.name in _COMPARISONS:
            return _comparison(node, params, negated)
        case tir.Call(function=function, args=(arg,)) if function.name in _NULL_TESTS:
            value = _value(arg, params)
            if not isinstance(value, pc.Expression):
                return None
            return value.is_null() if _NULL_TESTS[function.name][negated] else value.is_valid()
        case tir.Call(function=function) if function.name in _PREFIX and not negated:
            return _prefix(node, params)
        case tir.ColumnRef(name=name, dtype=dtype) if dtype.kind is T.Kind.BOOL:
            return pc.field(name) == pa.scalar(not negated)
        case tir.Const(value=value) if value is None or isinstance(value, bool):
            # A null is neither true nor false.
            return pc.scalar(value is not None and value != negated)
    return None


def _positive(node: tir.TypedNode, params: Mapping[str, Any]) -> Translated:
    """True wherever ``node`` is true."""
    match node:
        case tir.And(args=args):
            return _all([_positive(arg, params) for arg in args], args)
        case tir.Or(args=args):
            return _any([_positive(arg, params) for arg in args])
        case tir.Not(operand=operand):
            return _negative(operand, params)
    return _leaf(node, params, negated=False), ()


def _negative(node: tir.TypedNode, params: Mapping[str, Any]) -> Translated:
    """True wherever ``node`` is false (``not node`` is true)."""
    match node:
        case tir.And(args=args):  # false when any part is false
            return _any([_negative(arg, params) for arg in args])
        case tir.Or(args=args):  # false when every part is false
            return _all([_negative(arg, params) for arg in args], args)
        case tir.Not(operand=operand):
            return _positive(operand, params)
    return _leaf(node, params, negated=True), ()


def _all(parts: list[Translated], nodes: tuple[tir.TypedNode, ...]) -> Translated:
    """Every part must hold: the untranslatable ones are left out (and reported)."""
    kept = [expression for expression, _ in parts if expression is not None]
    dropped = tuple(d for expression, inner in parts if expression is not None for d in inner)
    dropped += tuple(node for (expression, _), node in zip(parts, nodes) if expression is None)
    if not kept:
        return None, ()
    combined = kept[0]
    for expression in kept[1:]:
        combined = combined & expression
    return combined, dropped


def _any(parts: list[Translated]) -> Translated:
    """One part must hold: every part is needed, else nothing can be said."""
    if any(expression is None for expression, _ in parts):
        return None, ()
    combined = parts[0][0]
    for expression, _ in parts[1:]:
        combined = combined | expression
    return combined, tuple(d for _, inner in parts for d in inner)
