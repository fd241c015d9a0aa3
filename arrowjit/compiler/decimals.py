"""decimal128(p, s): comparisons, ``+ - *`` with Arrow's result types, and casts.

A decimal is a 128-bit integer scaled by 10**-s (LLVM ``i128``). Operands of
different scales meet at the larger scale (multiplying by a power of ten,
which never overflows: the common precision holds both). Result types follow
pyarrow.compute:

* ``a + b``, ``a - b``: scale max(s1, s2), precision max(p1 - s1, p2 - s2) + scale + 1;
* ``a * b``: scale s1 + s2, precision p1 + p2 + 1;
* an integer is the decimal of its digits (int64: decimal128(19, 0)); with a
  float the decimal becomes float64.

Where pyarrow raises because the precision would pass 38, arrowjit caps it at
38 and a result that does not fit 38 digits is null. Rows are made on
demand for the precisions and scales an expression uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation

from llvmlite import ir

from . import ast
from . import typecheck as tc
from . import typed_ir as tir
from . import types as T
from .registry import FunctionSpec, NullHandling
from .strings import parse_decimal
from .types import DType

I128 = ir.IntType(128)
NN, NINT = NullHandling.NULL_IF_NULL, NullHandling.NULL_INTERNAL
MAX_PRECISION = T.MAX_DECIMAL_PRECISION
# Python's decimals round to 28 digits by default; these hold any decimal128 exactly.
EXACT = Context(prec=100)
COMPARISONS = {"equal": "==", "not_equal": "!=", "less_than": "<", "less_than_or_equal_to": "<=",
               "greater_than": ">", "greater_than_or_equal_to": ">="}


def const(value: int) -> ir.Constant:
    return ir.Constant(I128, value)


def _fits(b: ir.IRBuilder, value: ir.Value, precision: int) -> ir.Value:
    """|value| < 10**precision."""
    limit = 10**precision
    above = b.icmp_signed("<", value, const(limit), name="below_limit")
    below = b.icmp_signed(">", value, const(-limit), name="above_minus_limit")
    return b.and_(above, below, name="fits_precision")


def _rescale(b: ir.IRBuilder, value: ir.Value, source: DType, target: DType) -> ir.Value:
    """The unscaled value at the target's scale: times 10**k, or divided (toward zero)."""
    shift = target.scale - source.scale
    if shift > 0:
        return b.mul(value, const(10**shift), name="scaled_up")
    if shift < 0:
        return b.sdiv(value, const(10**-shift), name="scaled_down")
    return value


# ---------------------------------------------------------------------------
# Rows.
# ---------------------------------------------------------------------------

def row(name: str, arg_types: tuple[DType, ...]) -> FunctionSpec | None:
    """The row for a comparison or negation of decimals of one type (made on demand)."""
    if not arg_types or not all(t.is_decimal for t in arg_types):
        return None
    if name in COMPARISONS and len(arg_types) == 2 and arg_types[0] == arg_types[1]:
        symbol = COMPARISONS[name]
        return FunctionSpec(name, arg_types, T.BOOL, NN,
                            lambda b, x, y: b.icmp_signed(symbol, x, y, name="cmp"))
    if name in COMPARISONS and len(arg_types) == 2:
        return _wide_comparison(name, arg_types[0], arg_types[1])
    if name == "negate" and len(arg_types) == 1:
        return FunctionSpec(name, arg_types, arg_types[0], NN, lambda b, x: b.neg(x, name="neg"))
    if name == "abs" and len(arg_types) == 1:
        return FunctionSpec(name, arg_types, arg_types[0], NN, lambda b, x: b.select(
            b.icmp_signed("<", x, const(0)), b.neg(x), x, name="abs"))
    if name in ("isnull", "isnotnull") and len(arg_types) == 1:
        from .registry import BUILTINS
        model = BUILTINS.lookup(name, (T.INT64,))
        return FunctionSpec(name, arg_types, T.BOOL, model.nulls, model.emit, model.doc)
    return None


def exceeds_common(a: DType, b: DType) -> bool:
    """Whether decimals ``a`` and ``b`` have no common decimal128 type (it would need more than
    38 digits), so that converting either to the capped one could overflow."""
    scale = max(a.scale, b.scale)
    return max(a.precision - a.scale, b.precision - b.scale) + scale > MAX_PRECISION


def _wide_comparison(name: str, a: DType, b: DType) -> FunctionSpec:
    """Decimals of two scales compared exactly: both at the larger scale in 256 bits (10**38 times
    10**38 is below 2**255), where the capped common type could not hold them."""
    symbol = COMPARISONS[name]
    scale = max(a.scale, b.scale)

    def emit(bd: ir.IRBuilder, x, y):
        wide = ir.IntType(256)
        x = bd.mul(bd.sext(x, wide), ir.Constant(wide, 10**(scale - a.scale)), name="x_wide")
        y = bd.mul(bd.sext(y, wide), ir.Constant(wide, 10**(scale - b.scale)), name="y_wide")
        return bd.icmp_signed(symbol, x, y, name="cmp")
    return FunctionSpec(name, (a, b), T.BOOL, NN, emit, "exact, in 256 bits")


def arithmetic_row(op: ast.Arith, a: DType, b: DType) -> FunctionSpec:
    """``a op b`` for decimals already at the scales the operator wants (see :func:`binary`)."""
    if op is ast.Arith.MULTIPLY:
        precision, scale = a.precision + b.precision + 1, a.scale + b.scale
    else:
        scale = max(a.scale, b.scale)
        precision = max(a.precision - a.scale, b.precision - b.scale) + scale + 1
    result = T.decimal_type(min(precision, MAX_PRECISION), scale)
    capped = precision > MAX_PRECISION
    method = {ast.Arith.ADD: "add", ast.Arith.SUBTRACT: "sub", ast.Arith.MULTIPLY: "mul"}[op]

    def emit(bd: ir.IRBuilder, x, y, x_valid, y_valid):
        valid = bd.and_(x_valid, y_valid, name="valid")
        if method != "mul" and a != b:
            # Operands with no common decimal128 (see binary): exact in 256 bits, then checked.
            wide = ir.IntType(256)
            xw = bd.mul(bd.sext(x, wide), ir.Constant(wide, 10**(scale - a.scale)), name="x_wide")
            yw = bd.mul(bd.sext(y, wide), ir.Constant(wide, 10**(scale - b.scale)), name="y_wide")
            exact = getattr(bd, method)(xw, yw, name=method)
            limit = 10**MAX_PRECISION
            fits = bd.and_(bd.icmp_signed("<", exact, ir.Constant(wide, limit)),
                           bd.icmp_signed(">", exact, ir.Constant(wide, -limit)), name="fits_precision")
            return bd.trunc(exact, I128, name="narrow"), bd.and_(valid, fits, name="result_valid")
        if method == "mul" and a.precision + b.precision > MAX_PRECISION:
            # |x| * |y| < 10**38 <=> |x| <= (10**38 - 1) // |y|: decided before multiplying.
            ax = bd.select(bd.icmp_signed("<", x, const(0)), bd.neg(x), x, name="abs_x")
            ay = bd.select(bd.icmp_signed("<", y, const(0)), bd.neg(y), y, name="abs_y")
            zero = bd.icmp_signed("==", ay, const(0), name="y_zero")
            room = bd.udiv(const(10**MAX_PRECISION - 1), bd.select(zero, const(1), ay), name="room")
            fits = bd.or_(zero, bd.icmp_unsigned("<=", ax, room), name="product_fits")
            return bd.mul(x, y, name="product"), bd.and_(valid, fits, name="product_valid")
        value = getattr(bd, method)(x, y, name=method)
        if capped:  # two 38-digit values: the result may need 39 digits
            valid = bd.and_(valid, _fits(bd, value, MAX_PRECISION), name="result_valid")
        return value, valid
    doc = "null when the result passes 38 digits (pyarrow raises)" if capped else "exact"
    return FunctionSpec({"add": "add", "sub": "subtract", "mul": "multiply"}[method], (a, b), result, NINT,
                        emit, doc)


def runtime_available() -> bool:
    """Whether the 128-bit division and conversion helpers (libgcc_s) are there for MCJIT."""
    from .jit import int128_runtime
    return bool(int128_runtime())


def cast_row(source: DType, target: DType) -> FunctionSpec | None:
    """Casts between decimals, integers and floats; values that do not fit become null.

    Casts that divide an i128 or convert it to a float call libgcc_s's helpers;
    without that library they are not offered (a compile-time error).
    """
    divides = source.is_decimal and (target.is_float or target.is_integer and source.scale > 0
                                      or target.is_decimal and target.scale < source.scale)
    if divides and not runtime_available():
        return None
    if source.is_decimal and target.is_decimal:
        shift = target.scale - source.scale

        def emit(b, x, x_valid):
            value = _rescale(b, x, source, target)
            valid = x_valid
            if target.precision - target.scale < source.precision - source.scale:
                # Scaling up is checked before it multiplies: times 10**shift may pass 128 bits.
                checked, digits = (x, target.precision - shift) if shift > 0 else (value, target.precision)
                valid = b.and_(valid, _fits(b, checked, digits), name="valid")
            return value, valid
        doc = "a smaller scale truncates toward zero (as pyarrow with safe=False); null when it does not fit"
        return FunctionSpec(f"cast_{target.name}", (source,), target, NINT, emit, doc)
    if source.is_decimal and target.is_float:
        def to_float(b, x):
            wide = b.sitofp(x, ir.DoubleType(), name="unscaled")
            value = b.fdiv(wide, ir.Constant(ir.DoubleType(), float(10**source.scale)), name="value")
            return value if target == T.FLOAT64 else b.fptrunc(value, ir.FloatType(), name="narrow")
        return FunctionSpec(f"cast_{target.name}", (source,), target, NN, to_float, "the nearest float")
    if source.is_decimal and target.is_integer:
        def to_int(b, x, x_valid):
            whole = b.sdiv(x, const(10**source.scale), name="whole") if source.scale else x
            fits = b.and_(b.icmp_signed(">=", whole, const(target.min_value())),
                          b.icmp_signed("<=", whole, const(target.max_value())), name="fits")
            return b.trunc(whole, target.llvm, name="integer"), b.and_(x_valid, fits, name="valid")
        return FunctionSpec(f"checked_cast_{target.name}", (source,), target, NINT, to_int,
                            "truncates toward zero; null when out of range")
    if source.is_integer and target.is_decimal:
        def from_int(b, x, x_valid):
            wide = b.sext(x, I128) if source.is_signed else b.zext(x, I128)
            value = b.mul(wide, const(10**target.scale), name="scaled")
            # Checked before scaling: an int64 times 10**scale may pass 128 bits.
            fits = _fits(b, wide, target.precision - target.scale)
            return value, b.and_(x_valid, fits, name="valid")
        return FunctionSpec(f"cast_{target.name}", (source,), target, NINT, from_int,
                            "null when it does not fit")
    if source.is_float and target.is_decimal:
        def from_float(b, x, x_valid):
            double = b.fpext(x, ir.DoubleType()) if source == T.FLOAT32 else x
            scaled = b.fmul(double, ir.Constant(ir.DoubleType(), float(10**target.scale)), name="scaled")
            rounded = b.call(_intrinsic(b, "llvm.round.f64"), [scaled], name="rounded")
            limit = ir.Constant(ir.DoubleType(), float(10**target.precision))
            fits = b.fcmp_ordered("<", b.call(_intrinsic(b, "llvm.fabs.f64"), [rounded]), limit, name="fits")
            safe = b.select(fits, rounded, ir.Constant(ir.DoubleType(), 0.0))
            return b.fptosi(safe, I128, name="unscaled"), b.and_(x_valid, fits, name="valid")
        return FunctionSpec(f"cast_{target.name}", (source,), target, NINT, from_float,
                            "rounded half away from zero; null for NaN, infinities and values that "
                            "do not fit")
    return None


def _intrinsic(b: ir.IRBuilder, name: str) -> ir.Function:
    if name in b.module.globals:
        return b.module.globals[name]
    double = ir.DoubleType()
    return ir.Function(b.module, ir.FunctionType(double, [double]), name)


def parse_row(source: DType, target: DType) -> FunctionSpec | None:
    """``cast(s as decimal128(p, s))``: decimal text parsed in the kernel (see
    :func:`arrowjit.compiler.strings.parse_decimal`); null where pyarrow's safe cast raises."""
    return FunctionSpec(f"checked_cast_{target.name}", (T.UTF8,), target, NINT,
                        parse_decimal(target), "decimal text, exact; else null")


# ---------------------------------------------------------------------------
# Type rules.
# ---------------------------------------------------------------------------

def _as_decimal(node: tir.TypedNode, context: tc.Context) -> tir.TypedNode:
    """An integer operand as the decimal of its digits (int64: decimal128(19, 0))."""
    if node.dtype.is_decimal:
        return node
    if node.dtype.kind in (T.Kind.NULL, T.Kind.PENDING):
        return tc.cast_to(node, T.decimal_type(19, 0), context) if node.dtype.kind is T.Kind.NULL \
            else node
    return tc.cast_to(node, T.integer_as_decimal(node.dtype), context)


def binary(node: ast.BinaryOp, left: tir.TypedNode, right: tir.TypedNode,
           context: tc.Context) -> tir.TypedNode:
    """``+ - *`` with Arrow's decimal rules; ``/ // % **`` and anything with a float in float64."""
    for operand in (left, right):
        if operand.dtype == T.BOOL or operand.dtype.is_string or operand.dtype.kind is T.Kind.PENDING:
            raise context.error(f"{node.op.symbol} is not defined for ({left.dtype}, {right.dtype})",
                                node.span)
    exact = node.op in (ast.Arith.ADD, ast.Arith.SUBTRACT, ast.Arith.MULTIPLY)
    if not exact or left.dtype.is_float or right.dtype.is_float:
        a, b = tc.cast_to(left, T.FLOAT64, context), tc.cast_to(right, T.FLOAT64, context)
        function = context.registry.lookup(node.op.function, (T.FLOAT64, T.FLOAT64))
        return tir.Call(T.FLOAT64, node.span, function, (a, b))
    left, right = _as_decimal(left, context), _as_decimal(right, context)
    a, b = left.dtype, right.dtype
    if node.op is not ast.Arith.MULTIPLY and exceeds_common(a, b):
        pass  # no decimal128 holds both operands: arithmetic_row computes in 256 bits
    elif node.op is not ast.Arith.MULTIPLY:
        scale = max(a.scale, b.scale)
        digits = max(a.precision - a.scale, b.precision - b.scale)
        common = T.decimal_type(min(digits + scale, MAX_PRECISION), scale)
        left, right = tc.cast_to(left, common, context), tc.cast_to(right, common, context)
        a = b = common
    elif a.precision + b.precision > MAX_PRECISION and not runtime_available():
        raise context.error("checking this product for overflow needs 128-bit division, which needs "
                            "libgcc_s (not found)", node.span)
    elif a.scale + b.scale > MAX_PRECISION:
        raise context.error(f"the product of {a.arrow} and {b.arrow} would need a scale of "
                            f"{a.scale + b.scale}, more than 38", node.span)
    function = arithmetic_row(node.op, a, b)
    return tir.Call(function.return_type, node.span, function, (left, right))


def negate(operand: tir.TypedNode, span, context: tc.Context) -> tir.TypedNode:
    if isinstance(operand, tir.Const) and operand.value is not None:
        return tir.Const(operand.dtype, span, -operand.value)
    function = row("negate", (operand.dtype,))
    return tir.Call(operand.dtype, span, function, (operand,))


def float_literal_as_decimal(node: tir.TypedNode, other: tir.TypedNode) -> tir.TypedNode:
    """A finite float literal next to a decimal: the decimal its shortest repr spells (1.1 is 1.1)."""
    if not (isinstance(node, tir.Const) and isinstance(node.value, float) and other.dtype.is_decimal
            and math.isfinite(node.value)):
        return node
    exact = Decimal(repr(node.value))
    sign, digits, exponent = exact.as_tuple()
    scale = max(0, -exponent)
    unscaled = int(exact.scaleb(scale, EXACT))
    precision = max(len(str(abs(unscaled))), scale, 1)
    if precision > MAX_PRECISION:
        return node
    return tir.Const(T.decimal_type(precision, scale), node.span, unscaled)


def const_to_decimal(node: tir.Const, dtype: DType, context: tc.Context) -> tir.Const:
    """An integer, float or decimal literal as ``dtype`` (exact, or an error)."""
    value = node.value
    source = node.dtype
    try:
        if source.is_decimal:
            exact = Decimal(value).scaleb(-source.scale, EXACT)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise context.error(f"cannot convert {source} to {dtype.arrow}", node.span)
        else:
            exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        unscaled = exact.scaleb(dtype.scale, EXACT)
    except InvalidOperation:
        raise context.error(f"{value!r} is not a number {dtype.arrow} can hold", node.span) from None
    if not unscaled.is_finite() or unscaled != unscaled.to_integral_value():
        raise context.error(f"{exact} has more than {dtype.scale} decimal places, which {dtype.arrow} holds",
                            node.span)
    unscaled = int(unscaled)
    if abs(unscaled) >= 10**dtype.precision:
        raise context.error(f"{exact} does not fit {dtype.arrow}", node.span)
    return tir.Const(dtype, node.span, unscaled)


def const_from_decimal(node: tir.Const, dtype: DType, context: tc.Context) -> tir.Const:
    exact = Decimal(node.value).scaleb(-node.dtype.scale, EXACT)
    if dtype.is_float:
        return tir.Const(dtype, node.span, float(exact))
    if dtype.is_integer:
        whole = int(exact)  # toward zero
        if not dtype.min_value() <= whole <= dtype.max_value():
            raise context.error(f"{exact} does not fit {dtype}", node.span)
        return tir.Const(dtype, node.span, whole)
    raise context.error(f"cannot convert {node.dtype.arrow} to {dtype}", node.span)


Emit = Callable[..., object]
